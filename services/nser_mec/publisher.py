"""Publishes every classification to the results stream, without ever making a client wait.

`offer` only appends to a bounded in-memory buffer; one background task drains the buffer into
Redis with pipelined `XADD ... MAXLEN ~`. A record leaves the buffer only once Redis has taken
it, so while Redis is down the service keeps answering, the buffer holds the newest
`buffer_size` results, the task retries with capped exponential backoff, and each result pushed
out of a full buffer is counted in `nser_mec_publish_dropped_total`. The oldest are dropped
first: when Redis comes back, the freshest screams are the ones a responder can still act on.

Delivery is at least once: if a connection drops after Redis appended part of a pipeline, the
retry appends those records again. Consumers deduplicate on `result_id`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from nser_mec.metrics import MecMetrics
from nser_shared.results import DEFAULT_STREAM_MAXLEN, RESULTS_STREAM, ResultRecord

log = logging.getLogger(__name__)

MAX_PIPELINE = 256
BACKOFF_START_S = 0.05
BACKOFF_MAX_S = 2.0


class ResultPublisher:
    def __init__(
        self,
        redis_url: str,
        metrics: MecMetrics,
        *,
        stream: str = RESULTS_STREAM,
        maxlen: int = DEFAULT_STREAM_MAXLEN,
        buffer_size: int = 10_000,
    ) -> None:
        if buffer_size < 1 or maxlen < 1:
            raise ValueError("publish buffer size and stream maxlen must be >= 1")
        self.redis = aioredis.Redis.from_url(
            redis_url, socket_timeout=2.0, socket_connect_timeout=2.0
        )
        self.metrics = metrics
        self.stream = stream
        self.maxlen = maxlen
        self.buffer: collections.deque[ResultRecord] = collections.deque()
        self.buffer_size = buffer_size
        self.wakeup = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.dropped = 0

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="publisher")

    def offer(self, record: ResultRecord) -> None:
        """Queue `record` for the stream; never blocks, never raises."""
        if len(self.buffer) >= self.buffer_size:
            self.buffer.popleft()
            self.dropped += 1
            self.metrics.publish_dropped.inc()
        self.buffer.append(record)
        self.metrics.publish_buffered.set(len(self.buffer))
        self.wakeup.set()

    async def _publish_some(self) -> None:
        count = min(len(self.buffer), MAX_PIPELINE)
        records = [self.buffer[i] for i in range(count)]
        started = time.perf_counter()
        pipe = self.redis.pipeline(transaction=False)
        for record in records:
            pipe.xadd(
                self.stream,
                record.stamped(time.time()).to_fields(),  # type: ignore[arg-type]
                maxlen=self.maxlen,
                approximate=True,
            )
        await pipe.execute()
        self.metrics.publish_seconds.observe(time.perf_counter() - started)
        # Only now do they leave the buffer; offer() may have dropped some of them meanwhile.
        for record in records:
            if self.buffer and self.buffer[0] is record:
                self.buffer.popleft()
        self.metrics.published.inc(count)
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
                    "results stream unreachable (%s); %d results buffered, retrying in %.2f s",
                    exc,
                    len(self.buffer),
                    backoff,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)

    async def close(self, timeout_s: float = 5.0) -> None:
        """Give the buffer up to `timeout_s` to reach Redis, then stop; say what was lost."""
        deadline = time.monotonic() + timeout_s
        while self.buffer and time.monotonic() < deadline and self.task and not self.task.done():
            await asyncio.sleep(0.01)
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self.buffer:
            log.error("shutting down with %d results never published", len(self.buffer))
        await self.redis.aclose()
