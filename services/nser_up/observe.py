"""What `nser up` shows while it runs and writes when it ends, read from the services' own
interfaces: their `/metrics` (the live view reads nothing else), the decision REST API, and
Redis. Every read goes through the
caller's `httpx.Client` (the dev CA and the reader token when the network runs secure)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

from nser_shared.prom import histogram_buckets, histogram_quantile, sample_value

QUANTILES = (0.5, 0.95, 0.99)
END_TO_END = "nser_decision_end_to_end_seconds"
STAGES = "nser_decision_stage_seconds"
WEBHOOKS = "nser_decision_webhook_deliveries_total"
STAGE_ORDER = (
    "captured_to_sent", "sent_to_received", "received_to_batched", "batched_to_inferred",
    "inferred_to_published", "published_to_decided",
)  # fmt: skip


def _get(http: httpx.Client, url: str) -> str:
    try:
        return http.get(url, timeout=3).text
    except httpx.HTTPError:
        return ""


def quantiles_ms(text: str, name: str, labels: dict[str, str] | None = None) -> dict[str, float]:
    buckets = histogram_buckets(text, name, labels)
    return {f"p{round(q * 100)}": histogram_quantile(q, buckets) * 1e3 for q in QUANTILES}


def latency_table(decision_metrics: str) -> dict[str, dict[str, float]]:
    """Stage -> {p50, p95, p99} in ms, end to end last (from the decision service's histograms)."""
    table = {s: quantiles_ms(decision_metrics, STAGES, {"stage": s}) for s in STAGE_ORDER}
    table["end_to_end"] = quantiles_ms(decision_metrics, END_TO_END)
    return table


@dataclass
class Snapshot:
    windows_answered: float
    mec_queue_depth: float
    decisions: dict[str, float]
    alerts_created: float
    webhooks_delivered: dict[str, float]  # by responder
    latency: dict[str, dict[str, float]]


def snapshot(http: httpx.Client, mec_metrics_url: str, decision_url: str) -> Snapshot:
    """The live view's figures, from the services' /metrics only: a read costs the same at the
    first second of a run and after an hour of alerts (listing the open alerts every second
    did not, and the decision service's memory grew with them)."""
    mec = _get(http, mec_metrics_url)
    decision = _get(http, f"{decision_url}/metrics")
    kinds = ("negative_scream", "positive_scream", "unclassified_scream", "non_scream")
    decisions = {k: sample_value(decision, "nser_decision_decisions_total", {"decision": k})
                 for k in kinds}  # fmt: skip
    delivered: dict[str, float] = {}
    for family in text_string_to_metric_families(decision):
        for sample in family.samples:
            if sample.name == WEBHOOKS and sample.labels.get("outcome") == "delivered":
                responder = sample.labels["responder"]
                delivered[responder] = delivered.get(responder, 0.0) + sample.value
    return Snapshot(
        windows_answered=sample_value(mec, "nser_mec_requests_total", {"code": "OK"}),
        mec_queue_depth=sample_value(mec, "nser_mec_queue_depth"),
        decisions=decisions,
        alerts_created=sample_value(decision, "nser_decision_alerts_total", {"change": "created"}),
        webhooks_delivered=delivered,
        latency=latency_table(decision),
    )


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


def render(s: Snapshot, elapsed_s: float | None, duration_s: float) -> str:
    """The live view; `elapsed_s` is None while the devices prepare their scenes."""
    delivered = ", ".join(f"{k} {v:.0f}" for k, v in sorted(s.webhooks_delivered.items()))
    d = s.decisions
    clock = "devices preparing" if elapsed_s is None else f"{elapsed_s:5.0f} / {duration_s:.0f} s"
    lines = [
        f"nser up  {clock}   windows answered "
        f"{s.windows_answered:.0f}   MEC queue {s.mec_queue_depth:.0f}",
        f"decisions: negative screams {d['negative_scream']:.0f}, positive "
        f"{d['positive_scream']:.0f}, non-screams {d['non_scream']:.0f}   alerts raised "
        f"{s.alerts_created:.0f} (webhooks delivered: {delivered or 'none'})",
        "latency ms          p50     p95     p99",
    ]
    for stage, q in s.latency.items():
        lines.append(f"  {stage:<22}{_ms(q['p50']):>6}  {_ms(q['p95']):>6}  {_ms(q['p99']):>6}")
    return "\n".join(lines)
