"""What `nser up` shows while it runs and writes when it ends, read from the services' own
interfaces: their `/metrics`, the decision REST API, and Redis. Every read goes through the
caller's `httpx.Client` (the dev CA and the reader token when the network runs secure)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import httpx

from nser_shared.prom import histogram_buckets, histogram_quantile, sample_value

QUANTILES = (0.5, 0.95, 0.99)
END_TO_END = "nser_decision_end_to_end_seconds"
STAGES = "nser_decision_stage_seconds"
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
    open_alerts: int
    alerts_by_responder: dict[str, int]
    latency: dict[str, dict[str, float]]


def snapshot(http: httpx.Client, mec_metrics_url: str, decision_url: str) -> Snapshot:
    mec = _get(http, mec_metrics_url)
    decision = _get(http, f"{decision_url}/metrics")
    kinds = ("negative_scream", "positive_scream", "unclassified_scream", "non_scream")
    decisions = {k: sample_value(decision, "nser_decision_decisions_total", {"decision": k})
                 for k in kinds}  # fmt: skip
    alerts: list[dict[str, Any]] = []
    try:
        page = http.get(
            f"{decision_url}/v1/alerts", params={"status": "open", "limit": 500}, timeout=3
        )
        alerts = page.json().get("alerts", []) if page.status_code == 200 else []
    except (httpx.HTTPError, ValueError):
        pass
    by_responder: dict[str, int] = {}
    for alert in alerts:
        for notice in alert["responders"]:
            by_responder[notice["responder"]] = by_responder.get(notice["responder"], 0) + 1
    return Snapshot(
        windows_answered=sample_value(mec, "nser_mec_requests_total", {"code": "OK"}),
        mec_queue_depth=sample_value(mec, "nser_mec_queue_depth"),
        decisions=decisions,
        open_alerts=len(alerts),
        alerts_by_responder=by_responder,
        latency=latency_table(decision),
    )


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


def render(s: Snapshot, elapsed_s: float | None, duration_s: float) -> str:
    """The live view; `elapsed_s` is None while the devices prepare their scenes."""
    responders = ", ".join(f"{k} {v}" for k, v in sorted(s.alerts_by_responder.items())) or "none"
    d = s.decisions
    clock = "devices preparing" if elapsed_s is None else f"{elapsed_s:5.0f} / {duration_s:.0f} s"
    lines = [
        f"nser up  {clock}   windows answered "
        f"{s.windows_answered:.0f}   MEC queue {s.mec_queue_depth:.0f}",
        f"decisions: negative screams {d['negative_scream']:.0f}, positive "
        f"{d['positive_scream']:.0f}, non-screams {d['non_scream']:.0f}   open alerts "
        f"{s.open_alerts} ({responders})",
        "latency ms          p50     p95     p99",
    ]
    for stage, q in s.latency.items():
        lines.append(f"  {stage:<22}{_ms(q['p50']):>6}  {_ms(q['p95']):>6}  {_ms(q['p99']):>6}")
    return "\n".join(lines)
