"""`nser export`: the shipped checkpoints as ONNX files, for servers that run ONNX Runtime
without PyTorch (a lean MEC image, a KServe or Triton peer).

    nser export --out runs/onnx                        # every served model, both tasks
    nser export --models student --tasks detection --out runs/onnx

Each network is exported with input `features` (batch, 1, mels, frames) and output `logits`
(batch, classes), the batch axis dynamic; `onnx_bytes` is also how the MEC's ONNX Runtime
backend builds its session in memory. Writes `<task>-<model>.onnx` and `manifest.json` (file,
sha256, the checkpoint it came from, the front-end configuration id).
"""

from __future__ import annotations

import argparse
import io
import json
import warnings
from pathlib import Path

import torch
from torch import nn

from nser_models.architectures import MODEL_REGISTRY
from nser_models.checkpoint import SHIPPED_DIR, load_checkpoint, shipped_checkpoint
from nser_models.served import ONNX_INPUT, ONNX_OUTPUT
from nser_shared.errors import NserError
from nser_shared.frontend.features import DEFAULT_FEATURE_CONFIG
from nser_shared.provenance import sha256_file
from nser_shared.wire.labels import Task


def onnx_bytes(
    network: nn.Module, window_shape: tuple[int, ...] = DEFAULT_FEATURE_CONFIG.shape
) -> bytes:
    """`network` in eval mode as an ONNX model taking (batch, *window_shape), the batch axis
    dynamic."""
    buffer = io.BytesIO()
    example = torch.zeros((1, *window_shape))
    with warnings.catch_warnings():  # the TorchScript-based exporter is deprecated, not gone
        warnings.simplefilter("ignore")
        torch.onnx.export(
            network.eval(),
            (example,),
            buffer,  # type: ignore[arg-type]  # file-like objects are accepted
            dynamo=False,
            input_names=[ONNX_INPUT],
            output_names=[ONNX_OUTPUT],
            dynamic_axes={ONNX_INPUT: {0: "batch"}, ONNX_OUTPUT: {0: "batch"}},
        )
    return buffer.getvalue()


def export(model: str, task: Task, out: Path, checkpoints: Path = SHIPPED_DIR) -> dict[str, str]:
    """Write `<task>-<model>.onnx` under `out`; its manifest entry."""
    source = shipped_checkpoint(task, model, checkpoints)
    checkpoint = load_checkpoint(source)
    path = out / f"{task.value}-{model}.onnx"
    path.write_bytes(onnx_bytes(checkpoint.build(), checkpoint.feature_config.shape))
    return {
        "file": path.name,
        "sha256": sha256_file(path),
        "checkpoint": source.name,
        "checkpoint_sha256": sha256_file(source),
        "feature_config_id": checkpoint.feature_config.id,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", default=",".join(MODEL_REGISTRY), help="comma-separated")
    parser.add_argument(
        "--tasks", default=",".join(t.value for t in Task), help="comma-separated: detection, type"
    )
    parser.add_argument(
        "--checkpoints", type=Path, default=SHIPPED_DIR, help="folder of <task>-<model>.pt"
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for the ONNX files")


def run(args: argparse.Namespace) -> int:
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODEL_REGISTRY]
    if not models or unknown:
        raise NserError(f"unknown model(s) {unknown}; registered: {', '.join(MODEL_REGISTRY)}")
    try:
        tasks = [Task(t.strip()) for t in args.tasks.split(",") if t.strip()]
    except ValueError:
        raise NserError(f"--tasks must be among detection, type; got {args.tasks!r}") from None
    args.out.mkdir(parents=True, exist_ok=True)
    entries = [export(m, t, args.out, args.checkpoints) for m in models for t in tasks]
    (args.out / "manifest.json").write_text(json.dumps(entries, indent=2) + "\n")
    for entry in entries:
        print(f"{args.out / entry['file']}  {entry['sha256'][:12]}")
    return 0
