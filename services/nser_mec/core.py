"""The MEC's serving core, free of any transport: it loads the models, says whether it is
ready, and turns a decoded window into a result record that is in the results stream.

A protocol adapter (servicer.py for `nser.v1.MecInference`) parses its messages into a
`DecodedWindow` (nser_shared.wire.windows), checks who sent them, calls `classify`, and maps the
`NserError`s it raises to its own status codes. Everything else (per-device rate limits,
batching, the models, publication) happens here, once for every protocol.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from dataclasses import dataclass
from pathlib import Path

from nser_mec.batcher import BatchingConfig, Classified, MicroBatcher
from nser_mec.engine import InferenceEngine, ServedModel
from nser_mec.errors import NotReadyError
from nser_mec.metrics import MecMetrics
from nser_mec.onnx_models import load_onnx
from nser_mec.publisher import ResultPublisher
from nser_mec.ratelimit import DeviceRateLimiter
from nser_mec.settings import MecSettings
from nser_shared.frontend.config import FeatureConfig
from nser_shared.stream.results import ResultRecord, result_id_for
from nser_shared.wire.windows import DecodedWindow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Loaded:
    engine: InferenceEngine
    batcher: MicroBatcher
    publisher: ResultPublisher


def result_record(
    decoded: DecodedWindow, model: ServedModel, done: Classified, received_at: float
) -> ResultRecord:
    """What the results stream holds for one classified window (`published_at` is stamped by
    the publisher)."""
    return ResultRecord(
        result_id=result_id_for(
            decoded.device_id, decoded.sequence, decoded.captured_at, model.name
        ),
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


class ServingCore:
    def __init__(self, settings: MecSettings, metrics: MecMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.limiter = DeviceRateLimiter(settings.device_rate, settings.device_burst)
        self._loaded: _Loaded | None = None

    @property
    def ready(self) -> bool:
        return self._loaded is not None

    def _serving(self) -> _Loaded:
        if self._loaded is None:
            raise NotReadyError("the MEC inference service is not serving yet; retry")
        return self._loaded

    async def load(self) -> list[str]:
        """Load the models (off the event loop), start batching and publishing; the names of
        the models served."""
        s = self.settings
        if s.onnx_dir:
            engine = await asyncio.to_thread(
                load_onnx, Path(s.onnx_dir), s.models, s.threads, s.cascade, backend=s.backend
            )
        else:
            # Imported here: it needs PyTorch, which the lean image (onnx_dir) does not have.
            from nser_mec.checkpoints import load_checkpoints

            engine = await asyncio.to_thread(
                load_checkpoints, s.models, s.backend, s.threads, s.cascade
            )
        batcher = MicroBatcher(
            engine,
            BatchingConfig(s.max_batch_size, s.max_queue_delay_us, s.max_queue_size),
            self.metrics,
        )
        publisher = ResultPublisher(
            s.redis_url,
            self.metrics,
            maxlen=s.stream_maxlen,
            buffer_size=s.publish_buffer,
            timeout_s=s.publish_timeout_s,
        )
        # Everything loaded so far lives as long as the process: keep the collector from
        # walking it on every full collection (fewer, shorter GC pauses in the latency tail).
        gc.freeze()
        batcher.start()
        publisher.start()
        self._loaded = _Loaded(engine, batcher, publisher)
        self.metrics.serving.info(
            {
                "models": ",".join(engine.models),
                "backend": s.backend.value,
                "threads": str(s.threads),
                "max_batch_size": str(s.max_batch_size),
                "max_queue_delay_us": str(s.max_queue_delay_us),
                "cascade": str(s.cascade).lower(),
            }
        )
        return list(engine.models)

    async def stop(self, grace_s: float) -> None:
        """Refuse new windows, stop batching, and give the publisher `grace_s` to hand what is
        queued to Redis."""
        loaded, self._loaded = self._loaded, None
        if loaded is not None:
            await loaded.batcher.stop()
            await loaded.publisher.close(timeout_s=grace_s)

    @property
    def feature_config(self) -> FeatureConfig:
        """The front-end configuration windows must match; NotReadyError before the models
        load."""
        return self._serving().engine.feature_config

    def served_models(self) -> dict[str, str]:
        """Name -> version of every model served; empty before the models load."""
        if self._loaded is None:
            return {}
        return {name: model.version for name, model in self._loaded.engine.models.items()}

    def model_label(self, requested: str) -> str:
        """The model name for metrics: bounded to served names, so labels cannot explode."""
        if self._loaded is None:
            return requested or "default"
        engine = self._loaded.engine
        name = requested or engine.default_model
        return name if name in engine.models else "unknown"

    async def classify(
        self, decoded: DecodedWindow, received_mono: float, received_at: float
    ) -> ResultRecord:
        """Admit, batch, classify and publish one window; the record once Redis has it.
        `received_mono` (perf_counter) and `received_at` (unix) are when the window arrived."""
        loaded = self._serving()
        self.limiter.admit(decoded.device_id)
        model = loaded.engine.resolve(decoded.model)
        done = await loaded.batcher.classify(model, decoded, received_mono)
        return await loaded.publisher.publish(result_record(decoded, model, done, received_at))
