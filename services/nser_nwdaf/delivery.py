"""Delivering notifications: POST the JSON array to the subscription's notificationURI, retrying
with doubling backoff on connection errors, timeouts, 408, 429 and 5xx. Any other 4xx is final.

Deliveries run as background tasks so a slow receiver never holds up the notifier's tick. They
are in memory: a notification still being retried when its replica dies is lost (the periodic
reports that follow are not).
"""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
from pydantic import TypeAdapter

from nser_nwdaf.metrics import NwdafMetrics
from nser_nwdaf.schema_analytics import NnwdafEventsSubscriptionNotification
from nser_shared.http import signing

log = logging.getLogger(__name__)

NOTIFICATIONS = TypeAdapter(list[NnwdafEventsSubscriptionNotification])
RETRY_STATUSES = frozenset({408, 429})


class Delivery:
    def __init__(
        self,
        metrics: NwdafMetrics,
        attempts: int,
        backoff_seconds: float,
        timeout_seconds: float,
        max_in_flight: int,
        signing_key: str = "",  # empty: unsigned (NwdafSettings allows it only when insecure)
    ) -> None:
        self.metrics = metrics
        self.signing_key = signing_key
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self.max_in_flight = max_in_flight
        self.client = httpx.AsyncClient(timeout=timeout_seconds)
        self.tasks: set[asyncio.Task[None]] = set()

    def submit(
        self, url: str, body: list[NnwdafEventsSubscriptionNotification], trigger: str
    ) -> bool:
        """Start delivering `body`; False (and counted as dropped) when too many are in flight."""
        if len(self.tasks) >= self.max_in_flight:
            self.metrics.notifications.labels(trigger, "dropped").inc()
            log.warning("%d notifications in flight: dropped one for %s", len(self.tasks), url)
            return False
        content = NOTIFICATIONS.dump_json(body, exclude_none=True, by_alias=True)
        task = asyncio.create_task(self._deliver(url, content, trigger))
        self.tasks.add(task)
        self.metrics.notifications_in_flight.set(len(self.tasks))
        task.add_done_callback(self._done)
        return True

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        self.metrics.notifications_in_flight.set(len(self.tasks))

    async def _deliver(self, url: str, content: bytes, trigger: str) -> None:
        delay = self.backoff_seconds
        for attempt in range(1, self.attempts + 1):
            retry, reason = await self._attempt(url, content)
            if reason is None:
                self.metrics.notifications.labels(trigger, "delivered").inc()
                return
            self.metrics.notification_attempt_failures.inc()
            log.warning("notification to %s, attempt %d/%d: %s", url, attempt, self.attempts,
                        reason)  # fmt: skip
            if not retry:
                break
            if attempt < self.attempts:
                await asyncio.sleep(delay)
                delay *= 2
        self.metrics.notifications.labels(trigger, "failed").inc()

    async def _attempt(self, url: str, content: bytes) -> tuple[bool, str | None]:
        """(worth retrying, why it failed); the reason is None on success."""
        started = time.perf_counter()
        try:
            headers = {"content-type": "application/json"}
            if self.signing_key:  # signed per attempt: a retry carries a fresh timestamp
                headers[signing.HEADER] = signing.sign(self.signing_key, content)
            response = await self.client.post(url, content=content, headers=headers)
        except httpx.HTTPError as exc:
            return True, f"{type(exc).__name__}: {exc}"
        finally:
            self.metrics.notification_seconds.observe(time.perf_counter() - started)
        if response.is_success:
            return False, None
        code = response.status_code
        return code >= 500 or code in RETRY_STATUSES, f"HTTP {code}"

    async def close(self, grace_seconds: float) -> None:
        """Give deliveries in flight `grace_seconds`, then cancel the rest."""
        if self.tasks:
            _, pending = await asyncio.wait(set(self.tasks), timeout=grace_seconds)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("%d notifications abandoned at shutdown", len(pending))
                await asyncio.gather(*pending, return_exceptions=True)
        await self.client.aclose()
