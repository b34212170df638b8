"""One device over `ClassifyStream`: a sender writes the device's windows to the stream (each after
its uplink delay), a reader matches answers to windows by sequence (they may come out of order)
and hands each to the downlink.

An answer with `error` set is the server's refusal of that one window: it is recorded with that
status and the stream goes on. When the stream ends with an error, the windows sent but not
answered are dealt with as the contract says: on UNAVAILABLE or RESOURCE_EXHAUSTED they are
sent again on a new stream (after a backoff), each window at most `max_attempts` times in all;
on any other status (an older server's refusal) the window the status message names (its
sequence) is recorded with that code and the others go again, and if the message names none,
every unanswered window is recorded with the code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import grpc
import grpc.aio

from nser.v1 import mec_inference_pb2 as pb
from nser_sensing.metrics import NO_ANSWER

if TYPE_CHECKING:
    from nser_sensing.session import DeviceSession, Pending

log = logging.getLogger(__name__)
_SEQUENCE = re.compile(r"sequence\D{0,3}(\d+)")
_CORE_BREAK = "Internal error from Core"
# How a sender ends when its stream fails under it: cancelled by the reader, the RPC's own
# error, or a write on a call that has already finished.
_STATUS_BY_NUMBER = {code.value[0]: code for code in grpc.StatusCode}
_SENDER_ENDINGS = (asyncio.CancelledError, grpc.aio.AioRpcError, asyncio.InvalidStateError)


class _Outbox:
    """Windows waiting for a stream: resends first, then fresh windows from the device.

    A producer task moves the device's (paced) windows into a queue, so cancelling a sender
    that waits for the next window loses nothing.
    """

    def __init__(self, windows: AsyncIterator[Pending]) -> None:
        self.queue: asyncio.Queue[Pending | None] = asyncio.Queue()
        self.resend: deque[Pending] = deque()
        self.exhausted = False
        self.producer = asyncio.create_task(self._produce(windows))

    async def _produce(self, windows: AsyncIterator[Pending]) -> None:
        try:
            async for item in windows:
                self.queue.put_nowait(item)
        finally:
            self.queue.put_nowait(None)

    @property
    def empty(self) -> bool:
        return self.exhausted and not self.resend

    async def next(self) -> Pending | None:
        if self.resend:
            return self.resend.popleft()
        if self.exhausted:
            return None
        item = await self.queue.get()
        if item is None:
            self.exhausted = True
        return item


async def _send(
    session: DeviceSession, call: Any, outbox: _Outbox, pending: dict[int, Pending]
) -> None:
    while (item := await outbox.next()) is not None:
        pending[item.sequence] = item  # before any await: a failed stream must see it
        message, up = session.encode(item)
        await asyncio.sleep(up.delay_ms / 1e3)
        await call.write(message)
    await call.done_writing()


def _settle_failure(
    session: DeviceSession, exc: grpc.aio.AioRpcError, pending: dict[int, Pending], outbox: _Outbox
) -> None:
    """Record or re-queue the windows a failed stream left unanswered."""
    code = exc.code()
    named = _SEQUENCE.search(exc.details() or "")
    # grpc's client core reports a stream the server closed while windows were still being
    # written as INTERNAL "Internal error from Core": a broken stream, not the server's verdict
    # on a window, so its unanswered windows are sent again like after UNAVAILABLE.
    broken = code is grpc.StatusCode.INTERNAL and exc.details() == _CORE_BREAK
    retryable = code in session.retryable or broken
    refused = int(named.group(1)) if named and not retryable else None
    again = []
    for sequence, item in sorted(pending.items()):
        gives_up = item.attempts >= session.config.max_attempts
        if sequence == refused or (not retryable and refused is None) or gives_up:
            session.record(item, code.name, detail=exc.details() or "")
        else:
            again.append(item)
    outbox.resend.extendleft(reversed(again))


async def run_stream(session: DeviceSession) -> None:
    outbox = _Outbox(session.windows())
    try:
        # The task group lets go of each answer's downlink task once it is delivered.
        async with asyncio.TaskGroup() as deliveries:
            await _run_streams(session, outbox, deliveries)
    finally:
        outbox.producer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await outbox.producer


async def _run_streams(
    session: DeviceSession, outbox: _Outbox, deliveries: asyncio.TaskGroup
) -> None:
    """One stream after another until every window is settled."""
    failures = 0
    while not outbox.empty:
        call = session.stub.ClassifyStream()
        pending: dict[int, Pending] = {}
        sender = asyncio.create_task(_send(session, call, outbox, pending))
        try:
            async for answer in call:
                failures = 0
                item = pending.pop(answer.sequence, None)
                if item is None:
                    log.warning("%s: answer for unknown sequence %d", *_ids(answer))
                    continue
                if answer.HasField("error"):
                    code = _STATUS_BY_NUMBER.get(answer.error.code, grpc.StatusCode.UNKNOWN)
                    session.record(item, code.name, detail=answer.error.message)
                    continue
                deliveries.create_task(session.deliver(item, answer))
            with contextlib.suppress(asyncio.InvalidStateError):  # the server closed early
                await sender
        except grpc.aio.AioRpcError as exc:
            sender.cancel()
            with contextlib.suppress(*_SENDER_ENDINGS):
                await sender
            log.debug("%s stream: %s %s", session.device.device_id, exc.code(), exc.details())
            _settle_failure(session, exc, pending, outbox)
            failures += 1  # a server that refuses every stream at once must not spin us
            await asyncio.sleep(session.backoff_s(failures))
            continue
        for item in pending.values():  # the server closed the stream without answering these
            session.record(item, NO_ANSWER)


def _ids(answer: pb.Classification) -> tuple[str, int]:
    return answer.device_id, answer.sequence
