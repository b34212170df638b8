"""Property-based fuzzing of both REST APIs from their served OpenAPI documents, against real
server processes (`python -m nser_decision`, `python -m nser_nwdaf`) on loopback over a real
redis-server. Every operation gets schema-valid requests (schemathesis; path ids half the time
those of alerts / subscriptions that exist) from random callers:

- the operator (it may do everything): never a 5xx, and status, content type and body as the
  document says (schema-valid requests may still get a documented 4xx: an unknown id, an empty
  time range, an alert already resolved);
- no token, a token the service never issued, or the random strings schemathesis makes for the
  bearer scheme: 401 on every operation but the open ones;
- the reader: 403 on the operator's operations; documented answers on the rest.

A warm-up pass runs first (every code path once, allocator pools filled); then a second pass
whose requests are replayed REPLAYS more times, each time as another kind of caller (so every
one of them is also checked as every caller), and the server's VmRSS must grow by less than
RSS_BOUND_KB between the end of the warm-up and the end of the replays.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_support import decision_replica
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Err
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.schemas import OpenApiSchema
from support.processes import RedisChild, free_port, wait_until
from support.results import make_record
from support.tokens import TOKENS, TOKENS_PATH

from nser_shared.security.tokens import Role
from nser_shared.stream.results import RESULTS_STREAM
from nser_up.processes import Child, HttpServiceChild

# Generating a request costs far more than sending it (schemathesis draws each body from the
# schema), so the measured pass's generated requests are replayed rather than more generated.
EXAMPLES = 10  # generated requests per operation and pass
REPLAYS = 9  # the measured pass's requests are sent this many more times (cheap: no generation)
# Growth allowed from the end of the warm-up to the end of the run (EXAMPLES * (1 + REPLAYS) =
# 100 requests per operation, 700 to 900 per service): the services keep nothing per request in
# memory (alerts and subscriptions are in Redis), so what remains is CPython's and glibc's
# allocators growing a pool or an arena, a few MiB at most (measured: under 0.5 MiB). A leak of
# 32 kB a request (about one request and its response) would cross it.
RSS_BOUND_KB = 16 * 1024
OPEN = {"GET /healthz", "GET /readyz", "GET /metrics"}  # the operations that need no token
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
OPERATOR, READER, NO_TOKEN, UNKNOWN, GENERATED = (
    "operator", "reader", "no token", "unknown token", "generated token")  # fmt: skip
CALLERS = [OPERATOR] * 6 + [READER, NO_TOKEN, UNKNOWN, GENERATED]  # mostly the whole surface
KINDS = [OPERATOR, READER, NO_TOKEN, UNKNOWN, GENERATED]  # each kind of caller once
HEADERS = {  # the Authorization header each caller sends
    OPERATOR: {"Authorization": f"Bearer {TOKENS[Role.OPERATOR]}"},
    READER: {"Authorization": f"Bearer {TOKENS[Role.READER]}"},
    NO_TOKEN: {},
    UNKNOWN: {"Authorization": f"Bearer {secrets.token_urlsafe(32)}"},
    GENERATED: {},  # the one schemathesis made for the bearer scheme: random strings, or none
}
SUBSCRIPTIONS = "/nnwdaf-eventssubscription/v1/subscriptions"


@dataclass
class Service:
    name: str
    child: HttpServiceChild
    schema: OpenApiSchema
    operator_only: set[str]  # "METHOD /path" of the operations a reader gets 403 from
    skipped: set[str]  # operations that are not request / response (the live feed)
    id_param: str  # the path parameter that names a stored resource
    existing_ids: Callable[[httpx.Client], list[str]]  # ids of the stored resources


def _rss_kb(child: Child) -> int:
    assert child.process is not None
    for line in Path(f"/proc/{child.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _client(service: Service) -> httpx.Client:
    return httpx.Client(base_url=service.child.url, headers=HEADERS[OPERATOR], timeout=10)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = RedisChild(free_port(), tmp_path_factory.mktemp("fuzz-rest-redis"))
    server.start()
    with server.client() as client:
        for i in range(20):  # results to decide and count: alerts and analytics to read
            record = make_record(device_id=f"phone-{i:04d}", nr_cell_id=f"00066c00{i % 3}")
            client.xadd(RESULTS_STREAM, record.to_fields())  # type: ignore[arg-type]
    try:
        yield server.url
    finally:
        server.stop()


def _alert_ids(http: httpx.Client) -> list[str]:
    return [alert["id"] for alert in http.get("/v1/alerts", params={"limit": 500}).json()["alerts"]]


def _subscription_ids(http: httpx.Client) -> list[str]:
    return [entry["subscriptionId"] for entry in http.get(SUBSCRIPTIONS).json()]


@pytest.fixture(scope="module")
def decision(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Service]:
    workdir = tmp_path_factory.mktemp("fuzz-rest-decision")
    child = decision_replica("fuzz", redis_url, workdir, "--tokens-file", TOKENS_PATH)
    child.start()
    try:
        service = Service(
            "decision",
            child,
            schemathesis.openapi.from_url(f"{child.url}/openapi.json", timeout=10),
            {"POST /v1/alerts/{alert_id}/acknowledge", "POST /v1/alerts/{alert_id}/resolve"},
            {"GET /v1/alerts/feed"},  # an endless stream: tests/services/decision has its own
            "alert_id",
            _alert_ids,
        )
        with _client(service) as http:
            wait_until(lambda: len(_alert_ids(http)) == 20, 30, "an alert per published result")
        yield service
    finally:
        child.stop()


@pytest.fixture(scope="module")
def nwdaf(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Service]:
    workdir = tmp_path_factory.mktemp("fuzz-rest-nwdaf")
    port = free_port()
    # No notification goes out after start-up: generated subscriptions name random
    # notificationURIs that nothing should be sent to.
    args = ["--port", str(port), "--redis-url", redis_url, "--consumer", "fuzz", "--insecure",
            "--tokens-file", TOKENS_PATH, "--tick-seconds", "3600", "--notify-attempts", "1",
            "--notify-timeout-seconds", "1", "--notify-allowed-hosts", "127.0.0.1"]  # fmt: skip
    child = HttpServiceChild("nser_nwdaf", args, workdir / "nwdaf.log", port)
    child.start()
    one = SUBSCRIPTIONS + "/{subscriptionId}"
    try:
        service = Service(
            "nwdaf",
            child,
            schemathesis.openapi.from_url(f"{child.url}/openapi.json", timeout=10),
            {f"POST {SUBSCRIPTIONS}", f"PUT {one}", f"DELETE {one}"},
            set(),
            "subscriptionId",
            _subscription_ids,
        )
        with _client(service) as http:
            for cell in ("00066c001", "00066c002", "00066c003"):  # some to read, change, delete
                area = {"ncgis": [{"plmnId": {"mcc": "001", "mnc": "01"}, "nrCellId": cell}]}
                event = {"event": "NSER_EMOTION", "notificationMethod": "PERIODIC",
                         "repetitionPeriod": 60, "networkArea": area}  # fmt: skip
                body = {"eventSubscriptions": [event], "notificationURI": "http://127.0.0.1:9/n"}
                assert http.post(SUBSCRIPTIONS, json=body).status_code == 201
        yield service
    finally:
        child.stop()


def _cases(service: Service, operation: APIOperation) -> st.SearchStrategy[schemathesis.Case]:
    """Generated requests; where the path names a resource, half of them name one that exists
    (ids as they are when this pass reaches the operation)."""
    generated = operation.as_strategy()
    if "{" + service.id_param + "}" in operation.path:
        with _client(service) as http:
            ids = service.existing_ids(http)
        if ids:
            named = st.sampled_from(ids).flatmap(
                lambda i: operation.as_strategy(path_parameters={service.id_param: i})
            )
            generated = st.one_of(generated, named)
    # A generated id may make the path another operation's (GET /v1/alerts/{alert_id} with the
    # hex id "feed" is the endless live feed): those requests are that operation's, skipped.
    return generated.filter(
        lambda case: f"{case.method} {case.formatted_path}" not in service.skipped
    )


def _check(service: Service, case: schemathesis.Case, caller: str) -> int:
    """Send `case` as `caller`; the status, after checking it and the response."""
    if caller != GENERATED and case.headers:
        case.headers.pop("Authorization", None)  # the caller's own header, or none at all
    response = case.call(base_url=service.child.url, headers=HEADERS[caller], timeout=10)
    label, status = case.operation.label, response.status_code
    what = f"{service.name}: {case.method} {case.formatted_path} as {caller}: {status}"
    if label in OPEN or status == 413:  # a body over the size limit is refused before any role
        pass
    elif caller in (NO_TOKEN, UNKNOWN, GENERATED):
        assert status == 401, f"{what} {response.text[:300]}"
    elif caller == READER and label in service.operator_only:
        assert status == 403, f"{what} {response.text[:300]}"
    else:  # a role that may do it (the 403 of the NWDAF's subscription cap: 1000, never near)
        assert status not in (401, 403), f"{what} {response.text[:300]}"
    case.validate_response(response, checks=CHECKS)
    return status


def _fuzz(service: Service) -> list[tuple[schemathesis.Case, str]]:
    """One pass: EXAMPLES generated requests per operation, checked; the requests sent."""
    sent: list[tuple[schemathesis.Case, str]] = []
    for result in service.schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # an operation of the served document schemathesis cannot use
        operation = result.ok()
        if operation.label in service.skipped:
            continue
        declared = bool(operation.definition.raw.get("security"))
        assert declared == (operation.label not in OPEN), f"{operation.label}: security declared"

        @given(case=_cases(service, operation), caller=st.sampled_from(CALLERS))
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        def fuzz(case: schemathesis.Case, caller: str) -> None:
            _check(service, case, caller)
            sent.append((case, caller))

        fuzz()
    return sent


def _replay_caller(caller: str, replay: int) -> str:
    """Who sends a request on its `replay`-th replay (from 0): each kind of caller in turn from
    the one it was generated with, so that every generated request of the measured pass is sent
    (and checked) as every kind of caller (REPLAYS >= len(KINDS))."""
    return KINDS[(KINDS.index(caller) + replay) % len(KINDS)]


def _fuzz_with_bounded_memory(service: Service) -> None:
    warm_up = _fuzz(service)  # every code path once, allocator pools filled
    before = _rss_kb(service.child)
    sent = _fuzz(service)
    answers: Counter[str] = Counter()
    for replay in range(REPLAYS):
        for case, generated_as in sent:
            caller = _replay_caller(generated_as, replay)
            answers[f"{caller} {_check(service, case, caller)}"] += 1
    after = _rss_kb(service.child)
    print(
        f"\n{service.name} REST fuzz: warm-up {len(warm_up)} requests, then {len(sent)} "
        f"generated + {len(sent) * REPLAYS} replayed; the replays' answers by caller and status: "
        f"{dict(sorted(answers.items()))}; RSS {before} -> {after} kB ({after - before:+d} kB)"
    )
    assert after - before < RSS_BOUND_KB
    service.child.check_alive()


def test_decision_api_answers_every_generated_request_as_documented(decision: Service) -> None:
    _fuzz_with_bounded_memory(decision)


def test_nwdaf_apis_answer_every_generated_request_as_documented(nwdaf: Service) -> None:
    _fuzz_with_bounded_memory(nwdaf)
