"""`nser export`: the shipped checkpoints as ONNX files that ONNX Runtime runs to the same
logits as PyTorch, with a manifest that ties each file to its checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from nser_cli import main
from nser_models.checkpoint import SHIPPED_DIR, load_checkpoint, shipped_checkpoint
from nser_models.served import ONNX_INPUT
from nser_shared.provenance import sha256_file
from nser_shared.wire.labels import Task


def test_exported_networks_give_the_checkpoints_logits(tmp_path: Path) -> None:
    argv = ["export", "--models", "student,pooled-student", "--out", str(tmp_path)]
    assert main(argv) == 0
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert [e["file"] for e in manifest] == [
        "detection-student.onnx", "type-student.onnx",
        "detection-pooled-student.onnx", "type-pooled-student.onnx",
    ]  # fmt: skip
    features = torch.rand((5, 1, 128, 188)) * 2 - 1  # a batch of 5: the batch axis is dynamic
    for entry in manifest:
        path = tmp_path / entry["file"]
        assert entry["sha256"] == sha256_file(path)
        task, model = entry["file"].removesuffix(".onnx").split("-", 1)
        source = shipped_checkpoint(Task(task), model, SHIPPED_DIR)
        assert entry["checkpoint_sha256"] == sha256_file(source)
        eager = load_checkpoint(source).build().eval()(features).detach().numpy()
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        (exported,) = session.run(None, {ONNX_INPUT: features.numpy()})
        np.testing.assert_allclose(exported, eager, atol=1e-4)


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--models", "resnet152"], "unknown model"), (["--tasks", "mood"], "--tasks must be")],
)
def test_bad_arguments_are_refused(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", *argv, "--out", str(tmp_path)]) == 1
    assert message in capsys.readouterr().err
