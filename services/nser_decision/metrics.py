"""Every Prometheus collector of the decision service, in its own registry."""

from __future__ import annotations

import itertools

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from nser_shared.buckets import LATENCY_BUCKETS_SECONDS
from nser_shared.http.service import HttpMetrics
from nser_shared.stream.backlog import BacklogGauges
from nser_shared.stream.results import STAGES

# Consecutive pairs of the result's stage timestamps, then the decision itself.
STAGE_NAMES = (
    *(f"{a.removesuffix('_at')}_to_{b.removesuffix('_at')}" for a, b in itertools.pairwise(STAGES)),
    "published_to_decided",
)


CONSUMER_GROUP = "decision"  # the decision service's group on the results stream


class DecisionMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.http = HttpMetrics("nser_decision", r)
        self.decisions = Counter(
            "nser_decision_decisions_total", "Results decided, by decision", ["decision"],
            registry=r,
        )  # fmt: skip
        self.alerts = Counter(
            "nser_decision_alerts_total",
            "Alert changes: created, updated (same incident), escalated",
            ["change"],
            registry=r,
        )
        self.alerts_expired = Counter(
            "nser_decision_alerts_expired_total",
            "Alerts removed by the retention (age, then count)",
            registry=r,
        )
        self.end_to_end = Histogram(
            "nser_decision_end_to_end_seconds",
            "Device capture of a window's last sample to its decision here",
            buckets=LATENCY_BUCKETS_SECONDS,
            registry=r,
        )
        self.stage = Histogram(
            "nser_decision_stage_seconds",
            "Time between consecutive stages of a result (captured, sent, received, batched, "
            "inferred, published, decided)",
            ["stage"],
            buckets=LATENCY_BUCKETS_SECONDS,
            registry=r,
        )
        self.webhooks = Counter(
            "nser_decision_webhook_deliveries_total",
            "Webhook attempts by responder and outcome (delivered, retry, failed)",
            ["responder", "outcome"],
            registry=r,
        )
        self.backlog = BacklogGauges("nser_decision", r)
        self.feed_clients = Gauge(
            "nser_decision_feed_clients", "Live feed (SSE) clients connected", registry=r
        )
        self.feed_refused = Counter(
            "nser_decision_feed_refused_total",
            "Live feed clients refused (503) because the most allowed were connected",
            registry=r,
        )
        self.feed_cut = Counter(
            "nser_decision_feed_cut_total",
            "Live feed clients cut: lagging (their queue was full) or stalled (took no data)",
            ["reason"],
            registry=r,
        )
