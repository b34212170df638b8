"""The MEC inference service's configuration: one table of settings, each with its environment
variable (the same names in docker compose and in `nser up`) and its `nser serve` option.

Precedence: command-line option, then environment variable, then the default here.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from nser_mec.backends import DEFAULT_BACKEND, BackendName
from nser_shared.errors import ConfigurationError
from nser_shared.results import DEFAULT_STREAM_MAXLEN


def _models(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names:
        raise ValueError("at least one model name is needed")  # argparse reports it
    return names


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{text!r} is not a boolean (true/false)")


@dataclass(frozen=True)
class MecSettings:
    host: str = "127.0.0.1"
    port: int = 50051
    metrics_port: int = 9101
    redis_url: str = "redis://127.0.0.1:6379/0"
    models: tuple[str, ...] = ("student",)
    backend: BackendName = DEFAULT_BACKEND
    # One intra-op thread: on 2 cores a second one made the student no faster and the tail
    # worse (docs/serving.md); raise it for the teacher on a bigger host.
    threads: int = 1
    cascade: bool = True
    max_batch_size: int = 8
    max_queue_delay_us: int = 0
    max_queue_size: int = 256
    max_message_bytes: int = 256 * 1024
    stream_maxlen: int = DEFAULT_STREAM_MAXLEN
    publish_buffer: int = 10_000
    grace_seconds: float = 5.0

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
                ("grace_seconds", 0),
            )
            if getattr(self, name) < low
        ]
        if self.port > 65535 or self.metrics_port > 65535:
            problems.append("ports must be <= 65535")
        if problems:
            raise ConfigurationError("; ".join(problems))


# field -> (environment variable, parser, help)
SETTINGS: dict[str, tuple[str, Callable[[str], Any], str]] = {
    "host": ("NSER_MEC_HOST", str, "address to listen on (0.0.0.0 in containers)"),
    "port": ("NSER_MEC_PORT", int, "gRPC port (0: pick a free one)"),
    "metrics_port": ("NSER_MEC_METRICS_PORT", int, "Prometheus /metrics port (0: pick one)"),
    "redis_url": ("REDIS_URL", str, "Redis holding the results stream"),
    "models": ("NSER_MEC_MODELS", _models, "comma-separated registered models to serve"),
    "backend": ("NSER_MEC_BACKEND", BackendName, "onnxruntime, torchscript or eager"),
    "threads": ("NSER_MEC_THREADS", int, "intra-op threads of the backend"),
    "cascade": ("NSER_MEC_CASCADE", _bool, "run scream type only on detected screams"),
    "max_batch_size": ("NSER_MEC_MAX_BATCH_SIZE", int, "most windows per batch"),
    "max_queue_delay_us": (
        "NSER_MEC_MAX_QUEUE_DELAY_US",
        int,
        "longest wait for a batch to fill, in microseconds (0: never wait)",
    ),
    "max_queue_size": ("NSER_MEC_MAX_QUEUE_SIZE", int, "windows waiting per model before refusal"),
    "max_message_bytes": ("NSER_MEC_MAX_MESSAGE_BYTES", int, "largest accepted gRPC message"),
    "stream_maxlen": ("NSER_RESULTS_MAXLEN", int, "approximate length cap of the results stream"),
    "publish_buffer": ("NSER_MEC_PUBLISH_BUFFER", int, "results kept while Redis is down"),
    "grace_seconds": ("NSER_MEC_GRACE_SECONDS", float, "time to drain in-flight work on stop"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    for f in fields(MecSettings):
        env, parse, text = SETTINGS[f.name]
        option = "--" + f.name.replace("_", "-")
        parser.add_argument(option, type=parse, default=None, help=f"{text} [{env}]")


def resolve(
    args: argparse.Namespace | None = None, environ: Mapping[str, str] = os.environ
) -> MecSettings:
    """Settings from `args` (None values unset), then `environ`, then the defaults."""
    values: dict[str, Any] = {}
    for f in fields(MecSettings):
        env, parse, _ = SETTINGS[f.name]
        given = getattr(args, f.name, None) if args is not None else None
        if given is not None:
            values[f.name] = given
        elif env in environ:
            try:
                values[f.name] = parse(environ[env])
            except ValueError as exc:
                raise ConfigurationError(f"{env}={environ[env]!r}: {exc}") from exc
    return MecSettings(**values)
