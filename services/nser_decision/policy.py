"""The decision policy: what a classified window means for the people who must act on it.

| detection                  | type                      | decision                          |
|----------------------------|---------------------------|-----------------------------------|
| P(scream) < scream thr.    | -                         | NON_SCREAM: recorded as an event  |
| scream                     | P(negative) >= neg. thr.  | ALERT: to the "negative" routes   |
| scream                     | P(negative) < neg. thr.   | POSITIVE_SCREAM: an event, quiet  |
| scream                     | not run (cascade off)     | UNCLASSIFIED_SCREAM: an event     |

Consecutive alerting windows from one device no further apart than `incident_gap_s` are one
incident with one alert, updated rather than duplicated; every `escalate_after_windows`
alerting windows raise its severity by one (1 to 3) and notify the responders again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from nser_shared.labels import Valence
from nser_shared.results import ResultRecord

MAX_SEVERITY = 3


class Decision(StrEnum):
    ALERT = "alert"
    POSITIVE_SCREAM = "positive_scream"
    UNCLASSIFIED_SCREAM = "unclassified_scream"
    NON_SCREAM = "non_scream"


@dataclass(frozen=True)
class Policy:
    scream_threshold: float = 0.5
    negative_threshold: float = 0.6
    incident_gap_s: float = 10.0
    escalate_after_windows: int = 5
    routes: tuple[tuple[str, tuple[str, ...]], ...] = (
        (Valence.NEGATIVE.value, ("police", "healthcare")),
    )

    def responders(self, valence: str) -> tuple[str, ...]:
        return dict(self.routes).get(valence, ())

    def decide(self, record: ResultRecord) -> Decision:
        if record.detection.probabilities["scream"] < self.scream_threshold:
            return Decision.NON_SCREAM
        if record.type is None:
            return Decision.UNCLASSIFIED_SCREAM
        if record.type.probabilities["negative"] >= self.negative_threshold:
            return Decision.ALERT
        return Decision.POSITIVE_SCREAM

    def severity(self, windows: int) -> int:
        return min(MAX_SEVERITY, 1 + (windows - 1) // self.escalate_after_windows)

    def continues(self, last_captured_at: float, captured_at: float) -> bool:
        """Whether a window captured at `captured_at` belongs to an incident last seen then."""
        return abs(captured_at - last_captured_at) <= self.incident_gap_s
