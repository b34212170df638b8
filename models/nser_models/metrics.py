"""Batched prediction and the classification metrics the reports use."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from scipy.stats import rankdata
from sklearn.metrics import confusion_matrix, f1_score
from torch import Tensor, nn


def predict_logits(model: nn.Module, features: Tensor, batch_size: int = 128) -> Tensor:
    """Logits (N, C) on the CPU of `model` in eval mode for features (N, 1, F, T), each batch
    run on the device the model's weights are on."""
    model.eval()
    device = next(model.parameters()).device
    with torch.inference_mode():
        return torch.cat(
            [
                model(features[i : i + batch_size].to(device)).cpu()
                for i in range(0, len(features), batch_size)
            ]
        )


def predict_embeddings(model: nn.Module, features: Tensor, batch_size: int = 128) -> Tensor:
    """Penultimate activations (N, D) of a `Classifier`."""
    model.eval()
    with torch.inference_mode():
        return torch.cat(
            [model.embed(features[i : i + batch_size]) for i in range(0, len(features), batch_size)]  # type: ignore[operator]
        )


def classification_metrics(logits: Tensor, labels: Tensor, n_classes: int) -> dict[str, Any]:
    """Accuracy and macro-F1 in percent, and the confusion matrix (rows = true class)."""
    predicted = logits.argmax(dim=1).numpy()
    truth = labels.numpy()
    classes = list(range(n_classes))
    return {
        "n": len(truth),
        "accuracy": round(100.0 * float((predicted == truth).mean()), 2),
        "macro_f1": round(
            100.0
            * float(f1_score(truth, predicted, labels=classes, average="macro", zero_division=0)),
            2,
        ),
        "confusion": confusion_matrix(truth, predicted, labels=classes).tolist(),
    }


def roc_auc(scores: Sequence[float], positive: Sequence[bool]) -> float:
    """Area under the ROC curve: the chance that a random positive scores above a random
    negative, ties counting half (the Mann-Whitney U statistic over n_pos * n_neg)."""
    pos = np.asarray([s for s, p in zip(scores, positive, strict=True) if p], dtype=np.float64)
    neg = np.asarray([s for s, p in zip(scores, positive, strict=True) if not p], dtype=np.float64)
    if pos.size == 0 or neg.size == 0:
        raise ValueError("AUC needs at least one positive and one negative")
    ranks = rankdata(np.concatenate([pos, neg]))  # average ranks for ties
    u = float(ranks[: pos.size].sum()) - pos.size * (pos.size + 1) / 2.0
    return u / (pos.size * neg.size)


def recall_at_false_alarm(
    scores: Sequence[float], positive: Sequence[bool], false_alarm_rate: float
) -> float:
    """The share of positives found at the lowest threshold whose false-alarm rate on the
    negatives (the share scoring at or above it) is at most `false_alarm_rate`."""
    pos = np.asarray([s for s, p in zip(scores, positive, strict=True) if p], dtype=np.float64)
    neg = np.sort(
        np.asarray([s for s, p in zip(scores, positive, strict=True) if not p], dtype=np.float64)
    )[::-1]
    if pos.size == 0 or neg.size == 0:
        raise ValueError("recall at a false-alarm rate needs positives and negatives")
    allowed = int(np.floor(false_alarm_rate * neg.size + 1e-9))  # negatives that may pass
    # Threshold just above the (allowed+1)-th highest negative: at most `allowed` pass.
    threshold = neg[allowed] if allowed < neg.size else -np.inf
    return float((pos > threshold).mean())
