"""The offline reports' way to a model's answers: the engine the MEC serves (its default
backend), loaded in process, so that a report measures what is served rather than a copy of
the cascade in eager PyTorch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch

from nser_mec.checkpoints import load_checkpoints
from nser_mec.engine import InferenceEngine
from nser_mec.runners import DEFAULT_BACKEND
from nser_shared.wire.labels import TASK_CLASSES, Task

BATCH_WINDOWS = 64  # windows per forward pass: bounds memory
Probabilities = npt.NDArray[np.float64]


def load_engine(model: str, checkpoints: Path) -> InferenceEngine:
    """The MEC's engine for `model`'s two checkpoints in `checkpoints`, with the cascade off so
    that every window gets both tasks' probabilities (the served cascade skips the type model
    for windows it does not call screams; a report scores the type of every true scream)."""
    return load_checkpoints(
        [model], DEFAULT_BACKEND, torch.get_num_threads(), cascade=False, checkpoint_dir=checkpoints
    )


def served_probabilities(
    engine: InferenceEngine, features: torch.Tensor | npt.NDArray[np.float32]
) -> dict[Task, Probabilities]:
    """Each task's class probabilities for every window of `features` (N, 1, mels, frames), as
    (N, classes) arrays in `TASK_CLASSES` order."""
    model = engine.resolve("")
    windows = np.ascontiguousarray(np.asarray(features, dtype=np.float32))
    rows: dict[Task, list[list[float]]] = {task: [] for task in Task}
    for start in range(0, len(windows), BATCH_WINDOWS):
        for result in engine.classify(model, windows[start : start + BATCH_WINDOWS]):
            assert result.type is not None  # the cascade is off
            for task, outcome in ((Task.DETECTION, result.detection), (Task.TYPE, result.type)):
                rows[task].append([outcome.probabilities[c] for c in TASK_CLASSES[task]])
    return {
        task: np.asarray(values, dtype=np.float64).reshape(-1, len(TASK_CLASSES[task]))
        for task, values in rows.items()
    }
