"""Two replicas of the analytics service on one Redis share the work: each result is counted
once, and each notification is sent once."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import httpx
import pytest
from nwdaf_support import (
    ANALYTICS,
    CELL_A,
    CELL_B,
    SUBSCRIPTIONS,
    Receiver,
    ServedApp,
    fast_settings,
    publish,
    wait_consumed,
)
from support.processes import RedisChild
from support.results import make_record


@pytest.fixture
def replicas(redis_server: RedisChild) -> Iterator[tuple[ServedApp, ServedApp]]:
    first = ServedApp(fast_settings(redis_server.url)).start()
    second = ServedApp(fast_settings(redis_server.url)).start()
    try:
        yield first, second
    finally:
        first.stop()
        second.stop()


def _counted(replica: ServedApp) -> float:
    for line in httpx.get(f"{replica.url}/metrics").text.splitlines():
        if line.startswith("nser_nwdaf_results_total "):
            return float(line.split()[1])
    return 0.0


def test_two_replicas_count_each_result_once(
    redis_server: RedisChild, replicas: tuple[ServedApp, ServedApp]
) -> None:
    client = redis_server.client()
    cells = (CELL_A, CELL_B, "00066c003")
    records = [
        make_record(device_id=f"phone-{i % 7}", sequence=i, nr_cell_id=cells[i % 3],
                    negative=0.9 if i % 4 == 0 else 0.2)
        for i in range(300)
    ]  # fmt: skip
    for start in range(0, len(records), 30):  # in bursts, while both replicas read
        publish(client, records[start : start + 30])
        time.sleep(0.02)
    wait_consumed(client, len(records))

    first, second = replicas
    assert _counted(first) + _counted(second) == len(records)
    for replica in replicas:  # either replica answers for all of them
        with replica.client() as http:
            body = http.get(ANALYTICS, params={"event-id": "NSER_EMOTION"}).json()
        infos = body["nserEmotionInfos"]
        assert sum(i["results"] for i in infos) == len(records)
        assert sum(i["typeCounts"]["negative"] for i in infos) == 75
    with first.client() as http:
        load = http.get(ANALYTICS, params={"event-id": "NF_LOAD"}).json()
    assert load["nfLoadLevelInfos"][0]["nserResults"] == len(records)


def test_two_replicas_send_each_periodic_report_once(
    replicas: tuple[ServedApp, ServedApp], receiver: Receiver
) -> None:
    first = replicas[0]
    started = time.time()  # before createdAt: the bound below is never too tight
    with first.client() as http:
        created = http.post(
            SUBSCRIPTIONS,
            json={
                "eventSubscriptions": [{"event": "NF_LOAD", "repetitionPeriod": 1}],
                "notificationURI": receiver.url,
            },
        )
    assert created.status_code == 201
    receiver.wait_for(3, timeout_s=6)
    time.sleep(0.5)
    bodies = receiver.received()
    # One report per elapsed period, never two (both replicas evaluate the subscription).
    assert len(bodies) <= math.floor(time.time() - started)
    stamps = [b[0]["eventNotifications"][0]["timeStampGen"] for b in bodies]
    assert len(set(stamps)) == len(stamps)
