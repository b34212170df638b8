"""The analytics service's configuration (nser_shared.settings: option, env, default)."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from nser_shared import settings
from nser_shared.errors import ConfigurationError
from nser_shared.http.limits import DEFAULT_MAX_BODY_BYTES
from nser_shared.settings import parse_bool, parse_name_list, setting
from nser_shared.stream.consumer import DONE_TTL_S, MIN_DONE_TTL_S, default_consumer_name

PLMN_PATTERN = re.compile(r"^(\d{3})-(\d{2,3})$")


@dataclass(frozen=True)
class NwdafSettings:
    host: str = setting(
        "NSER_NWDAF_HOST", "address to listen on (0.0.0.0 in containers)", "127.0.0.1"
    )
    port: int = setting(
        "NSER_NWDAF_PORT", "HTTP port of the Nnwdaf APIs and /metrics", 8082, parse=int
    )
    redis_url: str = setting(
        "REDIS_URL",
        "Redis holding the results stream and the analytics",
        "redis://127.0.0.1:6379/0",
    )
    consumer: str = setting(
        "NSER_NWDAF_CONSUMER", "this replica's consumer name", default_factory=default_consumer_name
    )
    claim_idle_ms: int = setting(
        "NSER_NWDAF_CLAIM_IDLE_MS",
        "take over a dead replica's results after this idle",
        30_000,
        parse=int,
    )
    done_ttl_seconds: int = setting(
        "NSER_NWDAF_DONE_TTL_SECONDS",
        f"keep each result's done marker this long (at least {MIN_DONE_TTL_S})",
        DONE_TTL_S,
        parse=int,
    )
    # MCC-MNC of the (test) network the cells belong to
    plmn: str = setting("NSER_NWDAF_PLMN", "MCC-MNC of the cells' PLMN", "001-01")
    bucket_seconds: int = setting(
        "NSER_NWDAF_BUCKET_SECONDS", "width of a counter bucket", 1, parse=int
    )
    retention_seconds: int = setting(
        "NSER_NWDAF_RETENTION_SECONDS", "how long counter buckets are kept", 3600, parse=int
    )
    default_window_seconds: int = setting(
        "NSER_NWDAF_DEFAULT_WINDOW_SECONDS",
        "window of a query without startTs/offsetPeriod",
        60,
        parse=int,
    )
    short_window_seconds: int = setting(
        "NSER_NWDAF_SHORT_WINDOW_SECONDS",
        "recent window of the surge rule and thresholds",
        10,
        parse=int,
    )
    baseline_window_seconds: int = setting(
        "NSER_NWDAF_BASELINE_WINDOW_SECONDS",
        "window before it that sets the baseline",
        300,
        parse=int,
    )
    abnormal_factor: float = setting(
        "NSER_NWDAF_ABNORMAL_FACTOR",
        "short rate / baseline rate that is abnormal",
        3.0,
        parse=float,
    )
    abnormal_min_events: int = setting(
        "NSER_NWDAF_ABNORMAL_MIN_EVENTS",
        "fewest negative screams in the short window",
        3,
        parse=int,
    )
    abnormal_floor_per_minute: float = setting(
        "NSER_NWDAF_ABNORMAL_FLOOR_PER_MINUTE",
        "lowest baseline rate the rule assumes",
        0.6,
        parse=float,
    )
    rearm_fraction: float = setting(
        "NSER_NWDAF_REARM_FRACTION",
        "a fired threshold re-arms below this fraction of it",
        0.8,
        parse=float,
    )
    tick_seconds: float = setting(
        "NSER_NWDAF_TICK_SECONDS", "how often subscriptions are due", 1.0, parse=float
    )
    notify_attempts: int = setting(
        "NSER_NWDAF_NOTIFY_ATTEMPTS", "tries per notification", 5, parse=int
    )
    notify_backoff_seconds: float = setting(
        "NSER_NWDAF_NOTIFY_BACKOFF_SECONDS",
        "first retry delay, doubled each time",
        0.5,
        parse=float,
    )
    notify_timeout_seconds: float = setting(
        "NSER_NWDAF_NOTIFY_TIMEOUT_SECONDS", "timeout of one notification POST", 5.0, parse=float
    )
    notify_max_in_flight: int = setting(
        "NSER_NWDAF_NOTIFY_MAX_IN_FLIGHT",
        "notifications being delivered before dropping",
        256,
        parse=int,
    )
    # HMAC key signing notifications
    notify_secret: str = setting(
        "NSER_NWDAF_NOTIFY_SECRET",
        "HMAC key signing notification bodies (unsigned, only with insecure, when neither is set)",
        "",
        secret=True,
    )
    # a one-line file holding it (nser credentials: webhook.secret)
    notify_secret_file: str = setting(
        "NSER_NWDAF_NOTIFY_SECRET_FILE", "file holding the notification HMAC key instead", ""
    )
    # Hosts a notificationURI may name although they are internal (nser_shared.http.outbound).
    notify_allowed_hosts: tuple[str, ...] = setting(
        "NSER_NWDAF_NOTIFY_ALLOWED_HOSTS",
        "comma-separated internal hosts (loopback, link-local) notifications may still go to",
        (),
        parse=parse_name_list,
    )
    # plaintext HTTP (a warning is logged); else tls_cert and tls_key
    insecure: bool = setting(
        "NSER_NWDAF_INSECURE",
        "plaintext HTTP and no API auth (a warning is logged)",
        False,
        parse=parse_bool,
    )
    tls_cert: str = setting("NSER_NWDAF_TLS_CERT", "server certificate (PEM) for HTTPS", "")
    tls_key: str = setting("NSER_NWDAF_TLS_KEY", "private key (PEM) of the certificate", "")
    # api-tokens.json; empty: no auth (only with insecure)
    tokens_file: str = setting(
        "NSER_NWDAF_TOKENS_FILE", "api-tokens.json of the API tokens (nser credentials)", ""
    )
    max_body_bytes: int = setting(
        "NSER_NWDAF_MAX_BODY_BYTES",
        "largest request body accepted (else 413)",
        DEFAULT_MAX_BODY_BYTES,
        parse=int,
    )
    max_subscriptions: int = setting(
        "NSER_NWDAF_MAX_SUBSCRIPTIONS", "subscriptions stored at once (else 403)", 1000, parse=int
    )

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


SETTINGS = settings.table(NwdafSettings)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    settings.add_arguments(parser, NwdafSettings)


def resolve(
    args: argparse.Namespace | None = None, environ: Mapping[str, str] = os.environ
) -> NwdafSettings:
    return settings.resolve(NwdafSettings, args, environ)
