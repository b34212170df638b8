"""One simulated device's run: frame its windows, send each through its link, record the outcome.

Each window goes through the device's link profile (nser_shared.links): `sent_at` is stamped,
the sampled uplink delay for the serialized message is slept, the request leaves; the downlink
delay for the answer is slept after it arrives. Both are recorded with the window. UNAVAILABLE
and RESOURCE_EXHAUSTED are retried with exponential backoff and jitter, up to `max_attempts`
sends per window (each send crosses the link again); any other status is recorded by its code
and not retried.

Real-time mode paces the device at its hop (wall clock, with a per-device phase so devices do
not all fire together), and `captured_at` is when the window's last sample is captured; fast
mode frames windows back to back, one request in flight per device, stamping `captured_at` when
the window is framed. Link delays and jitter are drawn from (seed, device id), so a run's link
is reproducible.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import grpc
import grpc.aio

from nser.v1 import mec_inference_pb2 as pb
from nser.v1 import mec_inference_pb2_grpc as pb_grpc
from nser_sensing.devices import Device, FramedWindow, WindowFramer
from nser_sensing.metrics import OK, DeviceMetrics, RequestRecord
from nser_sensing.sentlog import SentLog
from nser_sensing.streaming import run_stream
from nser_shared.links import LinkDelay, downlink_delay, uplink_delay
from nser_shared.wire.windows import encode_window, payload_bytes

if TYPE_CHECKING:
    from nser_sensing.client import ClientConfig

log = logging.getLogger(__name__)
RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})


@dataclass
class Pending:
    """A window on its way: what it has cost so far over all its attempts."""

    window: FramedWindow
    captured_at: float  # unix seconds
    device_ms: float = 0.0  # capture -> first send: the front end and the device's own wait
    attempts: int = 0
    request_bytes: int = 0
    uplink_ms: float = 0.0
    retransmissions: int = 0

    @property
    def sequence(self) -> int:
        return self.window.span.sequence


class DeviceSession:
    """One device's run: its windows, link and metrics, over the shared channel's stub."""

    retryable: frozenset[grpc.StatusCode] = RETRYABLE

    def __init__(
        self,
        device: Device,
        stub: pb_grpc.MecInferenceStub,
        framer: WindowFramer,
        config: ClientConfig,
        sent_log: SentLog,
    ) -> None:
        self.device = device
        self.stub = stub
        self.framer = framer
        self.config = config
        self.sent_log = sent_log
        self.rng = random.Random(f"{config.seed}/{device.device_id}")
        self.metrics = DeviceMetrics(
            device_id=device.device_id,
            kind=device.kind.value,
            nr_cell_id=device.nr_cell_id,
            profile=device.profile.name,
            source=device.track.name,
        )

    async def windows(self) -> AsyncIterator[Pending]:
        """The device's windows to send, paced in real-time mode; skipped ones are counted."""
        loop = asyncio.get_running_loop()
        start_loop, start_wall = loop.time(), time.time()
        phase = self.rng.uniform(0.0, self.framer.hop_s) if self.config.realtime else 0.0
        skipped_bytes = payload_bytes(self.framer.config, self.config.dtype)
        for span in self.framer.spans(self.device.track, self.device.play_s):
            if self.config.realtime:
                await asyncio.sleep(max(0.0, start_loop + phase + span.end_s - loop.time()))
                captured_at = start_wall + phase + span.end_s
            else:
                captured_at = time.time()
            # Off the event loop, so other devices' answers are not held up behind the STFT.
            window = await asyncio.to_thread(self.framer.frame, self.device.track, span)
            self.metrics.windows_framed += 1
            if window.skipped:
                self.metrics.skipped(skipped_bytes)
                continue
            yield Pending(window, captured_at)

    def encode(self, item: Pending) -> tuple[pb.FeatureWindow, LinkDelay]:
        """Stamp and encode `item` for one more attempt, charging it the uplink delay to sleep."""
        assert item.window.features is not None  # skipped windows never become Pending
        message = encode_window(
            item.window.features,
            config=self.framer.config,
            dtype=self.config.dtype,
            device_id=self.device.device_id,
            device_kind=self.device.kind,
            nr_cell_id=self.device.nr_cell_id,
            sequence=item.sequence,
            captured_at=item.captured_at,
            model=self.config.model,
        )
        if item.attempts == 0:
            item.device_ms = (message.sent_at.ToMicroseconds() / 1e6 - item.captured_at) * 1e3
        size = message.ByteSize()
        delay = uplink_delay(self.device.profile, size, self.rng)
        item.attempts += 1
        item.request_bytes += size
        item.uplink_ms += delay.delay_ms
        item.retransmissions += delay.retransmissions
        return message, delay

    def backoff_s(self, attempt: int) -> float:
        ceiling = min(self.config.backoff_max_s, self.config.backoff_s * 2.0 ** (attempt - 1))
        return ceiling * self.rng.uniform(0.5, 1.0)

    async def deliver(self, item: Pending, answer: pb.Classification) -> None:
        """The answer crosses the downlink, then lands on the device."""
        down = downlink_delay(self.device.profile, answer.ByteSize(), self.rng)
        await asyncio.sleep(down.delay_ms / 1e3)
        latency_ms = (time.time() - item.captured_at) * 1e3
        self.record(item, OK, answer, down, latency_ms)

    def record(
        self,
        item: Pending,
        status: str,
        answer: pb.Classification | None = None,
        down: LinkDelay | None = None,
        latency_ms: float | None = None,
        detail: str = "",
    ) -> None:
        truth = item.window.truth
        self.sent_log.write(
            RequestRecord(
                device_id=self.device.device_id,
                sequence=item.sequence,
                status=status,
                attempts=item.attempts,
                request_bytes=item.request_bytes,
                device_ms=item.device_ms,
                uplink_ms=item.uplink_ms,
                downlink_ms=down.delay_ms if down else 0.0,
                retransmissions=item.retransmissions + (down.retransmissions if down else 0),
                latency_ms=latency_ms,
                detection=answer.detection.label if answer else None,
                type=answer.type.label if answer and answer.HasField("type") else None,
                truth_detection=truth.detection_label if truth else None,
                truth_type=truth.type_label if truth else None,
                queue_us=answer.timings.queue_us if answer else 0,
                inference_us=answer.timings.inference_us if answer else 0,
                batch_size=answer.timings.batch_size if answer else 0,
                detail=detail,
                result_id=answer.result_id if answer else "",
                at=round(time.time(), 6),
            )
        )

    async def classify(self, item: Pending) -> None:
        """Unary Classify with bounded retries on UNAVAILABLE / RESOURCE_EXHAUSTED."""
        while True:
            message, up = self.encode(item)
            await asyncio.sleep(up.delay_ms / 1e3)
            try:
                answer = await self.stub.Classify(message, timeout=self.config.rpc_timeout_s)
            except grpc.aio.AioRpcError as exc:
                code = exc.code()
                if code in self.retryable and item.attempts < self.config.max_attempts:
                    await asyncio.sleep(self.backoff_s(item.attempts))
                    continue
                log.debug("%s #%d: %s", self.device.device_id, item.sequence, exc.details())
                self.record(item, code.name, detail=exc.details() or "")
                return
            await self.deliver(item, answer)
            return

    async def run_unary(self) -> None:
        # A task group lets go of each window's task once it is done: an hour-long run keeps
        # only the windows in flight.
        async with asyncio.TaskGroup() as in_flight:
            async for item in self.windows():
                if self.config.realtime:  # capture goes on while answers are outstanding
                    in_flight.create_task(self.classify(item))
                else:
                    await self.classify(item)

    async def run(self) -> DeviceMetrics:
        if self.config.stream:
            await run_stream(self)
        else:
            await self.run_unary()
        return self.metrics
