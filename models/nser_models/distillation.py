"""Response-based knowledge distillation (Hinton et al. 2015; paper, section III-B).

    L = (1 - alpha) * CE(s, y) + alpha * T^2 * KL(softmax(t / T) || softmax(s / T))

The T^2 factor keeps the distillation gradients on the same scale as the label gradients when T
changes. The two parts are returned separately so training can log them separately.
"""

from typing import NamedTuple

import torch.nn.functional as F
from torch import Tensor


class DistillationLoss(NamedTuple):
    total: Tensor
    label: Tensor  # cross-entropy against the true labels
    distill: Tensor  # T^2 * KL(teacher || student), batch mean


def distillation_loss(
    student_logits: Tensor,  # (B, C)
    teacher_logits: Tensor,  # (B, C), from a frozen teacher
    labels: Tensor,  # (B,) class indices
    alpha: float,
    temperature: float,
) -> DistillationLoss:
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    label = F.cross_entropy(student_logits, labels)
    distill = (
        F.kl_div(
            F.log_softmax(student_logits / temperature, dim=-1),
            F.log_softmax(teacher_logits.detach() / temperature, dim=-1),
            log_target=True,
            reduction="batchmean",
        )
        * temperature**2
    )
    return DistillationLoss((1.0 - alpha) * label + alpha * distill, label, distill)
