"""CPU backends that run one classifier on a batch of feature windows.

The MEC serves with ONNX Runtime by default: on this project's 2-core machines it runs the
student 2-3x faster than PyTorch eager and ahead of a frozen TorchScript graph
(`nser bench-serving` measures all three side by side; docs/serving.md has the figures). The
other two stay selectable for comparison and as a fallback.

Every backend takes a float32 array (B, 1, n_mels, frames) and returns float32 logits (B, C).
`run` is called from one worker thread at a time.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from nser_models.export import INPUT, OUTPUT, onnx_bytes

Batch = npt.NDArray[np.float32]
Logits = npt.NDArray[np.float32]


class BackendName(StrEnum):
    ONNXRUNTIME = "onnxruntime"
    TORCHSCRIPT = "torchscript"
    EAGER = "eager"


DEFAULT_BACKEND = BackendName.ONNXRUNTIME


class Runner(Protocol):
    def run(self, batch: Batch) -> Logits: ...


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


class OnnxRuntimeRunner:
    """The model exported to ONNX in memory (nser_models.export, as `nser export` writes it) and
    run by ONNX Runtime."""

    def __init__(self, model: nn.Module, example: Batch, threads: int) -> None:
        import onnxruntime as ort  # imported here: only this backend needs it

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Spinning threads would steal the cores from PyTorch (front end, other backends) and
        # from the event loop while idle: mixing ONNX Runtime and PyTorch in one process slows
        # torch down badly unless spinning is off.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(
            onnx_bytes(model, example.shape[1:]), options, providers=["CPUExecutionProvider"]
        )

    def run(self, batch: Batch) -> Logits:
        out: Logits = self.session.run([OUTPUT], {INPUT: batch})[0]
        return out


def make_runner(name: BackendName, model: nn.Module, example: Batch, threads: int) -> Runner:
    """A runner of `model` on `name`, warmed up on `example` (one window: (1, 1, M, T))."""
    torch.set_num_threads(threads)
    runner: Runner
    if name is BackendName.ONNXRUNTIME:
        runner = OnnxRuntimeRunner(model, example, threads)
    elif name is BackendName.TORCHSCRIPT:
        runner = TorchScriptRunner(model, example)
    else:
        runner = EagerRunner(model)
    runner.run(example)
    return runner
