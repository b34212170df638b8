"""The notifier: every `tick_seconds`, decide which subscriptions report, and hand the reports to
the delivery.

Replicas share the work through Redis. A replica evaluates a subscription only while it holds
the subscription's lease (SET NX PX, most of a tick), so usually one replica does the work; and
every report is claimed atomically before it is sent (a periodic slot with SET NX, a threshold
crossing with HSETNX / HDEL on its state), so even two replicas that both evaluate never send the
same notification twice.

PERIODIC: report k of event i is due at createdAt + k * repetitionPeriod (k >= 1) and covers the
period before it; slots missed while no replica ran collapse into one report. THRESHOLD: see
thresholds.py. A subscription ends (is deleted) after `maxReportNbr` notifications (ONE_TIME:
one) or once `monDur` has passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
from pydantic import BaseModel
from redis.exceptions import RedisError

from nser_nwdaf import keys
from nser_nwdaf.analytics import Analytics
from nser_nwdaf.delivery import Delivery
from nser_nwdaf.errors import SubscriptionNotFoundError
from nser_nwdaf.events import PAYLOAD_FIELD, NotificationMethod
from nser_nwdaf.metrics import NwdafMetrics
from nser_nwdaf.readings import quiet_reading, readings
from nser_nwdaf.schema_analytics import EventNotification, NnwdafEventsSubscriptionNotification
from nser_nwdaf.schema_common import unix_seconds
from nser_nwdaf.schema_subscription import NnwdafEventsSubscription
from nser_nwdaf.selection import Selection
from nser_nwdaf.settings import NwdafSettings
from nser_nwdaf.subscriptions import StoredSubscription, SubscriptionStore
from nser_nwdaf.thresholds import Watch, step, watches

log = logging.getLogger(__name__)

STATE_TTL_SECONDS = 7 * 24 * 3600  # threshold state of a subscription deleted mid-tick


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class Notifier:
    def __init__(
        self,
        redis: aioredis.Redis,
        store: SubscriptionStore,
        analytics: Analytics,
        delivery: Delivery,
        settings: NwdafSettings,
        metrics: NwdafMetrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.store = store
        self.analytics = analytics
        self.delivery = delivery
        self.settings = settings
        self.metrics = metrics
        self.clock = clock
        self.lease_ms = max(1, int(settings.tick_seconds * 800))

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until `stop` is set; a failed tick (Redis away) is logged, never fatal."""
        while not stop.is_set():
            started = time.perf_counter()
            try:
                await self.tick(self.clock())
            except (RedisError, OSError) as exc:
                self.metrics.tick_failures.inc()
                log.warning("notifier tick failed: %s", exc)
            self.metrics.tick_seconds.observe(time.perf_counter() - started)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.tick_seconds)

    async def tick(self, now: float) -> None:
        subs = await self.store.all()
        self.metrics.subscriptions.set(len(subs))
        for s in subs:
            if not await self.redis.set(keys.lease(s.id), self.settings.consumer, nx=True,
                                        px=self.lease_ms):  # fmt: skip
                continue
            try:
                await self.evaluate(s, now)
            except RedisError:
                raise
            except Exception:  # one broken subscription must not starve the others
                log.exception("evaluating subscription %s failed", s.id)

    async def evaluate(self, s: StoredSubscription, now: float) -> None:
        sub = s.subscription
        mon_dur = sub.evt_req.mon_dur if sub.evt_req else None
        if mon_dur is not None and now >= _timestamp(mon_dur):
            await self._end(s, "its monitoring duration is over")
            return
        notes: list[EventNotification] = []
        methods = set()
        for i in range(len(sub.event_subscriptions)):
            method = sub.method(i)
            if method is NotificationMethod.PERIODIC:
                note = await self._periodic(s, i, now)
            else:
                note = await self._threshold(s, i, now)
            if note is not None:
                notes.append(note)
                methods.add(method.value.lower())
        if notes:
            await self._send(s, notes, methods.pop() if len(methods) == 1 else "mixed")

    async def notification(
        self, sub: NnwdafEventsSubscription, i: int, seconds: int, now: float
    ) -> EventNotification:
        """Event i's analytics over the `seconds` before `now`."""
        es = sub.event_subscriptions[i]
        sel = Selection.of(self.analytics.plmn, es.network_area, es.tgt_ue)
        payload = await self.analytics.report(es.event, now - seconds, now, sel, now)
        return self._note(sub, i, seconds, now, dict(payload))

    async def immediate(self, sub: NnwdafEventsSubscription, now: float) -> list[EventNotification]:
        """The reports of `evtReq.immRep`: each event as of now."""
        short = self.settings.short_window_seconds
        return [
            await self.notification(sub, i, sub.period(i) or short, now)
            for i in range(len(sub.event_subscriptions))
        ]

    async def _periodic(
        self, s: StoredSubscription, i: int, now: float
    ) -> EventNotification | None:
        period = s.subscription.period(i) or self.settings.short_window_seconds
        slot = math.floor((now - s.created_at) / period)
        if slot < 1:
            return None
        claim = keys.periodic_claim(s.id, s.generation, i, slot)
        if not await self.redis.set(claim, "1", nx=True, ex=2 * period + 60):
            return None
        return await self.notification(s.subscription, i, period, now)

    async def _threshold(
        self, s: StoredSubscription, i: int, now: float
    ) -> EventNotification | None:
        sub = s.subscription
        es = sub.event_subscriptions[i]
        by_name = {w.name: w for w in watches(es, self.settings.abnormal_factor)}
        sel = Selection.of(self.analytics.plmn, es.network_area, es.tgt_ue)
        short = self.settings.short_window_seconds
        state = keys.threshold_state(s.id)
        stored = {_text(f) for f in await self.redis.hkeys(state) if _text(f).startswith(f"{i}|")}
        fired: dict[str, BaseModel] = {}
        for r in await readings(self.analytics, es.event, sel, short, now):
            for w in by_name.values():
                field = f"{i}|{w.name}|{r.scope}"
                stored_on = field in stored
                stored.discard(field)
                if await self._advance(state, field, stored_on, r.values.get(w.metric, 0.0), w):
                    fired.setdefault(r.scope, r.item)
        for field in stored:  # scopes that left the window: they read 0, or nothing at all
            _, name, scope = field.split("|", 2)
            watch = by_name.get(name)
            if watch is None:  # a threshold the subscription no longer has
                await self.redis.hdel(state, field)
                continue
            quiet = await quiet_reading(self.analytics, es.event, scope, short, now)
            value = quiet.values.get(watch.metric, 0.0) if quiet else 0.0
            if await self._advance(state, field, True, value, watch) and quiet is not None:
                fired.setdefault(scope, quiet.item)
        if not fired:
            return None
        self.metrics.threshold_crossings.labels(es.event.value).inc(len(fired))
        return self._note(sub, i, short, now, {PAYLOAD_FIELD[es.event]: list(fired.values())})

    async def _advance(self, state: str, field: str, on: bool, value: float, w: Watch) -> bool:
        """Move one threshold's stored state; True if this replica must report the crossing."""
        nxt = step(on, value, w.threshold, w.direction, self.settings.rearm_fraction)
        if nxt.fired_side and not on:
            won = await self.redis.hsetnx(state, field, "1")
            await self.redis.expire(state, STATE_TTL_SECONDS)
            return nxt.report and bool(won)
        if on and not nxt.fired_side:
            removed = await self.redis.hdel(state, field)
            return nxt.report and bool(removed)
        return False

    def _note(
        self,
        sub: NnwdafEventsSubscription,
        i: int,
        seconds: int,
        now: float,
        payload: dict[str, Any],
    ) -> EventNotification:
        return EventNotification.model_validate(
            {
                **payload,
                "event": sub.event_subscriptions[i].event,
                "start": utc(now - seconds),
                "expiry": utc(now),
                "time_stamp_gen": utc(now),
            }
        )

    async def _send(
        self, s: StoredSubscription, notes: list[EventNotification], trigger: str
    ) -> None:
        sub = s.subscription
        body = NnwdafEventsSubscriptionNotification(
            subscription_id=s.id, notif_corr_id=sub.notif_corr_id, event_notifications=notes
        )
        self.delivery.submit(str(sub.notification_uri), [body], trigger)
        reports = await self.store.count_report(s.id)
        limit = sub.max_reports()
        if limit is not None and reports >= limit:
            await self._end(s, f"it has sent maxReportNbr={limit} notifications")

    async def _end(self, s: StoredSubscription, why: str) -> None:
        with contextlib.suppress(SubscriptionNotFoundError):
            await self.store.delete(s.id)
            log.info("subscription %s ended: %s", s.id, why)


def _timestamp(value: datetime) -> float:
    try:
        return unix_seconds(value)
    except ValueError:
        return math.inf  # a monDur too far out to represent never ends the subscription


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
