"""`nser chaos`: the network of `nser up` under load while a seeded schedule kill -9s its
services, then a reconciliation of what the devices were told with what the stream and the
alert store hold.

    nser chaos                                   # 20,000 windows, a kill every 5 s
    nser chaos --windows 100000 --out docs/chaos --seed 1

Redis (append-only, fsync always), the MEC, two decision replicas and the analytics service run
supervised (supervisor.py restarts each one killed); devices of the "evening" scenario send a
window every `--hop` seconds and log each settled window (nser_sensing.sentlog). Every
`--kill-every` seconds (jittered by half either way) one running service, drawn with `--seed`,
is killed with SIGKILL. Once the devices are done and the decision group has taken everything,
reconcile.py counts:

- lost: windows a device was told are classified whose results are not in the stream;
- duplicated alerts: more than one alert for one incident;
- applied twice / never decided: results whose effect the decision layer committed more than
  once, or never;
- failed: windows the devices gave up on (refused while a service was down; never acknowledged,
  so not lost), and orphans (results in the stream whose answer never reached the device);
- recovery: per kill, the seconds from the death being noticed to the service healthy again.

The report goes to chaos.json and chaos.md in `--out`, the network's logs, Redis data and the
devices' logs to `--out`/network; the exit code is 1 when anything was lost, duplicated,
applied twice or never decided.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import signal
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from nser_decision.metrics import CONSUMER_GROUP
from nser_models.checkpoint import SHIPPED_DIR
from nser_sensing.sentlog import read_sent_log
from nser_shared.errors import NserError
from nser_shared.provenance import checkpoint_digests
from nser_shared.stream.results import RESULTS_STREAM
from nser_up.network import Network, UpConfig
from nser_up.processes import Child, wait_until
from nser_up.reconcile import duplicated_alerts, reconcile, stored_alerts

log = logging.getLogger(__name__)

SCENARIO = "evening"
DRAIN_TIMEOUT_S = 180.0  # a killed replica's entries are claimed after 30 s idle
PREPARE_TIMEOUT_S = 3600.0  # until every device group sends
STALL_TIMEOUT_S = 120.0  # the devices have sent nothing new for this long: they are stuck


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--windows", type=int, default=20_000, help="windows the devices send")
    parser.add_argument("--devices", type=int, default=50, help="simulated devices in all")
    parser.add_argument("--hop", type=float, default=0.5, help="seconds between a device's windows")
    parser.add_argument(
        "--kill-every", type=float, default=5.0, help="mean seconds between two kills"
    )
    parser.add_argument(
        "--scene-loop",
        type=float,
        default=30.0,
        help="seconds of scene each device renders and plays over and over (the kills, not the "
        "scenes, are what is tested; rendering is most of a run's start-up)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill schedule and scenes")
    parser.add_argument("--out", type=Path, help="report folder (default runs/chaos-<time>)")
    parser.add_argument(
        "--insecure", action="store_true", help="plaintext, no API tokens, no Redis password"
    )


@dataclass(frozen=True)
class ChaosConfig:
    out: Path
    windows: int = 20_000
    devices: int = 50
    hop_s: float = 0.5
    kill_every_s: float = 5.0
    seed: int = 0
    insecure: bool = False
    scene_loop_s: float = 30.0

    def __post_init__(self) -> None:
        if self.windows < 100 or self.devices < 3:
            raise NserError("--windows must be at least 100 and --devices at least 3")
        if not (math.isfinite(self.hop_s) and self.hop_s >= 0.1):
            raise NserError(f"--hop must be at least 0.1 s, got {self.hop_s}")
        if not (math.isfinite(self.kill_every_s) and self.kill_every_s >= 1):
            raise NserError(f"--kill-every must be at least 1 s, got {self.kill_every_s}")
        if not (math.isfinite(self.scene_loop_s) and self.scene_loop_s >= 3):
            raise NserError(f"--scene-loop must be at least 3 s, got {self.scene_loop_s}")

    @property
    def duration_s(self) -> float:
        """Seconds of scene each device plays: its first window is complete at 3 s."""
        return 3.0 + self.windows * self.hop_s / self.devices

    def network(self) -> UpConfig:
        """The network's files (logs, Redis data, the devices' logs) go to `out`/network."""
        return UpConfig(
            out=self.out / "network", devices=self.devices, cells=4, scenario=SCENARIO,
            duration_s=self.duration_s, prometheus=False, seed=self.seed,
            insecure=self.insecure, decision_replicas=2, hop_s=self.hop_s, sent_logs=True,
            scene_loop_s=self.scene_loop_s,
        )  # fmt: skip


@dataclass
class Kill:
    service: str
    at_s: float


@dataclass
class Killer:
    """Kills one running service every `every_s` seconds on average, drawn with `rng`."""

    network: Network
    every_s: float
    rng: random.Random
    started: float = field(default_factory=time.monotonic)
    kills: list[Kill] = field(default_factory=list)
    next_at: float = 0.0

    def __post_init__(self) -> None:
        self.next_at = self.started + self._gap()

    def _gap(self) -> float:
        return self.every_s * self.rng.uniform(0.5, 1.5)

    def poll(self) -> None:
        now = time.monotonic()
        if now < self.next_at:
            return
        self.next_at = now + self._gap()
        down = set(self.network.supervisor.down())
        running = [w.child for w in self.network.supervisor.watched]
        victims = [c for c in running if c.alive() and c.name not in down]
        if not victims:
            return
        victim = self.rng.choice(victims)
        self.network.supervisor.killing(victim)
        self._kill(victim)
        self.kills.append(Kill(victim.name, round(now - self.started, 1)))

    @staticmethod
    def _kill(child: Child) -> None:
        assert child.process is not None
        log.info("chaos: kill -9 %s (pid %d)", child.name, child.process.pid)
        child.process.send_signal(signal.SIGKILL)


def _decision_drained(client: redis.Redis) -> bool:
    """The decision group has been delivered the stream's last entry and has nothing pending.
    (Not XINFO's `lag`: Redis loses count of a group's entries read across restarts from the
    append-only file, and the lag it reports then never returns to 0.)"""
    stream: dict[str, Any] = client.xinfo_stream(RESULTS_STREAM)
    groups: list[dict[str, Any]] = client.xinfo_groups(RESULTS_STREAM)
    for group in groups:
        name = group["name"]
        if (name.decode() if isinstance(name, bytes) else name) == CONSUMER_GROUP:
            caught_up = group["last-delivered-id"] == stream["last-generated-id"]
            return bool(caught_up and group["pending"] == 0)
    return False


def run_chaos(config: ChaosConfig) -> dict[str, Any]:
    network = Network(config.network(), before_each_start=lambda: None)
    try:
        network.start_services()
        network.start_devices()
        killer = Killer(network, config.kill_every_s, random.Random(config.seed))
        # Devices render their scenes before they play: about as long as the scene on 2 cores.
        deadline = time.monotonic() + PREPARE_TIMEOUT_S
        progress_at = time.monotonic()
        flowing = False
        sent_bytes = 0
        while not network.devices_done():
            if time.monotonic() > deadline:
                raise NserError("the devices did not finish in time; see the logs in --out")
            network.check()
            if not flowing and all(
                config.network().sent_log(s).exists() for s, _ in network.sensing
            ):
                flowing = True  # kills start once every device group's windows flow
                deadline = time.monotonic() + config.duration_s + 120.0
                killer.next_at = time.monotonic() + killer.every_s
            if flowing:
                killer.poll()
                sent = sum(config.network().sent_log(s).stat().st_size for s, _ in network.sensing)
                if sent > sent_bytes:  # still sending: a slow group is not a stuck one
                    sent_bytes = sent
                    deadline = max(deadline, time.monotonic() + STALL_TIMEOUT_S)
            if time.monotonic() - progress_at >= 10.0:
                progress_at = time.monotonic()
                print(f"chaos: {len(killer.kills)} kills so far", flush=True)
            time.sleep(0.1)
        if failed := network.device_failures():
            raise NserError(f"device groups died: {failed}")
        assert network.redis is not None, "chaos runs its own Redis"
        client = network.redis.client()

        def drained() -> bool:
            network.check()  # a service killed last is restarted while the group drains
            try:
                return _decision_drained(client)
            except redis.RedisError:
                return False

        wait_until(drained, DRAIN_TIMEOUT_S, "the decision group to take every result")
        lines: list[dict[str, Any]] = []
        for scene, _ in network.sensing:
            lines += read_sent_log(config.network().sent_log(scene))
        rec = reconcile(client, lines)
        alerts = stored_alerts(client, {line["device_id"] for line in lines})
        report = _report(config, rec.summary(), duplicated_alerts(alerts), len(alerts), killer,
                         network.supervisor.restarts())  # fmt: skip
    finally:
        network.stop()
    return report


def _report(
    config: ChaosConfig,
    counts: dict[str, int],
    duplicated: int,
    alerts: int,
    killer: Killer,
    restarts: dict[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    recovery: dict[str, dict[str, float]] = {}
    for service, crashes in restarts.items():
        times = [c["recovered_at_s"] - c["at_s"] for c in crashes if c["recovered_at_s"]]
        recovery[service] = {
            "kills": len(crashes),
            "median_s": statistics.median(times) if times else math.nan,
            "max_s": max(times) if times else math.nan,
        }
    return {
        "config": {
            "windows": config.windows,
            "devices": config.devices,
            "hop_s": config.hop_s,
            "kill_every_s": config.kill_every_s,
            "seed": config.seed,
            "insecure": config.insecure,
            "duration_s": config.duration_s,
        },
        "counts": {**counts, "alerts": alerts, "duplicated_alerts": duplicated},
        "kills": [{"service": k.service, "at_s": k.at_s} for k in killer.kills],
        "recovery": recovery,
    }


def passed(report: dict[str, Any]) -> bool:
    c = report["counts"]
    bad = c["lost"] + c["duplicated_alerts"] + c["applied_twice"] + c["undecided"]
    return bool(bad == 0 and report["kills"])


def markdown(report: dict[str, Any], command: str) -> str:
    c, k = report["counts"], report["config"]
    lines = [
        "# nser chaos: services killed under load, then reconciled",
        "",
        f"`{command}`: {k['devices']} devices, one window every {k['hop_s']:g} s each, "
        f"{k['windows']} windows planned; a kill -9 every {k['kill_every_s']:g} s on average "
        f"(seed {k['seed']}), {len(report['kills'])} in all.",
        "",
        "| acknowledged | lost | duplicated alerts | applied twice | never decided | failed "
        "(never acknowledged) | orphans | stream entries | alerts |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {c['acknowledged']} | {c['lost']} | {c['duplicated_alerts']} | {c['applied_twice']} "
        f"| {c['undecided']} | {c['failed']} | {c['orphans']} | {c['stream_entries']} "
        f"| {c['alerts']} |",
        "",
        "Recovery, from a death noticed (polled every 0.1 s) to the service healthy again:",
        "",
        "| service | kills | median s | max s |",
        "|---|---:|---:|---:|",
    ]
    for service, r in sorted(report["recovery"].items()):
        lines.append(f"| {service} | {r['kills']} | {r['median_s']:.1f} | {r['max_s']:.1f} |")
    lines += ["", f"Verdict: {'PASS' if passed(report) else 'FAIL'} (0 lost, 0 duplicated)."]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    out = args.out or Path("runs") / time.strftime("chaos-%Y%m%d-%H%M%S")
    if out.is_dir() and any(out.iterdir()):
        raise NserError(f"--out {out} is not empty: a run never overwrites one; name a new folder")
    config = ChaosConfig(out, args.windows, args.devices, args.hop, args.kill_every, args.seed,
                         args.insecure, args.scene_loop)  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    report = run_chaos(config)
    command = " ".join(["nser chaos", *sys.argv[2:]])
    report["inputs"] = checkpoint_digests(SHIPPED_DIR)  # the models the MEC served
    (out / "chaos.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "chaos.md").write_text(markdown(report, command))
    print(markdown(report, command))
    return 0 if passed(report) else 1
