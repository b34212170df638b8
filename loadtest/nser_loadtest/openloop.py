"""Open- and closed-loop load against the MEC inference service.

Requests leave on a schedule fixed in advance (a constant rate, or Poisson arrivals), whatever
the answers do, and every latency is measured from the request's *scheduled* send time: if the
server (or this client) falls behind, the wait shows up in the figures instead of silently
lowering the offered rate (no coordinated omission).

Closed loop (`run_closed_loop`) keeps N requests in flight, each sent as soon as the previous
one is answered: it measures capacity (the rate the server sustains when it is never idle), not
latency under a given load.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

import grpc
import numpy as np

from nser.oip.v2 import open_inference_pb2_grpc as oip_grpc
from nser.v1 import mec_inference_pb2 as pb
from nser.v1 import mec_inference_pb2_grpc as pb_grpc
from nser_mec.oip import to_infer_request
from nser_shared.wire.windows import timestamp

PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)


class Protocol(StrEnum):
    """How the load reaches the server: nser.v1 Classify, or the Open Inference Protocol's
    ModelInfer (the same window in a ModelInferRequest; any OIP server takes it)."""

    NSER = "nser"
    OIP = "oip"


Call = Callable[[Any, float], Awaitable[tuple[int, int]]]


def _caller(protocol: Protocol, channel: grpc.aio.Channel) -> Call:
    """A call of one prepared request that returns the server's (queue us, inference us)."""
    if protocol is Protocol.OIP:
        oip_stub = oip_grpc.GRPCInferenceServiceStub(channel)

        async def infer(request: Any, timeout_s: float) -> tuple[int, int]:
            answer = await oip_stub.ModelInfer(request, timeout=timeout_s)
            p = answer.parameters
            return p["queue_us"].int64_param, p["inference_us"].int64_param

        return infer
    stub = pb_grpc.MecInferenceStub(channel)

    async def classify(request: Any, timeout_s: float) -> tuple[int, int]:
        answer = await stub.Classify(request, timeout=timeout_s)
        return answer.timings.queue_us, answer.timings.inference_us

    return classify


def prepared(windows: Sequence[pb.FeatureWindow], model: str, protocol: Protocol) -> list[Any]:
    """The requests a step sends, in `protocol`'s message, stamped now (fresh_request)."""
    fresh = [fresh_request(w, model) for w in windows]
    if protocol is Protocol.OIP:
        return [to_infer_request(w) for w in fresh]
    return fresh


@dataclass(frozen=True)
class LoadResult:
    model: str
    offered_rate: float  # windows/s scheduled
    achieved_rate: float  # answers (OK) per second of the run
    duration_s: float
    sent: int
    ok: int
    errors: dict[str, int]  # status code name -> count
    latency_ms: dict[str, float]  # "p50", ..., "max", "mean"
    server_timings_ms: dict[str, float] = field(default_factory=dict)  # median queue/inference
    server_cpu_cores: float | None = None  # the server process's CPU use over the step
    raw_ms: list[float] = field(default_factory=list, repr=False)  # every latency; not in JSON

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("raw_ms")
        return out

    def p(self, percentile: str) -> float:
        return self.latency_ms[percentile]

    def meets(self, slo_ms: float) -> bool:
        """Sustained: no errors, p99 within `slo_ms`, and at least 95 % of the offered rate."""
        return (
            not self.errors
            and self.ok > 0
            and self.p("p99") <= slo_ms
            and self.achieved_rate >= 0.95 * self.offered_rate
        )


def latency_summary(latencies_s: Sequence[float]) -> dict[str, float]:
    if not latencies_s:
        return {}
    values = np.asarray(latencies_s) * 1e3
    out = {f"p{q:g}": float(np.percentile(values, q)) for q in PERCENTILES}
    out["max"] = float(values.max())
    out["mean"] = float(values.mean())
    return out


def schedule(rate: float, duration_s: float, poisson: bool, seed: int = 0) -> list[float]:
    """Send offsets in seconds from the start: evenly spaced, or exponential gaps."""
    if poisson:
        rng = random.Random(seed)
        offsets, t = [], rng.expovariate(rate)
        while t < duration_s:
            offsets.append(t)
            t += rng.expovariate(rate)
        return offsets
    return [i / rate for i in range(int(rate * duration_s))]


async def run_open_loop(
    target: str,
    windows: Sequence[pb.FeatureWindow],
    *,
    model: str,
    rate: float,
    duration_s: float,
    poisson: bool = False,
    timeout_s: float = 10.0,
    protocol: Protocol = Protocol.NSER,
) -> LoadResult:
    """Offer `rate` windows/s of `model` for `duration_s` to the server at `target`."""
    requests = prepared(windows, model, protocol)
    offsets = schedule(rate, duration_s, poisson)
    latencies: list[float] = []
    queue_us: list[int] = []
    inference_us: list[int] = []
    errors: Counter[str] = Counter()
    async with grpc.aio.insecure_channel(target) as channel:
        call = _caller(protocol, channel)
        await channel.channel_ready()

        async def one(index: int, scheduled: float) -> None:
            try:
                queued, inferred = await call(requests[index % len(requests)], timeout_s)
            except grpc.aio.AioRpcError as exc:
                errors[exc.code().name] += 1
                return
            latencies.append(time.perf_counter() - scheduled)
            queue_us.append(queued)
            inference_us.append(inferred)

        start = time.perf_counter() + 0.05
        tasks = []
        for index, offset in enumerate(offsets):
            scheduled = start + offset
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(index, scheduled)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    return LoadResult(
        model=model,
        offered_rate=rate,
        achieved_rate=len(latencies) / max(elapsed, duration_s),
        duration_s=elapsed,
        sent=len(offsets),
        ok=len(latencies),
        errors=dict(errors),
        latency_ms=latency_summary(latencies),
        raw_ms=[v * 1e3 for v in latencies],
        server_timings_ms={
            "queue_p50": float(np.median(queue_us)) / 1e3 if queue_us else 0.0,
            "inference_p50": float(np.median(inference_us)) / 1e3 if inference_us else 0.0,
        },
    )


def fresh_request(window: pb.FeatureWindow, model: str) -> pb.FeatureWindow:
    """A copy of `window` for `model`, stamped captured and sent now: a load test runs for
    minutes, longer than the MEC accepts a window's clock to be off (MAX_CLOCK_SKEW_S)."""
    copy = pb.FeatureWindow()
    copy.CopyFrom(window)
    copy.model = model
    now = timestamp(time.time())
    copy.captured_at.CopyFrom(now)
    copy.sent_at.CopyFrom(now)
    return copy


async def run_closed_loop(
    target: str,
    windows: Sequence[pb.FeatureWindow],
    *,
    model: str,
    concurrency: int,
    duration_s: float,
    timeout_s: float = 30.0,
    protocol: Protocol = Protocol.NSER,
) -> LoadResult:
    """Keep `concurrency` requests of `model` in flight for `duration_s`."""
    requests = prepared(windows, model, protocol)
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    sent = 0
    async with grpc.aio.insecure_channel(target) as channel:
        call = _caller(protocol, channel)
        await channel.channel_ready()
        start = time.perf_counter()
        end = start + duration_s

        async def worker(offset: int) -> None:
            nonlocal sent
            index = offset
            while time.perf_counter() < end:
                sent += 1
                began = time.perf_counter()
                try:
                    await call(requests[index % len(requests)], timeout_s)
                    latencies.append(time.perf_counter() - began)
                except grpc.aio.AioRpcError as exc:
                    errors[exc.code().name] += 1
                index += concurrency

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.perf_counter() - start
    return LoadResult(
        model=model,
        offered_rate=0.0,  # closed loop offers no rate: it sends as fast as answers come
        achieved_rate=len(latencies) / elapsed,
        duration_s=elapsed,
        sent=sent,
        ok=len(latencies),
        errors=dict(errors),
        latency_ms=latency_summary(latencies),
    )
