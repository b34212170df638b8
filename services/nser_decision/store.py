"""Where the decision service keeps its state in Redis: the one place that names its keys.

nser:decision:alert:{id}         the alert, as JSON
nser:decision:alerts             sorted set of alert ids by creation time (listing, paging,
                                 retention: AlertStore.expire)
nser:decision:open:{device_id}   id of the device's latest alert (incident grouping)
nser:decision:pending:{device}   an incident not yet confirmed (PendingIncident JSON)
nser:decision:events             capped stream of decided screams that raised no alert
nser:decision:counts             hash: decisions by kind
nser:decision:outbox             stream of webhook jobs {alert_id, responder, severity}
nser:decision:feed               pub/sub channel of alert changes (the live feed)
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from nser_decision.alerts import TRANSITIONS, Alert, AlertPage, AlertStatus
from nser_decision.errors import AlertNotFoundError, BadQueryError, IllegalTransitionError

PREFIX = "nser:decision"
ALERTS = f"{PREFIX}:alerts"
EVENTS = f"{PREFIX}:events"
COUNTS = f"{PREFIX}:counts"
OUTBOX = f"{PREFIX}:outbox"
FEED = f"{PREFIX}:feed"
EVENTS_MAXLEN = 100_000
MAX_PAGE = 500


async def update_alert(
    redis: aioredis.Redis, alert_id: str, change: Callable[[Alert], None]
) -> Alert | None:
    """Read, change and write one alert atomically, and publish it on the feed: WATCH, then
    MULTI, retried when another writer got there first. `change` edits the alert in place (it
    may raise to write nothing). None when there is no such alert."""
    key = alert_key(alert_id)
    async with redis.pipeline(transaction=True) as tx:
        while True:
            try:
                await tx.watch(key)
                raw = await tx.get(key)
                if raw is None:
                    return None
                alert = Alert.model_validate_json(raw)
                change(alert)
                tx.multi()  # type: ignore[no-untyped-call]
                tx.set(key, alert.model_dump_json())
                tx.publish(FEED, alert.model_dump_json())
                await tx.execute()
                return alert
            except WatchError:
                continue


def alert_key(alert_id: str) -> str:
    return f"{PREFIX}:alert:{alert_id}"


def open_key(device_id: str) -> str:
    return f"{PREFIX}:open:{device_id}"


def pending_key(device_id: str) -> str:
    return f"{PREFIX}:pending:{device_id}"


@dataclass(frozen=True)
class AlertFilter:
    device_id: str | None = None
    nr_cell_id: str | None = None
    status: AlertStatus | None = None
    responder: str | None = None
    since: float | None = None  # created_at >= since
    until: float | None = None  # created_at < until

    def __post_init__(self) -> None:
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise BadQueryError(f"empty time range: since {self.since} >= until {self.until}")

    def matches(self, alert: Alert) -> bool:
        return (
            (self.device_id is None or alert.device_id == self.device_id)
            and (self.nr_cell_id is None or alert.nr_cell_id == self.nr_cell_id)
            and (self.status is None or alert.status == self.status)
            and (
                self.responder is None
                or any(r.responder == self.responder for r in alert.responders)
            )
        )


def encode_cursor(score: float, alert_id: str) -> str:
    return base64.urlsafe_b64encode(f"{score!r}|{alert_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        score, alert_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return float(score), alert_id
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise BadQueryError(f"cursor {cursor[:40]!r} is not one this API returned") from None


class AlertStore:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def expire(self, now: float, max_age_s: float, max_alerts: int) -> int:
        """Remove the alerts created more than `max_age_s` before `now`, then the oldest beyond
        `max_alerts`; how many were removed. A device whose latest alert is removed starts a
        new incident with its next alerting window (the handler finds no alert to extend)."""
        old: list[Any] = await self.redis.zrangebyscore(ALERTS, "-inf", f"({now - max_age_s}")
        excess = await self.redis.zcard(ALERTS) - len(old) - max_alerts
        if excess > 0:
            old += await self.redis.zrange(ALERTS, len(old), len(old) + excess - 1)
        removed = 0
        for start in range(0, len(old), 500):
            chunk = [
                m.decode() if isinstance(m, bytes) else str(m) for m in old[start : start + 500]
            ]
            async with self.redis.pipeline(transaction=True) as tx:
                tx.delete(*(alert_key(alert_id) for alert_id in chunk))
                tx.zrem(ALERTS, *chunk)
                await tx.execute()
            removed += len(chunk)
        return removed

    async def get(self, alert_id: str) -> Alert:
        raw = await self.redis.get(alert_key(alert_id))
        if raw is None:
            raise AlertNotFoundError(f"no alert with id {alert_id!r}")
        return Alert.model_validate_json(raw)

    async def page(self, where: AlertFilter, cursor: str | None, limit: int) -> AlertPage:
        """Newest first. The cursor is the (created_at, id) of the last alert returned."""
        if not 1 <= limit <= MAX_PAGE:
            raise BadQueryError(f"limit must be within 1-{MAX_PAGE}, got {limit}")
        high: float | str = "+inf" if where.until is None else f"({where.until}"
        low: float | str = "-inf" if where.since is None else where.since
        after: tuple[float, str] | None = decode_cursor(cursor) if cursor else None
        if after is not None:
            high = after[0]
        found: list[Alert] = []
        offset = 0
        while len(found) < limit:
            batch: Any = await self.redis.zrevrangebyscore(
                ALERTS, high, low, start=offset, num=200, withscores=True
            )
            if not batch:
                break
            offset += len(batch)
            for member, score in batch:
                alert_id = member.decode() if isinstance(member, bytes) else str(member)
                if after is not None and (score, alert_id) >= after:
                    continue  # same score as the cursor: skip what was already returned
                raw = await self.redis.get(alert_key(alert_id))
                if raw is None:
                    continue
                alert = Alert.model_validate_json(raw)
                if where.matches(alert):
                    found.append(alert)
                    if len(found) == limit:
                        break
        next_cursor = (
            encode_cursor(found[-1].created_at, found[-1].id) if len(found) == limit else None
        )
        return AlertPage(alerts=found, next_cursor=next_cursor)

    async def transition(self, alert_id: str, target: AlertStatus) -> Alert:
        """Move an alert to `target` atomically; IllegalTransitionError if not allowed."""

        def change(alert: Alert) -> None:
            if target not in TRANSITIONS[alert.status]:
                raise IllegalTransitionError(
                    f"alert {alert_id} is {alert.status.value}; it cannot become {target.value}"
                )
            now = time.time()
            alert.status = target
            alert.updated_at = now
            if target is AlertStatus.ACKNOWLEDGED:
                alert.acknowledged_at = now
            else:
                alert.resolved_at = now

        alert = await update_alert(self.redis, alert_id, change)
        if alert is None:
            raise AlertNotFoundError(f"no alert with id {alert_id!r}")
        return alert
