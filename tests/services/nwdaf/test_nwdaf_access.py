"""Access control and abuse limits of the Nnwdaf APIs, over real HTTP: bearer tokens and roles
(401/403 as ProblemDetails), the open operational routes, the body size limit (declared and
chunked), the cap on subscriptions and on JSON query parameters."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
from nwdaf_support import ANALYTICS, CELL_A, SUBSCRIPTIONS, ServedApp, area, fast_settings
from support.processes import RedisChild
from support.results import make_record
from support.tokens import bearer

from nser_nwdaf.routes_analytics import MAX_JSON_PARAM_CHARS
from nser_shared.security.tokens import Role
from nser_shared.stream.results import RESULTS_STREAM


def subscription() -> dict[str, Any]:
    return {
        "eventSubscriptions": [{"event": "NSER_EMOTION", "notificationMethod": "PERIODIC",
                                "repetitionPeriod": 60, "networkArea": area(CELL_A)}],
        "notificationURI": "http://127.0.0.1:9/notify",
    }  # fmt: skip


def _problem(response: httpx.Response, status: int, cause: str | None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body.get("cause") == cause
    return body


def _routes(subscription_id: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    one = f"{SUBSCRIPTIONS}/{subscription_id}"
    reads = [("GET", f"{ANALYTICS}?event-id=NSER_EMOTION"), ("GET", SUBSCRIPTIONS), ("GET", one)]
    changes = [("POST", SUBSCRIPTIONS), ("PUT", one), ("DELETE", one)]
    return reads, changes


def _send(nwdaf: ServedApp, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    body = subscription() if method in ("POST", "PUT") else None
    return httpx.request(method, nwdaf.url + path, json=body, headers=headers, timeout=10)


def test_every_nnwdaf_route_needs_a_known_bearer_token(shared_nwdaf: ServedApp) -> None:
    with shared_nwdaf.client() as http:
        subscription_id = http.post(SUBSCRIPTIONS, json=subscription()).headers["location"]
    reads, changes = _routes(subscription_id.rsplit("/", 1)[1])
    unknown = {"Authorization": f"Bearer {secrets.token_urlsafe(32)}"}
    for method, path in reads + changes:
        missing = _problem(_send(shared_nwdaf, method, path, {}), 401, "INVALID_TOKEN")
        assert "Authorization: Bearer <token>" in missing["detail"]
        response = _send(shared_nwdaf, method, path, unknown)
        body = _problem(response, 401, "INVALID_TOKEN")
        assert body["title"] == "Unauthorized"
        assert response.headers["www-authenticate"] == 'Bearer realm="nser", error="invalid_token"'


def test_a_reader_reads_and_only_an_operator_manages_subscriptions(
    shared_nwdaf: ServedApp,
) -> None:
    with shared_nwdaf.client() as http:
        location = http.post(SUBSCRIPTIONS, json=subscription()).headers["location"]
    subscription_id = location.rsplit("/", 1)[1]
    reads, changes = _routes(subscription_id)
    for method, path in reads:
        assert _send(shared_nwdaf, method, path, bearer(Role.READER)).status_code == 200, path
    before = _send(shared_nwdaf, "GET", SUBSCRIPTIONS, bearer(Role.READER)).json()
    for method, path in changes:
        response = _send(shared_nwdaf, method, path, bearer(Role.READER))
        body = _problem(response, 403, "INSUFFICIENT_SCOPE")
        assert re.fullmatch(
            r"this operation needs the operator role; the token of "
            r"'dev-reader-\d{8}T\d{6}-[0-9a-f]{6}' "
            "has the reader role",
            body["detail"],
        )
    assert _send(shared_nwdaf, "GET", SUBSCRIPTIONS, bearer(Role.READER)).json() == before
    statuses = [_send(shared_nwdaf, m, p, bearer(Role.OPERATOR)).status_code for m, p in changes]
    assert statuses == [201, 200, 204]


def test_health_readiness_and_metrics_stay_open_and_name_no_device(
    nwdaf: ServedApp, redis_server: RedisChild
) -> None:
    redis_server.client().xadd(
        RESULTS_STREAM,
        make_record(device_id="phone-0042").to_fields(),  # type: ignore[arg-type]
    )
    with nwdaf.client() as http:
        http.get(ANALYTICS, params={"event-id": "NSER_EMOTION", "tgt-ue": '{"anyUe": true}'})
    for path in ("/healthz", "/readyz", "/metrics"):
        response = httpx.get(nwdaf.url + path, timeout=10)
        assert response.status_code == 200, path
        assert "phone-0042" not in response.text


def _chunks(total: int) -> Iterator[bytes]:
    for _ in range(total // 1000):
        yield b" " * 1000  # JSON whitespace: a valid body, were it not too long


def test_a_body_over_the_limit_is_413_whether_declared_or_chunked(
    redis_server: RedisChild,
) -> None:
    served = ServedApp(fast_settings(redis_server.url, max_body_bytes=4000)).start()
    try:
        with served.client() as http:
            http.headers["content-type"] = "application/json"
            body = json.dumps(subscription()).encode()
            assert http.post(SUBSCRIPTIONS, content=body.ljust(4000)).status_code == 201
            declared = http.post(SUBSCRIPTIONS, content=body.ljust(4001))
            chunked = http.post(SUBSCRIPTIONS, content=_chunks(10_000))
            put = http.put(f"{SUBSCRIPTIONS}/x", content=body.ljust(50_000))
            for response in (declared, chunked, put):
                problem = _problem(response, 413, None)
                assert problem["detail"] == (
                    "the request body is larger than this service accepts (4000 bytes)"
                )
            assert len(http.get(SUBSCRIPTIONS).json()) == 1
            metrics = http.get("/metrics").text
            assert 'code="413"' in metrics  # counted like any other answer
    finally:
        served.stop()


def test_subscriptions_are_capped_until_one_is_deleted(redis_server: RedisChild) -> None:
    served = ServedApp(fast_settings(redis_server.url, max_subscriptions=2)).start()
    try:
        with served.client() as http:
            first = http.post(SUBSCRIPTIONS, json=subscription())
            assert http.post(SUBSCRIPTIONS, json=subscription()).status_code == 201
            refused = http.post(SUBSCRIPTIONS, json=subscription())
            body = _problem(refused, 403, "SUBSCRIPTION_LIMIT_REACHED")
            assert body["detail"] == (
                "2 subscriptions exist, the most this NWDAF keeps; delete one first"
            )
            assert len(http.get(SUBSCRIPTIONS).json()) == 2
            assert http.delete(first.headers["location"]).status_code == 204
            assert http.post(SUBSCRIPTIONS, json=subscription()).status_code == 201
    finally:
        served.stop()


def test_an_overlong_json_query_parameter_is_400(shared_nwdaf: ServedApp) -> None:
    supis = json.dumps({"supis": [f"phone-{i:04d}" for i in range(1000)]})
    assert len(supis) > MAX_JSON_PARAM_CHARS
    with shared_nwdaf.client() as http:
        response = http.get(ANALYTICS, params={"event-id": "NSER_EMOTION", "tgt-ue": supis})
    body = _problem(response, 400, "INVALID_QUERY_PARAM")
    assert body["invalidParams"][0]["param"] == "tgt-ue"
