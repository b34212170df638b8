"""The values THRESHOLD subscriptions watch, read from the analytics over the short window."""

from __future__ import annotations

from nser_nwdaf.analytics import Analytics
from nser_nwdaf.events import NwdafEvent
from nser_nwdaf.schema_analytics import EmotionInfo
from nser_nwdaf.schema_common import NetworkAreaInfo
from nser_nwdaf.selection import Selection
from nser_nwdaf.thresholds import Reading
from nser_nwdaf.windows import Window


async def readings(
    analytics: Analytics, event: NwdafEvent, sel: Selection, short_seconds: int, now: float
) -> list[Reading]:
    window = Window.ending(now, short_seconds, analytics.bucket)
    if event is NwdafEvent.ABNORMAL_BEHAVIOUR:
        return [
            Reading(f"cell:{s.assessment.cell}", {"excepLevel": s.assessment.score}, s.behaviour)
            for s in await analytics.surges(now, sel, now)
        ]
    if event is NwdafEvent.NF_LOAD:
        return [
            Reading(
                f"nf:{info.nser_model}",
                {
                    "nfLoadLevel": float(info.nf_load_level_average or 0),
                    "nserRequestRate": info.nser_request_rate,
                },
                info,
            )
            for info in await analytics.nf_loads(window, now, sel.models)
        ]
    if event is NwdafEvent.DN_PERFORMANCE:
        out = []
        for info in await analytics.dn_performance(window, sel, now):
            perf = info.dn_perf[0]
            values = {"avgPacketDelay": perf.perf_data.nser_avg_delay_ms,
                      "maxPacketDelay": perf.perf_data.nser_max_delay_ms}  # fmt: skip
            out.append(Reading(f"cell:{_cell(perf.network_area)}", values, info))
        return out
    return [
        Reading(_emotion_scope(e), {"negativeScreamsPerMinute": e.negative_screams_per_minute}, e)
        for e in await analytics.emotions(window, sel, now)
    ]


async def quiet_reading(
    analytics: Analytics, event: NwdafEvent, scope: str, short_seconds: int, now: float
) -> Reading | None:
    """The reading of one scope that has dropped out of the window (all zeros, mostly)."""
    found = await readings(analytics, event, Selection.scope(scope), short_seconds, now)
    return next((r for r in found if r.scope == scope), None)


def _emotion_scope(info: EmotionInfo) -> str:
    return f"ue:{info.supi}" if info.supi is not None else f"cell:{_cell(info.network_area)}"


def _cell(area: NetworkAreaInfo | None) -> str:
    ncgis = area.ncgis if area is not None else None
    return ncgis[0].nr_cell_id if ncgis else ""
