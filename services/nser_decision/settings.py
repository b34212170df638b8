"""The decision service's configuration (nser_shared.settings: option, env, default)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nser_decision.policy import Policy
from nser_decision.store import EVENTS_MAXLEN
from nser_shared import settings
from nser_shared.errors import ConfigurationError
from nser_shared.http.limits import DEFAULT_MAX_BODY_BYTES
from nser_shared.http.outbound import internal_host_reason
from nser_shared.settings import (
    Setting,
    parse_bool,
    parse_json_object,
    parse_name_list,
)
from nser_shared.stream.consumer import DONE_TTL_S, MIN_DONE_TTL_S, default_consumer_name
from nser_shared.wire.labels import Valence

# Who is told about a negative scream. The models know valence, not the emotion behind it (pain,
# fear, anger), so they cannot tell an ambulance case from a police case: every alert goes to
# every responder listed for "negative". A deployment with other knowledge (a watch worn by a
# patient, say) can narrow this per device kind or cell in its own fork of the policy.
DEFAULT_ROUTES: dict[str, list[str]] = {Valence.NEGATIVE.value: ["police", "healthcare"]}


@dataclass(frozen=True)
class DecisionSettings:
    host: str = "127.0.0.1"
    port: int = 8081
    redis_url: str = "redis://127.0.0.1:6379/0"
    consumer: str = field(default_factory=default_consumer_name)
    claim_idle_ms: int = 30_000
    done_ttl_seconds: int = DONE_TTL_S
    # The policy's defaults are the Policy's own (policy.py says why each is what it is).
    scream_threshold: float = Policy.scream_threshold
    negative_threshold: float = Policy.negative_threshold
    incident_gap_seconds: float = Policy.incident_gap_s
    escalate_after_windows: int = Policy.escalate_after_windows
    evidence_reference: float = Policy.evidence_reference
    evidence_threshold: float = Policy.evidence_threshold
    routes: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_ROUTES))
    webhooks: dict[str, Any] = field(default_factory=dict)  # responder -> URL
    webhook_attempts: int = 6
    webhook_backoff_seconds: float = 0.5
    webhook_timeout_seconds: float = 5.0
    webhook_secret: str = field(default="", repr=False)  # never printed with the settings
    webhook_secret_file: str = ""  # a one-line file holding it (nser credentials: webhook.secret)
    # Hosts a webhook URL may name although they are internal (nser_shared.http.outbound).
    webhook_allowed_hosts: tuple[str, ...] = ()
    insecure: bool = False
    tls_cert: str = ""  # HTTPS (nser_shared.security.tls); without it, only with insecure
    tls_key: str = ""
    tokens_file: str = ""  # api-tokens.json; empty: no auth (only with insecure)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_feed_clients: int = 64
    feed_queue_events: int = 256
    # Retention of the alert history: by age, then by count (the oldest go first). A year of
    # alerts of a city-sized fleet fits in the count; age is what an operator sets.
    alert_retention_days: float = 90.0
    max_alerts: int = 1_000_000
    events_maxlen: int = EVENTS_MAXLEN

    def __post_init__(self) -> None:
        problems = []
        for name in ("scream_threshold", "negative_threshold", "evidence_reference"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                problems.append(f"{name} must be within [0, 1]")
        if not self.evidence_threshold >= 0.0:
            problems.append("evidence_threshold must be >= 0")
        for name in (
            "incident_gap_seconds",
            "webhook_backoff_seconds",
            "webhook_timeout_seconds",
            "alert_retention_days",
        ):
            if not getattr(self, name) > 0:
                problems.append(f"{name} must be > 0")
        for name in (
            "escalate_after_windows",
            "webhook_attempts",
            "claim_idle_ms",
            "max_body_bytes",
            "max_feed_clients",
            "feed_queue_events",
            "max_alerts",
            "events_maxlen",
        ):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1")
        if self.done_ttl_seconds < MIN_DONE_TTL_S:
            problems.append(f"done_ttl_seconds must be >= {MIN_DONE_TTL_S}")
        if not all(
            isinstance(v, list) and all(isinstance(r, str) for r in v) for v in self.routes.values()
        ):
            problems.append(
                'routes must map a valence to a list of responders, e.g. {"negative": ["police"]}'
            )
        if not all(
            isinstance(v, str) and v.startswith(("http://", "https://"))
            for v in self.webhooks.values()
        ):
            problems.append("webhooks must map a responder to an http(s) URL")
        for responder, url in self.webhooks.items():
            internal = internal_host_reason(str(url), self.webhook_allowed_hosts)
            if internal is not None:
                problems.append(
                    f"webhook of {responder}: {internal}; list the host in "
                    "NSER_DECISION_WEBHOOK_ALLOWED_HOSTS to send there"
                )
        signed = self.webhook_secret or self.webhook_secret_file
        if self.webhooks and not signed and not self.insecure:
            problems.append(
                "webhooks would go out unsigned: set NSER_DECISION_WEBHOOK_SECRET_FILE "
                "(nser credentials writes webhook.secret) or NSER_DECISION_WEBHOOK_SECRET, "
                "or run --insecure"
            )
        if problems:
            raise ConfigurationError("; ".join(problems))


SETTINGS: dict[str, Setting] = {
    "host": Setting("NSER_DECISION_HOST", str, "address to listen on (0.0.0.0 in containers)"),
    "port": Setting("NSER_DECISION_PORT", int, "HTTP port of the REST API and /metrics"),
    "redis_url": Setting("REDIS_URL", str, "Redis holding the results stream and the alerts"),
    "consumer": Setting("NSER_DECISION_CONSUMER", str, "this replica's consumer name"),
    "claim_idle_ms": Setting(
        "NSER_DECISION_CLAIM_IDLE_MS", int, "take over a dead replica's results after this idle"
    ),
    "done_ttl_seconds": Setting(
        "NSER_DECISION_DONE_TTL_SECONDS",
        int,
        f"keep each result's done marker this long (at least {MIN_DONE_TTL_S})",
    ),
    "scream_threshold": Setting("NSER_DECISION_SCREAM_THRESHOLD", float, "P(scream) to act on"),
    "negative_threshold": Setting(
        "NSER_DECISION_NEGATIVE_THRESHOLD", float, "P(negative) that raises an alert"
    ),
    "incident_gap_seconds": Setting(
        "NSER_DECISION_INCIDENT_GAP_SECONDS", float, "longest gap within one incident"
    ),
    "escalate_after_windows": Setting(
        "NSER_DECISION_ESCALATE_AFTER_WINDOWS", int, "negative windows per severity step"
    ),
    "evidence_reference": Setting(
        "NSER_DECISION_EVIDENCE_REFERENCE",
        float,
        "P(negative) above which a scream window adds evidence of distress",
    ),
    "evidence_threshold": Setting(
        "NSER_DECISION_EVIDENCE_THRESHOLD",
        float,
        "evidence an incident needs to alert (0: its first negative window)",
    ),
    "routes": Setting("NSER_DECISION_ROUTES", parse_json_object, "valence -> responders (JSON)"),
    "webhooks": Setting("NSER_DECISION_WEBHOOKS", parse_json_object, "responder -> URL (JSON)"),
    "webhook_attempts": Setting("NSER_DECISION_WEBHOOK_ATTEMPTS", int, "tries per notification"),
    "webhook_backoff_seconds": Setting(
        "NSER_DECISION_WEBHOOK_BACKOFF_SECONDS", float, "first retry delay, doubled each time"
    ),
    "webhook_timeout_seconds": Setting(
        "NSER_DECISION_WEBHOOK_TIMEOUT_SECONDS", float, "timeout of one webhook POST"
    ),
    "webhook_secret": Setting(
        "NSER_DECISION_WEBHOOK_SECRET",
        str,
        "HMAC key signing webhook bodies (unsigned, only with insecure, when neither is set)",
    ),
    "webhook_allowed_hosts": Setting(
        "NSER_DECISION_WEBHOOK_ALLOWED_HOSTS",
        parse_name_list,
        "comma-separated internal hosts (loopback, link-local) webhooks may still go to",
    ),
    "webhook_secret_file": Setting(
        "NSER_DECISION_WEBHOOK_SECRET_FILE", str, "file holding the webhook HMAC key instead"
    ),
    "insecure": Setting(
        "NSER_DECISION_INSECURE", parse_bool, "plaintext and, without a tokens file, no API auth"
    ),
    "tls_cert": Setting("NSER_DECISION_TLS_CERT", str, "server certificate (PEM) for HTTPS"),
    "tls_key": Setting("NSER_DECISION_TLS_KEY", str, "private key (PEM) of the certificate"),
    "tokens_file": Setting(
        "NSER_DECISION_TOKENS_FILE", str, "api-tokens.json of the API tokens (nser credentials)"
    ),
    "max_body_bytes": Setting(
        "NSER_DECISION_MAX_BODY_BYTES", int, "largest request body accepted (else 413)"
    ),
    "max_feed_clients": Setting(
        "NSER_DECISION_MAX_FEED_CLIENTS", int, "live feed (SSE) clients at once (else 503)"
    ),
    "feed_queue_events": Setting(
        "NSER_DECISION_FEED_QUEUE_EVENTS", int, "events queued per feed client before it is cut"
    ),
    "alert_retention_days": Setting(
        "NSER_DECISION_ALERT_RETENTION_DAYS", float, "alerts older than this are removed"
    ),
    "events_maxlen": Setting(
        "NSER_DECISION_EVENTS_MAXLEN",
        int,
        "length cap (approximate) of the stream of screams that raised no alert",
    ),
    "max_alerts": Setting(
        "NSER_DECISION_MAX_ALERTS", int, "alerts kept at most (the oldest removed first)"
    ),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    settings.add_arguments(parser, DecisionSettings, SETTINGS)


def resolve(
    args: argparse.Namespace | None = None, environ: Mapping[str, str] = os.environ
) -> DecisionSettings:
    return settings.resolve(DecisionSettings, SETTINGS, args, environ)
