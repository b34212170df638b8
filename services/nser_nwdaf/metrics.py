"""Every Prometheus collector of the analytics service, in its own registry (so several replicas
can live in one test process), exposed at `/metrics` on the API port."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from nser_shared.buckets import LATENCY_BUCKETS_SECONDS
from nser_shared.http.service import HttpMetrics
from nser_shared.stream.backlog import BacklogGauges

# Capture -> published spans the simulated radio link and the MEC: up to a cloud round trip.
DELAY_BUCKETS_SECONDS = (*LATENCY_BUCKETS_SECONDS, 5.0, 10.0)


class NwdafMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.backlog = BacklogGauges("nser_nwdaf", r)
        self.results = Counter(
            "nser_nwdaf_results_total",
            "Results of the stream counted into the analytics by this replica",
            registry=r,
        )
        self.results_out_of_range = Counter(
            "nser_nwdaf_results_out_of_range_total",
            "Results acknowledged but not counted: captured before the retention or in the future",
            registry=r,
        )
        self.result_delay_seconds = Histogram(
            "nser_nwdaf_result_delay_seconds",
            "Capture -> published delay of the results counted",
            buckets=DELAY_BUCKETS_SECONDS,
            registry=r,
        )
        self.analysis_lag_seconds = Histogram(
            "nser_nwdaf_analysis_lag_seconds",
            "Published -> counted: how far the analytics lag the results stream",
            buckets=DELAY_BUCKETS_SECONDS,
            registry=r,
        )
        self.http = HttpMetrics("nser_nwdaf", r)
        self.tick_seconds = Histogram(
            "nser_nwdaf_tick_duration_seconds",
            "Time of one pass over the subscriptions",
            buckets=DELAY_BUCKETS_SECONDS,
            registry=r,
        )
        self.tick_failures = Counter(
            "nser_nwdaf_tick_failures_total",
            "Passes over the subscriptions that failed (Redis unreachable, ...)",
            registry=r,
        )
        self.subscriptions = Gauge(
            "nser_nwdaf_subscriptions", "Subscriptions stored, as last seen", registry=r
        )
        self.threshold_crossings = Counter(
            "nser_nwdaf_threshold_crossings_total",
            "Threshold crossings that produced a notification, by event",
            ["event"],
            registry=r,
        )
        self.notifications = Counter(
            "nser_nwdaf_notifications_total",
            "Notifications by trigger and final outcome (delivered, failed, dropped)",
            ["trigger", "outcome"],
            registry=r,
        )
        self.notification_attempt_failures = Counter(
            "nser_nwdaf_notification_attempt_failures_total",
            "Failed delivery attempts (each is retried until the attempts run out)",
            registry=r,
        )
        self.notification_seconds = Histogram(
            "nser_nwdaf_notification_duration_seconds",
            "Time of one delivery attempt",
            buckets=DELAY_BUCKETS_SECONDS,
            registry=r,
        )
        self.notifications_in_flight = Gauge(
            "nser_nwdaf_notifications_in_flight", "Notifications being delivered", registry=r
        )
