"""Reading Prometheus exposition text: counters, and histogram quantiles computed exactly as
PromQL's `histogram_quantile` does, so a run summary and a Prometheus query agree."""

from __future__ import annotations

import math
from collections.abc import Mapping

from prometheus_client.parser import text_string_to_metric_families

Buckets = list[tuple[float, float]]  # (upper bound, cumulative count), ascending, +Inf last


def histogram_buckets(text: str, name: str, labels: Mapping[str, str] | None = None) -> Buckets:
    """The `name` histogram's buckets in `text`, summed over series matching `labels`."""
    want = dict(labels or {})
    counts: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name != f"{name}_bucket":
                continue
            if any(sample.labels.get(k) != v for k, v in want.items()):
                continue
            le = float(sample.labels["le"])
            counts[le] = counts.get(le, 0.0) + sample.value
    return sorted(counts.items())


def histogram_quantile(q: float, buckets: Buckets) -> float:
    """PromQL's histogram_quantile: NaN without observations; linear within the bucket; the
    highest finite bound when the rank falls in the +Inf bucket."""
    if not buckets or buckets[-1][1] == 0:
        return math.nan
    total = buckets[-1][1]
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for upper, count in buckets:
        if count >= rank:
            if math.isinf(upper):
                return lower_bound
            if count == lower_count:
                return upper
            return lower_bound + (upper - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = upper, count
    return lower_bound


def sample_value(text: str, name: str, labels: Mapping[str, str] | None = None) -> float:
    """Sum of the samples called `name` matching `labels` (0 when there are none)."""
    want = dict(labels or {})
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in want.items()):
                total += sample.value
    return total
