"""The MEC's backends built from PyTorch checkpoints: eager PyTorch, a frozen TorchScript graph,
and ONNX Runtime or OpenVINO on the checkpoint exported in memory (runners.py says why ONNX
Runtime is the default). The MEC serving `nser export`'s files needs none of this
(onnx_models.py).
"""

from __future__ import annotations

import torch
from torch import nn

from nser_mec.runners import (
    BackendName,
    Batch,
    Logits,
    OnnxRuntimeRunner,
    OpenVinoRunner,
    Runner,
)
from nser_models.export import onnx_bytes


class EagerRunner:
    def __init__(self, model: nn.Module) -> None:
        self.model = model.eval()

    def run(self, batch: Batch) -> Logits:
        with torch.inference_mode():
            out: Logits = self.model(torch.from_numpy(batch)).numpy()
        return out


class TorchScriptRunner:
    """A traced, frozen and inference-optimised TorchScript graph."""

    def __init__(self, model: nn.Module, example: Batch) -> None:
        with torch.inference_mode():
            traced = torch.jit.trace(  # type: ignore[no-untyped-call]
                model.eval(), torch.from_numpy(example)
            )
            self.module = torch.jit.optimize_for_inference(torch.jit.freeze(traced))
            self.module(torch.from_numpy(example))  # the first calls specialise the graph

    def run(self, batch: Batch) -> Logits:
        with torch.inference_mode():
            out: Logits = self.module(torch.from_numpy(batch)).numpy()
        return out


def make_runner(name: BackendName, model: nn.Module, example: Batch, threads: int) -> Runner:
    """A runner of `model` on `name`, warmed up on `example` (one window: (1, 1, M, T))."""
    torch.set_num_threads(threads)
    runner: Runner
    if name is BackendName.ONNXRUNTIME:
        runner = OnnxRuntimeRunner(onnx_bytes(model, example.shape[1:]), threads)
    elif name is BackendName.OPENVINO:
        runner = OpenVinoRunner(onnx_bytes(model, example.shape[1:]), threads)
    elif name is BackendName.TORCHSCRIPT:
        runner = TorchScriptRunner(model, example)
    else:
        runner = EagerRunner(model)
    runner.run(example)
    return runner
