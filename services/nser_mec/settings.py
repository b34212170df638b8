"""The MEC inference service's configuration: one table of settings, each with its environment
variable (the same names in docker compose and in `nser up`) and its `nser serve` option
(nser_shared.settings: option, then environment variable, then the default here).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass

from nser_mec.batcher import BatchingConfig
from nser_mec.runners import DEFAULT_BACKEND, BackendName
from nser_models.served import SERVED_MODEL
from nser_shared import settings
from nser_shared.errors import ConfigurationError
from nser_shared.settings import parse_bool, parse_names, setting
from nser_shared.stream.results import DEFAULT_STREAM_MAXLEN


@dataclass(frozen=True)
class MecSettings:
    host: str = setting(
        "NSER_MEC_HOST", "address to listen on (0.0.0.0 in containers)", "127.0.0.1"
    )
    port: int = setting("NSER_MEC_PORT", "gRPC port (0: pick a free one)", 50051, parse=int)
    metrics_port: int = setting(
        "NSER_MEC_METRICS_PORT", "Prometheus /metrics port (0: pick one)", 9101, parse=int
    )
    # may hold a password
    redis_url: str = setting(
        "REDIS_URL", "Redis holding the results stream", "redis://127.0.0.1:6379/0", secret=True
    )
    models: tuple[str, ...] = setting(
        "NSER_MEC_MODELS",
        "comma-separated registered models to serve",
        (SERVED_MODEL,),
        parse=parse_names,
    )
    backend: BackendName = setting(
        "NSER_MEC_BACKEND",
        "onnxruntime, openvino, torchscript or eager",
        DEFAULT_BACKEND,
        parse=BackendName,
    )
    onnx_dir: str = setting(
        "NSER_MEC_ONNX_DIR",
        "serve the ONNX files `nser export` wrote to this folder, without PyTorch "
        "(backend onnxruntime or openvino); empty: the shipped checkpoints",
        "",
    )
    # One intra-op thread: on 2 cores a second one made the student no faster and the tail
    # worse (docs/serving.md); raise it for the teacher on a bigger host.
    threads: int = setting("NSER_MEC_THREADS", "intra-op threads of the backend", 1, parse=int)
    cascade: bool = setting(
        "NSER_MEC_CASCADE", "run scream type only on detected screams", True, parse=parse_bool
    )
    max_batch_size: int = setting(
        "NSER_MEC_MAX_BATCH_SIZE",
        "most windows per batch",
        BatchingConfig.max_batch_size,
        parse=int,
    )
    max_queue_delay_us: int = setting(
        "NSER_MEC_MAX_QUEUE_DELAY_US",
        "longest wait for a batch to fill, in microseconds (0: never wait)",
        BatchingConfig.max_queue_delay_us,
        parse=int,
    )
    max_queue_size: int = setting(
        "NSER_MEC_MAX_QUEUE_SIZE",
        "windows waiting per model before refusal",
        BatchingConfig.max_queue_size,
        parse=int,
    )
    max_message_bytes: int = setting(
        "NSER_MEC_MAX_MESSAGE_BYTES", "largest accepted gRPC message", 256 * 1024, parse=int
    )
    stream_maxlen: int = setting(
        "NSER_RESULTS_MAXLEN",
        "approximate length cap of the results stream",
        DEFAULT_STREAM_MAXLEN,
        parse=int,
    )
    publish_buffer: int = setting(
        "NSER_MEC_PUBLISH_BUFFER",
        "most results waiting for Redis before windows are refused",
        10_000,
        parse=int,
    )
    # A window is answered once its result is in the stream; while Redis is away, it waits this
    # long, then is refused UNAVAILABLE (the device retries with backoff).
    publish_timeout_s: float = setting(
        "NSER_MEC_PUBLISH_TIMEOUT_S",
        "longest wait for Redis to take a result (then UNAVAILABLE)",
        2.0,
        parse=float,
    )
    grace_seconds: float = setting(
        "NSER_MEC_GRACE_SECONDS", "time to drain in-flight work on stop", 5.0, parse=float
    )
    # A device sends one window per hop (1 s by default): 50/s with a burst of 100 leaves room
    # for fast test clients and load generators, and still stops one device flooding the MEC.
    device_rate: float = setting(
        "NSER_MEC_DEVICE_RATE", "windows/s one device may send (0: no limit)", 50.0, parse=float
    )
    device_burst: int = setting(
        "NSER_MEC_DEVICE_BURST", "windows one device may send at once", 100, parse=int
    )
    # Transport security (nser_shared.security.tls): TLS on gRPC and /metrics, client
    # certificates signed by tls_client_ca required of every caller. Without them the service
    # refuses to start, unless insecure (plaintext, no device authentication; logged as a
    # warning).
    tls_cert: str = setting(
        "NSER_MEC_TLS_CERT", "server certificate (PEM) for gRPC and /metrics", ""
    )
    tls_key: str = setting("NSER_MEC_TLS_KEY", "private key (PEM) of the server certificate", "")
    tls_client_ca: str = setting(
        "NSER_MEC_TLS_CLIENT_CA", "CA (PEM) that must sign every client's certificate (mTLS)", ""
    )
    insecure: bool = setting(
        "NSER_MEC_INSECURE",
        "plaintext, no client certificates (a warning is logged)",
        False,
        parse=parse_bool,
    )

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
        if self.onnx_dir and self.backend not in (BackendName.ONNXRUNTIME, BackendName.OPENVINO):
            problems.append(f"onnx_dir needs backend onnxruntime or openvino, not {self.backend}")
        if self.port > 65535 or self.metrics_port > 65535:
            problems.append("ports must be <= 65535")
        if problems:
            raise ConfigurationError("; ".join(problems))


SETTINGS = settings.table(MecSettings)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    settings.add_arguments(parser, MecSettings)


def resolve(
    args: argparse.Namespace | None = None, environ: Mapping[str, str] = os.environ
) -> MecSettings:
    return settings.resolve(MecSettings, args, environ)
