"""Bad input gets a 4xx ProblemDetails that says what is wrong; nothing crashes and nothing
stored is lost. Redis going away gets 503s, and the service recovers when it returns."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from nwdaf_support import ANALYTICS, SUBSCRIPTIONS, ServedApp, publish, wait_consumed
from support.processes import RedisChild, wait_until
from support.results import make_record


def _iso(delta_s: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=delta_s)).isoformat()


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["detail"]
    return body


BAD_QUERIES = {
    "unknown event": ({"event-id": "UE_MOBILITY"}, "event-id", "INVALID_QUERY_PARAM"),
    "no event": ({}, "event-id", "MANDATORY_QUERY_PARAM_MISSING"),
    "ana-req not JSON": ({"ana-req": "{startTs:"}, "ana-req", "INVALID_QUERY_PARAM"),
    "ana-req not an object": ({"ana-req": "[1, 2]"}, "ana-req", "INVALID_QUERY_PARAM"),
    "startTs not a time": ({"ana-req": '{"startTs": "yesterday"}'}, "ana-req/startTs", None),
    "event-filter not JSON": ({"event-filter": "networkArea"}, "event-filter", None),
    "bad nrCellId": (
        {"event-filter": '{"networkArea": {"ncgis": [{"plmnId": {"mcc": "001", "mnc": "01"}, '
                         '"nrCellId": "not-a-cell"}]}}'},
        "event-filter/networkArea/ncgis/0/nrCellId",
        None,
    ),
    "area without cells": ({"event-filter": '{"networkArea": {}}'}, "event-filter/networkArea",
                           None),
    "tgt-ue not JSON": ({"tgt-ue": "phone-0001"}, "tgt-ue", None),
    "start after end": (
        {"ana-req": json.dumps({"startTs": _iso(-10), "endTs": _iso(-20)})}, "ana-req/startTs",
        None,
    ),
    "a prediction": ({"ana-req": json.dumps({"endTs": _iso(3600)})}, "ana-req/endTs", None),
    "positive offset": ({"ana-req": '{"offsetPeriod": 60}'}, "ana-req/offsetPeriod", None),
    "older than kept": (
        {"ana-req": json.dumps({"startTs": _iso(-86_400)})}, "ana-req/startTs", None,
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_QUERIES), ids=list(BAD_QUERIES))
def test_bad_analytics_queries_are_400_naming_the_parameter(
    shared_nwdaf: ServedApp, case: str
) -> None:
    params, param, cause = BAD_QUERIES[case]
    query = {"event-id": "NSER_EMOTION", **params} if case != "no event" else params
    with shared_nwdaf.client() as http:
        body = _problem(http.get(ANALYTICS, params=query), 400)
    assert body["invalidParams"][0]["param"] == param
    assert body["cause"] == (cause or "INVALID_QUERY_PARAM")


def _valid() -> dict[str, Any]:
    return {
        "eventSubscriptions": [
            {"event": "NF_LOAD", "notificationMethod": "PERIODIC", "repetitionPeriod": 10}
        ],
        "notificationURI": "http://127.0.0.1:9/notify",
    }


BAD_BODIES: dict[str, tuple[Any, str, str]] = {
    "no events": ({**_valid(), "eventSubscriptions": []}, "/eventSubscriptions",
                  "MANDATORY_IE_INCORRECT"),
    "no notificationURI": ({"eventSubscriptions": _valid()["eventSubscriptions"]},
                           "/notificationURI", "MANDATORY_IE_MISSING"),
    "unknown event": (
        {**_valid(), "eventSubscriptions": [{"event": "QOS_SUSTAINABILITY",
                                             "repetitionPeriod": 5}]},
        "/eventSubscriptions/0/event", "MANDATORY_IE_INCORRECT",
    ),
    "not a URL": ({**_valid(), "notificationURI": "ftp://x"}, "/notificationURI",
                  "MANDATORY_IE_INCORRECT"),
    # Internal hosts not allowed (the tests allow 127.0.0.1 for their own receivers):
    "cloud metadata service": ({**_valid(), "notificationURI": "http://169.254.169.254/latest"},
                               "/notificationURI", "MANDATORY_IE_INCORRECT"),
    "this host by name": ({**_valid(), "notificationURI": "https://localhost:8443/n"},
                          "/notificationURI", "MANDATORY_IE_INCORRECT"),
    "this host, IPv6": ({**_valid(), "notificationURI": "http://[::1]:9/n"}, "/notificationURI",
                        "MANDATORY_IE_INCORRECT"),
    "PERIODIC without period": (
        {**_valid(), "eventSubscriptions": [{"event": "NF_LOAD"}]},
        "/eventSubscriptions/0/repetitionPeriod", "MANDATORY_IE_INCORRECT",
    ),
    "THRESHOLD without thresholds": (
        {**_valid(), "eventSubscriptions": [{"event": "DN_PERFORMANCE",
                                             "notificationMethod": "THRESHOLD"}]},
        "/eventSubscriptions/0/dnPerfReqs", "MANDATORY_IE_INCORRECT",
    ),
    "foreign exception id": (
        {**_valid(), "eventSubscriptions": [{
            "event": "ABNORMAL_BEHAVIOUR", "notificationMethod": "THRESHOLD",
            "excepRequs": [{"excepId": "UNEXPECTED_UE_LOCATION"}],
        }]},
        "/eventSubscriptions/0/excepRequs", "MANDATORY_IE_INCORRECT",
    ),
    "monitoring over": ({**_valid(), "evtReq": {"monDur": _iso(-60)}}, "/evtReq/monDur",
                        "MANDATORY_IE_INCORRECT"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_BODIES), ids=list(BAD_BODIES))
def test_invalid_subscriptions_are_400_and_leave_the_stored_one_alone(
    shared_nwdaf: ServedApp, case: str
) -> None:
    bad, param, cause = BAD_BODIES[case]
    with shared_nwdaf.client() as http:
        location = http.post(SUBSCRIPTIONS, json=_valid()).headers["location"]
        stored = len(http.get(SUBSCRIPTIONS).json())
        for response in (http.post(SUBSCRIPTIONS, json=bad), http.put(location, json=bad)):
            body = _problem(response, 400)
            assert body["invalidParams"][0]["param"] == param
            assert body["cause"] == cause
        assert http.get(location).json()["eventSubscriptions"][0]["repetitionPeriod"] == 10
        assert len(http.get(SUBSCRIPTIONS).json()) == stored


def test_a_body_that_is_not_json_is_a_message_format_error(shared_nwdaf: ServedApp) -> None:
    with shared_nwdaf.client() as http:
        response = http.post(
            SUBSCRIPTIONS, content=b"{not json", headers={"content-type": "application/json"}
        )
        assert _problem(response, 400)["cause"] == "INVALID_MSG_FORMAT"
        assert _problem(http.get(f"{SUBSCRIPTIONS}/nope"), 404)["cause"] == (
            "SUBSCRIPTION_NOT_FOUND"
        )
        assert _problem(http.get("/nnwdaf-nothing/v1"), 404)
        assert http.get("/healthz").status_code == 200


def test_redis_outage_is_503_and_the_service_recovers(
    redis_server: RedisChild, nwdaf: ServedApp
) -> None:
    with nwdaf.client() as http:
        location = http.post(SUBSCRIPTIONS, json=_valid()).headers["location"]
        redis_server.stop()
        assert _problem(http.get(location), 503)["cause"] == "STORE_UNAVAILABLE"
        body = _problem(http.get(ANALYTICS, params={"event-id": "NF_LOAD"}), 503)
        assert "Redis" in body["detail"]
        assert http.get("/readyz").status_code == 503
        assert http.get("/healthz").status_code == 200

        redis_server.start()  # an empty Redis on the same port: the service carries on
        wait_until(lambda: http.get("/readyz").status_code == 200, 10, "ready again")
        publish(redis_server.client(), [make_record()])
        wait_consumed(redis_server.client(), 1)
        loads = http.get(ANALYTICS, params={"event-id": "NF_LOAD"}).json()["nfLoadLevelInfos"]
        assert [load["nserResults"] for load in loads] == [1]
