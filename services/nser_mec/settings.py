"""The MEC inference service's configuration: one table of settings, each with its environment
variable (the same names in docker compose and in `nser up`) and its `nser serve` option
(nser_shared.settings: option, then environment variable, then the default here).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from nser_mec.backends import DEFAULT_BACKEND, BackendName
from nser_mec.batcher import BatchingConfig
from nser_models.served import SERVED_MODEL
from nser_shared import settings
from nser_shared.errors import ConfigurationError
from nser_shared.settings import Setting, parse_bool, parse_names
from nser_shared.stream.results import DEFAULT_STREAM_MAXLEN


@dataclass(frozen=True)
class MecSettings:
    host: str = "127.0.0.1"
    port: int = 50051
    metrics_port: int = 9101
    redis_url: str = field(default="redis://127.0.0.1:6379/0", repr=False)  # may hold a password
    models: tuple[str, ...] = (SERVED_MODEL,)
    backend: BackendName = DEFAULT_BACKEND
    # One intra-op thread: on 2 cores a second one made the student no faster and the tail
    # worse (docs/serving.md); raise it for the teacher on a bigger host.
    threads: int = 1
    cascade: bool = True
    max_batch_size: int = BatchingConfig.max_batch_size
    max_queue_delay_us: int = BatchingConfig.max_queue_delay_us
    max_queue_size: int = BatchingConfig.max_queue_size
    max_message_bytes: int = 256 * 1024
    stream_maxlen: int = DEFAULT_STREAM_MAXLEN
    publish_buffer: int = 10_000
    # A window is answered once its result is in the stream; while Redis is away, it waits this
    # long, then is refused UNAVAILABLE (the device retries with backoff).
    publish_timeout_s: float = 2.0
    grace_seconds: float = 5.0
    # A device sends one window per hop (1 s by default): 50/s with a burst of 100 leaves room
    # for fast test clients and load generators, and still stops one device flooding the MEC.
    device_rate: float = 50.0
    device_burst: int = 100
    # Transport security (nser_shared.security.tls): TLS on gRPC and /metrics, client
    # certificates signed by tls_client_ca required of every caller. Without them the service
    # refuses to start, unless insecure (plaintext, no device authentication; logged as a
    # warning).
    tls_cert: str = ""
    tls_key: str = ""
    tls_client_ca: str = ""
    insecure: bool = False

    def __post_init__(self) -> None:
        problems = [
            f"{name} must be >= {low}"
            for name, low in (
                ("port", 0),
                ("metrics_port", 0),
                ("threads", 1),
                ("max_batch_size", 1),
                ("max_queue_delay_us", 0),
                ("max_queue_size", 1),
                ("max_message_bytes", 1024),
                ("stream_maxlen", 1),
                ("publish_buffer", 1),
                ("publish_timeout_s", 0.001),
                ("grace_seconds", 0),
                ("device_rate", 0),
                ("device_burst", 1),
            )
            if getattr(self, name) < low
        ]
        if self.port > 65535 or self.metrics_port > 65535:
            problems.append("ports must be <= 65535")
        if problems:
            raise ConfigurationError("; ".join(problems))


SETTINGS: dict[str, Setting] = {
    "host": Setting("NSER_MEC_HOST", str, "address to listen on (0.0.0.0 in containers)"),
    "port": Setting("NSER_MEC_PORT", int, "gRPC port (0: pick a free one)"),
    "metrics_port": Setting("NSER_MEC_METRICS_PORT", int, "Prometheus /metrics port (0: pick one)"),
    "redis_url": Setting("REDIS_URL", str, "Redis holding the results stream"),
    "models": Setting("NSER_MEC_MODELS", parse_names, "comma-separated registered models to serve"),
    "backend": Setting("NSER_MEC_BACKEND", BackendName, "onnxruntime, torchscript or eager"),
    "threads": Setting("NSER_MEC_THREADS", int, "intra-op threads of the backend"),
    "cascade": Setting("NSER_MEC_CASCADE", parse_bool, "run scream type only on detected screams"),
    "max_batch_size": Setting("NSER_MEC_MAX_BATCH_SIZE", int, "most windows per batch"),
    "max_queue_delay_us": Setting(
        "NSER_MEC_MAX_QUEUE_DELAY_US",
        int,
        "longest wait for a batch to fill, in microseconds (0: never wait)",
    ),
    "max_queue_size": Setting(
        "NSER_MEC_MAX_QUEUE_SIZE", int, "windows waiting per model before refusal"
    ),
    "max_message_bytes": Setting(
        "NSER_MEC_MAX_MESSAGE_BYTES", int, "largest accepted gRPC message"
    ),
    "stream_maxlen": Setting(
        "NSER_RESULTS_MAXLEN", int, "approximate length cap of the results stream"
    ),
    "publish_buffer": Setting(
        "NSER_MEC_PUBLISH_BUFFER", int, "most results waiting for Redis before windows are refused"
    ),
    "publish_timeout_s": Setting(
        "NSER_MEC_PUBLISH_TIMEOUT_S",
        float,
        "longest wait for Redis to take a result (then UNAVAILABLE)",
    ),
    "grace_seconds": Setting(
        "NSER_MEC_GRACE_SECONDS", float, "time to drain in-flight work on stop"
    ),
    "device_rate": Setting(
        "NSER_MEC_DEVICE_RATE", float, "windows/s one device may send (0: no limit)"
    ),
    "device_burst": Setting("NSER_MEC_DEVICE_BURST", int, "windows one device may send at once"),
    "tls_cert": Setting("NSER_MEC_TLS_CERT", str, "server certificate (PEM) for gRPC and /metrics"),
    "tls_key": Setting("NSER_MEC_TLS_KEY", str, "private key (PEM) of the server certificate"),
    "tls_client_ca": Setting(
        "NSER_MEC_TLS_CLIENT_CA", str, "CA (PEM) that must sign every client's certificate (mTLS)"
    ),
    "insecure": Setting(
        "NSER_MEC_INSECURE", parse_bool, "plaintext, no client certificates (a warning is logged)"
    ),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    settings.add_arguments(parser, MecSettings, SETTINGS)


def resolve(
    args: argparse.Namespace | None = None, environ: Mapping[str, str] = os.environ
) -> MecSettings:
    return settings.resolve(MecSettings, SETTINGS, args, environ)
