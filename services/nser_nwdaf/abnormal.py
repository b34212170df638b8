"""The ABNORMAL_BEHAVIOUR rule: a surge of negative screams in a cell, against its own baseline.

For a cell, at the end E of the bucket holding the evaluation time:

    short window     [E - S, E)          N_s negative screams, rate r_s = N_s / elapsed
    baseline window  [E - S - L, E - S)  N_b negative screams, rate r_b = N_b / L
    score            r_s / max(r_b, floor)              (0 when N_s < min_events)
    abnormal         score >= factor

S, L, factor, min_events and floor are settings (defaults 10 s, 300 s, 3, 3 and 0.6 per
minute). The floor stops a cell with no history from turning abnormal on a single scream; the
minimum count stops a quiet cell's first few screams from doing so. `excepLevel` is the score
rounded down; `excepTrend` compares r_s with the rate of the S seconds before the short window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nser_nwdaf.events import ExceptionTrend


@dataclass(frozen=True)
class SurgeRule:
    short_seconds: int
    baseline_seconds: int
    factor: float
    min_events: int
    floor_per_minute: float


@dataclass(frozen=True)
class Assessment:
    cell: str
    negatives: int
    baseline_negatives: int
    per_minute: float
    baseline_per_minute: float
    score: float
    trend: ExceptionTrend
    abnormal: bool

    @property
    def level(self) -> int:
        return math.floor(self.score) if math.isfinite(self.score) else 0


def assess(
    rule: SurgeRule,
    cell: str,
    negatives: int,
    elapsed_seconds: float,
    baseline_negatives: int,
    previous_negatives: int,
) -> Assessment:
    """Apply the rule to one cell's counts (`previous_negatives`: the S seconds before)."""
    per_minute = 60.0 * negatives / elapsed_seconds
    baseline_per_minute = 60.0 * baseline_negatives / rule.baseline_seconds
    previous_per_minute = 60.0 * previous_negatives / rule.short_seconds
    if negatives < rule.min_events:
        score = 0.0
    else:
        score = per_minute / max(baseline_per_minute, rule.floor_per_minute)
    if per_minute > previous_per_minute:
        trend = ExceptionTrend.UP
    elif per_minute < previous_per_minute:
        trend = ExceptionTrend.DOWN
    else:
        trend = ExceptionTrend.STABLE
    return Assessment(
        cell=cell,
        negatives=negatives,
        baseline_negatives=baseline_negatives,
        per_minute=per_minute,
        baseline_per_minute=baseline_per_minute,
        score=score,
        trend=trend,
        abnormal=score >= rule.factor,
    )
