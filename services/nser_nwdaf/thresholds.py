"""THRESHOLD reporting: which values a subscription watches, and when a crossing is reported.

Every tick, each watched value (one per threshold and scope: a cell, a device or a served model)
is compared with its threshold over the short window. A threshold is edge-triggered with
hysteresis, so a value that hovers at the threshold does not fire every tick:

    ASCENDING   fires when the value reaches the threshold; re-arms below threshold * rearm
    DESCENDING  fires when the value falls to the threshold; re-arms above threshold * (2 - rearm)
    CROSSED     fires going up (as ASCENDING) and again going back down (below threshold * rearm)

The fired side is stored in Redis per (event, threshold, scope), so replicas share it. A scope
that has left the window (no results) reads 0.

Watched values: ABNORMAL_BEHAVIOUR the surge score (threshold: each `excepRequs[].excepLevel`,
or the rule's factor), NF_LOAD `nfLoadLevel` (%) and `nserRequestRate` (results/s) per model,
DN_PERFORMANCE `avgPacketDelay` and `maxPacketDelay` (ms) per cell, NSER_EMOTION
`negativeScreamsPerMinute` per cell and device.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from nser_nwdaf.events import MatchingDirection, NwdafEvent
from nser_nwdaf.schema_subscription import EventSubscription


@dataclass(frozen=True)
class Watch:
    name: str  # unique within the event subscription, e.g. "nfLoadLevel@0"
    metric: str  # the value it reads, e.g. "nfLoadLevel"
    threshold: float
    direction: MatchingDirection


@dataclass(frozen=True)
class Reading:
    scope: str  # e.g. "cell:00066c001", "ue:phone-0001", "nf:student"
    values: dict[str, float]  # metric -> value
    item: BaseModel  # the payload entry reported when one of its values crosses


@dataclass(frozen=True)
class Step:
    fired_side: bool  # the state to store
    report: bool


def watches(es: EventSubscription, surge_factor: float) -> list[Watch]:
    direction = es.matching_dir or MatchingDirection.ASCENDING
    if es.event is NwdafEvent.ABNORMAL_BEHAVIOUR:
        levels = [e.excep_level for e in es.excep_requs or ()] or [None]
        return [
            Watch(f"excepLevel@{j}", "excepLevel", surge_factor if level is None else level,
                  MatchingDirection.ASCENDING)
            for j, level in enumerate(levels)
        ]  # fmt: skip
    found: list[tuple[str, float | None]] = []
    if es.event is NwdafEvent.NF_LOAD:
        for j, t in enumerate(es.nf_load_lvl_thds or ()):
            found += [(f"nfLoadLevel@{j}", t.nf_load_level),
                      (f"nserRequestRate@{j}", t.nser_request_rate)]  # fmt: skip
    elif es.event is NwdafEvent.DN_PERFORMANCE:
        for k, req in enumerate(es.dn_perf_reqs or ()):
            for j, t in enumerate(req.report_thresholds or ()):
                found += [(f"avgPacketDelay@{k}.{j}", t.avg_packet_delay),
                          (f"maxPacketDelay@{k}.{j}", t.max_packet_delay)]  # fmt: skip
    else:
        found = [(f"negativeScreamsPerMinute@{j}", t.negative_screams_per_minute)
                 for j, t in enumerate(es.nser_emotion_thds or ())]  # fmt: skip
    return [
        Watch(name, name.partition("@")[0], float(value), direction)
        for name, value in found
        if value is not None
    ]


def step(fired_side: bool, value: float, threshold: float, direction: MatchingDirection,
         rearm: float) -> Step:  # fmt: skip
    """The next state of one threshold, given the last one and the value now."""
    if direction is MatchingDirection.DESCENDING:
        if not fired_side:
            return Step(True, True) if value <= threshold else Step(False, False)
        return Step(False, False) if value > threshold * (2 - rearm) else Step(True, False)
    if not fired_side:
        return Step(True, True) if value >= threshold else Step(False, False)
    if value < threshold * rearm:
        return Step(False, direction is MatchingDirection.CROSSED)
    return Step(True, False)
