"""Fault injection with real processes under steady load from real devices: kill -9 of the MEC,
of a decision replica and of Redis, each followed by recovery; then the devices' sent-window
logs are reconciled with the results stream, the decision layer's done markers and the alerts.

What the design guarantees, and what these tests hold it to:

- A result in the stream is applied by the decision layer exactly once, whoever dies: its effect,
  its XACK and its done marker commit together, and copies find the marker (check_exactly_once).
- No alert is duplicated, and alerts count every decided alerting window once (check_alerts).
- Every window a device sent is settled in its log: acknowledged with a result id, or failed
  with a gRPC status after its retries (windows sent while the MEC was down).
- Nothing acknowledged is lost: the MEC answers a window only once Redis has acknowledged its
  result (nser_mec.publisher), and Redis runs with `appendonly yes, appendfsync always`
  (RedisChild(appendfsync="always")), so what it acknowledged is on disk and survives its kill -9.
  A result the MEC published whose answer never reached the device (it died in between) is
  published again when the device retries, under the same result id
  (nser_shared.stream.results.result_id_for), so the decision layer applies it once.
- While Redis is down the MEC refuses windows (UNAVAILABLE: its publish buffer is full, or a
  result waited too long); the devices retry with backoff, and a window they give up on is in
  their log as failed, never as acknowledged.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from reliability_support import (
    Fleet,
    check_alerts,
    check_decision_totals,
    check_every_window_settled_once,
    check_exactly_once,
    decision_replica,
    kill9,
    mec_child,
    metric,
    wait_drained,
)
from support.processes import RedisChild, free_port, wait_until

from nser_shared.stream.results import RESULTS_STREAM
from nser_up.processes import HttpServiceChild, MecChild
from nser_up.reconcile import reconcile

DEVICES = 6  # two windows a second each: 12 windows/s of steady load
PUBLISH_BUFFER = 20  # small, so that a Redis outage fills it (and windows are refused)


class Network:
    def __init__(self, workdir: Path) -> None:
        self.redis = RedisChild(free_port(), workdir, appendfsync="always")
        self.redis.start()
        self.mec: MecChild = mec_child(
            self.redis.url, workdir, "--publish-buffer", str(PUBLISH_BUFFER)
        )
        self.mec.start()
        self.replicas: dict[str, HttpServiceChild] = {
            name: decision_replica(name, self.redis.url, workdir)
            for name in ("replica-a", "replica-b")
        }
        for replica in self.replicas.values():
            replica.start()
        self.workdir = workdir

    def fleet(self, first_device: int, seconds: float) -> Fleet:
        fleet = Fleet(self.mec.address, self.workdir, first_device, DEVICES, seconds)
        fleet.start()
        return fleet

    def stop(self) -> None:
        for replica in self.replicas.values():
            replica.stop()
        self.mec.stop()
        self.redis.stop()


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    net = Network(tmp_path_factory.mktemp("faults"))
    try:
        yield net
    finally:
        net.stop()


def _settle(network: Network, fleet: Fleet) -> tuple[list[dict[str, object]], float]:
    log = fleet.finish()
    wait_drained(network.redis.url)
    return log, time.time()


def _wait_refused(metrics_url: str, count: float, timeout_s: float = 30.0) -> None:
    """Until the MEC has refused `count` windows for want of Redis; polled 4 times a second (a
    scrape is work for the MEC under test), a slow scrape counting as not yet."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if metric(metrics_url, "nser_mec_publish_refused_total") >= count:
                return
        except httpx.TimeoutException:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"the MEC refused fewer than {count:.0f} windows in {timeout_s} s")


def test_mec_killed_and_restarted_under_load(network: Network) -> None:
    # 18 s of audio: windows are sent from 3 s on (a window is 3 s long) and the kill comes about
    # 2 s later. The MEC is back within about 3 s, and the devices' channel reconnects at once;
    # on a 2-core machine busy with other work, back within 8 s and reconnected within 9 s (the
    # channel's reconnect backoff grows with the outage): 4 s of windows are answered after it.
    fleet = network.fleet(first_device=0, seconds=18.0)
    fleet.wait_settled(4 * DEVICES)
    killed_at = kill9(network.mec)
    network.mec.start()  # the same ports: the devices' channel reconnects
    ready_at = time.time()
    log, _ = _settle(network, fleet)
    rec = reconcile(network.redis.client(), log)
    print("MEC kill -9:", rec.summary(), f"down {ready_at - killed_at:.1f} s")

    check_every_window_settled_once(rec)
    check_exactly_once(rec)
    check_alerts(network.redis.client(), rec)
    # Windows sent while the MEC was down were retried until it was back, or failed
    # UNAVAILABLE past their retries: never acknowledged without a result.
    assert all(line["status"] == "UNAVAILABLE" for line in rec.failed)
    assert all(line["at"] >= killed_at for line in rec.failed)
    retried = [line for line in rec.acked.values() if line["attempts"] > 1]
    assert retried, "no window was retried through the outage"
    # Recovery: the devices were answered again by the restarted MEC.
    assert any(line["at"] > ready_at for line in rec.acked.values())
    assert rec.lost == set(), "acknowledged windows whose results never reached the stream"
    # Published but never acknowledged: the answer died with the MEC.
    assert len(rec.orphans) <= DEVICES, rec.orphans
    for result_id in rec.orphans:
        assert killed_at - 1.0 <= rec.records[result_id].received_at <= killed_at
    check_decision_totals(network.redis.client())


def test_decision_replica_killed_with_results_pending_is_taken_over(network: Network) -> None:
    client = network.redis.client()
    victim, survivor = network.replicas["replica-a"], network.replicas["replica-b"]
    # 8 s of audio: windows are sent from 3 s on and the kill comes about 2 s later; the survivor
    # claims the victim's entries once they are 1 s idle (--claim-idle-ms), under load still.
    fleet = network.fleet(first_device=10, seconds=8.0)
    fleet.wait_settled(4 * DEVICES)
    assert victim.process is not None
    victim.process.send_signal(signal.SIGSTOP)  # its blocked read still takes entries ...

    def victim_pending() -> int:
        entries = client.xpending_range(
            RESULTS_STREAM, "decision", "-", "+", 1000, consumername="replica-a"
        )
        return len(entries)

    wait_until(lambda: victim_pending() > 0, 20.0, "results pending on the stopped replica")
    pending = victim_pending()
    kill9(victim)  # ... and dies with them unacknowledged
    log, _ = _settle(network, fleet)  # the survivor claims them after --claim-idle-ms
    rec = reconcile(client, log)
    print("replica kill -9:", rec.summary(), f"{pending} pending on the victim")

    check_every_window_settled_once(rec)
    check_exactly_once(rec)
    check_alerts(client, rec)
    assert (rec.failed, rec.lost, rec.orphans) == ([], set(), set())  # the MEC never noticed
    assert httpx.get(f"{survivor.url}/readyz", timeout=5).status_code == 200
    victim.start()  # recovery: back in the group
    check_decision_totals(client)


def test_redis_killed_and_restarted_under_load(network: Network) -> None:
    mec_metrics = network.mec.metrics_url
    refused_before = metric(mec_metrics, "nser_mec_publish_refused_total")
    # 11 s of audio: windows are sent from 3 s on, the kill comes about 2 s later, the outage
    # lasts until the MEC has refused windows for want of Redis (its buffer of 20 fills in under
    # 2 s at 12 windows/s), and the devices go on sending for a few seconds once Redis is back.
    fleet = network.fleet(first_device=20, seconds=11.0)
    fleet.wait_settled(4 * DEVICES)
    killed_at = kill9(network.redis)
    _wait_refused(mec_metrics, refused_before + 1)
    network.redis.start()
    back_at = time.time()
    log, _ = _settle(network, fleet)
    client = network.redis.client()
    rec = reconcile(client, log)
    refused = metric(mec_metrics, "nser_mec_publish_refused_total") - refused_before
    print("Redis kill -9:", rec.summary(), f"refused by the MEC {refused:.0f}")

    check_every_window_settled_once(rec)
    check_exactly_once(rec)
    check_alerts(client, rec)
    assert rec.lost == set(), "acknowledged windows whose results never reached the stream"
    # A window the devices gave up on was refused while Redis was away, and its result may
    # still have reached the stream when Redis came back (an orphan, never a loss).
    assert all(line["status"] == "UNAVAILABLE" for line in rec.failed)
    assert all(killed_at <= line["at"] <= back_at + 3.0 for line in rec.failed)
    assert any(line["at"] > back_at for line in rec.acked.values()), "no answer after recovery"
    urls = [replica.url for replica in network.replicas.values()]
    wait_until(
        lambda: all(httpx.get(f"{u}/readyz", timeout=5).status_code == 200 for u in urls),
        15.0,
        "every replica ready again",
    )
    check_decision_totals(client)
