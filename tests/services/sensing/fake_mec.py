"""A tiny stand-in for the MEC on a loopback port: a real gRPC server speaking `MecInference` that
records the raw bytes it receives, answers with a fixed classification, and can be told to fail.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field

import grpc

from nser.v1 import mec_inference_pb2 as pb

SERVICE = "nser.v1.MecInference"


@dataclass
class FakeMec:
    """Behaviour knobs (set before the client runs) and what the server saw."""

    fail_first: int = 0  # abort this many Classify calls / streams with `fail_code`
    fail_code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE
    stream_fail_after: int = 1  # a failing stream takes this many windows first
    detection: str = "scream"
    refuse_sequence: int | None = None  # streams answer this window with an INVALID_ARGUMENT error
    end_at_sequence: int | None = (
        None  # streams end INVALID_ARGUMENT naming this window (old servers)
    )
    received: list[bytes] = field(default_factory=list)  # raw FeatureWindow bytes, in order
    calls: int = 0
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def windows(self) -> list[pb.FeatureWindow]:
        return [pb.FeatureWindow.FromString(raw) for raw in self.received]

    def _should_fail(self) -> bool:
        with self.lock:
            self.calls += 1
            return self.calls <= self.fail_first

    def answer(self, raw: bytes) -> pb.Classification:
        with self.lock:
            self.received.append(raw)
        window = pb.FeatureWindow.FromString(raw)
        answer = pb.Classification(
            device_id=window.device_id,
            sequence=window.sequence,
            model="student",
            model_version="fake",
            detection=pb.TaskResult(
                classes=["non_scream", "scream"],
                probabilities=[0.1, 0.9] if self.detection == "scream" else [0.9, 0.1],
                label=self.detection,
            ),
            result_id=f"r-{window.device_id}-{window.sequence}",
        )
        if self.detection == "scream":
            answer.type.CopyFrom(
                pb.TaskResult(
                    classes=["positive", "negative"], probabilities=[0.2, 0.8], label="negative"
                )
            )
        answer.timings.batch_size = 1
        return answer

    def classify(self, raw: bytes, context: grpc.ServicerContext) -> pb.Classification:
        if self._should_fail():
            context.abort(self.fail_code, "fake server says no")
        return self.answer(raw)

    def classify_stream(
        self, requests: Iterator[bytes], context: grpc.ServicerContext
    ) -> Iterator[pb.Classification]:
        # A stream ends with a status by setting it and returning: context.abort() raised inside
        # a response generator after a yield sometimes reached the client as INTERNAL instead.
        failing = self._should_fail()
        for count, raw in enumerate(requests, start=1):
            window = pb.FeatureWindow.FromString(raw)
            if window.sequence == self.end_at_sequence:
                context.set_code(grpc.StatusCode.INVALID_ARGUMENT)
                context.set_details(f"window sequence {window.sequence}: no")
                return
            if window.sequence == self.refuse_sequence:
                code = grpc.StatusCode.INVALID_ARGUMENT.value[0]
                error = pb.WindowError(code=code, message="tensor: no")
                yield pb.Classification(
                    device_id=window.device_id, sequence=window.sequence, error=error
                )
                continue
            yield self.answer(raw)
            if failing and count >= self.stream_fail_after:
                context.set_code(self.fail_code)
                context.set_details("fake stream breaks")
                return


@contextmanager
def serve_fake_mec() -> Iterator[FakeMec]:
    """A FakeMec listening on a free loopback port for the duration of the block."""
    fake = FakeMec()
    handlers = {
        "Classify": grpc.unary_unary_rpc_method_handler(
            fake.classify, response_serializer=pb.Classification.SerializeToString
        ),
        "ClassifyStream": grpc.stream_stream_rpc_method_handler(
            fake.classify_stream, response_serializer=pb.Classification.SerializeToString
        ),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    fake.port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield fake
    finally:
        server.stop(grace=None)
