"""Publishes every classification to the results stream before its window is answered.

`publish` queues a record and waits until Redis has acknowledged its XADD: the MEC answers a
window only once its result is in the stream, so a window a device was told is classified
cannot die with the MEC. One background task drains the queue with pipelined `XADD ... MAXLEN
~`, so the windows that arrive during one round trip share the next (group commit): on loopback
a window waits a fraction of a millisecond for its result to be written.

Why Redis and not a spool on disk: Redis is the durable store the consumers read, and with
append-only persistence (`appendonly yes`, see RedisChild and docker-compose.yml) an
acknowledged XADD has been written to the kernel before Redis answered, so it survives a
kill -9 of Redis too. A local spool would be a second durable copy to replay and deduplicate,
on the MEC host that a crash is most likely to take. What persistence can still cost is written
down in docs/reliability.md.

When Redis cannot take a record, the window is refused with `ResultsStreamUnavailableError`
(UNAVAILABLE, retryable): at once when `buffer_size` records are already waiting, or after
`timeout_s` of waiting. A refused record stays queued and is still appended once Redis is back:
the device's retry of the same window produces the same `result_id`
(nser_shared.stream.results.result_id_for), and consumers deduplicate on it. Delivery is at least
once: a pipeline that Redis appended in part before a connection dropped is appended again.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from nser_mec.errors import ResultsStreamUnavailableError
from nser_mec.metrics import MecMetrics
from nser_shared.stream.results import DEFAULT_STREAM_MAXLEN, RESULTS_STREAM, ResultRecord

log = logging.getLogger(__name__)

MAX_PIPELINE = 256
BACKOFF_START_S = 0.05
BACKOFF_MAX_S = 2.0


@dataclass
class Pending:
    record: ResultRecord
    done: asyncio.Future[float]  # the published_at time, once Redis acknowledged the XADD


class ResultPublisher:
    def __init__(
        self,
        redis_url: str,
        metrics: MecMetrics,
        *,
        stream: str = RESULTS_STREAM,
        maxlen: int = DEFAULT_STREAM_MAXLEN,
        buffer_size: int = 10_000,
        timeout_s: float = 2.0,
    ) -> None:
        if buffer_size < 1 or maxlen < 1 or timeout_s <= 0:
            raise ValueError("publish buffer size and stream maxlen >= 1, timeout > 0 required")
        self.redis = aioredis.Redis.from_url(
            redis_url, socket_timeout=2.0, socket_connect_timeout=2.0
        )
        self.metrics = metrics
        self.stream = stream
        self.maxlen = maxlen
        self.buffer: collections.deque[Pending] = collections.deque()
        self.buffer_size = buffer_size
        self.timeout_s = timeout_s
        self.wakeup = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="publisher")

    async def publish(self, record: ResultRecord) -> ResultRecord:
        """`record` as appended to the stream (stamped with its publication time), once Redis
        acknowledged it; ResultsStreamUnavailableError if that did not happen in time."""
        if len(self.buffer) >= self.buffer_size:
            self.metrics.publish_refused.labels("buffer_full").inc()
            raise ResultsStreamUnavailableError(
                f"the results stream is unreachable and {self.buffer_size} results are waiting "
                "for it; retry later"
            )
        pending = Pending(record, asyncio.get_running_loop().create_future())
        self.buffer.append(pending)
        self.metrics.publish_buffered.set(len(self.buffer))
        self.wakeup.set()
        try:
            published_at = await asyncio.wait_for(asyncio.shield(pending.done), self.timeout_s)
        except TimeoutError:
            self.metrics.publish_refused.labels("timeout").inc()
            raise ResultsStreamUnavailableError(
                f"the results stream did not take the result within {self.timeout_s:g} s; "
                "retry later"
            ) from None
        return record.stamped(published_at)

    async def _publish_some(self) -> None:
        batch = [self.buffer[i] for i in range(min(len(self.buffer), MAX_PIPELINE))]
        started = time.perf_counter()
        published_at = time.time()
        pipe = self.redis.pipeline(transaction=False)
        for pending in batch:
            pipe.xadd(
                self.stream,
                pending.record.stamped(published_at).to_fields(),  # type: ignore[arg-type]
                maxlen=self.maxlen,
                approximate=True,
            )
        await pipe.execute()
        self.metrics.publish_seconds.observe(time.perf_counter() - started)
        for pending in batch:  # the oldest first: nothing else removes entries
            self.buffer.popleft()
            if not pending.done.done():
                pending.done.set_result(published_at)
        self.metrics.published.inc(len(batch))
        self.metrics.publish_buffered.set(len(self.buffer))

    async def _run(self) -> None:
        backoff = BACKOFF_START_S
        while True:
            if not self.buffer:
                self.wakeup.clear()
                await self.wakeup.wait()
                continue
            try:
                await self._publish_some()
                backoff = BACKOFF_START_S
            except (RedisError, OSError) as exc:
                self.metrics.publish_failures.inc()
                log.warning(
                    "results stream unreachable (%s); %d results waiting, retrying in %.2f s",
                    exc,
                    len(self.buffer),
                    backoff,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)

    async def close(self, timeout_s: float = 5.0) -> None:
        """Give the queue up to `timeout_s` to reach Redis, then stop. Whatever is left was
        never acknowledged to a device (its window was refused, or its call is gone)."""
        deadline = time.monotonic() + timeout_s
        while self.buffer and time.monotonic() < deadline and self.task and not self.task.done():
            await asyncio.sleep(0.01)
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self.buffer:
            log.warning(
                "shutting down with %d unacknowledged results not in the stream", len(self.buffer)
            )
        for pending in self.buffer:
            if not pending.done.done():
                pending.done.cancel()
        await self.redis.aclose()
