"""NnwdafEventsSubscription and its parts (TS 29.520), with the checks that need more than a
schema: which thresholds each event needs, and what a PERIODIC report needs.

A notification method left out is taken from `evtReq.notifMethod` (ON_EVENT_DETECTION means
THRESHOLD; PERIODIC and ONE_TIME mean PERIODIC, ONE_TIME with a single report), and a
repetition period left out from `evtReq.repPeriod`.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from pydantic import AnyHttpUrl, Field

from nser_nwdaf.errors import InvalidSubscriptionError
from nser_nwdaf.events import (
    NEGATIVE_SCREAM_SURGE,
    MatchingDirection,
    NotificationMethod,
    NwdafEvent,
    ReportingMethod,
)
from nser_nwdaf.schema_analytics import EventNotification, ExceptionInfo
from nser_nwdaf.schema_common import (
    ApiModel,
    NetworkAreaInfo,
    TargetUeInformation,
    unix_seconds,
)
from nser_shared.http.outbound import internal_host_reason

MAX_PERIOD_SECONDS = 86_400


class ThresholdLevel(ApiModel):
    """TS 29.520 ThresholdLevel; each attribute set is one threshold (see docs/nwdaf.md)."""

    nf_load_level: int | None = Field(default=None, ge=0, le=100)  # NF_LOAD, %
    nser_request_rate: float | None = Field(default=None, ge=0, le=10**9)  # NF_LOAD, results/s
    avg_packet_delay: int | None = Field(default=None, ge=0, le=10**9)  # DN_PERFORMANCE, ms
    max_packet_delay: int | None = Field(default=None, ge=0, le=10**9)  # DN_PERFORMANCE, ms


class DnPerformanceReq(ApiModel):
    report_thresholds: list[ThresholdLevel] | None = Field(
        default=None, min_length=1, max_length=16
    )


class EmotionThreshold(ApiModel):
    """NSER_EMOTION threshold (extension): negative screams per minute in a cell or device."""

    negative_screams_per_minute: float = Field(ge=0, le=10**9)


class EventSubscription(ApiModel):
    event: NwdafEvent
    notification_method: NotificationMethod | None = None
    matching_dir: MatchingDirection | None = None
    repetition_period: int | None = Field(default=None, ge=1, le=MAX_PERIOD_SECONDS)
    network_area: NetworkAreaInfo | None = None
    tgt_ue: TargetUeInformation | None = None
    nf_load_lvl_thds: list[ThresholdLevel] | None = Field(default=None, min_length=1, max_length=16)
    excep_requs: list[ExceptionInfo] | None = Field(default=None, min_length=1, max_length=16)
    dn_perf_reqs: list[DnPerformanceReq] | None = Field(default=None, min_length=1, max_length=16)
    nser_emotion_thds: list[EmotionThreshold] | None = Field(
        default=None, min_length=1, max_length=16
    )


class ReportingInformation(ApiModel):
    """`evtReq`: reporting requirements of the whole subscription."""

    imm_rep: bool | None = None
    notif_method: ReportingMethod | None = None
    max_report_nbr: int | None = Field(default=None, ge=1, le=10**9)
    mon_dur: datetime | None = None
    rep_period: int | None = Field(default=None, ge=1, le=MAX_PERIOD_SECONDS)


class NnwdafEventsSubscription(ApiModel):
    event_subscriptions: list[EventSubscription] = Field(min_length=1, max_length=32)
    evt_req: ReportingInformation | None = None
    notification_uri: AnyHttpUrl = Field(alias="notificationURI")
    notif_corr_id: str | None = Field(default=None, max_length=1024)
    supported_features: str | None = Field(default=None, max_length=64)
    # Read-only: the immediate reports of a subscription made with evtReq.immRep.
    event_notifications: list[EventNotification] | None = None

    def method(self, index: int) -> NotificationMethod:
        given = self.event_subscriptions[index].notification_method
        if given is not None:
            return given
        if (
            self.evt_req is not None
            and self.evt_req.notif_method is ReportingMethod.ON_EVENT_DETECTION
        ):
            return NotificationMethod.THRESHOLD
        return NotificationMethod.PERIODIC

    def period(self, index: int) -> int | None:
        given = self.event_subscriptions[index].repetition_period
        return given if given is not None else (self.evt_req.rep_period if self.evt_req else None)

    def max_reports(self) -> int | None:
        req = self.evt_req
        if req is None:
            return None
        if req.notif_method is ReportingMethod.ONE_TIME:
            return 1
        return req.max_report_nbr


def check_subscription(
    sub: NnwdafEventsSubscription, now: float, allowed_hosts: Collection[str] = ()
) -> None:
    """InvalidSubscriptionError naming (by JSON pointer) every attribute that makes `sub`
    unworkable, its notificationURI included when it names an internal host not in
    `allowed_hosts` (nser_shared.http.outbound)."""
    problems: list[tuple[str, str]] = []
    internal = internal_host_reason(str(sub.notification_uri), allowed_hosts)
    if internal is not None:
        reason = f"{internal}: not notified unless listed in NSER_NWDAF_NOTIFY_ALLOWED_HOSTS"
        problems.append(("/notificationURI", reason))
    mon_dur = sub.evt_req.mon_dur if sub.evt_req else None
    if mon_dur is not None and _before(mon_dur, now):
        problems.append(("/evtReq/monDur", "is in the past"))
    for i, es in enumerate(sub.event_subscriptions):
        at = f"/eventSubscriptions/{i}"
        if es.network_area is not None and not es.network_area.ncgis:
            problems.append((f"{at}/networkArea", "only ncgis (NR cells) are supported"))
        if sub.method(i) is NotificationMethod.PERIODIC:
            if sub.period(i) is None:
                problems.append((f"{at}/repetitionPeriod", "PERIODIC needs a repetition period"))
            continue
        problems.extend(_threshold_problems(es, at))
    if problems:
        detail = "; ".join(f"{param}: {reason}" for param, reason in problems)
        raise InvalidSubscriptionError(detail, problems)


def _threshold_problems(es: EventSubscription, at: str) -> list[tuple[str, str]]:
    if es.event is NwdafEvent.ABNORMAL_BEHAVIOUR:
        wrong = [e.excep_id for e in es.excep_requs or () if e.excep_id != NEGATIVE_SCREAM_SURGE]
        if wrong:
            return [(f"{at}/excepRequs", f"only {NEGATIVE_SCREAM_SURGE} is detected, not {wrong}")]
        return []
    if es.event is NwdafEvent.NF_LOAD:
        levels = es.nf_load_lvl_thds or []
        if not any(t.nf_load_level is not None or t.nser_request_rate is not None for t in levels):
            return [(f"{at}/nfLoadLvlThds", "THRESHOLD needs nfLoadLevel or nserRequestRate")]
        return []
    if es.event is NwdafEvent.DN_PERFORMANCE:
        levels = [t for req in es.dn_perf_reqs or () for t in req.report_thresholds or ()]
        if not any(
            t.avg_packet_delay is not None or t.max_packet_delay is not None for t in levels
        ):
            reason = "THRESHOLD needs reportThresholds with avgPacketDelay or maxPacketDelay"
            return [(f"{at}/dnPerfReqs", reason)]
        return []
    if not es.nser_emotion_thds:
        return [(f"{at}/nserEmotionThds", "THRESHOLD needs negativeScreamsPerMinute")]
    return []


def _before(value: datetime, now: float) -> bool:
    try:
        return unix_seconds(value) <= now
    except ValueError:
        return value.year < 1970  # out of range: only the far past counts as past
