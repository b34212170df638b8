"""The live feed of alert changes (Server-Sent Events), bounded per client and in all.

Each client gets its own Redis subscription and a queue of at most `feed_queue_events` events
between Redis and its socket. A client that falls that far behind is cut: its feed ends with an
`event: lagging` (re-list with GET /v1/alerts, then reconnect), so a slow reader never grows the
service's memory nor holds up the others. A client that cannot take one event within
`SEND_TIMEOUT_S` is cut too. At most `max_feed_clients` feeds run at once; one more is refused
with 503 (`FeedFullError`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from nser_decision.errors import FeedFullError
from nser_decision.metrics import DecisionMetrics
from nser_decision.store import FEED

log = logging.getLogger(__name__)

KEEPALIVE_S = 15.0
SEND_TIMEOUT_S = 30.0
LAGGING = 'event: lagging\ndata: {"detail": "this client fell behind; re-list and reconnect"}\n\n'


class FeedClients:
    """Counts the live feed clients; `admit` refuses one over the limit."""

    def __init__(self, limit: int, metrics: DecisionMetrics) -> None:
        self.limit = limit
        self.metrics = metrics
        self.count = 0

    def admit(self) -> Callable[[], None]:
        if self.count >= self.limit:
            self.metrics.feed_refused.inc()
            raise FeedFullError(
                f"{self.count} live feed clients are connected, the most this service serves; "
                "retry later"
            )
        self.count += 1
        self.metrics.feed_clients.set(self.count)
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.count -= 1
                self.metrics.feed_clients.set(self.count)

        return release


async def _pump(pubsub: Any, queue: asyncio.Queue[str]) -> None:
    """Alert changes from Redis into the client's queue; returns once the queue is full."""
    while True:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=KEEPALIVE_S)
        if message is None:
            continue
        data = message["data"]
        text = data.decode() if isinstance(data, bytes) else str(data)
        try:
            queue.put_nowait(f"event: alert\ndata: {text}\n\n")
        except asyncio.QueueFull:
            return


async def events(redis: Any, queue_size: int, metrics: DecisionMetrics) -> AsyncIterator[str]:
    """The SSE stream of one client."""
    pubsub = redis.pubsub()
    await pubsub.subscribe(FEED)
    queue: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_size)
    pump = asyncio.create_task(_pump(pubsub, queue), name="feed-pump")
    try:
        yield ": connected\n\n"
        while True:
            getter = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait(
                {getter, pump}, timeout=KEEPALIVE_S, return_when=asyncio.FIRST_COMPLETED
            )
            if getter in done:
                yield getter.result()
                continue
            getter.cancel()
            if pump in done and queue.empty():
                break
            if not done:
                yield ": keep-alive\n\n"
        if pump.exception() is not None:
            log.warning("live feed ended: Redis subscription failed: %s", pump.exception())
        else:
            metrics.feed_cut.labels("lagging").inc()
            log.warning("live feed client %d events behind: cut", queue_size)
            yield LAGGING
    finally:
        pump.cancel()
        with anyio.CancelScope(shield=True):  # also when the client's disconnect cancelled us
            await asyncio.gather(pump, return_exceptions=True)
            await pubsub.unsubscribe(FEED)
            await pubsub.aclose()


class FeedResponse(StreamingResponse):
    """The SSE response: releases the client's slot however it ends, and cuts a client that
    takes no event for `SEND_TIMEOUT_S`."""

    def __init__(
        self, content: AsyncIterator[str], release: Callable[[], None], metrics: DecisionMetrics
    ) -> None:
        super().__init__(content, media_type="text/event-stream")
        self.release = release
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def timed_send(message: Message) -> None:
            async with asyncio.timeout(SEND_TIMEOUT_S):
                await send(message)

        try:
            await super().__call__(scope, receive, timed_send)
        except TimeoutError:
            self.metrics.feed_cut.labels("stalled").inc()
            log.warning("live feed client took no data for %.0f s: cut", SEND_TIMEOUT_S)
        finally:
            self.release()
