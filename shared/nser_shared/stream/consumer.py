"""Reliable consumption of the results stream, shared by the decision and analytics services.

Each service reads `nser:results` through its own consumer group; any number of replicas of a
service share the group's work. For every entry:

1. Decode it (`ResultRecord.from_fields`). An entry that cannot be decoded goes to the dead-letter
   stream with the reason and is acknowledged: it can never succeed, and must not block the rest.
2. Apply the handler's effect in one optimistic transaction (WATCH / MULTI / EXEC) together with
   the XACK and a per-group "done" marker keyed by the result id. The result is acknowledged only
   if its effect is durable, and a redelivered result (a consumer died after EXEC, or the MEC
   published it twice) finds the marker and is only acknowledged: no second alert. Two replicas
   racing on related keys (the same device's incident) conflict on their WATCHed keys and the
   loser retries with fresh reads.

   The marker `nser:{group}:done:{result_id}` is a hash that says what happened to the result:
   `entry` (the stream entry whose effect was applied), `applied` (times the effect was applied,
   incremented in the effect's own transaction: 1, or the exactly-once guarantee is broken) and
   `redelivered` (copies that found the marker and were only acknowledged). It expires after
   `done_ttl_s`, so operators (and the fault-injection tests) can check any recent result with
   HGETALL, or list them with SCAN.
3. Entries left pending by a dead consumer are taken over with XAUTOCLAIM once idle for
   `claim_idle_ms`. An entry whose handler keeps failing is dead-lettered after
   `max_deliveries` deliveries (a poison message) instead of looping forever.

Handlers implement `read` (WATCH the keys the decision depends on, then read them; the pipeline is
in immediate mode) and `write` (queue the writes; the pipeline is in MULTI), and may return a
coroutine function to run after the commit (never anything that must not be lost: durable work
goes into the transaction, e.g. an outbox list).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError, WatchError

from nser_shared.errors import InvalidResultRecordError
from nser_shared.stream.results import RESULTS_STREAM, ResultRecord

log = logging.getLogger(__name__)

DEAD_LETTER_STREAM = "nser:results:dead"
# Long past any redelivery: a copy of a result reaches the stream within seconds (a device
# retrying after losing its answer) or when the MEC's publish buffer drains after a Redis outage;
# entries a dead consumer left pending were never applied (effect and XACK commit together).
# Each marker costs Redis about 150 B per consumer group, so the markers of a MEC answering
# R windows/s hold about R x done_ttl_s x 150 B per group (20/s for an hour: about 11 MB) rather
# than growing for days (docs/soak.md). A marker must outlive any redelivery of its entry.
DONE_TTL_S = 3600
MIN_DONE_TTL_S = 60
AfterCommit = Callable[[], Awaitable[None]]
Pipeline = aioredis.client.Pipeline


def stream_was_deleted(exc: ResponseError) -> bool:
    """NOGROUP after the stream (and so its groups) was deleted; UNBLOCKED for a reader that was
    blocked on it at the time. Both are recovered by creating the group again."""
    return str(exc).startswith(("NOGROUP", "UNBLOCKED"))


async def ensure_group(redis: aioredis.Redis, stream: str, group: str) -> None:
    """Create `group` on `stream` (reading it from its start) unless it exists."""
    try:
        await redis.xgroup_create(stream, group, "0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


async def run_reconnecting(
    stop: asyncio.Event,
    setup: Callable[[], Awaitable[None]],
    poll: Callable[[], Awaitable[Any]],
    what: str,
) -> None:
    """`setup`, then `poll` until `stop`; Redis outages are waited out with capped backoff and
    a deleted stream is set up again, never fatal."""
    backoff = 0.1
    while not stop.is_set():
        try:
            await setup()
            while not stop.is_set():
                await poll()
            backoff = 0.1
        except (RedisConnectionError, OSError, TimeoutError) as exc:
            log.warning("%s unreachable (%s); retrying in %.1f s", what, exc, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
        except ResponseError as exc:
            if not stream_was_deleted(exc):
                raise
            log.warning("%s was deleted (%s); recreating its group", what, exc)


def default_consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class ConsumerConfig:
    group: str
    consumer: str = field(default_factory=default_consumer_name)
    stream: str = RESULTS_STREAM
    dead_letter_stream: str = DEAD_LETTER_STREAM
    batch: int = 64
    block_ms: int = 500
    claim_idle_ms: int = 30_000
    max_deliveries: int = 5
    max_retries: int = 20  # optimistic-transaction retries per entry
    done_ttl_s: int = DONE_TTL_S  # how long a result's done marker is kept

    def done_key(self, result_id: str) -> str:
        return f"nser:{self.group}:done:{result_id}"


class ResultHandler(Protocol):
    async def read(self, tx: Pipeline, record: ResultRecord) -> Any:
        """WATCH the keys the effect depends on and read them (immediate mode)."""

    def write(self, tx: Pipeline, record: ResultRecord, state: Any) -> AfterCommit | None:
        """Queue the effect's writes (MULTI mode); optionally a callback after the commit."""


@dataclass
class ConsumerStats:
    processed: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    claimed: int = 0
    conflicts: int = 0
    failures: int = 0


class StreamConsumer:
    def __init__(self, redis_url: str, config: ConsumerConfig, handler: ResultHandler) -> None:
        self.config = config
        self.handler = handler
        self.redis = aioredis.Redis.from_url(redis_url, socket_timeout=5.0)
        # The blocking reader gets its own connection, with a timeout longer than its BLOCK.
        self.reader = aioredis.Redis.from_url(
            redis_url, socket_timeout=config.block_ms / 1000 + 5.0
        )
        self.stats = ConsumerStats()
        self.failures: dict[str, int] = {}  # entry id -> handler failures seen here

    async def ensure_group(self) -> None:
        """Create the group (reading the stream from its start) unless it exists."""
        await ensure_group(self.redis, self.config.stream, self.config.group)

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; Redis outages are waited out, never fatal."""
        await run_reconnecting(stop, self.ensure_group, self.poll_once, self.config.stream)
        await self.close()

    async def poll_once(self) -> int:
        """Take over idle pending entries, then read new ones; the number handled."""
        c = self.config
        _, claimed, _ = await self.redis.xautoclaim(
            c.stream, c.group, c.consumer, c.claim_idle_ms, "0-0", count=c.batch
        )
        if claimed:
            self.stats.claimed += len(claimed)
            await self._handle_all(claimed, claimed=True)
        response: Any = await self.reader.xreadgroup(
            c.group, c.consumer, {c.stream: ">"}, count=c.batch, block=c.block_ms
        )
        entries = [entry for _, stream_entries in response for entry in stream_entries]
        await self._handle_all(entries, claimed=False)
        return len(claimed) + len(entries)

    async def _handle_all(self, entries: list[Any], claimed: bool) -> None:
        for entry_id, fields in entries:
            if fields is None:  # trimmed away while pending: nothing left to process
                await self.redis.xack(self.config.stream, self.config.group, entry_id)
                continue
            if claimed and await self._delivered_too_often(entry_id):
                await self.dead_letter(entry_id, fields, "handler failed on every delivery")
                continue
            await self.process(entry_id, fields)

    async def _delivered_too_often(self, entry_id: Any) -> bool:
        c = self.config
        pending = await self.redis.xpending_range(c.stream, c.group, entry_id, entry_id, 1)
        return bool(pending) and int(pending[0]["times_delivered"]) > c.max_deliveries

    async def process(self, entry_id: Any, fields: dict[Any, Any]) -> None:
        try:
            record = ResultRecord.from_fields(fields)
        except InvalidResultRecordError as exc:
            await self.dead_letter(entry_id, fields, str(exc))
            return
        try:
            after = await self._commit(entry_id, record)
        except RedisError:
            raise  # connection trouble: the entry stays pending and is retried
        except Exception:  # a handler bug or bad data it could not handle: retried, then DLQ
            self.stats.failures += 1
            log.exception("handler failed on %s (result %s)", entry_id, record.result_id)
            return
        if after is not None:
            try:
                await after()
            except Exception:  # the effect is already durable; a side channel failed
                log.exception("after-commit step failed for result %s", record.result_id)

    async def _commit(self, entry_id: Any, record: ResultRecord) -> AfterCommit | None:
        c = self.config
        done = c.done_key(record.result_id)
        for _ in range(c.max_retries):
            async with self.redis.pipeline(transaction=True) as tx:
                try:
                    await tx.watch(done)
                    if await tx.exists(done):
                        tx.multi()  # type: ignore[no-untyped-call]
                        tx.hincrby(done, "redelivered", 1)
                        tx.xack(c.stream, c.group, entry_id)
                        await tx.execute()
                        self.stats.duplicates += 1
                        return None
                    state = await self.handler.read(tx, record)
                    tx.multi()  # type: ignore[no-untyped-call]
                    after = self.handler.write(tx, record, state)
                    tx.hset(done, "entry", entry_id)
                    tx.hincrby(done, "applied", 1)
                    tx.expire(done, self.config.done_ttl_s)
                    tx.xack(c.stream, c.group, entry_id)
                    await tx.execute()
                    self.stats.processed += 1
                    return after
                except WatchError:
                    self.stats.conflicts += 1
                    continue
        raise RuntimeError(f"result {record.result_id}: too many conflicting transactions")

    async def dead_letter(self, entry_id: Any, fields: dict[Any, Any], reason: str) -> None:
        c = self.config
        entry = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
        original = {_text(k): _text(v) for k, v in fields.items()}
        async with self.redis.pipeline(transaction=True) as tx:
            tx.xadd(
                c.dead_letter_stream,
                {"entry_id": entry, "group": c.group, "reason": reason,
                 "fields": json.dumps(original)},
                maxlen=100_000,
                approximate=True,
            )  # fmt: skip
            tx.xack(c.stream, c.group, entry_id)
            await tx.execute()
        self.stats.dead_lettered += 1
        log.warning("dead-lettered %s: %s", entry, reason)

    async def close(self) -> None:
        await self.reader.aclose()
        await self.redis.aclose()


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
