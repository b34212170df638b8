"""Access control and abuse limits of the decision service's REST API, over real HTTP: bearer
tokens and roles (401/403), the open operational routes, the live feed's bounds, the body size
limit, start-up without tokens, and tokens kept out of the logs."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from support.decision import DecisionUnderTest, client, settings_for
from support.http import UvicornThread, WebhookReceiver
from support.processes import RedisChild, wait_until
from support.results import make_record
from support.tokens import TOKENS, bearer

from nser_decision.api import create_app
from nser_decision.store import FEED
from nser_shared.errors import ConfigurationError
from nser_shared.http.limits import MAX_QUERY_BYTES
from nser_shared.prom import sample_value
from nser_shared.security.tokens import TOKENS_FILE, Role, write_dev_tokens

READ = [("GET", "/v1/alerts"), ("GET", "/v1/alerts/{id}")]
OPERATE = [("POST", "/v1/alerts/{id}/acknowledge"), ("POST", "/v1/alerts/{id}/resolve")]


@contextmanager
def serve(redis_server: RedisChild, **overrides: object) -> Iterator[DecisionUnderTest]:
    with WebhookReceiver() as receiver:
        app = create_app(settings_for(redis_server.url, receiver, **overrides))
        with UvicornThread(app) as server, client(server.url) as http:
            yield DecisionUnderTest(server.url, redis_server.client(), receiver, http)


def _one_alert(decision: DecisionUnderTest) -> str:
    decision.publish([make_record(device_id="phone-0001")])
    decision.wait_decided(1)
    wait_until(lambda: decision.http.get("/v1/alerts").json()["alerts"], 10.0, "an alert")
    alert_id: str = decision.http.get("/v1/alerts").json()["alerts"][0]["id"]
    return alert_id


def _call(url: str, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.request(method, url + path, headers=headers, timeout=10)


def test_every_alert_route_needs_a_known_bearer_token(decision: DecisionUnderTest) -> None:
    alert_id = _one_alert(decision)
    attempts = {
        "no header": ({}, 'Bearer realm="nser"'),
        "another scheme": ({"Authorization": "Basic dXNlcjpwdw=="}, 'Bearer realm="nser"'),
        "bearer, no token": ({"Authorization": "Bearer"}, 'Bearer realm="nser"'),
        "unknown token": (
            {"Authorization": f"Bearer {secrets.token_urlsafe(32)}"},
            'Bearer realm="nser", error="invalid_token"',
        ),
    }
    for method, template in [*READ, *OPERATE, ("GET", "/v1/alerts/feed")]:
        path = template.format(id=alert_id)
        for what, (headers, challenge) in attempts.items():
            response = _call(decision.url, method, path, headers)
            assert response.status_code == 401, (method, path, what)
            assert response.headers["www-authenticate"] == challenge
            detail = response.json()["detail"]
            assert "token" in detail, detail
    assert decision.http.get(f"/v1/alerts/{alert_id}").json()["status"] == "open"


def test_a_reader_reads_alerts_and_the_feed_but_only_an_operator_changes_them(
    decision: DecisionUnderTest,
) -> None:
    alert_id = _one_alert(decision)
    reader = bearer(Role.READER)
    for method, template in READ:
        assert _call(decision.url, method, template.format(id=alert_id), reader).status_code == 200
    with httpx.stream("GET", f"{decision.url}/v1/alerts/feed", headers=reader, timeout=10) as r:
        assert r.status_code == 200
        assert next(r.iter_lines()) == ": connected"
    for method, template in OPERATE:
        response = _call(decision.url, method, template.format(id=alert_id), reader)
        assert response.status_code == 403
        assert response.headers["www-authenticate"].endswith('error="insufficient_scope"')
        assert re.fullmatch(
            r"this operation needs the operator role; the token of "
            r"'dev-reader-\d{8}T\d{6}-[0-9a-f]{6}' "
            "has the reader role",
            response.json()["detail"],
        )
    assert decision.http.get(f"/v1/alerts/{alert_id}").json()["status"] == "open"
    operator = bearer(Role.OPERATOR)
    for method, template in OPERATE:
        assert _call(decision.url, method, template.format(id=alert_id), operator).is_success
    assert decision.http.get(f"/v1/alerts/{alert_id}").json()["status"] == "resolved"


def test_health_readiness_and_metrics_stay_open_and_name_no_device(
    decision: DecisionUnderTest,
) -> None:
    _one_alert(decision)
    for path in ("/healthz", "/readyz", "/metrics"):
        response = httpx.get(decision.url + path, timeout=10)
        assert response.status_code == 200, path
        assert "phone-0001" not in response.text  # no personal data without a token
    # Every request is counted by its route template (the shared skeleton's request metrics).
    metrics = httpx.get(decision.url + "/metrics", timeout=10).text
    assert 'nser_decision_http_requests_total{code="200",method="GET",route="/healthz"}' in metrics
    assert 'method="GET",route="/v1/alerts"' in metrics  # the test's own reads, with a token


def test_a_body_or_query_over_the_limit_is_refused_before_it_is_read(
    redis_server: RedisChild,
) -> None:
    with serve(redis_server, max_body_bytes=1000) as d:
        path = f"/v1/alerts/{'a' * 32}/acknowledge"
        assert d.http.post(path, content=b"x" * 1000).status_code == 404  # at the limit: served
        for target in (path, "/no/such/route"):
            response = d.http.post(target, content=b"x" * 1001)
            assert response.status_code == 413
            assert response.json() == {
                "detail": "the request body is larger than this service accepts (1000 bytes)"
            }
        long_query = d.http.get("/v1/alerts", params={"cursor": "c" * (MAX_QUERY_BYTES + 1)})
        assert long_query.status_code == 414
        assert long_query.json()["detail"] == (
            f"the query string is longer than this service accepts ({MAX_QUERY_BYTES} B)"
        )


def test_live_feed_clients_are_capped_and_a_closed_one_frees_its_place(
    redis_server: RedisChild,
) -> None:
    with serve(redis_server, max_feed_clients=1) as d:
        with d.http.stream("GET", "/v1/alerts/feed") as first:
            # Keep the line iterator: a discarded one closes the response, and the client with it.
            lines = first.iter_lines()
            assert next(lines) == ": connected"
            refused = d.http.get("/v1/alerts/feed")
            assert refused.status_code == 503
            assert "1 live feed clients are connected" in refused.json()["detail"]

        def admitted() -> bool:
            with d.http.stream("GET", "/v1/alerts/feed") as again:
                return again.status_code == 200

        wait_until(admitted, 10.0, "the feed's place freed")
        # The refusal above, and any while the closed client's place was being freed.
        metrics = d.http.get("/metrics").text
        assert sample_value(metrics, "nser_decision_feed_refused_total") >= 1.0


def test_a_feed_client_that_falls_behind_is_cut_with_a_lagging_event(
    redis_server: RedisChild,
) -> None:
    events = 3000
    with serve(redis_server, feed_queue_events=4) as d:
        with d.http.stream("GET", "/v1/alerts/feed", timeout=60) as feed:
            lines = feed.iter_lines()
            assert next(lines) == ": connected"
            payload = '{"filler": "' + "x" * 8000 + '"}'  # 24 MB in all: more than socket buffers
            pipe = d.redis.pipeline(transaction=False)
            for _ in range(events):
                pipe.publish(FEED, payload)
            pipe.execute()
            received = [line for line in lines if line.startswith("event: ")]
        assert received[-1] == "event: lagging"
        assert received.count("event: alert") < events  # the rest were never queued
        metrics = d.http.get("/metrics").text
        assert 'nser_decision_feed_cut_total{reason="lagging"} 1.0' in metrics
        wait_until(lambda: "nser_decision_feed_clients 0.0" in d.http.get("/metrics").text,
                   10.0, "the cut client's place freed")  # fmt: skip


def test_without_a_tokens_file_it_starts_only_when_insecure(redis_server: RedisChild) -> None:
    with WebhookReceiver() as receiver:
        with pytest.raises(ConfigurationError, match="nser credentials"):
            create_app(settings_for(redis_server.url, receiver, tokens_file=""))
        app = create_app(settings_for(redis_server.url, receiver, tokens_file="", insecure=True))
        with UvicornThread(app) as server:
            assert httpx.get(f"{server.url}/v1/alerts", timeout=10).status_code == 200


def test_tokens_never_reach_the_logs(
    redis_server: RedisChild, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = secrets.token_urlsafe(32)
    caplog.set_level(logging.DEBUG)
    with WebhookReceiver() as receiver:
        app = create_app(settings_for(redis_server.url, receiver))
        with UvicornThread(app, propagate_logs=True) as server:
            url = f"{server.url}/v1/alerts"
            for headers in ({"Authorization": f"Bearer {wrong}"}, {"Authorization": wrong},
                            bearer(Role.READER), bearer(Role.OPERATOR)):  # fmt: skip
                httpx.get(url, headers=headers, timeout=10)
                httpx.post(f"{url}/{'b' * 32}/resolve", headers=headers, timeout=10)
    logged = caplog.text
    assert "GET /v1/alerts" in logged  # the access log was captured
    assert "401 POST /v1/alerts" in logged  # and the denials
    assert "403 POST /v1/alerts" in logged
    for token in (wrong, *TOKENS.values()):
        assert token not in logged


def test_tokens_rotate_and_expire_without_a_restart(
    redis_server: RedisChild, tmp_path: Path
) -> None:
    tokens_dir = tmp_path / "creds"
    old = write_dev_tokens(tokens_dir)
    with serve(redis_server, tokens_file=str(tokens_dir / TOKENS_FILE)) as decision:

        def status(token: str) -> int:
            headers = {"Authorization": f"Bearer {token}"}
            return _call(decision.url, "GET", "/v1/alerts", headers).status_code

        assert status(old[Role.READER]) == 200
        new = write_dev_tokens(tokens_dir, rotate_after_s=3600)  # `--rotate-tokens`
        wait_until(lambda: status(new[Role.READER]) == 200, 5.0, "the new token accepted")
        assert status(old[Role.READER]) == 200  # within its grace
        # The grace over: rotate again with none; the first tokens are gone, the second expire.
        write_dev_tokens(tokens_dir, rotate_after_s=0.0)
        wait_until(lambda: status(old[Role.READER]) == 401, 5.0, "the first tokens refused")
        response = _call(
            decision.url, "GET", "/v1/alerts", {"Authorization": f"Bearer {new[Role.READER]}"}
        )
        assert response.status_code == 401
        assert "expired at" in response.text
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_the_no_alert_events_stream_is_held_at_its_configured_length(
    redis_server: RedisChild,
) -> None:
    with serve(redis_server, events_maxlen=10) as d:
        d.publish([make_record(device_id="phone-0003", negative=0.1) for _ in range(400)])
        d.wait_decided(400)
        # approximate trimming drops whole nodes of 100 entries: within one node of the cap
        assert 10 <= d.redis.xlen("nser:decision:events") <= 110
