"""Nnwdaf_EventsSubscription: create, read, replace, delete, list; and subscriptions that outlive
the service process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from nwdaf_support import CELL_A, SUBSCRIPTIONS, ServedApp, area
from support.processes import RedisChild, free_port
from support.tokens import TOKENS_PATH, bearer

from nser_up.processes import HttpServiceChild


def subscription(event: str = "NSER_EMOTION", **extra: Any) -> dict[str, Any]:
    return {
        "eventSubscriptions": [
            {"event": event, "notificationMethod": "PERIODIC", "repetitionPeriod": 60,
             "networkArea": area(CELL_A)}
        ],
        "notificationURI": "http://127.0.0.1:9/notify",
        "notifCorrId": "corr-1",
        **extra,
    }  # fmt: skip


def test_subscription_lifecycle_create_get_replace_delete(nwdaf: ServedApp) -> None:
    with nwdaf.client() as http:
        created = http.post(SUBSCRIPTIONS, json=subscription())
        assert created.status_code == 201, created.text
        location = created.headers["location"]
        sub_id = location.rsplit("/", 1)[1]
        assert location == f"{nwdaf.url}{SUBSCRIPTIONS}/{sub_id}"
        assert created.json()["notifCorrId"] == "corr-1"

        got = http.get(location)
        assert got.status_code == 200
        assert got.json()["eventSubscriptions"][0]["networkArea"] == area(CELL_A)

        replaced = http.put(location, json=subscription("DN_PERFORMANCE", notifCorrId="corr-2"))
        assert replaced.status_code == 200, replaced.text
        again = http.get(location).json()
        assert (again["eventSubscriptions"][0]["event"], again["notifCorrId"]) == (
            "DN_PERFORMANCE",
            "corr-2",
        )
        listed = http.get(SUBSCRIPTIONS).json()
        assert [e["subscriptionId"] for e in listed] == [sub_id]

        assert http.delete(location).status_code == 204
        for response in (http.get(location), http.delete(location),
                         http.put(location, json=subscription())):  # fmt: skip
            assert response.status_code == 404
            assert response.json()["cause"] == "SUBSCRIPTION_NOT_FOUND"
        assert http.get(SUBSCRIPTIONS).json() == []


def test_immediate_report_comes_back_in_the_created_subscription(nwdaf: ServedApp) -> None:
    body = subscription("NF_LOAD", evtReq={"immRep": True})
    with nwdaf.client() as http:
        created = http.post(SUBSCRIPTIONS, json=body)
        assert created.status_code == 201, created.text
        (report,) = created.json()["eventNotifications"]
        assert report["event"] == "NF_LOAD"
        assert report["nfLoadLevelInfos"] == []
        stored = http.get(created.headers["location"]).json()
        assert "eventNotifications" not in stored  # read-only: not stored


def _start_service(redis_url: str, port: int, log: Path) -> HttpServiceChild:
    """`python -m nser_nwdaf` on `port`, once its /readyz says 200."""
    args = ["--port", str(port), "--redis-url", redis_url, "--tokens-file", TOKENS_PATH,
            "--insecure", "--notify-allowed-hosts", "127.0.0.1"]  # fmt: skip
    child = HttpServiceChild("nser_nwdaf", args, log, port)
    child.start(timeout_s=30)
    return child


def test_subscriptions_survive_a_restart_of_the_service(
    redis_server: RedisChild, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}{SUBSCRIPTIONS}"
    first = _start_service(redis_server.url, port, tmp_path / "nwdaf-1.log")
    try:
        created = httpx.post(base, json=subscription(), headers=bearer(), timeout=5)
        assert created.status_code == 201, created.text
        location = created.headers["location"]
    finally:
        assert first.stop() == 0  # SIGTERM: a clean shutdown
    second = _start_service(redis_server.url, port, tmp_path / "nwdaf-2.log")
    try:
        got = httpx.get(location, headers=bearer(), timeout=5)
        assert got.status_code == 200
        assert got.json()["notifCorrId"] == "corr-1"
    finally:
        second.stop()
