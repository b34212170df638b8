"""The decision service's configuration (nser_shared.settings: option, env, default)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nser_decision.policy import Policy
from nser_decision.store import EVENTS_MAXLEN
from nser_shared import settings
from nser_shared.errors import ConfigurationError
from nser_shared.http.limits import DEFAULT_MAX_BODY_BYTES
from nser_shared.http.outbound import internal_host_reason
from nser_shared.settings import (
    parse_bool,
    parse_json_object,
    parse_name_list,
    setting,
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
    host: str = setting(
        "NSER_DECISION_HOST", "address to listen on (0.0.0.0 in containers)", "127.0.0.1"
    )
    port: int = setting(
        "NSER_DECISION_PORT", "HTTP port of the REST API and /metrics", 8081, parse=int
    )
    redis_url: str = setting(
        "REDIS_URL", "Redis holding the results stream and the alerts", "redis://127.0.0.1:6379/0"
    )
    consumer: str = setting(
        "NSER_DECISION_CONSUMER",
        "this replica's consumer name",
        default_factory=default_consumer_name,
    )
    claim_idle_ms: int = setting(
        "NSER_DECISION_CLAIM_IDLE_MS",
        "take over a dead replica's results after this idle",
        30_000,
        parse=int,
    )
    done_ttl_seconds: int = setting(
        "NSER_DECISION_DONE_TTL_SECONDS",
        f"keep each result's done marker this long (at least {MIN_DONE_TTL_S})",
        DONE_TTL_S,
        parse=int,
    )
    # The policy's defaults are the Policy's own (policy.py says why each is what it is).
    scream_threshold: float = setting(
        "NSER_DECISION_SCREAM_THRESHOLD",
        "P(scream) to act on",
        Policy.scream_threshold,
        parse=float,
    )
    negative_threshold: float = setting(
        "NSER_DECISION_NEGATIVE_THRESHOLD",
        "P(negative) that raises an alert",
        Policy.negative_threshold,
        parse=float,
    )
    incident_gap_seconds: float = setting(
        "NSER_DECISION_INCIDENT_GAP_SECONDS",
        "longest gap within one incident",
        Policy.incident_gap_s,
        parse=float,
    )
    escalate_after_windows: int = setting(
        "NSER_DECISION_ESCALATE_AFTER_WINDOWS",
        "negative windows per severity step",
        Policy.escalate_after_windows,
        parse=int,
    )
    evidence_reference: float = setting(
        "NSER_DECISION_EVIDENCE_REFERENCE",
        "P(negative) above which a scream window adds evidence of distress",
        Policy.evidence_reference,
        parse=float,
    )
    evidence_threshold: float = setting(
        "NSER_DECISION_EVIDENCE_THRESHOLD",
        "evidence an incident needs to alert (0: its first negative window)",
        Policy.evidence_threshold,
        parse=float,
    )
    routes: dict[str, Any] = setting(
        "NSER_DECISION_ROUTES",
        "valence -> responders (JSON)",
        parse=parse_json_object,
        default_factory=lambda: dict(DEFAULT_ROUTES),
    )
    # responder -> URL
    webhooks: dict[str, Any] = setting(
        "NSER_DECISION_WEBHOOKS",
        "responder -> URL (JSON)",
        parse=parse_json_object,
        default_factory=dict,
    )
    webhook_attempts: int = setting(
        "NSER_DECISION_WEBHOOK_ATTEMPTS", "tries per notification", 6, parse=int
    )
    webhook_backoff_seconds: float = setting(
        "NSER_DECISION_WEBHOOK_BACKOFF_SECONDS",
        "first retry delay, doubled each time",
        0.5,
        parse=float,
    )
    webhook_timeout_seconds: float = setting(
        "NSER_DECISION_WEBHOOK_TIMEOUT_SECONDS", "timeout of one webhook POST", 5.0, parse=float
    )
    # never printed with the settings
    webhook_secret: str = setting(
        "NSER_DECISION_WEBHOOK_SECRET",
        "HMAC key signing webhook bodies (unsigned, only with insecure, when neither is set)",
        "",
        secret=True,
    )
    # a one-line file holding it (nser credentials: webhook.secret)
    webhook_secret_file: str = setting(
        "NSER_DECISION_WEBHOOK_SECRET_FILE", "file holding the webhook HMAC key instead", ""
    )
    # Hosts a webhook URL may name although they are internal (nser_shared.http.outbound).
    webhook_allowed_hosts: tuple[str, ...] = setting(
        "NSER_DECISION_WEBHOOK_ALLOWED_HOSTS",
        "comma-separated internal hosts (loopback, link-local) webhooks may still go to",
        (),
        parse=parse_name_list,
    )
    insecure: bool = setting(
        "NSER_DECISION_INSECURE",
        "plaintext and, without a tokens file, no API auth",
        False,
        parse=parse_bool,
    )
    # HTTPS (nser_shared.security.tls); without it, only with insecure
    tls_cert: str = setting("NSER_DECISION_TLS_CERT", "server certificate (PEM) for HTTPS", "")
    tls_key: str = setting("NSER_DECISION_TLS_KEY", "private key (PEM) of the certificate", "")
    # api-tokens.json; empty: no auth (only with insecure)
    tokens_file: str = setting(
        "NSER_DECISION_TOKENS_FILE", "api-tokens.json of the API tokens (nser credentials)", ""
    )
    max_body_bytes: int = setting(
        "NSER_DECISION_MAX_BODY_BYTES",
        "largest request body accepted (else 413)",
        DEFAULT_MAX_BODY_BYTES,
        parse=int,
    )
    max_feed_clients: int = setting(
        "NSER_DECISION_MAX_FEED_CLIENTS",
        "live feed (SSE) clients at once (else 503)",
        64,
        parse=int,
    )
    feed_queue_events: int = setting(
        "NSER_DECISION_FEED_QUEUE_EVENTS",
        "events queued per feed client before it is cut",
        256,
        parse=int,
    )
    # Retention of the alert history: by age, then by count (the oldest go first). A year of
    # alerts of a city-sized fleet fits in the count; age is what an operator sets.
    alert_retention_days: float = setting(
        "NSER_DECISION_ALERT_RETENTION_DAYS",
        "alerts older than this are removed",
        90.0,
        parse=float,
    )
    max_alerts: int = setting(
        "NSER_DECISION_MAX_ALERTS",
        "alerts kept at most (the oldest removed first)",
        1_000_000,
        parse=int,
    )
    events_maxlen: int = setting(
        "NSER_DECISION_EVENTS_MAXLEN",
        "length cap (approximate) of the stream of screams that raised no alert",
        EVENTS_MAXLEN,
        parse=int,
    )

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


SETTINGS = settings.table(DecisionSettings)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    settings.add_arguments(parser, DecisionSettings)


def resolve(
    args: argparse.Namespace | None = None, environ: Mapping[str, str] = os.environ
) -> DecisionSettings:
    return settings.resolve(DecisionSettings, args, environ)
