"""Models served from the shipped PyTorch checkpoints: each network built from its checkpoint and
put on the backend named (backends.py). The lean MEC image serves `nser export`'s files instead
(onnx_models.py) and never imports this module.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nser_mec.backends import make_runner
from nser_mec.engine import InferenceEngine, ServedModel
from nser_mec.runners import BackendName, Batch, Runner
from nser_models.architectures import MODEL_REGISTRY
from nser_models.checkpoint import SHIPPED_DIR, load_checkpoint, shipped_checkpoint
from nser_shared.errors import UnknownModelError
from nser_shared.frontend.config import DEFAULT_FEATURE_CONFIG, FeatureConfig
from nser_shared.provenance import sha256_file
from nser_shared.wire.labels import Task

log = logging.getLogger(__name__)


def load_checkpoints(
    names: Sequence[str],
    backend: BackendName,
    threads: int,
    cascade: bool = True,
    checkpoint_dir: Path = SHIPPED_DIR,
    feature_config: FeatureConfig = DEFAULT_FEATURE_CONFIG,
) -> InferenceEngine:
    """The shipped checkpoints of `names`, both tasks, on `backend`. A model's version is the
    sha256 of its two checkpoints' sha256s (detection, then type), cut to 12 digits."""
    example: Batch = np.zeros((1, *feature_config.shape), dtype=np.float32)
    models: dict[str, ServedModel] = {}
    for name in names:
        if name not in MODEL_REGISTRY:
            raise UnknownModelError(
                f"unknown model {name!r}; registered: {', '.join(MODEL_REGISTRY)}"
            )
        started = time.perf_counter()
        runners: dict[Task, Runner] = {}
        digest = hashlib.sha256()
        for task in Task:
            path = shipped_checkpoint(task, name, checkpoint_dir)
            checkpoint = load_checkpoint(path, expected_features=feature_config)
            runners[task] = make_runner(backend, checkpoint.build(), example, threads)
            digest.update(sha256_file(path).encode())
        models[name] = ServedModel(name, digest.hexdigest()[:12], runners)
        log.info(
            "loaded %s (version %s) on %s in %.0f ms",
            name,
            models[name].version,
            backend.value,
            (time.perf_counter() - started) * 1e3,
        )
    return InferenceEngine(models, feature_config, cascade)
