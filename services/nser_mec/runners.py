"""How the MEC runs one classifier on a batch of feature windows: the `Runner` protocol, the
backends it can name, and the runners of an ONNX graph, which need no PyTorch: ONNX Runtime's
and OpenVINO's.

The MEC serves with ONNX Runtime by default: on this project's 2-core machines it runs the
student 2-3x faster than PyTorch eager and ahead of a frozen TorchScript graph
(`nser bench-serving` measures all three side by side; docs/serving.md has the figures). Its
graph comes either from `nser export`'s files (the lean MEC image, without PyTorch:
`onnx_models.py`) or from a checkpoint exported in memory (`backends.py`, with PyTorch, which
also holds the other two backends, kept for comparison and as a fallback).

`openvino` compiles the same ONNX graph with OpenVINO and computes in bfloat16 where the CPU
does so natively (AVX512-BF16 or AMX: `OpenVinoRunner.precision` says which), float32
elsewhere (`nser bench-serving` measures it beside ONNX Runtime).

Every runner takes a float32 array (B, 1, n_mels, frames) and returns float32 logits (B, C).
`run` is called from one worker thread at a time.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

import numpy as np
import numpy.typing as npt

from nser_models.served import ONNX_INPUT, ONNX_OUTPUT

Batch = npt.NDArray[np.float32]
Logits = npt.NDArray[np.float32]


class BackendName(StrEnum):
    ONNXRUNTIME = "onnxruntime"
    OPENVINO = "openvino"
    TORCHSCRIPT = "torchscript"
    EAGER = "eager"


DEFAULT_BACKEND = BackendName.ONNXRUNTIME


class Runner(Protocol):
    def run(self, batch: Batch) -> Logits: ...


class OnnxRuntimeRunner:
    """An ONNX graph (bytes, as `nser export` writes it) run by ONNX Runtime on the CPU."""

    def __init__(self, graph: bytes, threads: int) -> None:
        import onnxruntime as ort  # imported here: only this backend needs it

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Spinning threads would steal the cores from PyTorch (front end, other backends) and
        # from the event loop while idle: mixing ONNX Runtime and PyTorch in one process slows
        # torch down badly unless spinning is off.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

    def run(self, batch: Batch) -> Logits:
        out: Logits = self.session.run([ONNX_OUTPUT], {ONNX_INPUT: batch})[0]
        return out


WARM_BATCH_SIZES = 8  # BatchingConfig.max_batch_size's default


class OpenVinoRunner:
    """An ONNX graph (bytes) compiled by OpenVINO for the CPU: bfloat16 where the CPU computes
    it natively, float32 elsewhere; its GIL-free `infer` like ONNX Runtime's `run`."""

    def __init__(self, graph: bytes, threads: int) -> None:
        import openvino as ov  # imported here: only this backend needs it

        core = ov.Core()
        native_bf16 = "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
        compiled = core.compile_model(
            core.read_model(graph),
            "CPU",
            {
                "INFERENCE_PRECISION_HINT": "bf16" if native_bf16 else "f32",
                "INFERENCE_NUM_THREADS": threads,
                "NUM_STREAMS": 1,  # one batch at a time, as the MEC runs them
                "PERFORMANCE_HINT": "LATENCY",
            },
        )
        self.precision: str = compiled.get_property("INFERENCE_PRECISION_HINT").to_string()
        self.request = compiled.create_infer_request()
        # The first call at each batch size prepares that shape (a few ms): not a request's.
        window = [d.get_length() for d in compiled.input(0).get_partial_shape()[1:]]
        for size in range(1, WARM_BATCH_SIZES + 1):
            self.request.infer({ONNX_INPUT: np.zeros((size, *window), dtype=np.float32)})

    def run(self, batch: Batch) -> Logits:
        out: Logits = self.request.infer({ONNX_INPUT: batch})[ONNX_OUTPUT]
        return out
