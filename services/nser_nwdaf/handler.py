"""The results-stream handler: counts each result into its time buckets.

Every write commutes (HINCRBY, ZADD GT, SADD, EXPIREAT), so the handler WATCHes nothing and
replicas never conflict; the consumer's transaction adds the done marker and the XACK, so a
result counts exactly once however often it is delivered.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from nser_nwdaf import counters, keys
from nser_nwdaf.keys import ScopeKind
from nser_nwdaf.metrics import NwdafMetrics
from nser_shared.stream.consumer import AfterCommit, Pipeline
from nser_shared.stream.results import ResultRecord

# Capture times this far ahead of the clock are a device's broken clock, not a result to count.
MAX_FUTURE_SECONDS = 60.0


class AnalyticsHandler:
    def __init__(
        self,
        bucket_seconds: int,
        retention_seconds: int,
        metrics: NwdafMetrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bucket_seconds = bucket_seconds
        self.retention_seconds = retention_seconds
        self.metrics = metrics
        self.clock = clock

    async def read(self, tx: Pipeline, record: ResultRecord) -> Any:
        return None

    def write(self, tx: Pipeline, record: ResultRecord, state: Any) -> AfterCommit | None:
        now = self.clock()
        t = counters.bucket_start(record.captured_at, self.bucket_seconds)
        expire_at = t + self.bucket_seconds + self.retention_seconds
        if expire_at <= now or t > now + MAX_FUTURE_SECONDS:
            return self._after(record, counted=False)
        scopes = (
            (ScopeKind.CELL, record.nr_cell_id.lower(), counters.scope_counts(record),
             counters.scope_maxima(record)),
            (ScopeKind.DEVICE, record.device_id, counters.scope_counts(record),
             counters.scope_maxima(record)),
            (ScopeKind.NF, record.model, counters.nf_counts(record), counters.nf_maxima(record)),
        )  # fmt: skip
        for kind, scope_id, counts, maxima in scopes:
            sums, peaks = keys.bucket_hash(kind, t), keys.bucket_maxima(kind, t)
            for counter, value in counts.items():
                tx.hincrby(sums, keys.field_name(counter, scope_id), value)
            tx.zadd(peaks, {keys.field_name(c, scope_id): v for c, v in maxima.items()}, gt=True)
            tx.expireat(sums, expire_at)
            tx.expireat(peaks, expire_at)
        member = json.dumps([record.nr_cell_id.lower(), record.device_id])
        member_keys = [keys.seen_devices(t)]
        if counters.is_negative_scream(record):
            member_keys.append(keys.negative_devices(t))
        for key in member_keys:
            tx.sadd(key, member)
            tx.expireat(key, expire_at)
        return self._after(record, counted=True)

    def _after(self, record: ResultRecord, counted: bool) -> AfterCommit:
        async def observe() -> None:
            if not counted:
                self.metrics.results_out_of_range.inc()
                return
            self.metrics.results.inc()
            self.metrics.result_delay_seconds.observe(counters.delay_us(record) / 1e6)
            if record.published_at > 0:
                lag = max(0.0, self.clock() - record.published_at)
                self.metrics.analysis_lag_seconds.observe(lag)

        return observe
