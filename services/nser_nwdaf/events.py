"""The analytics events this NWDAF serves, and the 3GPP enumerations around them: one place.

Three are 3GPP NwdafEvent values (TS 29.520); NSER_EMOTION is not. TS 29.520 defines NwdafEvent as
"anyOf: enum, string" so that events can be added; a consumer that only knows 3GPP events can
still parse a notification that carries NSER_EMOTION, it just cannot interpret its payload.
"""

from __future__ import annotations

from enum import StrEnum


class NwdafEvent(StrEnum):
    ABNORMAL_BEHAVIOUR = "ABNORMAL_BEHAVIOUR"  # 3GPP: a cell's negative-scream rate surges
    NF_LOAD = "NF_LOAD"  # 3GPP: load of the MEC inference service, per served model
    DN_PERFORMANCE = "DN_PERFORMANCE"  # 3GPP: capture -> published delay, per cell
    NSER_EMOTION = "NSER_EMOTION"  # custom: counts by class and valence, negative-scream rates


# The payload array that carries each event's analytics, in AnalyticsData and EventNotification.
PAYLOAD_FIELD: dict[NwdafEvent, str] = {
    NwdafEvent.ABNORMAL_BEHAVIOUR: "abnor_behavrs",
    NwdafEvent.NF_LOAD: "nf_load_level_infos",
    NwdafEvent.DN_PERFORMANCE: "dn_perf_infos",
    NwdafEvent.NSER_EMOTION: "nser_emotion_infos",
}


class NotificationMethod(StrEnum):
    """EventSubscription.notificationMethod."""

    PERIODIC = "PERIODIC"
    THRESHOLD = "THRESHOLD"


class ReportingMethod(StrEnum):
    """ReportingInformation.notifMethod (TS 29.508 NotificationMethod)."""

    PERIODIC = "PERIODIC"
    ONE_TIME = "ONE_TIME"
    ON_EVENT_DETECTION = "ON_EVENT_DETECTION"


class MatchingDirection(StrEnum):
    """How a threshold is crossed: ASCENDING fires going up, DESCENDING going down, CROSSED both."""

    ASCENDING = "ASCENDING"
    DESCENDING = "DESCENDING"
    CROSSED = "CROSSED"


class ExceptionTrend(StrEnum):
    UP = "UP"
    DOWN = "DOWN"
    UNKNOWN = "UNKNOWN"
    STABLE = "STABLE"


# The only ExceptionId this NWDAF detects. Not a 3GPP value (ExceptionId is also "anyOf: enum,
# string"): a surge of negative screams in a cell, relative to the cell's own recent baseline.
NEGATIVE_SCREAM_SURGE = "NEGATIVE_SCREAM_SURGE"

# nfType reported for the MEC inference service. NFType is extensible too; the MEC application is
# not a 3GPP network function, so it gets its own value rather than borrowing one.
MEC_NF_TYPE = "NSER_MEC"
