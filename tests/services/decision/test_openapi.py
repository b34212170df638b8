"""Property-based run of the decision REST API against its own OpenAPI document: no 5xx, and
every response's status, content type and body as documented. Schema-valid requests may still
get a documented 400 (an empty time range, a cursor this API never issued), so schemathesis's
"positive data is accepted" check is left out. Requests carry the operator token (it may do
everything); schemathesis' own auth check also sends them without it and expects a 401."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance
from support.decision import DecisionUnderTest
from support.results import make_record
from support.tokens import TOKENS_PATH, bearer

from nser_decision.api import create_app
from nser_decision.settings import DecisionSettings

SCHEMA = schemathesis.openapi.from_dict(
    create_app(DecisionSettings(tokens_file=TOKENS_PATH)).openapi()
)
OPERATIONS = [
    (path, method)
    for path, methods in SCHEMA.raw_schema["paths"].items()
    for method in methods
    if path != "/v1/alerts/feed"  # an endless stream: covered by its own test
]


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_no_server_error_and_responses_match_the_document(
    decision: DecisionUnderTest, path: str, method: str
) -> None:
    decision.publish([make_record(device_id=f"phone-{i:04d}") for i in range(3)])
    decision.wait_decided(3)
    strategy = SCHEMA[path][method.upper()].as_strategy()

    @given(case=strategy)
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(
            base_url=decision.url, headers=bearer(), excluded_checks=[positive_data_acceptance]
        )

    check()
