"""The gRPC adapter: `nser.v1.MecInference` over the serving core (core.py). It parses
messages, checks that a window's device is its sender's certificate, and maps errors to status
codes (grpc_common.py); the core does the rest.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
from google.protobuf.message import DecodeError

from nser.v1 import mec_inference_pb2 as pb
from nser.v1 import mec_inference_pb2_grpc as pb_grpc
from nser_mec.core import ServingCore
from nser_mec.grpc_common import DeviceIdentity, retry_metadata, status_for
from nser_mec.metrics import MecMetrics
from nser_shared.errors import (
    InvalidFeatureWindowError,
    NserError,
)
from nser_shared.stream.results import ResultRecord, TaskOutcome
from nser_shared.wire.device_ids import is_device_id
from nser_shared.wire.labels import TASK_CLASSES, Task
from nser_shared.wire.windows import decode_window, timestamp

log = logging.getLogger(__name__)


# On a stream, these refusals say "not now" rather than "not this window": they end the stream
# and the device sends its unanswered windows again after a backoff.
ENDS_STREAM = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})


SERVICE = pb.DESCRIPTOR.services_by_name["MecInference"].full_name  # nser.v1.MecInference


@dataclass(frozen=True)
class UnparsableWindow:
    """Bytes that do not parse as a FeatureWindow. grpcio answers UNKNOWN (and logs a traceback)
    when a deserializer raises, so `parse_window` returns this instead and the servicer answers
    INVALID_ARGUMENT like any other malformed window."""

    reason: str
    sequence: int = 0  # unknown: the message never parsed


def parse_window(data: bytes) -> pb.FeatureWindow | UnparsableWindow:
    try:
        window: pb.FeatureWindow = pb.FeatureWindow.FromString(data)
    except DecodeError as exc:
        return UnparsableWindow(str(exc) or "malformed protobuf")
    return window


def add_to_server(servicer: MecInferenceServicer, server: grpc.aio.Server) -> None:
    """Register `servicer` as the generated add_MecInferenceServicer_to_server does, with
    `parse_window` as the request deserializer."""
    serialize = pb.Classification.SerializeToString
    handlers = {
        "Classify": grpc.unary_unary_rpc_method_handler(
            servicer.Classify, request_deserializer=parse_window, response_serializer=serialize
        ),
        "ClassifyStream": grpc.stream_stream_rpc_method_handler(
            servicer.ClassifyStream,
            request_deserializer=parse_window,
            response_serializer=serialize,
        ),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))


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


def refusal(
    window: pb.FeatureWindow | UnparsableWindow, code: grpc.StatusCode, error: NserError
) -> pb.Classification:
    """A stream's answer for a window it refused: the status Classify would have answered."""
    # Echoed only when it is a device id: a refused window's id may be anything.
    device_id = window.device_id if isinstance(window, pb.FeatureWindow) else ""
    device_id = device_id if is_device_id(device_id) else ""
    return pb.Classification(
        device_id=device_id,
        sequence=window.sequence,
        error=pb.WindowError(code=code.value[0], message=str(error)),
    )


class MecInferenceServicer(pb_grpc.MecInferenceServicer):  # type: ignore[misc]
    def __init__(self, core: ServingCore, metrics: MecMetrics, identity: DeviceIdentity) -> None:
        self.core = core
        self.metrics = metrics
        self.identity = identity

    async def _classify(
        self, window: pb.FeatureWindow | UnparsableWindow, peer_device: str | None
    ) -> pb.Classification:
        received_mono, received_at = time.perf_counter(), time.time()
        if isinstance(window, UnparsableWindow):
            self.metrics.requests.labels("unknown", grpc.StatusCode.INVALID_ARGUMENT.name).inc()
            raise InvalidFeatureWindowError(
                f"the message is not a nser.v1.FeatureWindow: {window.reason}"
            )
        label = self.core.model_label(window.model)
        try:
            self.identity.check(window.device_id, peer_device)
            decoded = decode_window(window, self.core.feature_config, now=received_at)
            record = await self.core.classify(decoded, received_mono, received_at)
        except NserError as exc:
            self.metrics.requests.labels(label, status_for(exc).name).inc()
            raise
        self.metrics.requests.labels(record.model, grpc.StatusCode.OK.name).inc()
        self.metrics.request_seconds.labels(record.model).observe(
            time.perf_counter() - received_mono
        )
        return to_message(record)

    async def Classify(  # noqa: N802 (gRPC method name)
        self, request: pb.FeatureWindow | UnparsableWindow, context: grpc.aio.ServicerContext
    ) -> pb.Classification:
        try:
            return await self._classify(request, self.identity.peer(context))
        except NserError as exc:
            await context.abort(status_for(exc), str(exc), retry_metadata(exc))
            raise  # unreachable: abort raises

    async def ClassifyStream(  # noqa: N802 (gRPC method name)
        self,
        request_iterator: AsyncIterator[pb.FeatureWindow | UnparsableWindow],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[pb.Classification]:
        """Windows are classified concurrently, so one stream's windows can share a batch.

        A window refused for what it is gets an answer with `error` set, and the stream goes
        on. A window refused because the server cannot take it now (ENDS_STREAM) ends the
        stream, but only after every window already read has its answer: those may be published
        by now, and a device that never hears of them would send them again. The stream reads
        no window after that verdict."""
        answers: asyncio.Queue[pb.Classification | tuple[int, NserError] | None] = asyncio.Queue()
        pending: set[asyncio.Task[None]] = set()
        peer_device = self.identity.peer(context)  # one connection, one certificate

        async def answer(window: pb.FeatureWindow | UnparsableWindow) -> None:
            try:
                answers.put_nowait(await self._classify(window, peer_device))
            except NserError as exc:
                code = status_for(exc)
                if code in ENDS_STREAM:
                    answers.put_nowait((window.sequence, exc))
                else:
                    answers.put_nowait(refusal(window, code, exc))

        async def read() -> None:
            async for window in request_iterator:
                task = asyncio.create_task(answer(window))
                pending.add(task)
                task.add_done_callback(pending.discard)
            await asyncio.gather(*list(pending))
            answers.put_nowait(None)

        reader = asyncio.create_task(read())
        refused: tuple[int, NserError] | None = None
        try:
            while (item := await answers.get()) is not None:
                if not isinstance(item, tuple):
                    yield item
                elif refused is None:  # the first refusal ends the stream; later ones wait
                    refused = item
                    reader.cancel()
                    await asyncio.gather(*list(pending), return_exceptions=True)
                    answers.put_nowait(None)  # after the answers of the windows in flight
            if refused is not None:
                sequence, exc = refused
                await context.abort(
                    status_for(exc), f"window sequence {sequence}: {exc}", retry_metadata(exc)
                )
            await reader  # re-raises a failure of the request stream itself
        finally:
            reader.cancel()
            for task in list(pending):
                task.cancel()
