"""Batched prediction and the classification metrics the reports use."""

from __future__ import annotations

from typing import Any

import torch
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
