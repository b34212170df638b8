"""The decision policy: what a classified window means for the people who must act on it.

| detection                  | type                      | decision                          |
|----------------------------|---------------------------|-----------------------------------|
| P(scream) < scream thr.    | -                         | NON_SCREAM: recorded as an event  |
| scream                     | P(negative) >= neg. thr.  | NEGATIVE_SCREAM: alerting window  |
| scream                     | P(negative) < neg. thr.   | POSITIVE_SCREAM: an event, quiet  |
| scream                     | not run (cascade off)     | UNCLASSIFIED_SCREAM: an event     |

Scream windows (either valence) from one device no further apart than `incident_gap_s` are one
incident. The incident weighs the evidence of distress as Page's CUSUM does: each of its scream
windows adds P(negative) - `evidence_reference` to a sum that never drops below zero, so a
negative window raises it, a positive one lowers it, and the sum forgets a joyful past at once
when screams turn negative. On an alerting window whose sum reaches `evidence_threshold`, the
incident raises its alert to the responders routed for "negative". A model's single window is
right on the valence of about three scene windows in four (docs/evaluation/scenes), so one
window must not call the police: the default threshold 2.0 needs about five clearly negative
windows (each adds up to 0.5), more when positive ones are mixed in; 0 alerts on the first
alerting window. docs/decision.md measures the choice. From then on the alert is updated rather
than duplicated, and every `escalate_after_windows` alerting windows raise its severity by one
(1 to 3) and notify the responders again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from nser_shared.stream.results import ResultRecord
from nser_shared.wire.labels import SCREAM, Valence

MAX_SEVERITY = 3


class Decision(StrEnum):
    NEGATIVE_SCREAM = "negative_scream"
    POSITIVE_SCREAM = "positive_scream"
    UNCLASSIFIED_SCREAM = "unclassified_scream"
    NON_SCREAM = "non_scream"


@dataclass(frozen=True)
class Policy:
    scream_threshold: float = 0.5
    negative_threshold: float = 0.6
    incident_gap_s: float = 10.0
    escalate_after_windows: int = 5
    evidence_reference: float = 0.5
    evidence_threshold: float = 2.0
    routes: tuple[tuple[str, tuple[str, ...]], ...] = (
        (Valence.NEGATIVE.value, ("police", "healthcare")),
    )

    def responders(self, valence: str) -> tuple[str, ...]:
        return dict(self.routes).get(valence, ())

    def decide(self, record: ResultRecord) -> Decision:
        if record.detection.probabilities[SCREAM] < self.scream_threshold:
            return Decision.NON_SCREAM
        if record.type is None:
            return Decision.UNCLASSIFIED_SCREAM
        if record.type.probabilities[Valence.NEGATIVE] >= self.negative_threshold:
            return Decision.NEGATIVE_SCREAM
        return Decision.POSITIVE_SCREAM

    def severity(self, windows: int) -> int:
        return min(MAX_SEVERITY, 1 + (windows - 1) // self.escalate_after_windows)

    def evidence(self, evidence: float, negative_probability: float) -> float:
        """An incident's evidence of distress after one more scream window (module docstring)."""
        return max(0.0, evidence + negative_probability - self.evidence_reference)

    def confirms(self, evidence: float) -> bool:
        """Whether an unconfirmed incident with this evidence raises its alert."""
        return evidence >= self.evidence_threshold

    def first_alert(self, windows: Iterable[tuple[float, float, float]]) -> int | None:
        """The index of the window at which one device's windows, (capture time, P(scream),
        P(negative)) in capture order, first raise an alert, or None if they never do.

        The incident rule of handler.DecisionHandler without Redis, for measuring the policy
        offline (`nser scene-accuracy`); tests/services/decision/test_alerts.py checks that the
        service alerts on the same window."""
        evidence, last_scream = 0.0, None
        for index, (captured_at, scream, negative) in enumerate(windows):
            if scream < self.scream_threshold:
                continue
            if last_scream is None or not self.continues(last_scream, captured_at):
                evidence = 0.0  # a new incident
            last_scream = captured_at
            evidence = self.evidence(evidence, negative)
            if negative >= self.negative_threshold and self.confirms(evidence):
                return index
        return None

    def continues(self, last_captured_at: float, captured_at: float) -> bool:
        """Whether a window captured at `captured_at` belongs to an incident last seen then."""
        return abs(captured_at - last_captured_at) <= self.incident_gap_s
