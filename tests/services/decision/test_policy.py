"""The policy table, without Redis."""

from __future__ import annotations

import pytest
from support.results import make_record

from nser_decision.policy import Decision, Policy


@pytest.mark.parametrize(
    ("scream", "negative", "decision"),
    [
        (0.95, 0.9, Decision.NEGATIVE_SCREAM),
        (0.95, 0.6, Decision.NEGATIVE_SCREAM),  # at the threshold
        (0.95, 0.55, Decision.POSITIVE_SCREAM),  # negative label, below the alert threshold
        (0.95, 0.1, Decision.POSITIVE_SCREAM),
        (0.95, None, Decision.UNCLASSIFIED_SCREAM),  # cascade off: no type stage
        (0.2, None, Decision.NON_SCREAM),
        (0.2, 0.99, Decision.NON_SCREAM),  # the type stage ran anyway: still no scream
    ],
)
def test_policy_alerts_only_on_confident_negative_screams(
    scream: float, negative: float | None, decision: Decision
) -> None:
    assert Policy().decide(make_record(scream=scream, negative=negative)) is decision


def test_severity_rises_every_escalation_step_up_to_three() -> None:
    policy = Policy(escalate_after_windows=5)
    assert [policy.severity(n) for n in (1, 5, 6, 10, 11, 50)] == [1, 1, 2, 2, 3, 3]


def test_negative_screams_go_to_police_and_healthcare_by_default() -> None:
    assert Policy().responders("negative") == ("police", "healthcare")
    assert Policy().responders("positive") == ()


def test_an_incident_confirms_on_enough_alerting_windows_that_sound_negative_overall() -> None:
    policy = Policy(confirm_windows=2, valence_windows=4, valence_threshold=0.5)
    assert not policy.confirms(1, [0.9])  # one stray window
    assert policy.confirms(2, [0.9, 0.8])
    # A party: two misread windows among joyful screams do not outvote them...
    assert not policy.confirms(2, [0.1, 0.2, 0.9, 0.1, 0.8, 0.1])
    # ...but only the latest `valence_windows` count, so screams that turn negative alert.
    assert policy.confirms(3, [0.1, 0.1, 0.1, 0.9, 0.8, 0.7, 0.2])
    assert not policy.confirms(5, [])
