"""The decision service's running parts, created in the app's lifespan and handed to routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Annotated

import redis.asyncio as aioredis
from fastapi import Depends, Request
from redis.exceptions import RedisError

from nser_decision.feed import FeedClients
from nser_decision.handler import DecisionHandler
from nser_decision.metrics import CONSUMER_GROUP, DecisionMetrics
from nser_decision.policy import Policy
from nser_decision.settings import DecisionSettings
from nser_decision.store import AlertStore
from nser_decision.webhooks import WebhookWorker
from nser_shared.stream.consumer import ConsumerConfig, StreamConsumer
from nser_shared.wire.labels import Valence

log = logging.getLogger(__name__)


RETENTION_INTERVAL_S = 60.0


class Runtime:
    """What the routes need, created in the lifespan."""

    def __init__(self, settings: DecisionSettings) -> None:
        self.settings = settings
        self.metrics = DecisionMetrics()
        self.redis = aioredis.Redis.from_url(settings.redis_url, socket_timeout=5.0)
        self.store = AlertStore(self.redis)
        self.policy = Policy(
            scream_threshold=settings.scream_threshold,
            negative_threshold=settings.negative_threshold,
            incident_gap_s=settings.incident_gap_seconds,
            escalate_after_windows=settings.escalate_after_windows,
            evidence_reference=settings.evidence_reference,
            evidence_threshold=settings.evidence_threshold,
            routes=tuple((k, tuple(v)) for k, v in settings.routes.items()),
        )
        self.consumer = StreamConsumer(
            settings.redis_url,
            ConsumerConfig(
                group=CONSUMER_GROUP,
                consumer=settings.consumer,
                claim_idle_ms=settings.claim_idle_ms,
                done_ttl_s=settings.done_ttl_seconds,
            ),
            DecisionHandler(
                self.policy, dict(settings.webhooks), self.metrics, settings.events_maxlen
            ),
        )
        self.webhooks = WebhookWorker(settings, self.metrics)
        self.feed_clients = FeedClients(settings.max_feed_clients, self.metrics)
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for responder in self.policy.responders(Valence.NEGATIVE):
            if responder not in self.settings.webhooks:
                log.warning(
                    "no webhook for responder %r: its alerts are only recorded (no_webhook)",
                    responder,
                )
        self.tasks = [
            asyncio.create_task(self.consumer.run(self.stop), name="consumer"),
            asyncio.create_task(self.webhooks.run(self.stop), name="webhooks"),
            asyncio.create_task(self.expire_alerts(), name="retention"),
        ]

    async def expire_alerts(self) -> None:
        """Every RETENTION_INTERVAL_S, remove the alerts past their retention (every replica
        does it; removing what another already removed is a no-op)."""
        s = self.settings
        while not self.stop.is_set():
            try:
                removed = await self.store.expire(
                    time.time(), s.alert_retention_days * 86_400, s.max_alerts
                )
                self.metrics.alerts_expired.inc(removed)
            except RedisError as exc:
                log.warning("alert retention skipped this round: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), RETENTION_INTERVAL_S)

    def running(self) -> bool:
        return bool(self.tasks) and not any(t.done() for t in self.tasks)

    async def refresh_metrics(self) -> None:
        """Before a scrape: the stream's length, and each group's lag and pending results."""
        await self.metrics.backlog.refresh(self.redis)

    async def close(self) -> None:
        self.stop.set()
        done, pending = await asyncio.wait(self.tasks, timeout=10.0)
        for task in pending:
            task.cancel()
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.error("%s ended with %r", task.get_name(), task.exception())
        await self.redis.aclose()


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(runtime)]
