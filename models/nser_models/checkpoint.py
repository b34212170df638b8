"""Self-describing checkpoints and the manifest of shipped ones.

A checkpoint carries everything needed to rebuild and trust the network from the file alone:
model name and arguments, task and class names, the feature configuration (and its id), the
training configuration, metrics and the data-set fingerprint. Floating tensors are stored as
float16 to keep the shipped files small; they are restored to float32 on load.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from nser_models.architectures import Classifier, ModelArgs, build_model
from nser_shared.errors import CheckpointError
from nser_shared.frontend.features import DEFAULT_FEATURE_CONFIG, FeatureConfig, require_same_config
from nser_shared.provenance import sha256_file
from nser_shared.wire.labels import TASK_CLASSES, Task

CHECKPOINT_FORMAT = "nser-checkpoint/1"
SHIPPED_DIR = Path(os.environ.get("NSER_CHECKPOINT_DIR", Path(__file__).parents[1] / "checkpoints"))
MANIFEST_NAME = "manifest.json"


@dataclass
class Checkpoint:
    model_name: str
    model_args: ModelArgs
    task: Task
    feature_config: FeatureConfig
    state_dict: dict[str, Tensor]
    train_config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    dataset_fingerprint: str = ""
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def classes(self) -> tuple[str, ...]:
        return TASK_CLASSES[self.task]

    def build(self) -> Classifier:
        """The network with these weights, in eval mode, float32."""
        model = build_model(self.model_name, self.model_args)
        model.load_state_dict(self.state_dict)
        return model.eval()


def save_checkpoint(
    path: Path, ckpt: Checkpoint, storage_dtype: torch.dtype = torch.float16
) -> None:
    state = {
        k: v.detach().to(storage_dtype) if v.is_floating_point() else v.detach()
        for k, v in ckpt.state_dict.items()
    }
    payload = {
        "format": CHECKPOINT_FORMAT,
        "model_name": ckpt.model_name,
        "model_args": ckpt.model_args.to_dict(),
        "task": ckpt.task.value,
        "classes": list(ckpt.classes),
        "feature_config": ckpt.feature_config.to_dict(),
        "feature_config_id": ckpt.feature_config.id,
        "train_config": ckpt.train_config,
        "metrics": ckpt.metrics,
        "dataset_fingerprint": ckpt.dataset_fingerprint,
        "created": ckpt.created,
        "state_dict": state,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)


def load_checkpoint(
    path: Path, expected_features: FeatureConfig | None = DEFAULT_FEATURE_CONFIG
) -> Checkpoint:
    """Load a checkpoint; with `expected_features`, refuse one made with other features."""
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a corrupt or foreign file
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a {CHECKPOINT_FORMAT} checkpoint")
    features = FeatureConfig.from_dict(payload["feature_config"])
    if features.id != payload["feature_config_id"]:
        raise CheckpointError(f"{path}: feature config does not match its stored id")
    if expected_features is not None:
        require_same_config(expected_features, features.id, f"checkpoint {path}")
    state = {k: v.float() if v.is_floating_point() else v for k, v in payload["state_dict"].items()}
    return Checkpoint(
        model_name=payload["model_name"],
        model_args=ModelArgs(**payload["model_args"]),
        task=Task(payload["task"]),
        feature_config=features,
        state_dict=state,
        train_config=payload["train_config"],
        metrics=payload["metrics"],
        dataset_fingerprint=payload["dataset_fingerprint"],
        created=payload["created"],
    )


def checkpoint_filename(task: Task, model_name: str) -> str:
    return f"{task.value}-{model_name}.pt"


def shipped_checkpoint(task: Task, model_name: str, directory: Path = SHIPPED_DIR) -> Path:
    return directory / checkpoint_filename(task, model_name)


def write_manifest(directory: Path) -> list[dict[str, Any]]:
    """Describe every checkpoint in `directory` in its manifest.json (file, sha256, metrics)."""
    entries = []
    for path in sorted(directory.glob("*.pt")):
        ckpt = load_checkpoint(path, expected_features=None)
        entries.append(
            {
                "file": path.name,
                "sha256": sha256_file(path),
                "bytes": path.stat().st_size,
                "model": ckpt.model_name,
                "task": ckpt.task.value,
                "feature_config_id": ckpt.feature_config.id,
                "dataset_fingerprint": ckpt.dataset_fingerprint,
                "metrics": ckpt.metrics,
            }
        )
    (directory / MANIFEST_NAME).write_text(json.dumps(entries, indent=2) + "\n")
    return entries


def verify_manifest(directory: Path = SHIPPED_DIR) -> list[dict[str, Any]]:
    """Check every file in the manifest exists with its recorded sha256."""
    manifest = directory / MANIFEST_NAME
    if not manifest.is_file():
        raise CheckpointError(f"no checkpoint manifest at {manifest}")
    entries: list[dict[str, Any]] = json.loads(manifest.read_text())
    for entry in entries:
        path = directory / entry["file"]
        if not path.is_file():
            raise CheckpointError(f"manifest lists {entry['file']} but it is missing")
        if sha256_file(path) != entry["sha256"]:
            raise CheckpointError(f"{path} does not match its sha256 in {manifest}")
    return entries
