"""The reliable results-stream consumer against a real redis-server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import redis
from support.processes import RedisChild
from support.results import make_record

from nser_shared.stream.consumer import (
    DEAD_LETTER_STREAM,
    DONE_TTL_S,
    ConsumerConfig,
    Pipeline,
    StreamConsumer,
)
from nser_shared.stream.results import RESULTS_STREAM, ResultRecord

COUNTS = "test:counts"


class CountingHandler:
    """Counts each result once per device; fails on devices named in `failing`."""

    def __init__(self, failing: frozenset[str] = frozenset()) -> None:
        self.failing = failing

    async def read(self, tx: Pipeline, record: ResultRecord) -> Any:
        if record.device_id in self.failing:
            raise ValueError(f"cannot handle {record.device_id}")
        await tx.watch(COUNTS)
        return None

    def write(self, tx: Pipeline, record: ResultRecord, state: Any) -> None:
        tx.hincrby(COUNTS, record.device_id, 1)


def _publish(client: redis.Redis, records: list[ResultRecord]) -> None:
    for record in records:
        client.xadd(RESULTS_STREAM, record.to_fields())  # type: ignore[arg-type]


def _drain(consumer: StreamConsumer, rounds: int = 20) -> None:
    async def go() -> None:
        await consumer.ensure_group()
        for _ in range(rounds):
            if not await consumer.poll_once():
                break
        await consumer.close()

    asyncio.run(go())


def _config(**overrides: Any) -> ConsumerConfig:
    values: dict[str, Any] = {"group": "test", "consumer": "c1", "block_ms": 50}
    return ConsumerConfig(**{**values, **overrides})


def test_each_result_is_applied_once_even_when_published_twice(redis_server: RedisChild) -> None:
    client = redis_server.client()
    records = [make_record(device_id=f"phone-{i % 3}", sequence=i) for i in range(30)]
    _publish(client, records + records[:10])  # the MEC retried a pipeline: duplicates
    consumer = StreamConsumer(redis_server.url, _config(), CountingHandler())
    _drain(consumer)
    counts = {k.decode(): int(v) for k, v in client.hgetall(COUNTS).items()}
    assert counts == {"phone-0": 10, "phone-1": 10, "phone-2": 10}
    assert consumer.stats.duplicates == 10
    assert client.xpending(RESULTS_STREAM, "test")["pending"] == 0
    config = _config()
    markers = [client.hgetall(config.done_key(r.result_id)) for r in records]
    assert [int(m[b"applied"]) for m in markers] == [1] * 30  # the marker records each outcome
    assert [int(m.get(b"redelivered", 0)) for m in markers] == [1] * 10 + [0] * 20
    ttls = [client.ttl(config.done_key(r.result_id)) for r in records]
    assert all(DONE_TTL_S - 60 < ttl <= DONE_TTL_S for ttl in ttls)


def test_done_markers_keep_the_configured_time(redis_server: RedisChild) -> None:
    client = redis_server.client()
    records = [make_record(sequence=i) for i in range(5)]
    _publish(client, records)
    config = _config(done_ttl_s=120)  # a soak's: markers level off after warm-up
    _drain(StreamConsumer(redis_server.url, config, CountingHandler()))
    assert all(60 < client.ttl(config.done_key(r.result_id)) <= 120 for r in records)


def test_undecodable_entry_goes_to_the_dead_letter_stream(redis_server: RedisChild) -> None:
    client = redis_server.client()
    client.xadd(RESULTS_STREAM, {"schema": "something-else", "x": "1"})
    _publish(client, [make_record()])
    consumer = StreamConsumer(redis_server.url, _config(), CountingHandler())
    _drain(consumer)
    dead = client.xrange(DEAD_LETTER_STREAM)
    assert len(dead) == 1
    fields = {k.decode(): v.decode() for k, v in dead[0][1].items()}
    assert "schema" in fields["reason"]
    assert json.loads(fields["fields"]) == {"schema": "something-else", "x": "1"}
    assert int(client.hget(COUNTS, "phone-0001")) == 1  # the good one after it went through
    assert client.xpending(RESULTS_STREAM, "test")["pending"] == 0


def test_pending_entries_of_a_dead_consumer_are_taken_over(redis_server: RedisChild) -> None:
    client = redis_server.client()
    _publish(client, [make_record(sequence=i) for i in range(12)])
    dead = StreamConsumer(redis_server.url, _config(consumer="dead"), CountingHandler())

    async def read_and_die() -> None:
        await dead.ensure_group()
        await dead.reader.xreadgroup("test", "dead", {RESULTS_STREAM: ">"}, count=5)
        await dead.close()

    asyncio.run(read_and_die())
    assert client.xpending(RESULTS_STREAM, "test")["pending"] == 5
    survivor = StreamConsumer(
        redis_server.url, _config(consumer="alive", claim_idle_ms=0), CountingHandler()
    )
    _drain(survivor)
    assert int(client.hget(COUNTS, "phone-0001")) == 12
    assert survivor.stats.claimed >= 5
    assert client.xpending(RESULTS_STREAM, "test")["pending"] == 0


def test_a_result_that_always_fails_is_dead_lettered_after_max_deliveries(
    redis_server: RedisChild,
) -> None:
    client = redis_server.client()
    _publish(client, [make_record(device_id="watch-0666"), make_record(device_id="phone-0002")])
    consumer = StreamConsumer(
        redis_server.url,
        _config(claim_idle_ms=0, max_deliveries=3),
        CountingHandler(failing=frozenset({"watch-0666"})),
    )
    _drain(consumer, rounds=10)
    dead = client.xrange(DEAD_LETTER_STREAM)
    assert [json.loads(f[b"fields"])["device_id"] for _, f in dead] == ["watch-0666"]
    assert b"every delivery" in dead[0][1][b"reason"]
    assert client.hgetall(COUNTS) == {b"phone-0002": b"1"}
    assert client.xpending(RESULTS_STREAM, "test")["pending"] == 0
