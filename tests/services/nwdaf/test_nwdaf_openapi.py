"""Property-based: requests generated from the service's own OpenAPI document, sent to the real
service on loopback, never get a 5xx, and every answer matches what the document says.

The document is taken from the app itself at import time (schemathesis' lazy fixture loader does
not work with this pytest), and a test pins that the served /openapi.json is the same document.
Requests carry the operator token, which may do everything (access control: test_nwdaf_access.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from nwdaf_support import ServedApp, fast_settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from support.processes import RedisChild, free_port
from support.tokens import TOKENS_PATH, bearer

from nser_nwdaf.app import create_app
from nser_nwdaf.settings import NwdafSettings


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    workdir: Path = tmp_path_factory.mktemp("redis")
    redis_server = RedisChild(free_port(), workdir)
    redis_server.start()
    # The notifier never ticks again after start-up: generated subscriptions name random
    # notificationURIs that nothing should be sent to.
    served = ServedApp(fast_settings(redis_server.url, tick_seconds=3600)).start()
    try:
        yield served
    finally:
        served.stop()
        redis_server.stop()


DOCUMENT = create_app(NwdafSettings(tokens_file=TOKENS_PATH)).openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT)


def test_the_served_document_is_the_one_under_test(served: ServedApp) -> None:
    assert httpx.get(f"{served.url}/openapi.json").json() == DOCUMENT


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_generated_requests_get_documented_answers_and_no_5xx(case: Any, served: ServedApp) -> None:
    response = case.call(base_url=served.url, headers=bearer(), timeout=10)
    assert response.status_code < 500, response.text
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
