"""Notifications POSTed to a real receiver on loopback: periodic reports, threshold crossings,
retries, and the end of a subscription."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from nwdaf_support import (
    CELL_A,
    CELL_B,
    NOTIFY_KEY,
    SUBSCRIPTIONS,
    Receiver,
    ServedApp,
    area,
    fast_settings,
    publish,
)
from support.processes import RedisChild, wait_until
from support.results import make_record

from nser_nwdaf.app import create_app
from nser_nwdaf.keys import threshold_state
from nser_shared.errors import ConfigurationError
from nser_shared.http import signing


def _subscribe(nwdaf: ServedApp, body: dict[str, Any]) -> str:
    with nwdaf.client() as http:
        created = http.post(SUBSCRIPTIONS, json=body)
    assert created.status_code == 201, created.text
    location: str = created.headers["location"]
    return location.rsplit("/", 1)[1]


def _metric(nwdaf: ServedApp, name: str) -> float:
    text = httpx.get(f"{nwdaf.url}/metrics").text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    )


def test_periodic_reports_arrive_as_arrays_with_ids_and_correlation(
    nwdaf: ServedApp, receiver: Receiver
) -> None:
    sub_id = _subscribe(nwdaf, {
        "eventSubscriptions": [
            {"event": "NSER_EMOTION", "notificationMethod": "PERIODIC", "repetitionPeriod": 1},
            {"event": "NF_LOAD", "notificationMethod": "PERIODIC", "repetitionPeriod": 1},
        ],
        "notificationURI": receiver.url,
        "notifCorrId": "corr-42",
    })  # fmt: skip
    bodies = receiver.wait_for(2, timeout_s=6)
    for body in bodies:
        assert isinstance(body, list)
        assert len(body) == 1
        (notification,) = body
        assert notification["subscriptionId"] == sub_id
        assert notification["notifCorrId"] == "corr-42"
        events = [n["event"] for n in notification["eventNotifications"]]
        assert events == ["NSER_EMOTION", "NF_LOAD"]
        emotion, load = notification["eventNotifications"]
        assert emotion["nserEmotionInfos"] == []
        assert load["nfLoadLevelInfos"] == []
        assert {"start", "expiry", "timeStampGen"} <= set(emotion)
    delivered = 'nser_nwdaf_notifications_total{outcome="delivered"'
    wait_until(lambda: _metric(nwdaf, delivered) >= 2, 2, "delivered counted")
    # Every notification is signed: a receiver can tell it from a forged or replayed one.
    assert len(receiver.signed) >= 2
    for raw, header in receiver.signed:
        assert signing.verify(NOTIFY_KEY, header, raw)
        assert not signing.verify("another key", header, raw)


def test_the_service_will_not_send_unsigned_notifications_unless_insecure(
    redis_server: RedisChild,
) -> None:
    with pytest.raises(ConfigurationError, match="notifications would go out unsigned"):
        create_app(fast_settings(redis_server.url, notify_secret=""))
    assert create_app(fast_settings(redis_server.url, notify_secret="", insecure=True))


def test_abnormal_behaviour_threshold_fires_for_the_screaming_cell_only(
    redis_server: RedisChild, nwdaf: ServedApp, receiver: Receiver
) -> None:
    _subscribe(nwdaf, {
        "eventSubscriptions": [{
            "event": "ABNORMAL_BEHAVIOUR", "notificationMethod": "THRESHOLD",
            "networkArea": area(CELL_A, CELL_B),
            "excepRequs": [{"excepId": "NEGATIVE_SCREAM_SURGE"}],
        }],
        "notificationURI": receiver.url,
    })  # fmt: skip
    client = redis_server.client()
    # Cell B hears the same number of windows, none of them negative screams.
    publish(client, [make_record(device_id=f"watch-b{i}", nr_cell_id=CELL_B, negative=0.1)
                     for i in range(5)])  # fmt: skip
    publish(client, [make_record(device_id=f"phone-a{i}", nr_cell_id=CELL_A, negative=0.95)
                     for i in range(5)])  # fmt: skip
    (body,) = receiver.wait_for(1, timeout_s=5)
    (note,) = body[0]["eventNotifications"]
    assert note["event"] == "ABNORMAL_BEHAVIOUR"
    cells = [b["networkArea"]["ncgis"][0]["nrCellId"] for b in note["abnorBehavrs"]]
    assert cells == [CELL_A]
    assert note["abnorBehavrs"][0]["excep"]["excepId"] == "NEGATIVE_SCREAM_SURGE"
    # Edge-triggered: the surge goes on, but the crossing is reported once.
    publish(client, [make_record(device_id="phone-a0", nr_cell_id=CELL_A, sequence=9)])
    time.sleep(1.0)
    assert len(receiver.received()) == 1


def test_a_failed_delivery_is_retried_until_the_receiver_accepts(
    redis_server: RedisChild,
) -> None:
    receiver = Receiver(fail_first=2)
    receiver.thread.start()
    nwdaf = ServedApp(fast_settings(redis_server.url)).start()
    try:
        _subscribe(nwdaf, {
            "eventSubscriptions": [{"event": "NF_LOAD", "notificationMethod": "THRESHOLD",
                                    "nfLoadLvlThds": [{"nserRequestRate": 0.5}]}],
            "notificationURI": receiver.url,
        })  # fmt: skip
        publish(redis_server.client(), [make_record(sequence=i) for i in range(5)])
        (body,) = receiver.wait_for(1, timeout_s=8)
        (note,) = body[0]["eventNotifications"]
        assert note["nfLoadLevelInfos"][0]["nserModel"] == "student"
        assert receiver.attempts == 3
        delivered = 'nser_nwdaf_notifications_total{outcome="delivered"'
        wait_until(lambda: _metric(nwdaf, delivered) == 1, 2, "delivered counted")
        assert _metric(nwdaf, "nser_nwdaf_notification_attempt_failures_total") == 2
    finally:
        nwdaf.stop()
        receiver.server.shutdown()
        receiver.server.server_close()


def test_a_receiver_that_never_answers_is_given_up_on_and_counted(
    redis_server: RedisChild,
) -> None:
    nwdaf = ServedApp(fast_settings(redis_server.url, notify_attempts=3)).start()
    try:
        _subscribe(nwdaf, {
            "eventSubscriptions": [{"event": "NSER_EMOTION", "notificationMethod": "PERIODIC",
                                    "repetitionPeriod": 1}],
            "notificationURI": "http://127.0.0.1:9/nobody-listens",
            "evtReq": {"maxReportNbr": 1},
        })  # fmt: skip
        wait_until(
            lambda: _metric(nwdaf, 'nser_nwdaf_notifications_total{outcome="failed"') == 1,
            8,
            "a failed notification",
        )
        assert _metric(nwdaf, "nser_nwdaf_notification_attempt_failures_total") == 3
    finally:
        nwdaf.stop()


def test_a_subscription_ends_after_max_report_nbr(nwdaf: ServedApp, receiver: Receiver) -> None:
    sub_id = _subscribe(nwdaf, {
        "eventSubscriptions": [{"event": "DN_PERFORMANCE", "repetitionPeriod": 1}],
        "evtReq": {"notifMethod": "PERIODIC", "maxReportNbr": 2},
        "notificationURI": receiver.url,
    })  # fmt: skip
    receiver.wait_for(2, timeout_s=6)
    with nwdaf.client() as http:
        wait_until(lambda: http.get(f"{SUBSCRIPTIONS}/{sub_id}").status_code == 404, 3, "the end")
    time.sleep(1.2)  # past the slot of a third report
    assert len(receiver.received()) == 2


@pytest.mark.parametrize("direction", ["ASCENDING", "CROSSED"])
def test_emotion_threshold_rearms_once_the_rate_falls(
    redis_server: RedisChild, receiver: Receiver, direction: str
) -> None:
    nwdaf = ServedApp(fast_settings(redis_server.url, short_window_seconds=2)).start()
    try:
        sub_id = _subscribe(nwdaf, {
            "eventSubscriptions": [{
                "event": "NSER_EMOTION", "notificationMethod": "THRESHOLD",
                "matchingDir": direction,
                "nserEmotionThds": [{"negativeScreamsPerMinute": 30}],
            }],
            "notificationURI": receiver.url,
        })  # fmt: skip
        client = redis_server.client()
        publish(client, [make_record(sequence=i) for i in range(3)])  # >= 60 per minute
        receiver.wait_for(1, timeout_s=5)
        # The burst leaves the 2 s window: re-armed (CROSSED also reports the way down) ...
        wait_until(lambda: client.hlen(threshold_state(sub_id)) == 0, 6, "the re-arm")
        expected = 2 if direction == "CROSSED" else 1
        assert len(receiver.wait_for(expected, timeout_s=1)) == expected
        # ... so a second burst is reported again.
        publish(client, [make_record(sequence=10 + i) for i in range(3)])
        receiver.wait_for(expected + 1, timeout_s=5)
    finally:
        nwdaf.stop()
