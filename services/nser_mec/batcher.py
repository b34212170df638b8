"""Bounded queues and dynamic micro-batching, with Triton's semantics.

Each served model has its own bounded queue (a batch holds one model) and one batching task on
the event loop. The task takes the first waiting window, then whatever else is already queued,
up to `max_batch_size`; with `max_queue_delay_us` > 0 it waits at most that long for more
(default 0: never wait, so a lone window is never delayed). The batch runs on the engine's one
worker thread, off the event loop; one thread because the backends already use every core for
one batch, and two batches at once would only fight over them. A full queue refuses the window
at once (QueueFullError -> RESOURCE_EXHAUSTED): memory stays bounded whatever the load.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from nser_mec.engine import InferenceEngine, ServedModel, WindowResult
from nser_mec.metrics import MecMetrics
from nser_shared.errors import QueueFullError
from nser_shared.wire.windows import DecodedWindow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchingConfig:
    max_batch_size: int = 8
    max_queue_delay_us: int = 0
    max_queue_size: int = 256  # per model

    def __post_init__(self) -> None:
        if self.max_batch_size < 1 or self.max_queue_delay_us < 0 or self.max_queue_size < 1:
            raise ValueError(f"invalid batching configuration: {self}")


@dataclass(frozen=True)
class Classified:
    """A window's result and the server-side stages it went through."""

    result: WindowResult
    batched_at: float  # wall clock, unix seconds
    inferred_at: float
    queue_us: int
    inference_us: int
    batch_size: int


@dataclass
class _Pending:
    window: DecodedWindow
    received_mono: float
    future: asyncio.Future[Classified]


class MicroBatcher:
    def __init__(
        self, engine: InferenceEngine, config: BatchingConfig, metrics: MecMetrics
    ) -> None:
        self.engine = engine
        self.config = config
        self.metrics = metrics
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inference")
        self.queues: dict[str, asyncio.Queue[_Pending]] = {}
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for name, model in self.engine.models.items():
            queue: asyncio.Queue[_Pending] = asyncio.Queue(maxsize=self.config.max_queue_size)
            self.queues[name] = queue
            self.tasks.append(asyncio.create_task(self._serve(model, queue), name=f"batch-{name}"))

    async def classify(
        self, model: ServedModel, window: DecodedWindow, received_mono: float
    ) -> Classified:
        """Queue `window` for `model` and wait for its result; QueueFullError if full."""
        future: asyncio.Future[Classified] = asyncio.get_running_loop().create_future()
        queue = self.queues[model.name]
        try:
            queue.put_nowait(_Pending(window, received_mono, future))
        except asyncio.QueueFull:
            raise QueueFullError(
                f"the queue of model {model.name!r} is full ({self.config.max_queue_size} "
                "windows waiting); back off and retry"
            ) from None
        self.metrics.queue_depth.labels(model.name).set(queue.qsize())
        return await future

    async def _next_batch(self, queue: asyncio.Queue[_Pending]) -> list[_Pending]:
        batch = [await queue.get()]
        deadline = time.perf_counter() + self.config.max_queue_delay_us / 1e6
        while len(batch) < self.config.max_batch_size:
            try:
                batch.append(queue.get_nowait())
                continue
            except asyncio.QueueEmpty:
                pass
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(queue.get(), remaining))
            except TimeoutError:
                break
        return batch

    async def _serve(self, model: ServedModel, queue: asyncio.Queue[_Pending]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._next_batch(queue)
            self.metrics.queue_depth.labels(model.name).set(queue.qsize())
            live = [p for p in batch if not p.future.done()]  # drop windows whose caller left
            if not live:
                continue
            features = np.stack([p.window.features for p in live])  # (B, 1, M, T)
            batched_mono, batched_at = time.perf_counter(), time.time()
            try:
                results = await loop.run_in_executor(
                    self.executor, self.engine.classify, model, features
                )
            except Exception as exc:  # a model failure fails this batch's callers, not the loop
                log.exception("inference failed for a batch of %d on %s", len(live), model.name)
                for p in live:
                    if not p.future.done():
                        p.future.set_exception(exc)
                continue
            inferred_mono, inferred_at = time.perf_counter(), time.time()
            inference_us = round((inferred_mono - batched_mono) * 1e6)
            self.metrics.inference_seconds.labels(model.name).observe(inference_us / 1e6)
            self.metrics.batch_size.labels(model.name).observe(len(live))
            for p, result in zip(live, results, strict=True):
                queue_s = batched_mono - p.received_mono
                self.metrics.queue_seconds.labels(model.name).observe(queue_s)
                if not p.future.done():
                    p.future.set_result(
                        Classified(
                            result=result,
                            batched_at=batched_at,
                            inferred_at=inferred_at,
                            queue_us=round(queue_s * 1e6),
                            inference_us=inference_us,
                            batch_size=len(live),
                        )
                    )

    async def stop(self) -> None:
        """Stop batching (call after the gRPC server has drained) and release the thread."""
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.executor.shutdown(wait=True)
