import math

import pytest
import torch

from nser_models.distillation import distillation_loss


def _softmax(values: list[float]) -> list[float]:
    exps = [math.exp(v) for v in values]
    return [e / sum(exps) for e in exps]


def test_distillation_loss_matches_hand_computation() -> None:
    student = [[2.0, -1.0], [0.5, 0.3]]
    teacher = [[1.0, 0.0], [-0.5, 1.5]]
    labels = [0, 1]
    alpha, t = 0.3, 2.0

    ce = -sum(math.log(_softmax(s)[y]) for s, y in zip(student, labels, strict=True)) / 2
    kl = 0.0
    for s, te in zip(student, teacher, strict=True):
        p = _softmax([v / t for v in te])
        q = _softmax([v / t for v in s])
        kl += sum(pi * math.log(pi / qi) for pi, qi in zip(p, q, strict=True))
    kl = kl / 2 * t**2
    expected = (1 - alpha) * ce + alpha * kl

    loss = distillation_loss(
        torch.tensor(student), torch.tensor(teacher), torch.tensor(labels), alpha, t
    )
    assert float(loss.label) == pytest.approx(ce, rel=1e-6)
    assert float(loss.distill) == pytest.approx(kl, rel=1e-6)
    assert float(loss.total) == pytest.approx(expected, rel=1e-6)


def test_distillation_term_vanishes_when_student_matches_teacher() -> None:
    logits = torch.tensor([[1.0, -2.0], [0.2, 0.1]])
    loss = distillation_loss(logits, logits.clone(), torch.tensor([0, 1]), 0.5, 4.0)
    assert float(loss.distill) == pytest.approx(0.0, abs=1e-7)


def test_distillation_gradient_does_not_reach_the_teacher() -> None:
    student = torch.randn(4, 2, requires_grad=True)
    teacher = torch.randn(4, 2, requires_grad=True)
    distillation_loss(student, teacher, torch.tensor([0, 1, 0, 1]), 0.5, 4.0).total.backward()
    assert student.grad is not None
    assert teacher.grad is None


@pytest.mark.parametrize(("alpha", "temperature"), [(-0.1, 4.0), (1.5, 4.0), (0.5, 0.0)])
def test_distillation_rejects_bad_hyperparameters(alpha: float, temperature: float) -> None:
    with pytest.raises(ValueError, match=r"alpha|temperature"):
        distillation_loss(
            torch.zeros(1, 2), torch.zeros(1, 2), torch.tensor([0]), alpha, temperature
        )
