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


def _evidence(policy: Policy, p_negative: list[float]) -> list[float]:
    """The incident's evidence after each of its scream windows."""
    evidence, trace = 0.0, []
    for p in p_negative:
        evidence = policy.evidence(evidence, p)
        trace.append(evidence)
    return trace


def test_an_incident_alerts_once_its_windows_add_up_to_enough_evidence_of_distress() -> None:
    policy = Policy(evidence_reference=0.5, evidence_threshold=1.0)
    assert _evidence(policy, [0.9, 0.9, 0.9]) == pytest.approx([0.4, 0.8, 1.2])
    assert [policy.confirms(e) for e in _evidence(policy, [0.9, 0.9, 0.9])] == [False, False, True]
    assert policy.evidence(0.3, 0.1) == 0.0  # never below zero
    # A party: misread windows among joyful screams never add up, however long it goes on...
    party = _evidence(policy, [0.05, 0.1, 0.9, 0.05, 0.1, 0.8, 0.1] * 10)
    assert max(party) < policy.evidence_threshold
    # ...and the sum forgets that joyful past: screams that turn negative alert as fast as
    # they would from silence.
    assert _evidence(policy, [0.05] * 20 + [0.9] * 3)[-3:] == pytest.approx([0.4, 0.8, 1.2])
    # Threshold 0: the first alerting window alerts.
    assert Policy(evidence_threshold=0.0).confirms(policy.evidence(0.0, 0.6))
