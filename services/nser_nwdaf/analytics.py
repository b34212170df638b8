"""The analytics core: bucket counters in, TS 29.520 payloads out. Transport-free: the analytics
GET and the notifier both call `Analytics.report`.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import redis.asyncio as aioredis

from nser_nwdaf import counters as c
from nser_nwdaf.abnormal import Assessment, SurgeRule, assess
from nser_nwdaf.events import MEC_NF_TYPE, NEGATIVE_SCREAM_SURGE, PAYLOAD_FIELD, NwdafEvent
from nser_nwdaf.keys import ScopeKind
from nser_nwdaf.schema_analytics import (
    AbnormalBehaviour,
    ConsumerBacklog,
    DnPerf,
    DnPerfInfo,
    EmotionInfo,
    ExceptionInfo,
    NfLoadLevelInformation,
    Payloads,
    PerfData,
    RateWindow,
    SurgeMeasurement,
)
from nser_nwdaf.selection import Plmn, Selection
from nser_nwdaf.settings import NwdafSettings
from nser_nwdaf.windows import Totals, Window, read_members, read_series
from nser_shared.stream.backlog import read_backlogs
from nser_shared.wire.labels import Valence

APP_ID = "nser"


@dataclass(frozen=True)
class Surge:
    assessment: Assessment
    behaviour: AbnormalBehaviour


class Analytics:
    def __init__(self, redis: aioredis.Redis, settings: NwdafSettings) -> None:
        self.redis = redis
        self.bucket = settings.bucket_seconds
        self.plmn = Plmn(settings.mcc, settings.mnc)
        self.rule = SurgeRule(
            short_seconds=settings.short_window_seconds,
            baseline_seconds=settings.baseline_window_seconds,
            factor=settings.abnormal_factor,
            min_events=settings.abnormal_min_events,
            floor_per_minute=settings.abnormal_floor_per_minute,
        )

    async def report(
        self, event: NwdafEvent, start: float, end: float, sel: Selection, now: float
    ) -> Payloads:
        """The event's payload array over [start, end] (the surge rule: as of `end`)."""
        window = Window.covering(start, end, self.bucket)
        items: Sequence[object]
        if event is NwdafEvent.ABNORMAL_BEHAVIOUR:
            surges = await self.surges(end, sel, now)
            items = [s.behaviour for s in surges if s.assessment.abnormal][: sel.max_objects]
        elif event is NwdafEvent.NF_LOAD:
            items = (await self.nf_loads(window, now, sel.models))[: sel.max_objects]
        elif event is NwdafEvent.DN_PERFORMANCE:
            items = (await self.dn_performance(window, sel, now))[: sel.max_objects]
        else:
            items = await self.emotions(window, sel, now)  # limits cells and devices itself
        return Payloads.model_validate({PAYLOAD_FIELD[event]: items})

    async def surges(self, end: float, sel: Selection, now: float) -> list[Surge]:
        """The surge rule for every selected cell, abnormal or not, most abnormal first."""
        r = self.rule
        short = Window.ending(end, r.short_seconds, self.bucket)
        baseline, previous = short.before(r.baseline_seconds), short.before(r.short_seconds)
        span = Window(baseline.start, short.end)
        series = await read_series(self.redis, ScopeKind.CELL, span, self.bucket)
        negative = c.scream_type(c.NEGATIVE)
        now_t, base_t, prev_t = (
            series.totals(w, _ids(sel.cells)) for w in (short, baseline, previous)
        )
        cells = sel.cells if sel.cells is not None else frozenset(now_t) | frozenset(base_t)
        seen = await read_members(self.redis, short, self.bucket)
        screamers = await read_members(self.redis, short, self.bucket, negative=True)
        out = []
        for cell in cells:
            a = assess(r, cell, _get(now_t, cell, negative), short.elapsed(now),
                       _get(base_t, cell, negative), _get(prev_t, cell, negative))  # fmt: skip
            supis = sorted(d for x, d in screamers if x == cell)
            devices = sum(1 for x, _ in seen if x == cell)
            behaviour = AbnormalBehaviour(
                supis=supis or None,
                excep=ExceptionInfo(
                    excep_id=NEGATIVE_SCREAM_SURGE, excep_level=a.level, excep_trend=a.trend
                ),
                ratio=max(1, round(100 * len(supis) / devices)) if supis and devices else None,
                network_area=self.plmn.area(cell),
                nser_surge=SurgeMeasurement(
                    short_window_seconds=r.short_seconds,
                    baseline_window_seconds=r.baseline_seconds,
                    negative_screams=a.negatives,
                    baseline_negative_screams=a.baseline_negatives,
                    negative_screams_per_minute=a.per_minute,
                    baseline_per_minute=a.baseline_per_minute,
                    rate_ratio=a.score,
                ),
            )
            out.append(Surge(a, behaviour))
        return sorted(out, key=lambda s: (-s.assessment.score, s.assessment.cell))

    async def nf_loads(
        self, window: Window, now: float, models: frozenset[str] | None = None
    ) -> list[NfLoadLevelInformation]:
        series = await read_series(self.redis, ScopeKind.NF, window, self.bucket)
        backlog = [ConsumerBacklog(**asdict(b)) for b in await read_backlogs(self.redis)]
        elapsed = window.elapsed(now)
        out = []
        for model, t in sorted(series.totals(window, _ids(models)).items()):
            n = max(1, t.get(c.N))
            out.append(
                NfLoadLevelInformation(
                    nf_type=MEC_NF_TYPE,
                    nf_instance_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"nser:mec:{model}")),
                    nf_load_level_average=_percent(t.get(c.BUSY_US) / 1e6 / elapsed),
                    nf_load_levelpeak=_percent(t.peaks.get(c.BUSY_US, 0) / 1e6 / self.bucket),
                    nser_model=model,
                    nser_results=t.get(c.N),
                    nser_request_rate=t.get(c.N) / elapsed,
                    nser_avg_queue_delay_ms=t.get(c.QUEUE_US) / n / 1e3,
                    nser_max_queue_delay_ms=t.maxima.get(c.QUEUE_US, 0) / 1e3,
                    nser_avg_inference_ms=t.get(c.INFERENCE_US) / n / 1e3,
                    nser_max_inference_ms=t.maxima.get(c.INFERENCE_US, 0) / 1e3,
                    nser_avg_batch_size=t.get(c.BATCH) / n,
                    nser_results_backlog=backlog,
                )
            )
        return out

    async def dn_performance(self, window: Window, sel: Selection, now: float) -> list[DnPerfInfo]:
        series = await read_series(self.redis, ScopeKind.CELL, window, self.bucket)
        rows = []
        for cell, t in series.totals(window, _ids(sel.cells)).items():
            n = max(1, t.get(c.N))
            avg_ms, max_ms = t.get(c.DELAY_US) / n / 1e3, t.maxima.get(c.DELAY_US, 0) / 1e3
            perf = PerfData(
                ave_packet_delay=math.ceil(avg_ms),
                max_packet_delay=math.ceil(max_ms),
                nser_samples=t.get(c.N),
                nser_avg_delay_ms=avg_ms,
                nser_max_delay_ms=max_ms,
            )
            rows.append((-avg_ms, cell, perf))
        return [
            DnPerfInfo(app_id=APP_ID, dn_perf=[DnPerf(perf_data=p, network_area=self.plmn.area(x))])
            for _, x, p in sorted(rows)
        ]

    async def emotions(self, window: Window, sel: Selection, now: float) -> list[EmotionInfo]:
        """Cells (and devices, when asked for), most negative screams first."""
        slides = [self.rule.short_seconds, self.rule.baseline_seconds]
        span = Window(min(window.start, window.end - max(slides)), window.end)
        out = await self._emotions(ScopeKind.CELL, span, window, _ids(sel.cells), slides, now)
        out = out[: sel.max_objects]
        if sel.wants_devices:
            devices = _ids(sel.devices)
            if devices is None and sel.cells is not None:
                seen = await read_members(self.redis, window, self.bucket)
                devices = {d for cell, d in seen if cell in sel.cells}
            found = await self._emotions(ScopeKind.DEVICE, span, window, devices, slides, now)
            out += found[: sel.max_supis]
        return out

    async def _emotions(
        self,
        kind: ScopeKind,
        span: Window,
        window: Window,
        ids: set[str] | None,
        slides: list[int],
        now: float,
    ) -> list[EmotionInfo]:
        series = await read_series(self.redis, kind, span, self.bucket)
        negative = c.scream_type(c.NEGATIVE)
        tails = [(s, Window(window.end - s, window.end)) for s in slides]
        slide_totals = [(s, w, series.totals(w, ids)) for s, w in tails]
        out = []
        for scope_id, t in series.totals(window, ids).items():
            rates = [
                RateWindow(
                    window_seconds=s,
                    negative_screams=_get(totals, scope_id, negative),
                    negative_screams_per_minute=60
                    * _get(totals, scope_id, negative)
                    / w.elapsed(now),
                )
                for s, w, totals in slide_totals
            ]
            out.append(self._emotion(kind, scope_id, t, window.elapsed(now), rates))
        return sorted(out, key=lambda e: (-e.type_counts[c.NEGATIVE], e.supi or _cell(e)))

    def _emotion(
        self, kind: ScopeKind, scope_id: str, t: Totals, elapsed: float, rates: list[RateWindow]
    ) -> EmotionInfo:
        types = {k: t.get(c.scream_type(k)) for k in c.TYPE_CLASSES}
        valence = {Valence(k).value: v for k, v in types.items()}
        valence[Valence.NEUTRAL.value] = t.get(c.detection(c.NON_SCREAM))
        return EmotionInfo(
            network_area=self.plmn.area(scope_id) if kind is ScopeKind.CELL else None,
            supi=scope_id if kind is ScopeKind.DEVICE else None,
            results=t.get(c.N),
            detection_counts={k: t.get(c.detection(k)) for k in c.DETECTION_CLASSES},
            type_counts=types,
            untyped_screams=t.get(c.UNTYPED),
            valence_counts=valence,
            negative_screams_per_minute=60 * types[c.NEGATIVE] / elapsed,
            sliding_windows=rates,
        )


def _ids(ids: frozenset[str] | None) -> set[str] | None:
    return None if ids is None else set(ids)


def _get(totals: dict[str, Totals], scope_id: str, counter: str) -> int:
    t = totals.get(scope_id)
    return 0 if t is None else t.get(counter)


def _percent(fraction: float) -> int:
    return min(100, max(0, round(100 * fraction)))


def _cell(info: EmotionInfo) -> str:
    ncgis = info.network_area.ncgis if info.network_area else None
    return ncgis[0].nr_cell_id if ncgis else ""
