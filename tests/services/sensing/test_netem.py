"""nser_sensing.netem, the sensing containers' entry point: the tc command each link profile
becomes, the errors a container without tc or NET_ADMIN gets, and the exec into the client. No
test touches a real interface: the subprocess tests put a fake `tc` first on PATH."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nser_sensing import netem
from nser_sensing.errors import NetemError
from nser_sensing.netem import apply, check, qdisc_argv
from nser_shared.links import LINK_PROFILES, LinkProfile

FAKE_TC = """#!/bin/sh
echo "$@" >> "$TC_LOG"
[ -n "$TC_STDOUT" ] && printf '%s\\n' "$TC_STDOUT"
[ -n "$TC_STDERR" ] && printf '%s\\n' "$TC_STDERR" >&2
exit "${TC_EXIT:-0}"
"""
CLIENT = [sys.executable, "-c", "import sys; print('client ran', sys.argv[1:]); sys.exit(3)", "x"]


class FakeTc:
    """A Runner: records each tc command and answers as told (or raises `error`)."""

    def __init__(
        self, code: int = 0, stdout: str = "", stderr: str = "", error: OSError | None = None
    ) -> None:
        self.code, self.stdout, self.stderr, self.error = code, stdout, stderr, error
        self.calls: list[list[str]] = []

    def __call__(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        self.calls.append(argv)
        if self.error is not None:
            raise self.error
        return subprocess.CompletedProcess(argv, self.code, self.stdout, self.stderr)


def test_urllc_becomes_a_root_netem_qdisc_on_the_containers_egress() -> None:
    urllc = LINK_PROFILES["urllc"]
    argv = qdisc_argv(urllc)
    assert argv == ["tc", "qdisc", "replace", "dev", "eth0", "root", "netem", *urllc.netem_args()]
    assert argv[7:11] == ["delay", "1ms", "0.2ms", "distribution"]
    assert qdisc_argv(urllc, "ens5")[4] == "ens5"  # type: ignore[index]


def test_every_profile_with_delay_is_applied_and_ideal_applies_nothing() -> None:
    for name, profile in LINK_PROFILES.items():
        argv = qdisc_argv(profile)
        if name == "ideal":
            assert argv is None
        else:
            assert argv is not None
            assert argv[:7] == ["tc", "qdisc", "replace", "dev", "eth0", "root", "netem"]


def test_a_profile_with_loss_but_no_delay_is_refused() -> None:
    lossy = LinkProfile("lossy", "loss only", 0, 0, 100, 100, 0.01, 1.0)
    with pytest.raises(NetemError, match="no delay"):
        qdisc_argv(lossy)


def test_apply_runs_tc_once_and_ideal_needs_no_tc() -> None:
    run = FakeTc()
    assert apply(LINK_PROFILES["lte"], run=run) is True
    assert run.calls == [qdisc_argv(LINK_PROFILES["lte"])]
    absent = FakeTc(error=FileNotFoundError("tc"))
    assert apply(LINK_PROFILES["ideal"], run=absent) is False
    assert absent.calls == []


@pytest.mark.parametrize(
    ("run", "hint"),
    [
        (FakeTc(error=FileNotFoundError(2, "No such file", "tc")), "iproute2"),
        (FakeTc(error=PermissionError(1, "Operation not permitted")), "NET_ADMIN"),
        (FakeTc(2, stderr="RTNETLINK answers: Operation not permitted"), "NET_ADMIN"),
        (FakeTc(2, stderr="Error: Specified qdisc kind is unknown."), "sch_netem"),
        (FakeTc(1, stderr='Cannot find device "eth0"'), "--device"),
    ],
)
def test_a_container_that_cannot_shape_its_link_gets_a_clear_error(run: FakeTc, hint: str) -> None:
    with pytest.raises(NetemError, match=hint):
        apply(LINK_PROFILES["urllc"], run=run)


def test_check_wants_the_netem_qdisc_for_profiles_with_delay() -> None:
    shaped = "qdisc netem 8001: root refcnt 2 limit 1000 delay 1ms  200us rate 100Mbit loss 0.001%"
    check(LINK_PROFILES["urllc"], run=FakeTc(stdout=shaped))
    with pytest.raises(NetemError, match="no netem qdisc"):
        check(LINK_PROFILES["urllc"], run=FakeTc(stdout="qdisc noqueue 0: root refcnt 2"))
    check(LINK_PROFILES["ideal"], run=FakeTc(error=FileNotFoundError("tc")))


def _env(tmp_path: Path, **tc: str) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "tc"
    fake.write_text(FAKE_TC)
    fake.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != netem.PROFILE_ENV}
    env |= {"PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"}
    env |= {"TC_LOG": str(tmp_path / "tc.log"), **tc}
    return env


def _netem(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "nser_sensing.netem", *args]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)


def test_entry_point_shapes_the_link_then_becomes_the_client(tmp_path: Path) -> None:
    env = _env(tmp_path) | {netem.PROFILE_ENV: "embb"}

    done = _netem(["--", *CLIENT], env)

    assert done.returncode == 3, done.stderr  # the client's own exit status: it was exec'd
    assert "client ran ['x']" in done.stdout
    tc_argv = qdisc_argv(LINK_PROFILES["embb"])
    assert tc_argv is not None
    assert (tmp_path / "tc.log").read_text().split() == tc_argv[1:]


def test_entry_point_stops_before_the_client_when_tc_fails(tmp_path: Path) -> None:
    env = _env(tmp_path, TC_EXIT="2", TC_STDERR="RTNETLINK answers: Operation not permitted")

    done = _netem(["--profile", "urllc", "--", *CLIENT], env)

    assert done.returncode == 1
    assert "NET_ADMIN" in done.stderr
    assert "client ran" not in done.stdout


def test_entry_point_health_check_and_usage(tmp_path: Path) -> None:
    shaped = _env(tmp_path, TC_STDOUT="qdisc netem 8001: root refcnt 2 limit 1000 delay 1ms")
    assert _netem(["--check"], shaped).returncode == 0
    bare = _env(tmp_path, TC_STDOUT="qdisc noqueue 0: root refcnt 2")
    assert _netem(["--check"], bare).returncode == 1
    assert _netem(["--profile", "ideal", "--check"], bare).returncode == 0
    assert _netem([], bare).returncode == 2  # neither --check nor a command
    unknown = _netem(["--profile", "5g-magic", "--", *CLIENT], bare)
    assert unknown.returncode == 1
    assert "unknown link profile" in unknown.stderr
