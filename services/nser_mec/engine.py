"""The transport-free core of the MEC service: loaded models and the detection -> type cascade.

`InferenceEngine.classify` is plain synchronous code over numpy arrays; the gRPC layer never
touches a model and this module never touches gRPC. The models come from the shipped
checkpoints (`checkpoints.py`, with PyTorch) or from `nser export`'s ONNX files
(`onnx_models.py`, without it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nser_mec.runners import Batch, Logits, Runner
from nser_models.served import SERVED_MODEL
from nser_shared.errors import UnknownModelError
from nser_shared.frontend.config import DEFAULT_FEATURE_CONFIG, FeatureConfig
from nser_shared.stream.results import TaskOutcome
from nser_shared.wire.labels import SCREAM, TASK_CLASSES, Task


@dataclass(frozen=True)
class ServedModel:
    """One registered model, both tasks, on one backend."""

    name: str
    version: str  # content hash of its two checkpoints (model_version)
    runners: dict[Task, Runner]


@dataclass(frozen=True)
class WindowResult:
    detection: TaskOutcome
    type: TaskOutcome | None  # None when the cascade skipped the type stage


def softmax(logits: Logits) -> Logits:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    out: Logits = exp / exp.sum(axis=1, keepdims=True)
    return out


def outcomes(task: Task, probabilities: Logits) -> list[TaskOutcome]:
    classes = TASK_CLASSES[task]
    return [
        TaskOutcome(
            label=classes[int(np.argmax(row))],
            probabilities={c: float(p) for c, p in zip(classes, row, strict=True)},
        )
        for row in probabilities
    ]


class InferenceEngine:
    def __init__(
        self,
        models: dict[str, ServedModel],
        feature_config: FeatureConfig = DEFAULT_FEATURE_CONFIG,
        cascade: bool = True,
    ) -> None:
        if not models:
            raise UnknownModelError("the engine needs at least one model")
        self.models = models
        self.feature_config = feature_config
        self.cascade = cascade
        self.default_model = SERVED_MODEL if SERVED_MODEL in models else next(iter(models))

    def resolve(self, name: str) -> ServedModel:
        """The served model called `name` ("" is the default); UnknownModelError otherwise."""
        model = self.models.get(name or self.default_model)
        if model is None:
            raise UnknownModelError(
                f"model {name!r} is not served here; served: {', '.join(self.models)}"
            )
        return model

    def classify(self, model: ServedModel, batch: Batch) -> list[WindowResult]:
        """(B, 1, M, T) features -> one result per window: detection, then (cascade) type."""
        detection = outcomes(Task.DETECTION, softmax(model.runners[Task.DETECTION].run(batch)))
        needs_type = [i for i, d in enumerate(detection) if not self.cascade or d.label == SCREAM]
        types: dict[int, TaskOutcome] = {}
        if needs_type:
            rows = batch if len(needs_type) == len(batch) else batch[needs_type]
            typed = outcomes(Task.TYPE, softmax(model.runners[Task.TYPE].run(rows)))
            types = dict(zip(needs_type, typed, strict=True))
        return [WindowResult(d, types.get(i)) for i, d in enumerate(detection)]
