"""The analytics service's configuration (nser_shared.settings: option, env, default)."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from nser_shared import settings
from nser_shared.errors import ConfigurationError
from nser_shared.http.limits import DEFAULT_MAX_BODY_BYTES
from nser_shared.settings import Setting, parse_bool, parse_name_list
from nser_shared.stream.consumer import DONE_TTL_S, MIN_DONE_TTL_S, default_consumer_name

PLMN_PATTERN = re.compile(r"^(\d{3})-(\d{2,3})$")


@dataclass(frozen=True)
class NwdafSettings:
    host: str = "127.0.0.1"
    port: int = 8082
    redis_url: str = "redis://127.0.0.1:6379/0"
    consumer: str = field(default_factory=default_consumer_name)
    claim_idle_ms: int = 30_000
    done_ttl_seconds: int = DONE_TTL_S
    plmn: str = "001-01"  # MCC-MNC of the (test) network the cells belong to
    bucket_seconds: int = 1
    retention_seconds: int = 3600
    default_window_seconds: int = 60
    short_window_seconds: int = 10
    baseline_window_seconds: int = 300
    abnormal_factor: float = 3.0
    abnormal_min_events: int = 3
    abnormal_floor_per_minute: float = 0.6
    rearm_fraction: float = 0.8
    tick_seconds: float = 1.0
    notify_attempts: int = 5
    notify_backoff_seconds: float = 0.5
    notify_timeout_seconds: float = 5.0
    notify_max_in_flight: int = 256
    notify_secret: str = field(default="", repr=False)  # HMAC key signing notifications
    notify_secret_file: str = ""  # a one-line file holding it (nser credentials: webhook.secret)
    # Hosts a notificationURI may name although they are internal (nser_shared.http.outbound).
    notify_allowed_hosts: tuple[str, ...] = ()
    insecure: bool = False  # plaintext HTTP (a warning is logged); else tls_cert and tls_key
    tls_cert: str = ""
    tls_key: str = ""
    tokens_file: str = ""  # api-tokens.json; empty: no auth (only with insecure)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_subscriptions: int = 1000

    def __post_init__(self) -> None:
        problems = []
        if not PLMN_PATTERN.match(self.plmn):
            problems.append(f"plmn {self.plmn!r} must be MCC-MNC, e.g. 001-01")
        if not 0 <= self.port <= 65535:
            problems.append("port must be within [0, 65535]")
        at_least_one = ("claim_idle_ms", "bucket_seconds", "abnormal_min_events",
                        "notify_attempts", "max_body_bytes", "max_subscriptions")  # fmt: skip
        for name in at_least_one:
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1")
        if self.done_ttl_seconds < MIN_DONE_TTL_S:
            problems.append(f"done_ttl_seconds must be >= {MIN_DONE_TTL_S}")
        positive = (
            "abnormal_factor",
            "abnormal_floor_per_minute",
            "tick_seconds",
            "notify_backoff_seconds",
            "notify_timeout_seconds",
            "notify_max_in_flight",
        )
        for name in positive:
            if not getattr(self, name) > 0:
                problems.append(f"{name} must be > 0")
        if not 0 < self.rearm_fraction <= 1:
            problems.append("rearm_fraction must be within (0, 1]")
        windows = ("default_window_seconds", "short_window_seconds", "baseline_window_seconds")
        for name in windows:
            value = getattr(self, name)
            if value < self.bucket_seconds or value % self.bucket_seconds:
                problems.append(f"{name} must be a positive multiple of bucket_seconds")
        longest = max(self.short_window_seconds + self.baseline_window_seconds,
                      self.default_window_seconds)  # fmt: skip
        if self.retention_seconds < longest:
            problems.append(
                "retention_seconds must cover the default window and the short plus baseline "
                f"windows ({longest} s)"
            )
        if problems:
            raise ConfigurationError("; ".join(problems))

    @property
    def mcc(self) -> str:
        return self.plmn.split("-")[0]

    @property
    def mnc(self) -> str:
        return self.plmn.split("-")[1]


SETTINGS: dict[str, Setting] = {
    "host": Setting("NSER_NWDAF_HOST", str, "address to listen on (0.0.0.0 in containers)"),
    "port": Setting("NSER_NWDAF_PORT", int, "HTTP port of the Nnwdaf APIs and /metrics"),
    "redis_url": Setting("REDIS_URL", str, "Redis holding the results stream and the analytics"),
    "consumer": Setting("NSER_NWDAF_CONSUMER", str, "this replica's consumer name"),
    "claim_idle_ms": Setting(
        "NSER_NWDAF_CLAIM_IDLE_MS", int, "take over a dead replica's results after this idle"
    ),
    "done_ttl_seconds": Setting(
        "NSER_NWDAF_DONE_TTL_SECONDS",
        int,
        f"keep each result's done marker this long (at least {MIN_DONE_TTL_S})",
    ),
    "plmn": Setting("NSER_NWDAF_PLMN", str, "MCC-MNC of the cells' PLMN"),
    "bucket_seconds": Setting("NSER_NWDAF_BUCKET_SECONDS", int, "width of a counter bucket"),
    "retention_seconds": Setting(
        "NSER_NWDAF_RETENTION_SECONDS", int, "how long counter buckets are kept"
    ),
    "default_window_seconds": Setting(
        "NSER_NWDAF_DEFAULT_WINDOW_SECONDS", int, "window of a query without startTs/offsetPeriod"
    ),
    "short_window_seconds": Setting(
        "NSER_NWDAF_SHORT_WINDOW_SECONDS", int, "recent window of the surge rule and thresholds"
    ),
    "baseline_window_seconds": Setting(
        "NSER_NWDAF_BASELINE_WINDOW_SECONDS", int, "window before it that sets the baseline"
    ),
    "abnormal_factor": Setting(
        "NSER_NWDAF_ABNORMAL_FACTOR", float, "short rate / baseline rate that is abnormal"
    ),
    "abnormal_min_events": Setting(
        "NSER_NWDAF_ABNORMAL_MIN_EVENTS", int, "fewest negative screams in the short window"
    ),
    "abnormal_floor_per_minute": Setting(
        "NSER_NWDAF_ABNORMAL_FLOOR_PER_MINUTE", float, "lowest baseline rate the rule assumes"
    ),
    "rearm_fraction": Setting(
        "NSER_NWDAF_REARM_FRACTION", float, "a fired threshold re-arms below this fraction of it"
    ),
    "tick_seconds": Setting("NSER_NWDAF_TICK_SECONDS", float, "how often subscriptions are due"),
    "notify_attempts": Setting("NSER_NWDAF_NOTIFY_ATTEMPTS", int, "tries per notification"),
    "notify_backoff_seconds": Setting(
        "NSER_NWDAF_NOTIFY_BACKOFF_SECONDS", float, "first retry delay, doubled each time"
    ),
    "notify_timeout_seconds": Setting(
        "NSER_NWDAF_NOTIFY_TIMEOUT_SECONDS", float, "timeout of one notification POST"
    ),
    "notify_max_in_flight": Setting(
        "NSER_NWDAF_NOTIFY_MAX_IN_FLIGHT", int, "notifications being delivered before dropping"
    ),
    "notify_secret": Setting(
        "NSER_NWDAF_NOTIFY_SECRET",
        str,
        "HMAC key signing notification bodies (unsigned, only with insecure, when neither is set)",
    ),
    "notify_allowed_hosts": Setting(
        "NSER_NWDAF_NOTIFY_ALLOWED_HOSTS",
        parse_name_list,
        "comma-separated internal hosts (loopback, link-local) notifications may still go to",
    ),
    "notify_secret_file": Setting(
        "NSER_NWDAF_NOTIFY_SECRET_FILE", str, "file holding the notification HMAC key instead"
    ),
    "insecure": Setting(
        "NSER_NWDAF_INSECURE", parse_bool, "plaintext HTTP and no API auth (a warning is logged)"
    ),
    "tls_cert": Setting("NSER_NWDAF_TLS_CERT", str, "server certificate (PEM) for HTTPS"),
    "tls_key": Setting("NSER_NWDAF_TLS_KEY", str, "private key (PEM) of the certificate"),
    "tokens_file": Setting(
        "NSER_NWDAF_TOKENS_FILE", str, "api-tokens.json of the API tokens (nser credentials)"
    ),
    "max_body_bytes": Setting(
        "NSER_NWDAF_MAX_BODY_BYTES", int, "largest request body accepted (else 413)"
    ),
    "max_subscriptions": Setting(
        "NSER_NWDAF_MAX_SUBSCRIPTIONS", int, "subscriptions stored at once (else 403)"
    ),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    settings.add_arguments(parser, NwdafSettings, SETTINGS)


def resolve(
    args: argparse.Namespace | None = None, environ: Mapping[str, str] = os.environ
) -> NwdafSettings:
    return settings.resolve(NwdafSettings, SETTINGS, args, environ)
