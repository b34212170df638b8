"""`nser up` end to end: a short run with real Prometheus, every service killed and restarted
while the run goes on, and a clean stop when the user presses Ctrl-C."""

from __future__ import annotations

import csv
import itertools
import json
import math
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support.processes import wait_until

from nser_shared.buckets import LATENCY_BUCKETS_SECONDS
from nser_shared.security.credential_files import read_secret
from nser_shared.security.dev_pki import PkiLayout
from nser_shared.wire.device_ids import fleet_device_ids

NSER = [sys.executable, "-c", "from nser_cli import main; raise SystemExit(main())"]


def _children(pid: int) -> dict[int, str]:
    """Direct children of `pid`: pid -> command line."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    if not path.exists():
        return {}
    out = {}
    for child in path.read_text().split():
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        out[int(child)] = cmdline
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def _start_up(out: Path, *extra: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    args = [*NSER, "up", "--devices", "4", "--cells", "2", "--out", str(out), *extra]
    return subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )  # fmt: skip


def _wait_for_devices(up: subprocess.Popen[str]) -> dict[int, str]:
    def devices_started() -> bool:
        assert up.poll() is None, up.communicate()
        return any("nser_sensing" in c for c in _children(up.pid).values())

    wait_until(devices_started, 180.0, "nser up to start its devices")
    return _children(up.pid)


def _bucket_width(value_s: float) -> float:
    bounds = (0.0, *LATENCY_BUCKETS_SECONDS)
    for low, high in itertools.pairwise(bounds):
        if low <= value_s <= high:
            return high - low
    return math.inf


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("prometheus") is None, reason="scripts/system_packages.sh")
def test_up_runs_a_scenario_and_prometheus_agrees_with_the_summary(tmp_path: Path) -> None:
    # Secure by default; the soak report rides along (samples every 2 s), and the devices play
    # 6 s of their scenes twice over, as an hour-long soak plays a few minutes in a loop.
    # A setting changed through the environment is recorded with the run.
    up = _start_up(
        tmp_path, "--duration", "12", "--scene-loop", "6", "--soak-interval", "2",
        "--soak-warmup", "1", env={"NSER_DECISION_DONE_TTL_SECONDS": "600"},
    )  # fmt: skip
    stdout, stderr = up.communicate(timeout=300)
    assert up.returncode == 0, stderr[-3000:]
    # Secure: a dev PKI in the run folder, mutual TLS, HTTPS scrapes, Redis with its password.
    pki = PkiLayout(tmp_path / "credentials")
    assert pki.device_ids() == sorted(fleet_device_ids(0, 4))
    logs = tmp_path / "logs"
    assert "gRPC (mutual TLS)" in (logs / "mec.log").read_text()
    assert "scheme: https" in (logs / "prometheus.yml").read_text()
    password = read_secret(pki.redis_password, "Redis password")
    assert f"requirepass {password}" in next((tmp_path / "redis").glob("redis-*.conf")).read_text()
    everything = stdout + stderr + "".join(p.read_text() for p in logs.glob("*.log"))
    assert password not in everything
    assert "--insecure:" not in everything  # no service warns of plaintext
    assert "Ground truth against decisions" in stdout
    # Where to reach it, and with what, printed before the devices start.
    assert "/v1/alerts" in stdout
    assert str(pki.ca_cert) in stdout
    assert str(pki.root / "reader.token") in stdout
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary["ground_truth"]) == {"assault", "party", "quiet-home"}
    assert all(
        s["windows_answered"] == s["windows_sent"] > 0 for s in summary["ground_truth"].values()
    )
    # 4 devices, a window a second from 3 s to 12 s, the 6 s scene looped: 10 windows each.
    assert sum(s["windows_sent"] for s in summary["ground_truth"].values()) == 4 * 10
    assert (summary["restarts"], summary["device_failures"]) == ({}, {})
    ours = summary["latency_ms"]["end_to_end"]
    theirs = summary["prometheus"]
    for q in ("p50", "p99"):
        width_ms = _bucket_width(ours[q] / 1e3) * 1e3
        assert abs(ours[q] - theirs[q]) <= width_ms, (q, ours[q], theirs[q])
    assert (tmp_path / "summary.md").read_text().startswith("# nser up: evening (edge)")
    soak = json.loads((tmp_path / "soak.json").read_text())
    answered = sum(s["windows_answered"] for s in summary["ground_truth"].values())
    assert soak["totals"]["windows_answered"] == answered
    assert soak["memory"]["nser_mec"]["end_mib"] > 50
    assert soak["memory"]["nser_decision"]["end_mib"] > 20
    assert len(soak["intervals"]) >= 3
    assert "| nser_mec |" in (tmp_path / "soak.md").read_text()
    header = (tmp_path / "soak.md").read_text().splitlines()[2]
    assert "NSER_DECISION_DONE_TTL_SECONDS=600 " in header
    assert " nser up " in header
    assert summary["config"]["environment"]["NSER_DECISION_DONE_TTL_SECONDS"] == "600"
    for log in ("mec.log", "decision.log", "nwdaf.log", "prometheus.log"):
        assert (tmp_path / "logs" / log).is_file()


SERVICES = ("redis-server", "nser_mec", "nser_nwdaf", "nser_decision")


@pytest.mark.slow
def test_every_service_killed_is_restarted_and_the_run_goes_on(tmp_path: Path) -> None:
    up = _start_up(
        tmp_path, "--duration", "25", "--scene-loop", "6", "--no-prometheus", "--insecure"
    )
    children = _wait_for_devices(up)
    for service in SERVICES:  # one after the other, each back before the next is killed
        pid = next(pid for pid, cmd in _children(up.pid).items() if service in cmd)
        os.kill(pid, signal.SIGKILL)

        def restarted(service: str = service, old: int = pid) -> bool:
            if up.poll() is not None:
                stdout, stderr = up.communicate()
                raise AssertionError(f"the run ended:\n{stdout[-3000:]}\n{stderr[-3000:]}")
            return any(service in c and p != old for p, c in _children(up.pid).items())

        wait_until(restarted, 60.0, f"{service} restarted")
        children.update(_children(up.pid))
    _, stderr = up.communicate(timeout=300)
    assert up.returncode == 0, stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert {
        name: [c["exit_code"] for c in crashes] for name, crashes in summary["restarts"].items()
    } == {service: [-9] for service in SERVICES}
    assert summary["device_failures"] == {}
    # The alert history survived Redis's restart: every scene's report was reconciled with it.
    assert all("error" not in scene for scene in summary["ground_truth"].values())
    assert sum(s["windows_answered"] for s in summary["ground_truth"].values()) > 0
    wait_until(lambda: not any(_alive(pid) for pid in children), 10.0, "no child left")
    # The alert history outlives the run: read back from the run folder's Redis data.
    table = tmp_path / "alerts.csv"
    browse = subprocess.run([*NSER, "alerts", str(tmp_path), "--csv", str(table)],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert browse.returncode == 0, browse.stderr
    with table.open() as f:
        alerted = {row["device_id"] for row in csv.DictReader(f)}
    truth = summary["ground_truth"].values()
    assert len(alerted) == sum(s["alerted_of_those"] + s["falsely_alerted"] for s in truth)


def test_alerts_of_a_folder_that_is_no_run_is_a_clear_error(tmp_path: Path) -> None:
    browse = subprocess.run([*NSER, "alerts", str(tmp_path)], capture_output=True, text=True)
    assert browse.returncode == 1
    assert "holds no redis/ folder" in browse.stderr


@pytest.mark.slow
def test_ctrl_c_stops_every_service_and_insecure_says_so(tmp_path: Path) -> None:
    # One network for both: starting one costs about half a minute of the suite.
    up = _start_up(tmp_path, "--duration", "120", "--no-prometheus", "--insecure")
    children = _wait_for_devices(up)
    up.send_signal(signal.SIGINT)
    _, stderr = up.communicate(timeout=120)
    assert up.returncode == 1
    assert "interrupted by SIGINT" in stderr
    wait_until(lambda: not any(_alive(pid) for pid in children), 10.0, "no child left")
    assert "interrupted by SIGINT" in (tmp_path / "failure.txt").read_text()
    # --insecure: plaintext, no credentials made, and every service warns once.
    assert not (tmp_path / "credentials").exists()
    for log in ("mec.log", "decision.log", "nwdaf.log"):
        warnings = [line for line in (tmp_path / "logs" / log).read_text().splitlines()
                    if "WARNING" in line and "--insecure:" in line]  # fmt: skip
        assert len(warnings) == 1, log
        assert "plaintext" in warnings[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--soak-interval", "-1"], "--soak-interval must be >= 0"),
        (["--soak-interval", "0.5"], "--soak-interval must be at least 1 second"),
        (["--soak-interval", "5", "--soak-warmup", "90"], "--soak-warmup must be >= 0 and shorter"),
    ],
)
def test_bad_soak_arguments_are_refused(tmp_path: Path, args: list[str], message: str) -> None:
    done = subprocess.run(
        [*NSER, "up", *args, "--out", str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert message in done.stderr


def test_credentials_and_insecure_exclude_each_other(tmp_path: Path) -> None:
    done = subprocess.run(
        [*NSER, "up", "--insecure", "--credentials", str(tmp_path), "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert "--credentials and --insecure exclude each other" in done.stderr


def test_a_run_never_overwrites_an_earlier_one(tmp_path: Path) -> None:
    earlier = tmp_path / "summary.json"
    earlier.write_text('{"the": "earlier run"}\n')
    done = subprocess.run(
        [*NSER, "up", "--out", str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert f"--out {tmp_path} is not empty" in done.stderr
    assert earlier.read_text() == '{"the": "earlier run"}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]
