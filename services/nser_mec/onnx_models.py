"""Models served from `nser export`'s ONNX files, by ONNX Runtime or OpenVINO, without PyTorch
(the lean MEC image: `NSER_MEC_ONNX_DIR`).

The folder's `manifest.json` lists each graph `<task>-<model>.onnx` with its sha256 (checked
before it is loaded), the checkpoint it came from (and that checkpoint's sha256) and the
feature configuration it reads (checked against the MEC's). A model's version is computed from
the checkpoints' sha256s exactly as `checkpoints.py` computes it, so results name the same
model version whichever way the MEC loaded it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nser_mec.engine import InferenceEngine, ServedModel
from nser_mec.runners import BackendName, Batch, OnnxRuntimeRunner, OpenVinoRunner, Runner
from nser_shared.errors import ConfigurationError, FeatureConfigMismatchError, UnknownModelError
from nser_shared.frontend.config import DEFAULT_FEATURE_CONFIG, FeatureConfig
from nser_shared.wire.labels import Task

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
ONNX_BACKENDS = (BackendName.ONNXRUNTIME, BackendName.OPENVINO)
FIELDS = ("file", "sha256", "checkpoint_sha256", "feature_config_id")


def read_manifest(folder: Path) -> dict[str, dict[str, str]]:
    """File name -> manifest entry; ConfigurationError naming what is wrong."""
    path = folder / MANIFEST
    try:
        entries: Any = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigurationError(
            f"{path} is missing: write the folder with `nser export --out {folder}`"
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"{path} cannot be read: {exc}") from None
    if not isinstance(entries, list):
        raise ConfigurationError(f"{path}: expected a list of entries, as nser export writes")
    found: dict[str, dict[str, str]] = {}
    for entry in entries:
        if not isinstance(entry, dict) or any(not isinstance(entry.get(f), str) for f in FIELDS):
            raise ConfigurationError(f"{path}: every entry needs the fields {', '.join(FIELDS)}")
        found[entry["file"]] = entry
    return found


def load_onnx(
    folder: Path,
    names: Sequence[str],
    threads: int,
    cascade: bool = True,
    feature_config: FeatureConfig = DEFAULT_FEATURE_CONFIG,
    backend: BackendName = BackendName.ONNXRUNTIME,
) -> InferenceEngine:
    """The ONNX graphs of `names`, both tasks, from `folder` (written by `nser export`), run by
    ONNX Runtime or OpenVINO."""
    if backend not in ONNX_BACKENDS:
        raise ConfigurationError(f"ONNX files run on onnxruntime or openvino, not {backend}")
    manifest = read_manifest(folder)
    example: Batch = np.zeros((1, *feature_config.shape), dtype=np.float32)
    models: dict[str, ServedModel] = {}
    for name in names:
        started = time.perf_counter()
        runners: dict[Task, Runner] = {}
        digest = hashlib.sha256()
        for task in Task:
            entry = manifest.get(f"{task.value}-{name}.onnx")
            if entry is None:
                raise UnknownModelError(
                    f"{folder} has no {task.value} graph of model {name!r}: "
                    f"`nser export --models {name} --out {folder}` writes it"
                )
            if entry["feature_config_id"] != feature_config.id:
                raise FeatureConfigMismatchError(
                    f"{entry['file']} reads features {entry['feature_config_id']}, "
                    f"the MEC {feature_config.id}"
                )
            graph = (folder / entry["file"]).read_bytes()
            if hashlib.sha256(graph).hexdigest() != entry["sha256"]:
                raise ConfigurationError(
                    f"{folder / entry['file']} is not the file its manifest names (sha256 "
                    "differs): export the folder again"
                )
            runners[task] = (
                OpenVinoRunner(graph, threads)
                if backend is BackendName.OPENVINO
                else OnnxRuntimeRunner(graph, threads)
            )
            runners[task].run(example)  # the first call allocates; not a request's
            digest.update(entry["checkpoint_sha256"].encode())
        models[name] = ServedModel(name, digest.hexdigest()[:12], runners)
        log.info(
            "loaded %s (version %s) from %s in %.0f ms",
            name,
            models[name].version,
            folder,
            (time.perf_counter() - started) * 1e3,
        )
    return InferenceEngine(models, feature_config, cascade)
