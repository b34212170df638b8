"""The analytics service's running parts, created in the app's lifespan and handed to routes."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import redis.asyncio as aioredis
from fastapi import Depends, Request

from nser_nwdaf import keys
from nser_nwdaf.analytics import Analytics
from nser_nwdaf.delivery import Delivery
from nser_nwdaf.handler import AnalyticsHandler
from nser_nwdaf.metrics import NwdafMetrics
from nser_nwdaf.notifier import Notifier
from nser_nwdaf.settings import NwdafSettings
from nser_nwdaf.subscriptions import SubscriptionStore
from nser_shared.errors import ConfigurationError
from nser_shared.http import signing
from nser_shared.stream.consumer import ConsumerConfig, StreamConsumer

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 5.0


class Runtime:
    def __init__(self, settings: NwdafSettings) -> None:
        s = settings
        self.settings = s
        self.metrics = NwdafMetrics()
        self.redis = aioredis.Redis.from_url(s.redis_url, socket_timeout=5.0)
        self.store = SubscriptionStore(self.redis, s.max_subscriptions)
        self.analytics = Analytics(self.redis, s)
        self.consumer = StreamConsumer(
            s.redis_url,
            ConsumerConfig(
                group=keys.CONSUMER_GROUP,
                consumer=s.consumer,
                claim_idle_ms=s.claim_idle_ms,
                done_ttl_s=s.done_ttl_seconds,
            ),
            AnalyticsHandler(s.bucket_seconds, s.retention_seconds, self.metrics),
        )
        key = signing.signing_key(s.notify_secret, s.notify_secret_file)
        if not key and not s.insecure:
            raise ConfigurationError(
                "notifications would go out unsigned: set NSER_NWDAF_NOTIFY_SECRET_FILE (nser "
                "credentials writes webhook.secret) or NSER_NWDAF_NOTIFY_SECRET, or run --insecure"
            )
        self.delivery = Delivery(
            self.metrics,
            attempts=s.notify_attempts,
            backoff_seconds=s.notify_backoff_seconds,
            timeout_seconds=s.notify_timeout_seconds,
            max_in_flight=s.notify_max_in_flight,
            signing_key=key,
        )
        self.notifier = Notifier(
            self.redis, self.store, self.analytics, self.delivery, s, self.metrics
        )
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self.tasks = [
            asyncio.create_task(self.consumer.run(self.stop), name="consumer"),
            asyncio.create_task(self.notifier.run(self.stop), name="notifier"),
        ]

    def running(self) -> bool:
        return bool(self.tasks) and not any(t.done() for t in self.tasks)

    async def refresh_metrics(self) -> None:
        """Before a scrape: the stream's length, and each group's lag and pending results."""
        await self.metrics.backlog.refresh(self.redis)

    async def close(self) -> None:
        self.stop.set()
        if self.tasks:
            done, pending = await asyncio.wait(self.tasks, timeout=SHUTDOWN_GRACE_SECONDS)
            for task in pending:
                task.cancel()
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    log.error("%s ended with %r", task.get_name(), task.exception())
        await self.delivery.close(SHUTDOWN_GRACE_SECONDS)
        await self.redis.aclose()


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(runtime)]
