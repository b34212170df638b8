"""The analytics payloads: AnalyticsData (the analytics GET) and the notifications.

Attributes named `nser...` are extensions of this NWDAF: 3GPP receivers ignore what they do not
know, and the 3GPP attributes beside them keep their 3GPP meaning and units.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from nser_nwdaf.events import ExceptionTrend, NwdafEvent
from nser_nwdaf.schema_common import ApiModel, NetworkAreaInfo, Supi


class ExceptionInfo(ApiModel):
    """TS 29.520 Exception (renamed here: `Exception` is Python's base class)."""

    excep_id: str = Field(min_length=1, max_length=128)
    excep_level: int | None = Field(default=None, ge=0, le=10**9)
    excep_trend: ExceptionTrend | None = None


class SurgeMeasurement(ApiModel):
    """What the ABNORMAL_BEHAVIOUR rule saw (extension): the two windows and their rates."""

    short_window_seconds: int
    baseline_window_seconds: int
    negative_screams: int
    baseline_negative_screams: int
    negative_screams_per_minute: float
    baseline_per_minute: float
    rate_ratio: float  # short rate / max(baseline rate, floor): the rule's score


class AbnormalBehaviour(ApiModel):
    supis: list[Supi] | None = None  # devices with a negative scream in the short window
    excep: ExceptionInfo
    ratio: int | None = Field(default=None, ge=1, le=100)  # % of the cell's devices in `supis`
    network_area: NetworkAreaInfo | None = None  # extension: the cell
    nser_surge: SurgeMeasurement | None = None


class ConsumerBacklog(ApiModel):
    """A consumer group of the MEC's results stream as of the report (extension): how far the
    decision and analytics services are behind the MEC (nser_shared.stream.backlog). `lag` counts
    results not yet delivered to the group, trimmed ones included (null: Redis cannot tell)."""

    group: str
    stream_length: int
    lag: int | None
    pending: int


class NfLoadLevelInformation(ApiModel):
    nf_type: str
    nf_instance_id: str
    nf_load_level_average: int | None = Field(default=None, ge=0, le=100)
    nf_load_levelpeak: int | None = Field(default=None, ge=0, le=100)
    nser_model: str
    nser_results: int
    nser_request_rate: float  # results per second
    nser_avg_queue_delay_ms: float
    nser_max_queue_delay_ms: float
    nser_avg_inference_ms: float  # per batch that a result was part of
    nser_max_inference_ms: float
    nser_avg_batch_size: float
    nser_results_backlog: list[ConsumerBacklog] | None = None  # the stream's consumers, now


class PerfData(ApiModel):
    ave_packet_delay: int | None = None  # ms, rounded up (TS 29.571 PacketDelBudget)
    max_packet_delay: int | None = None
    nser_samples: int
    nser_avg_delay_ms: float
    nser_max_delay_ms: float


class DnPerf(ApiModel):
    perf_data: PerfData
    network_area: NetworkAreaInfo | None = None  # extension: the cell


class DnPerfInfo(ApiModel):
    app_id: str | None = None
    dn_perf: list[DnPerf]


class RateWindow(ApiModel):
    window_seconds: int
    negative_screams: int
    negative_screams_per_minute: float


class EmotionInfo(ApiModel):
    """NSER_EMOTION (not 3GPP): what was heard in one cell or by one device."""

    network_area: NetworkAreaInfo | None = None  # set for a cell
    supi: Supi | None = None  # set for a device
    results: int
    detection_counts: dict[str, int]
    type_counts: dict[str, int]
    untyped_screams: int
    valence_counts: dict[str, int]
    negative_screams_per_minute: float
    sliding_windows: list[RateWindow]


class Payloads(ApiModel):
    """One array per event, as in TS 29.520 (only the event's own array is present)."""

    abnor_behavrs: list[AbnormalBehaviour] | None = None
    nf_load_level_infos: list[NfLoadLevelInformation] | None = None
    dn_perf_infos: list[DnPerfInfo] | None = None
    nser_emotion_infos: list[EmotionInfo] | None = None


class AnalyticsData(Payloads):
    start: datetime | None = None  # the statistics' window: start ...
    expiry: datetime | None = None
    time_stamp_gen: datetime | None = None  # ... to generation (the window's end)


class EventNotification(Payloads):
    event: NwdafEvent
    start: datetime | None = None
    expiry: datetime | None = None
    time_stamp_gen: datetime | None = None


class NnwdafEventsSubscriptionNotification(ApiModel):
    event_notifications: list[EventNotification] | None = None
    subscription_id: str
    notif_corr_id: str | None = None
    term_cause: str | None = None
