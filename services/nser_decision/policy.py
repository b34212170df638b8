"""The decision policy: what a classified window means for the people who must act on it.

| detection                  | type                      | decision                          |
|----------------------------|---------------------------|-----------------------------------|
| P(scream) < scream thr.    | -                         | NON_SCREAM: recorded as an event  |
| scream                     | P(negative) >= neg. thr.  | NEGATIVE_SCREAM: alerting window  |
| scream                     | P(negative) < neg. thr.   | POSITIVE_SCREAM: an event, quiet  |
| scream                     | not run (cascade off)     | UNCLASSIFIED_SCREAM: an event     |

Scream windows (either valence) from one device no further apart than `incident_gap_s` are one
incident. The incident raises its alert, to the responders routed for "negative", once it has
`confirm_windows` alerting windows (default 2: one stray window of a noisy room does not call the
police; the price is one hop of extra detection latency) AND the mean P(negative) of its last
`valence_windows` scream windows is at least `valence_threshold` (a party's screams are mostly
joyful: its odd misread window does not outvote them; a model's single-window type accuracy is
far below its per-incident one). From then on the alert is updated rather than duplicated, and
every `escalate_after_windows` alerting windows raise its severity by one (1 to 3) and notify the
responders again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from nser_shared.labels import Valence
from nser_shared.results import ResultRecord

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
    confirm_windows: int = 2
    valence_windows: int = 6
    valence_threshold: float = 0.5
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
            return Decision.NEGATIVE_SCREAM
        return Decision.POSITIVE_SCREAM

    def severity(self, windows: int) -> int:
        return min(MAX_SEVERITY, 1 + (windows - 1) // self.escalate_after_windows)

    def confirms(self, negative_windows: int, recent_negative: list[float]) -> bool:
        """Whether an unconfirmed incident raises its alert (module docstring)."""
        recent = recent_negative[-self.valence_windows :]
        return (
            negative_windows >= self.confirm_windows
            and bool(recent)
            and sum(recent) / len(recent) >= self.valence_threshold
        )

    def continues(self, last_captured_at: float, captured_at: float) -> bool:
        """Whether a window captured at `captured_at` belongs to an incident last seen then."""
        return abs(captured_at - last_captured_at) <= self.incident_gap_s
