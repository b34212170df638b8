"""Incidents, alerts, responders and the REST API, over a real Redis and real HTTP."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from support.decision import DecisionUnderTest, client, settings_for
from support.http import UvicornThread, WebhookReceiver
from support.processes import RedisChild, wait_until
from support.results import make_record
from support.tokens import bearer

from nser_decision.api import create_app
from nser_decision.policy import Policy
from nser_decision.store import AlertStore
from nser_shared.stream.consumer import DEAD_LETTER_STREAM
from nser_shared.stream.results import RESULTS_STREAM


def _alerts(d: DecisionUnderTest, **params: Any) -> list[dict[str, Any]]:
    response = d.http.get("/v1/alerts", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["alerts"])


def test_consecutive_negative_windows_are_one_incident_that_escalates(
    decision: DecisionUnderTest,
) -> None:
    t0 = time.time()
    decision.publish(
        [make_record(device_id="phone-0007", sequence=i, captured_at=t0 + i) for i in range(7)]
    )
    decision.wait_decided(7)
    (alert,) = _alerts(decision)
    assert (alert["windows"], alert["severity"], alert["status"]) == (7, 2, "open")
    assert alert["first_window"]["sequence"] == 0
    assert alert["last_window"]["sequence"] == 6
    assert alert["incident_id"] == "phone-0007/0"
    assert alert["detection_latency_ms"] >= 0
    # healthcare answers at once: severity 1, then the escalation to 2.
    posts = decision.receiver.wait_for("/health", 2)
    assert sorted(p["severity"] for p in posts) == [1, 2]
    headers = decision.receiver.headers["/health"][0]
    assert headers["Idempotency-Key"].startswith(alert["id"])


def test_webhook_retries_until_delivered_and_records_every_attempt(
    decision: DecisionUnderTest,
) -> None:
    decision.publish([make_record(device_id="watch-0001")])
    decision.receiver.wait_for("/police", 1)  # the receiver failed the first two POSTs
    alert_id = _alerts(decision)[0]["id"]

    def police() -> dict[str, Any]:
        alert = decision.http.get(f"/v1/alerts/{alert_id}").json()
        return next(r for r in alert["responders"] if r["responder"] == "police")

    wait_until(lambda: police()["state"] == "delivered", 10.0, "delivery recorded")
    notice = police()
    assert notice["attempts"] == 3
    assert notice["delivered_at"] is not None
    assert decision.receiver.attempts["/police"] == 3


def test_webhook_that_always_fails_is_marked_failed_not_lost(
    redis_server: RedisChild,
) -> None:
    with WebhookReceiver(fail_first={"/police": 100, "/health": 100}) as receiver:
        app = create_app(settings_for(redis_server.url, receiver, webhook_attempts=3))
        with UvicornThread(app) as server:
            client = redis_server.client()
            client.xadd(RESULTS_STREAM, make_record().to_fields())  # type: ignore[arg-type]

            def states() -> set[str]:
                alerts = httpx.get(f"{server.url}/v1/alerts", headers=bearer()).json()["alerts"]
                return {r["state"] for a in alerts for r in a["responders"]}

            wait_until(lambda: states() == {"failed"}, 15.0, "failed deliveries")
            metrics = httpx.get(f"{server.url}/metrics").text
            assert (
                'nser_decision_webhook_deliveries_total{outcome="failed",responder="police"} 1.0'
                in metrics
            )
        assert receiver.attempts["/police"] == 3


def test_windows_further_apart_than_the_gap_are_separate_incidents(
    decision: DecisionUnderTest,
) -> None:
    t0 = time.time()
    decision.publish(
        [
            make_record(device_id="phone-0002", sequence=0, captured_at=t0),
            make_record(device_id="phone-0002", sequence=1, captured_at=t0 + 1),
            make_record(device_id="phone-0002", sequence=30, captured_at=t0 + 30),
        ]
    )
    decision.wait_decided(3)
    alerts = _alerts(decision, device_id="phone-0002")
    assert sorted(a["windows"] for a in alerts) == [1, 2]


def test_positive_and_non_screams_raise_no_alert_but_are_recorded(
    decision: DecisionUnderTest,
) -> None:
    decision.publish(
        [make_record(device_id="phone-0003", negative=0.1) for _ in range(3)]
        + [make_record(device_id="phone-0004", scream=0.1, negative=None) for _ in range(3)]
    )
    decision.wait_decided(6)
    assert _alerts(decision) == []
    counts = {k.decode(): int(v) for k, v in decision.redis.hgetall("nser:decision:counts").items()}
    assert counts == {"positive_scream": 3, "non_scream": 3}
    assert decision.redis.xlen("nser:decision:events") == 3  # the screams, not the rest


def test_pagination_and_filters(decision: DecisionUnderTest) -> None:
    cells = ["00066c001", "00066c002"]
    decision.publish(
        [make_record(device_id=f"phone-{i:04d}", nr_cell_id=cells[i % 2]) for i in range(7)]
    )
    decision.wait_decided(7)
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = decision.http.get("/v1/alerts", params=params).json()
        seen += [a["device_id"] for a in page["alerts"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"phone-{i:04d}" for i in range(7)]
    created = [a["created_at"] for a in _alerts(decision)]
    assert created == sorted(created, reverse=True)
    assert len(_alerts(decision, nr_cell_id="00066c002")) == 3
    assert [a["device_id"] for a in _alerts(decision, device_id="phone-0004")] == ["phone-0004"]
    assert len(_alerts(decision, responder="police")) == 7
    assert _alerts(decision, responder="fire-brigade") == []
    middle = sorted(created)[3]
    assert len(_alerts(decision, since=middle)) == 4
    assert len(_alerts(decision, until=middle)) == 3


def test_bad_queries_get_4xx_with_a_reason(decision: DecisionUnderTest) -> None:
    bad_range = decision.http.get("/v1/alerts", params={"since": 10, "until": 5})
    assert bad_range.status_code == 400
    assert "time range" in bad_range.json()["detail"]
    bad_cursor = decision.http.get("/v1/alerts", params={"cursor": "not-a-cursor"})
    assert bad_cursor.status_code == 400
    assert "cursor" in bad_cursor.json()["detail"]
    assert decision.http.get("/v1/alerts", params={"limit": 0}).status_code == 422
    assert decision.http.get("/v1/alerts", params={"status": "closed"}).status_code == 422
    assert decision.http.get("/v1/alerts", params={"nr_cell_id": "cell-7"}).status_code == 422
    for bound in ("since", "until"):  # a bad request, not a Redis outage (was 503)
        for value in ("nan", "inf", "-inf"):
            answer = decision.http.get("/v1/alerts", params={bound: value})
            assert answer.status_code == 422, (bound, value, answer.text)
    missing = decision.http.get("/v1/alerts/abc123")
    assert missing.status_code == 404
    assert "abc123" in missing.json()["detail"]


def test_acknowledge_and_resolve_follow_the_lifecycle(decision: DecisionUnderTest) -> None:
    t0 = time.time()
    decision.publish([make_record(device_id="phone-0005", captured_at=t0)])
    decision.wait_decided(1)
    alert_id = _alerts(decision)[0]["id"]
    ack = decision.http.post(f"/v1/alerts/{alert_id}/acknowledge")
    assert ack.status_code == 200
    assert ack.json()["status"] == "acknowledged"
    again = decision.http.post(f"/v1/alerts/{alert_id}/acknowledge")
    assert again.status_code == 409
    assert "acknowledged" in again.json()["detail"]
    assert len(_alerts(decision, status="acknowledged")) == 1
    assert decision.http.post(f"/v1/alerts/{alert_id}/resolve").json()["status"] == "resolved"
    assert decision.http.post(f"/v1/alerts/{alert_id}/resolve").status_code == 409
    assert decision.http.post("/v1/alerts/ffff/resolve").status_code == 404
    # A resolved incident is closed: the device's next negative window opens a new one.
    decision.publish([make_record(device_id="phone-0005", sequence=1, captured_at=t0 + 1)])
    decision.wait_decided(2)
    statuses = sorted(a["status"] for a in _alerts(decision, device_id="phone-0005"))
    assert statuses == ["open", "resolved"]


def test_live_feed_streams_alert_changes(decision: DecisionUnderTest) -> None:
    lines: list[str] = []
    connected = threading.Event()

    def listen() -> None:
        with decision.http.stream("GET", "/v1/alerts/feed", timeout=20) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            for line in response.iter_lines():
                connected.set()
                lines.append(line)
                if line.startswith("data: "):
                    return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert connected.wait(10)
    decision.publish([make_record(device_id="assistant-0009")])
    thread.join(15)
    data = [json.loads(line[6:]) for line in lines if line.startswith("data: ")]
    assert data
    assert data[0]["device_id"] == "assistant-0009"
    assert "event: alert" in lines


def test_poison_message_is_dead_lettered_and_the_rest_go_on(decision: DecisionUnderTest) -> None:
    decision.redis.xadd(RESULTS_STREAM, {"schema": "nser.result/1", "result_id": "x"})
    decision.publish([make_record(device_id="phone-0010")])
    decision.wait_decided(1)
    wait_until(lambda: decision.redis.xlen(DEAD_LETTER_STREAM) == 1, 10.0, "dead letter")
    assert len(_alerts(decision)) == 1
    assert decision.http.get("/readyz").status_code == 200


def test_an_incident_alerts_only_once_a_second_window_adds_enough_evidence(
    redis_server: RedisChild,
) -> None:
    with WebhookReceiver() as receiver:
        # P(negative) 0.9 adds 0.4 per window: two windows reach 0.7, one does not.
        app = create_app(settings_for(redis_server.url, receiver, evidence_threshold=0.7))
        with UvicornThread(app) as server, client(server.url) as http:
            d = DecisionUnderTest(server.url, redis_server.client(), receiver, http)
            t0 = time.time()
            d.publish(
                [
                    make_record(device_id="phone-0001", sequence=0, captured_at=t0),
                    make_record(device_id="phone-0002", sequence=0, captured_at=t0),
                    make_record(device_id="phone-0002", sequence=20, captured_at=t0 + 20),
                ]
            )
            d.wait_decided(3)
            assert _alerts(d) == []  # stray windows, and two more than the gap apart
            d.publish([make_record(device_id="phone-0001", sequence=1, captured_at=t0 + 1)])
            d.wait_decided(4)
            (alert,) = _alerts(d)
            assert alert["windows"] == 2
            assert alert["first_window"]["sequence"] == 0
            # Measured from the first window's capture, not from the confirming one's.
            latency_ms = (alert["created_at"] - t0) * 1e3
            assert alert["detection_latency_ms"] == pytest.approx(latency_ms, abs=1.0)


def test_joyful_screams_outvote_a_misread_pair_but_not_a_turn_to_fear(
    redis_server: RedisChild,
) -> None:
    """A party device: two alerting windows among positive screams raise nothing; when its
    screams stay negative, the same incident alerts, measured from its first alerting window."""
    with WebhookReceiver() as receiver:
        settings = settings_for(redis_server.url, receiver, evidence_threshold=1.0)
        with UvicornThread(create_app(settings)) as server, client(server.url) as http:
            d = DecisionUnderTest(server.url, redis_server.client(), receiver, http)
            t0 = time.time()
            p_negative = [0.05, 0.1, 0.9, 0.05, 0.1, 0.8, 0.1]  # two misread windows at a party
            # The policy's offline replay (nser scene-accuracy) alerts on the same window.
            replayed = [(float(i), 0.95, p) for i, p in enumerate([*p_negative, 0.9, 0.9, 0.9])]
            assert Policy(evidence_threshold=1.0).first_alert(replayed) == 9
            d.publish(
                [
                    make_record(device_id="watch-0007", sequence=i, negative=p, captured_at=t0 + i)
                    for i, p in enumerate(p_negative)
                ]
            )
            d.wait_decided(len(p_negative))
            assert _alerts(d, device_id="watch-0007") == []
            d.publish(
                [
                    make_record(device_id="watch-0007", sequence=i, negative=0.9, captured_at=t)
                    for i, t in ((i, t0 + i) for i in range(7, 9))
                ]
            )
            d.wait_decided(len(p_negative) + 2)
            assert _alerts(d, device_id="watch-0007") == []  # evidence 0.8 < 1.0
            d.publish([make_record(device_id="watch-0007", sequence=9, captured_at=t0 + 9)])
            d.wait_decided(len(p_negative) + 3)
            (alert,) = _alerts(d, device_id="watch-0007")
            assert alert["first_window"]["sequence"] == 2  # the incident's first alerting window
            # Evidence 0.4 at window 2 and 0.3 at 5 fell back to 0 each time; then 0.4, 0.8 and
            # 1.2 at 7, 8 and 9. The alert counts every alerting window: 2, 5, 7, 8 and 9.
            assert alert["windows"] == 5


def test_retention_removes_alerts_by_age_then_the_oldest_beyond_the_count(
    decision: DecisionUnderTest, redis_server: RedisChild
) -> None:
    t0 = time.time()
    devices = [f"phone-00{n:02d}" for n in range(5)]
    decision.publish([make_record(device_id=d, sequence=0, captured_at=t0) for d in devices])
    decision.wait_decided(5)
    by_age = {a["device_id"]: a for a in _alerts(decision)}
    assert set(by_age) == set(devices)
    created = sorted(a["created_at"] for a in by_age.values())
    store = AlertStore(aioredis.Redis.from_url(redis_server.url))

    async def expire(now: float, max_age_s: float, max_alerts: int) -> int:
        try:
            return await store.expire(now, max_age_s, max_alerts)
        finally:
            await store.redis.aclose()

    # An hour later, with a day's retention and room for 3: the 2 oldest go.
    assert asyncio.run(expire(t0 + 3600, 86_400, 3)) == 2
    kept = _alerts(decision)
    assert sorted(a["created_at"] for a in kept) == created[2:]
    for gone in set(by_age) - {a["device_id"] for a in kept}:
        response = decision.http.get(f"/v1/alerts/{by_age[gone]['id']}")
        assert response.status_code == 404
    # Two days later everything is past a day's retention.
    store = AlertStore(aioredis.Redis.from_url(redis_server.url))
    assert asyncio.run(expire(t0 + 2 * 86_400, 86_400, 100)) == 3
    assert _alerts(decision) == []
    # A device whose alert was removed starts a new incident.
    decision.publish([make_record(device_id=devices[0], sequence=1, captured_at=time.time())])
    decision.wait_decided(6)
    (fresh,) = _alerts(decision)
    assert fresh["incident_id"] == f"{devices[0]}/1"
