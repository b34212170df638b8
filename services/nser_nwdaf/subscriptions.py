"""Subscriptions in Redis: they outlive any replica, and every replica sees the same set."""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass

import redis.asyncio as aioredis
from pydantic import ValidationError
from redis.exceptions import WatchError

from nser_nwdaf import keys
from nser_nwdaf.errors import SubscriptionLimitError, SubscriptionNotFoundError
from nser_nwdaf.schema_subscription import NnwdafEventsSubscription

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredSubscription:
    id: str
    subscription: NnwdafEventsSubscription
    created_at: float  # when created or last replaced: periodic reports count from here

    @property
    def generation(self) -> str:
        """Tells a replaced subscription's periodic slots from its predecessor's."""
        return f"{round(self.created_at * 1e6)}"

    def to_json(self) -> str:
        body = self.subscription.model_dump(mode="json", exclude_none=True)
        body.pop("eventNotifications", None)  # read-only; immediate reports are not stored
        return json.dumps({"subscription": body, "createdAt": self.created_at})

    @classmethod
    def from_json(cls, subscription_id: str, text: bytes | str) -> StoredSubscription:
        data = json.loads(text)
        sub = NnwdafEventsSubscription.model_validate(data["subscription"])
        return cls(subscription_id, sub, float(data["createdAt"]))


class SubscriptionStore:
    def __init__(self, redis: aioredis.Redis, limit: int) -> None:
        self.redis = redis
        self.limit = limit  # subscriptions stored at once, over all replicas

    async def create(self, sub: NnwdafEventsSubscription) -> StoredSubscription:
        """Store a new subscription; SubscriptionLimitError when `limit` exist already."""
        stored = StoredSubscription(uuid.uuid4().hex, sub, time.time())
        async with self.redis.pipeline(transaction=True) as tx:
            while True:
                try:
                    await tx.watch(keys.SUBSCRIPTIONS)
                    count = await tx.hlen(keys.SUBSCRIPTIONS)
                    if count >= self.limit:
                        raise SubscriptionLimitError(
                            f"{count} subscriptions exist, the most this NWDAF keeps; delete one "
                            "first"
                        )
                    tx.multi()  # type: ignore[no-untyped-call]
                    tx.hset(keys.SUBSCRIPTIONS, stored.id, stored.to_json())
                    await tx.execute()
                    return stored
                except WatchError:
                    continue

    async def get(self, subscription_id: str) -> StoredSubscription:
        text = await self.redis.hget(keys.SUBSCRIPTIONS, subscription_id)
        if text is None:
            raise SubscriptionNotFoundError(f"no subscription {subscription_id!r}")
        return StoredSubscription.from_json(subscription_id, text)

    async def replace(
        self, subscription_id: str, sub: NnwdafEventsSubscription
    ) -> StoredSubscription:
        """Replace an existing subscription; its reporting starts afresh."""
        stored = StoredSubscription(subscription_id, sub, time.time())
        async with self.redis.pipeline(transaction=True) as tx:
            while True:
                try:
                    await tx.watch(keys.SUBSCRIPTIONS)
                    if not await tx.hexists(keys.SUBSCRIPTIONS, subscription_id):
                        raise SubscriptionNotFoundError(f"no subscription {subscription_id!r}")
                    tx.multi()  # type: ignore[no-untyped-call]
                    tx.hset(keys.SUBSCRIPTIONS, subscription_id, stored.to_json())
                    tx.delete(keys.threshold_state(subscription_id))
                    tx.hdel(keys.REPORTS, subscription_id)
                    await tx.execute()
                    return stored
                except WatchError:
                    continue

    async def delete(self, subscription_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as tx:
            tx.hdel(keys.SUBSCRIPTIONS, subscription_id)
            tx.delete(keys.threshold_state(subscription_id))
            tx.hdel(keys.REPORTS, subscription_id)
            removed, _, _ = await tx.execute()
        if not removed:
            raise SubscriptionNotFoundError(f"no subscription {subscription_id!r}")

    async def all(self) -> list[StoredSubscription]:
        out = []
        for raw_id, text in (await self.redis.hgetall(keys.SUBSCRIPTIONS)).items():
            subscription_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
            try:
                out.append(StoredSubscription.from_json(subscription_id, text))
            except (ValueError, KeyError, TypeError, ValidationError):
                # Left in place (nothing stored is thrown away); skipped until someone looks.
                log.exception("stored subscription %s cannot be read", subscription_id)
        return sorted(out, key=lambda s: (s.created_at, s.id))

    async def count_report(self, subscription_id: str) -> int:
        return int(await self.redis.hincrby(keys.REPORTS, subscription_id, 1))
