"""The gRPC adapter: `nser.v1.MecInference` over the engine, the batcher and the publisher.

Every error a caller can cause is a `NserError`, mapped to a status in `STATUS_BY_ERROR` and
nowhere else; anything else is a bug, logged with its traceback and answered INTERNAL.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc

from nser.v1 import mec_inference_pb2 as pb
from nser.v1 import mec_inference_pb2_grpc as pb_grpc
from nser_mec.batcher import MicroBatcher
from nser_mec.engine import InferenceEngine
from nser_mec.metrics import MecMetrics
from nser_mec.publisher import ResultPublisher
from nser_mec.ratelimit import DeviceRateLimitedError, DeviceRateLimiter
from nser_shared.errors import (
    FeatureConfigMismatchError,
    InvalidFeatureWindowError,
    NserError,
    QueueFullError,
    UnknownModelError,
)
from nser_shared.labels import TASK_CLASSES, Task
from nser_shared.results import ResultRecord, TaskOutcome
from nser_shared.windows import decode_window, timestamp

log = logging.getLogger(__name__)


class NotReadyError(NserError):
    """The server is still loading its models, or shutting down."""


STATUS_BY_ERROR: dict[type[NserError], grpc.StatusCode] = {
    InvalidFeatureWindowError: grpc.StatusCode.INVALID_ARGUMENT,
    UnknownModelError: grpc.StatusCode.NOT_FOUND,
    FeatureConfigMismatchError: grpc.StatusCode.FAILED_PRECONDITION,
    QueueFullError: grpc.StatusCode.RESOURCE_EXHAUSTED,
    NotReadyError: grpc.StatusCode.UNAVAILABLE,
}


def status_for(error: NserError) -> grpc.StatusCode:
    for kind, code in STATUS_BY_ERROR.items():
        if isinstance(error, kind):
            return code
    return grpc.StatusCode.INVALID_ARGUMENT


def retry_metadata(error: NserError) -> tuple[tuple[str, str], ...]:
    """Trailing metadata telling a rate-limited device when to come back (`retry-after-ms`)."""
    if isinstance(error, DeviceRateLimitedError):
        return (("retry-after-ms", str(max(1, round(error.retry_after_s * 1e3)))),)
    return ()


@dataclass(frozen=True)
class ServingCore:
    engine: InferenceEngine
    batcher: MicroBatcher
    publisher: ResultPublisher


def task_result(task: Task, outcome: TaskOutcome) -> pb.TaskResult:
    classes = TASK_CLASSES[task]
    return pb.TaskResult(
        classes=classes,
        probabilities=[outcome.probabilities[c] for c in classes],
        label=outcome.label,
    )


def to_message(record: ResultRecord) -> pb.Classification:
    message = pb.Classification(
        device_id=record.device_id,
        sequence=record.sequence,
        model=record.model,
        model_version=record.model_version,
        detection=task_result(Task.DETECTION, record.detection),
        timings=pb.ServerTimings(
            received_at=timestamp(record.received_at),
            batched_at=timestamp(record.batched_at),
            inferred_at=timestamp(record.inferred_at),
            queue_us=record.queue_us,
            inference_us=record.inference_us,
            batch_size=record.batch_size,
        ),
        result_id=record.result_id,
    )
    if record.type is not None:
        message.type.CopyFrom(task_result(Task.TYPE, record.type))
    return message


class MecInferenceServicer(pb_grpc.MecInferenceServicer):  # type: ignore[misc]
    def __init__(self, metrics: MecMetrics, limiter: DeviceRateLimiter) -> None:
        self.metrics = metrics
        self.limiter = limiter
        self.core: ServingCore | None = None  # set once the models are loaded

    def _metric_model(self, requested: str) -> str:
        """The model label for metrics: bounded to served names, so labels cannot explode."""
        if self.core is None:
            return requested or "default"
        engine = self.core.engine
        name = requested or engine.default_model
        return name if name in engine.models else "unknown"

    async def _classify(self, window: pb.FeatureWindow) -> pb.Classification:
        received_mono, received_at = time.perf_counter(), time.time()
        label = self._metric_model(window.model)
        try:
            core = self.core
            if core is None:
                raise NotReadyError("the MEC inference service is not serving yet; retry")
            decoded = decode_window(window, core.engine.feature_config)
            self.limiter.admit(decoded.device_id)
            model = core.engine.resolve(decoded.model)
            done = await core.batcher.classify(model, decoded, received_mono)
        except NserError as exc:
            self.metrics.requests.labels(label, status_for(exc).name).inc()
            raise
        record = ResultRecord(
            result_id=uuid.uuid4().hex,
            device_id=decoded.device_id,
            device_kind=decoded.device_kind.value,
            nr_cell_id=decoded.nr_cell_id,
            sequence=decoded.sequence,
            model=model.name,
            model_version=model.version,
            feature_config_id=decoded.feature_config_id,
            payload_dtype=decoded.dtype.value,
            detection=done.result.detection,
            type=done.result.type,
            captured_at=decoded.captured_at,
            sent_at=decoded.sent_at,
            received_at=received_at,
            batched_at=done.batched_at,
            inferred_at=done.inferred_at,
            published_at=0.0,
            queue_us=done.queue_us,
            inference_us=done.inference_us,
            batch_size=done.batch_size,
        )
        core.publisher.offer(record)
        self.metrics.requests.labels(model.name, grpc.StatusCode.OK.name).inc()
        self.metrics.request_seconds.labels(model.name).observe(time.perf_counter() - received_mono)
        return to_message(record)

    async def Classify(  # noqa: N802 (gRPC method name)
        self, request: pb.FeatureWindow, context: grpc.aio.ServicerContext
    ) -> pb.Classification:
        try:
            return await self._classify(request)
        except NserError as exc:
            await context.abort(status_for(exc), str(exc), retry_metadata(exc))
            raise  # unreachable: abort raises

    async def ClassifyStream(  # noqa: N802 (gRPC method name)
        self,
        request_iterator: AsyncIterator[pb.FeatureWindow],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[pb.Classification]:
        """Windows are classified concurrently, so one stream's windows can share a batch."""
        answers: asyncio.Queue[pb.Classification | tuple[int, NserError] | None] = asyncio.Queue()
        pending: set[asyncio.Task[None]] = set()

        async def answer(window: pb.FeatureWindow) -> None:
            try:
                answers.put_nowait(await self._classify(window))
            except NserError as exc:
                answers.put_nowait((window.sequence, exc))

        async def read() -> None:
            async for window in request_iterator:
                task = asyncio.create_task(answer(window))
                pending.add(task)
                task.add_done_callback(pending.discard)
            await asyncio.gather(*list(pending))
            answers.put_nowait(None)

        reader = asyncio.create_task(read())
        try:
            while (item := await answers.get()) is not None:
                if isinstance(item, tuple):
                    sequence, exc = item
                    await context.abort(
                        status_for(exc), f"window sequence {sequence}: {exc}", retry_metadata(exc)
                    )
                else:
                    yield item
            await reader  # re-raises a failure of the request stream itself
        finally:
            reader.cancel()
            for task in list(pending):
                task.cancel()
