"""Notifies responders of alerts by webhook, from the outbox stream, at least once.

Alert transactions append one job per responder to `nser:decision:outbox`; workers (any replica)
read it through the "webhooks" consumer group. A job is POSTed to the responder's URL with the
alert as JSON, an `Idempotency-Key` header (alert, responder, severity) and, when a secret is
set, an HMAC signature (`signing.py`); it is retried with exponential backoff, and every attempt
is recorded on the alert's responder notice. After the last failed attempt the notice says
FAILED, the failure is logged and counted: a delivery is never lost silently. A job is
acknowledged only when it is delivered or has failed for good; a worker that dies mid-job
leaves it pending for another replica to take over.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import redis.asyncio as aioredis

from nser_decision.alerts import Alert, DeliveryState
from nser_decision.metrics import DecisionMetrics
from nser_decision.settings import DecisionSettings
from nser_decision.store import OUTBOX, alert_key, update_alert
from nser_shared.http import signing
from nser_shared.stream.consumer import ensure_group, run_reconnecting

log = logging.getLogger(__name__)

GROUP = "webhooks"
MAX_CONCURRENT = 16


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class WebhookWorker:
    def __init__(self, settings: DecisionSettings, metrics: DecisionMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.redis = aioredis.Redis.from_url(settings.redis_url, socket_timeout=5.0)
        self.reader = aioredis.Redis.from_url(settings.redis_url, socket_timeout=10.0)
        self.http = httpx.AsyncClient(timeout=settings.webhook_timeout_seconds)
        # Read once: a missing or bad file fails the start, not the first alert.
        self.signing_key = signing.signing_key(
            settings.webhook_secret, settings.webhook_secret_file
        )
        self.slots = asyncio.Semaphore(MAX_CONCURRENT)
        self.tasks: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        async def setup() -> None:
            await ensure_group(self.redis, OUTBOX, GROUP)

        await run_reconnecting(stop, setup, self.poll_once, OUTBOX)
        await self.close()

    async def poll_once(self) -> None:
        consumer = self.settings.consumer
        _, claimed, _ = await self.redis.xautoclaim(
            OUTBOX, GROUP, consumer, self.settings.claim_idle_ms, "0-0", count=MAX_CONCURRENT
        )
        response: Any = await self.reader.xreadgroup(
            GROUP, consumer, {OUTBOX: ">"}, count=MAX_CONCURRENT, block=500
        )
        entries = list(claimed) + [e for _, stream_entries in response for e in stream_entries]
        for entry_id, fields in entries:
            if fields is None:
                continue
            await self.slots.acquire()
            task = asyncio.create_task(self._job(entry_id, fields))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            task.add_done_callback(lambda _: self.slots.release())

    async def _job(self, entry_id: Any, fields: dict[Any, Any]) -> None:
        job = {_text(k): _text(v) for k, v in fields.items()}
        try:
            await self.deliver(job["alert_id"], job["responder"], int(job["severity"]))
        except KeyError as exc:
            log.error("malformed outbox job %s: missing %s; dropped", _text(entry_id), exc)
        except Exception:
            log.exception("webhook job %s failed; it stays pending for a retry", entry_id)
            return
        await self.redis.xack(OUTBOX, GROUP, entry_id)

    async def deliver(self, alert_id: str, responder: str, severity: int) -> None:
        url = self.settings.webhooks.get(responder)
        attempts = self.settings.webhook_attempts
        for attempt in range(1, attempts + 1):
            raw = await self.redis.get(alert_key(alert_id))
            if raw is None:
                log.error("webhook for unknown alert %s dropped", alert_id)
                return
            alert = Alert.model_validate_json(raw)
            error = await self._post(url, alert, responder, severity)
            if error is None:
                self.metrics.webhooks.labels(responder, "delivered").inc()
                await self._record(alert_id, responder, severity, DeliveryState.DELIVERED, None)
                return
            last = attempt == attempts
            state = DeliveryState.FAILED if last else DeliveryState.PENDING
            await self._record(alert_id, responder, severity, state, error)
            if last:
                self.metrics.webhooks.labels(responder, "failed").inc()
                log.error(
                    "alert %s: %s not notified after %d attempts: %s",
                    alert_id, responder, attempts, error,
                )  # fmt: skip
                return
            self.metrics.webhooks.labels(responder, "retry").inc()
            await asyncio.sleep(self.settings.webhook_backoff_seconds * 2 ** (attempt - 1))

    async def _post(
        self, url: str | None, alert: Alert, responder: str, severity: int
    ) -> str | None:
        """None when delivered, else what went wrong."""
        if url is None:
            return f"no webhook URL configured for {responder}"
        body = alert.model_dump_json().encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": f"{alert.id}:{responder}:{severity}",
            "X-Nser-Responder": responder,
        }
        if self.signing_key:
            headers[signing.HEADER] = signing.sign(self.signing_key, body)
        try:
            response = await self.http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"

    async def _record(
        self, alert_id: str, responder: str, severity: int, state: DeliveryState, error: str | None
    ) -> None:
        def change(alert: Alert) -> None:
            now = time.time()
            for notice in alert.responders:
                if notice.responder == responder and notice.severity == severity:
                    notice.state = state
                    notice.attempts += 1
                    notice.last_attempt_at = now
                    notice.last_error = error
                    if state is DeliveryState.DELIVERED:
                        notice.delivered_at = now

        await update_alert(self.redis, alert_id, change)  # an expired alert: nothing to record

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.http.aclose()
        await self.reader.aclose()
        await self.redis.aclose()
