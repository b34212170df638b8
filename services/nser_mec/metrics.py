"""Every Prometheus collector of the MEC inference service, in its own registry (so several
servers can live in one test process), exposed on the service's metrics port."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from nser_shared.buckets import LATENCY_BUCKETS_SECONDS

BATCH_SIZE_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)


class MecMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.serving = Info(
            "nser_mec_serving",
            "How this server serves: models, backend, threads, batching and cascade (set once "
            "the models are loaded), so that a report can state the settings it measured",
            registry=r,
        )
        self.requests = Counter(
            "nser_mec_requests_total",
            "Feature windows answered, by model and gRPC status code",
            ["model", "code"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "nser_mec_request_duration_seconds",
            "Server time of a window, received to answered",
            ["model"],
            buckets=LATENCY_BUCKETS_SECONDS,
            registry=r,
        )
        self.queue_seconds = Histogram(
            "nser_mec_queue_duration_seconds",
            "Time a window waited in the queue before its batch started",
            ["model"],
            buckets=LATENCY_BUCKETS_SECONDS,
            registry=r,
        )
        self.inference_seconds = Histogram(
            "nser_mec_inference_duration_seconds",
            "Model execution time of one batch, all cascade stages",
            ["model"],
            buckets=LATENCY_BUCKETS_SECONDS,
            registry=r,
        )
        self.batch_size = Histogram(
            "nser_mec_batch_size",
            "Windows per detection batch",
            ["model"],
            buckets=BATCH_SIZE_BUCKETS,
            registry=r,
        )
        self.queue_depth = Gauge(
            "nser_mec_queue_depth", "Windows waiting in the queue", ["model"], registry=r
        )
        self.publish_seconds = Histogram(
            "nser_mec_publish_duration_seconds",
            "Time of one XADD round trip to the results stream (a pipeline of records)",
            buckets=LATENCY_BUCKETS_SECONDS,
            registry=r,
        )
        self.published = Counter(
            "nser_mec_published_total", "Results appended to the results stream", registry=r
        )
        self.publish_failures = Counter(
            "nser_mec_publish_failures_total",
            "Failed attempts to append to the results stream (each is retried)",
            registry=r,
        )
        self.publish_refused = Counter(
            "nser_mec_publish_refused_total",
            "Windows answered UNAVAILABLE because the results stream did not take their result "
            "(buffer_full: too many results waiting for Redis; timeout: not taken in time)",
            ["reason"],
            registry=r,
        )
        self.identity_refused = Counter(
            "nser_mec_identity_refused_total",
            "Windows refused (PERMISSION_DENIED) because their device id is not the device the "
            "sender's client certificate names, by reason",
            ["reason"],
            registry=r,
        )
        self.publish_buffered = Gauge(
            "nser_mec_publish_buffered",
            "Results waiting for the results stream to acknowledge them",
            registry=r,
        )
