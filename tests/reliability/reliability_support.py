"""The network under fault injection, as real child processes on loopback (a persistent
redis-server, the MEC, decision replicas, fleets of sensing devices), and the reconciliation of
the devices' sent-window logs with the results stream, the decision layer's per-result done
markers and the alert store.

Plaintext (`--insecure`): these tests are about faults, not transport security.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx
import redis
import redis.asyncio as aioredis
from support.processes import free_port, wait_until

from nser_decision.metrics import CONSUMER_GROUP
from nser_decision.policy import Decision, Policy
from nser_decision.store import COUNTS
from nser_sensing.sentlog import read_sent_log
from nser_shared.prom import sample_value
from nser_shared.stream.backlog import GroupBacklog, read_backlogs
from nser_up.processes import Child, HttpServiceChild, MecChild
from nser_up.reconcile import DONE, Reconciliation, duplicated_alerts, stored_alerts

# The replicas' policy: every alerting window is in an alert (no evidence needed first).
POLICY = Policy(evidence_threshold=0.0)


def mec_child(redis_url: str, workdir: Path, *extra: str) -> MecChild:
    return MecChild(redis_url, workdir / "mec.log", ["--threads", "1", *extra], pki=None)


def decision_replica(name: str, redis_url: str, workdir: Path, *extra: str) -> HttpServiceChild:
    port = free_port()
    args = ["--port", str(port), "--redis-url", redis_url, "--consumer", name, "--insecure",
            "--claim-idle-ms", "1000", "--evidence-threshold", "0",
            *extra]  # fmt: skip
    return HttpServiceChild("nser_decision", args, workdir / f"{name}.log", port)


def kill9(child: Child) -> float:
    """SIGKILL `child` and reap it; the time of the kill."""
    assert child.process is not None
    assert child.alive(), f"{child.name} is not running"
    killed_at = time.time()
    child.process.send_signal(signal.SIGKILL)
    child.process.wait()
    return killed_at


class Fleet(Child):
    """`python -m nser_sensing`: `devices` real devices from `first_device` on, playing the
    assault scene in real time (two windows a second each) at `target`, each window logged to
    `sent_log` when it is settled."""

    def __init__(
        self, target: str, workdir: Path, first_device: int, devices: int, seconds: float
    ) -> None:
        self.sent_log = workdir / f"sent-{first_device}.jsonl"
        args = [sys.executable, "-m", "nser_sensing", "--target", target, "--scene", "assault",
                "--devices", str(devices), "--first-device", str(first_device), "--cells", "2",
                "--hop", "0.5", "--duration", str(seconds), "--connect-timeout", "30",
                "--seed", str(first_device), "--sent-log", str(self.sent_log),
                "--insecure"]  # fmt: skip
        super().__init__("nser_sensing", args, workdir / f"sense-{first_device}.log")

    def settled(self) -> int:
        if not self.sent_log.exists():
            return 0
        with self.sent_log.open() as lines:
            return sum(1 for _ in lines)

    def wait_settled(self, count: int, timeout_s: float = 60.0) -> None:
        def enough() -> bool:
            self.check_alive()
            return self.settled() >= count

        wait_until(enough, timeout_s, f"{count} windows settled by the devices")

    def finish(self, timeout_s: float = 120.0) -> list[dict[str, Any]]:
        """Wait for the run to end; the sent-window log."""
        assert self.process is not None
        code = self.process.wait(timeout=timeout_s)
        assert code == 0, self.log_path.read_text(errors="replace")[-3000:]
        return read_sent_log(self.sent_log)


def metric(url: str, name: str) -> float:
    """The value of the sample `name` at the Prometheus endpoint `url` (summed over labels)."""
    return sample_value(httpx.get(url, timeout=5).text, name)


def group_backlog(redis_url: str) -> tuple[int | None, int]:
    """(lag, pending) of the decision group, as the services' metrics report them."""

    async def read() -> list[GroupBacklog]:
        async with aioredis.Redis.from_url(redis_url) as r:
            return await read_backlogs(r)

    for backlog in asyncio.run(read()):
        if backlog.group == CONSUMER_GROUP:
            return backlog.lag, backlog.pending
    raise AssertionError("no decision group on the results stream")


def wait_drained(redis_url: str, timeout_s: float = 60.0) -> None:
    """Until the decision group has been delivered everything and acknowledged it all."""
    wait_until(lambda: group_backlog(redis_url) == (0, 0), timeout_s, "the decision group drained")


def check_every_window_settled_once(rec: Reconciliation) -> None:
    """The log has one line per window, and every device's windows are all there."""
    windows = Counter((line["device_id"], line["sequence"]) for line in rec.log)
    assert max(windows.values()) == 1, [w for w, n in windows.items() if n > 1]
    by_device: dict[str, set[int]] = defaultdict(set)
    for device, sequence in windows:
        by_device[device].add(sequence)
    for device, sequences in by_device.items():
        assert sequences == set(range(len(sequences))), f"{device}: windows missing in the log"


def check_exactly_once(rec: Reconciliation) -> None:
    """Every result in the stream was applied by the decision layer exactly once, however many
    copies of it the stream holds; the copies beyond the first were only acknowledged."""
    assert set(rec.applied) == set(rec.records), "results in the stream never decided"
    assert set(rec.applied.values()) == {1}, {r: n for r, n in rec.applied.items() if n != 1}
    for result_id, copies in rec.copies.items():
        assert rec.redelivered[result_id] == copies - 1, result_id


def check_alerts(client: redis.Redis, rec: Reconciliation) -> int:
    """No alert is duplicated (one per incident), and each device's alerts count each of its
    decided alerting windows once; the number of alerts."""
    alerts = stored_alerts(client, {line["device_id"] for line in rec.log})
    assert duplicated_alerts(alerts) == 0
    windows: Counter[str] = Counter()
    for alert in alerts:
        windows[alert["device_id"]] += alert["windows"]
        assert alert["first_window"]["result_id"] in rec.applied
        assert alert["last_window"]["result_id"] in rec.applied
    alerting: Counter[str] = Counter(
        r.device_id for r in rec.records.values() if POLICY.decide(r) is Decision.NEGATIVE_SCREAM
    )
    assert windows == alerting
    return len(alerts)


def check_decision_totals(client: redis.Redis) -> None:
    """Over the whole run, the decisions counted equal the results marked done (both are
    written in the same transaction)."""
    counted = sum(int(v) for v in client.hgetall(COUNTS).values())
    markers = sum(1 for _ in client.scan_iter(DONE.done_key("*"), count=1000))
    assert counted == markers
