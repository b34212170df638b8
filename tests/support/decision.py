"""The decision service under test: its handle and settings."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import redis

from nser_decision.settings import DecisionSettings
from nser_decision.store import COUNTS
from nser_shared.stream.results import RESULTS_STREAM, ResultRecord
from support.http import WebhookReceiver
from support.processes import wait_until
from support.tokens import TOKENS_PATH, bearer


@dataclass
class DecisionUnderTest:
    url: str
    redis: redis.Redis
    receiver: WebhookReceiver
    http: httpx.Client

    def publish(self, records: list[ResultRecord]) -> None:
        for record in records:
            self.redis.xadd(RESULTS_STREAM, record.to_fields())  # type: ignore[arg-type]

    def decided(self) -> int:
        return sum(int(v) for v in self.redis.hgetall(COUNTS).values())

    def wait_decided(self, count: int, timeout_s: float = 15.0) -> None:
        wait_until(lambda: self.decided() >= count, timeout_s, f"{count} decisions")


def client(url: str) -> httpx.Client:
    """A client of the service at `url` that sends the operator token."""
    return httpx.Client(base_url=url, headers=bearer(), timeout=10)


def settings_for(
    redis_url: str, receiver: WebhookReceiver, **overrides: object
) -> DecisionSettings:
    values: dict[str, object] = {
        "redis_url": redis_url,
        "consumer": "test-replica",
        "webhooks": {"police": f"{receiver.url}/police", "healthcare": f"{receiver.url}/health"},
        "webhook_backoff_seconds": 0.05,
        "webhook_attempts": 4,
        "incident_gap_seconds": 10.0,
        "escalate_after_windows": 5,
        "evidence_threshold": 0.0,  # most tests: one window, one alert; evidence has its tests
        "tokens_file": TOKENS_PATH,
        "webhook_secret": "test webhook key",  # webhooks go out signed or not at all
        "webhook_allowed_hosts": ("127.0.0.1",),  # the tests' own receivers
    }
    return DecisionSettings(**{**values, **overrides})  # type: ignore[arg-type]
