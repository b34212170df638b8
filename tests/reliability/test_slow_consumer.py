"""A consumer that falls behind: the decision replica stops while the devices keep sending. The
results stream stays bounded by the MEC's MAXLEN, the decision group's lag is visible in the
metrics (nser_nwdaf_consumer_lag) and in the analytics (NF_LOAD nserResultsBacklog), and when a
replica comes back it decides what is left; what was trimmed away is exactly the lag beyond the
stream's length."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from reliability_support import Fleet, decision_replica, group_backlog, mec_child, wait_drained
from support.processes import RedisChild, free_port, wait_until

from nser_decision.store import COUNTS
from nser_shared.prom import sample_value
from nser_shared.stream.results import RESULTS_STREAM
from nser_up.processes import HttpServiceChild

MAXLEN = 20
NODE_ENTRIES = 5  # stream-node-max-entries: MAXLEN ~ trims whole nodes of this many entries
# 6 devices, 9 s of audio: 3 s windows at a 0.5 s hop from 3 s on, 13 a device, 78 in all:
# over twice the stream's bound (MAXLEN + NODE_ENTRIES = 25) published, and a lag of about 60
# (78 less the 12 to 20 decided before the replica stops), over twice that bound too.
DEVICES, SECONDS = 6, 9.0


@pytest.fixture
def redis_child(tmp_path: Path) -> Iterator[RedisChild]:
    server = RedisChild(free_port(), tmp_path)
    server.start()
    yield server
    server.stop()


def _decided(client: redis.Redis) -> int:
    return sum(int(v) for v in client.hgetall(COUNTS).values())


def _nwdaf(redis_url: str, workdir: Path) -> HttpServiceChild:
    port = free_port()
    args = ["--port", str(port), "--redis-url", redis_url, "--insecure", "--consumer", "nwdaf-1"]
    return HttpServiceChild("nser_nwdaf", args, workdir / "nwdaf.log", port)


def test_stream_stays_bounded_and_the_lag_shows_in_metrics_and_analytics(
    redis_child: RedisChild, tmp_path: Path
) -> None:
    client = redis_child.client()
    client.config_set("stream-node-max-entries", NODE_ENTRIES)  # 100 by default
    mec = mec_child(redis_child.url, tmp_path, "--stream-maxlen", str(MAXLEN))
    nwdaf = _nwdaf(redis_child.url, tmp_path)
    replica = decision_replica("replica-a", redis_child.url, tmp_path)
    mec.start()
    nwdaf.start()
    replica.start()
    fleet = Fleet(mec.address, tmp_path, first_device=0, devices=DEVICES, seconds=SECONDS)
    fleet.start()
    try:
        wait_until(lambda: _decided(client) >= 12, 60.0, "the replica at work")
        replica.stop()  # it goes away; the devices go on
        decided_before = _decided(client)
        lengths = []
        deadline = time.monotonic() + 60
        while fleet.alive() and time.monotonic() < deadline:
            lengths.append(client.xlen(RESULTS_STREAM))
            time.sleep(0.2)
        log = fleet.finish()
        published = sum(1 for line in log if line["status"] == "OK")
        assert published > 2 * (MAXLEN + NODE_ENTRIES)
        assert max(lengths) <= MAXLEN + NODE_ENTRIES  # bounded, whatever the backlog

        lag, pending = group_backlog(redis_child.url)
        assert lag == published - decided_before  # trimmed results included
        assert lag is not None
        assert lag > MAXLEN + NODE_ENTRIES
        assert pending == 0
        metrics = httpx.get(f"{nwdaf.url}/metrics", timeout=5).text
        assert sample_value(metrics, "nser_nwdaf_consumer_lag", {"group": "decision"}) == lag
        length = sample_value(metrics, "nser_nwdaf_stream_length")
        assert length == client.xlen(RESULTS_STREAM)
        wait_until(  # the analytics keep up: their own lag is back to 0
            lambda: (
                sample_value(
                    httpx.get(f"{nwdaf.url}/metrics", timeout=5).text,
                    "nser_nwdaf_consumer_lag",
                    {"group": "nwdaf"},
                )
                == 0
            ),
            15.0,
            "the analytics caught up",
        )
        loads = httpx.get(
            f"{nwdaf.url}/nnwdaf-analyticsinfo/v1/analytics",
            params={"event-id": "NF_LOAD"},
            timeout=10,
        ).json()["nfLoadLevelInfos"]
        backlog = {b["group"]: b for b in loads[0]["nserResultsBacklog"]}
        assert backlog["decision"]["lag"] == lag
        assert backlog["decision"]["streamLength"] == length
        assert backlog["nwdaf"]["lag"] == 0

        replica.start()  # back: it decides what is left; the rest was trimmed, and counted
        wait_drained(redis_child.url)
        decided = _decided(client) - decided_before
        assert decided == length  # what was left in the stream; the rest was trimmed away:
        assert published - decided_before - decided == lag - length  # the lag beyond its length
        scrape = httpx.get(f"{replica.url}/metrics", timeout=5).text
        assert sample_value(scrape, "nser_decision_consumer_lag", {"group": "decision"}) == 0
    finally:
        for child in (fleet, replica, nwdaf, mec):
            child.stop()
