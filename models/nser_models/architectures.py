"""The paper's three models and our time-pooled student, registered by name.

Every model maps a mel batch (B, 1, 128, 188) to logits (B, n_classes) and exposes `embed(x)`,
the penultimate activations (used for the t-SNE figure). Models are rebuilt from
(`name`, `ModelArgs`) alone, which is what a checkpoint stores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import NamedTuple

import torch
import torchvision
from torch import Tensor, nn

from nser_shared.errors import UnknownModelError
from nser_shared.frontend.features import DEFAULT_FEATURE_CONFIG


@dataclass(frozen=True)
class ModelArgs:
    n_classes: int = 2
    in_channels: int = 1
    n_mels: int = DEFAULT_FEATURE_CONFIG.n_mels
    n_frames: int = DEFAULT_FEATURE_CONFIG.n_frames

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


class Classifier(nn.Module):
    """`backbone` maps input to the penultimate embedding; `head` maps it to logits."""

    def __init__(self, backbone: nn.Module, head: nn.Linear) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head

    def embed(self, x: Tensor) -> Tensor:
        return self.backbone(x)  # type: ignore[no-any-return]

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.embed(x))  # type: ignore[no-any-return]


def _student_convs(in_channels: int, batch_norm: bool) -> list[nn.Module]:
    """The paper's student convolutions (Fig. 6): 7x7/6, 5x5/16, 5x5/32, unpadded, each
    followed by (batch norm,) ReLU, 2x2 max-pool and dropout 0.1."""
    layers: list[nn.Module] = []
    for c_in, c_out, kernel in ((in_channels, 6, 7), (6, 16, 5), (16, 32, 5)):
        layers.append(nn.Conv2d(c_in, c_out, kernel))
        if batch_norm:
            layers.append(nn.BatchNorm2d(c_out))
        layers += [nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.1)]
    return layers


def _student_dense(features: nn.Sequential, args: ModelArgs) -> Classifier:
    """The paper's dense layers after `features`: 128 and 64 with ReLU and dropout 0.1, then
    the class layer; the first layer's width follows from what `features` makes of the input."""
    with torch.no_grad():
        flat = features(torch.zeros(1, args.in_channels, args.n_mels, args.n_frames)).shape[1]
    backbone = nn.Sequential(
        features,
        nn.Linear(flat, 128),
        nn.ReLU(),
        nn.Dropout(0.1),
        nn.Linear(128, 64),
        nn.ReLU(),
        nn.Dropout(0.1),
    )
    return Classifier(backbone, nn.Linear(64, args.n_classes))


def build_student(args: ModelArgs) -> Classifier:
    """The paper's student: three conv blocks and three dense layers (paper, Fig. 6).

    The last feature map is flattened into the dense layers. Convolutions are unpadded
    ("valid"), so the flattened size follows from the input: 32 x 12 x 19 = 7,296 for 128 x 188.
    """
    features = nn.Sequential(*_student_convs(args.in_channels, batch_norm=False), nn.Flatten())
    return _student_dense(features, args)


class TimePool(nn.Module):
    """(B, C, F, T) -> (B, C * F * 2): the mean and the maximum of every channel and band over
    time, so what follows sees what sounded, not where in the window it sounded."""

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([x.mean(dim=3), x.amax(dim=3)], dim=1).flatten(1)


def build_pooled_student(args: ModelArgs) -> Classifier:
    """The paper's student with two changes (beyond the paper): batch norm after each
    convolution, and the last feature map pooled over time (`TimePool`: 32 x 12 x 2 = 768
    values) instead of flattened. A flattened map ties what the dense layers learn about a cry
    to where in the window the cry sat; a device's window cuts a cry anywhere
    (docs/ml-core.md, "Real audio")."""
    features = nn.Sequential(*_student_convs(args.in_channels, batch_norm=True), TimePool())
    return _student_dense(features, args)


def build_teacher(args: ModelArgs) -> Classifier:
    """torchvision ResNet18 with a one-channel stem; embedding = 512-d pooled features."""
    net = torchvision.models.resnet18(weights=None)
    net.conv1 = nn.Conv2d(args.in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    net.fc = nn.Identity()
    return Classifier(net, nn.Linear(512, args.n_classes))


def build_mobilenetv3s(args: ModelArgs) -> Classifier:
    """torchvision MobileNetV3-small with a one-channel stem; embedding = 1024-d pre-logits."""
    net = torchvision.models.mobilenet_v3_small(weights=None)
    stem = net.features[0][0]
    net.features[0][0] = nn.Conv2d(
        args.in_channels,
        stem.out_channels,
        kernel_size=stem.kernel_size,
        stride=stem.stride,
        padding=stem.padding,
        bias=False,
    )
    # torchvision's BatchNorm momentum of 0.01 suits ImageNet's ~100k steps per epoch; with a
    # few hundred steps the running statistics stay near their initial values and the model
    # predicts one class in eval mode. 0.1 (PyTorch's default, as in ResNet18) tracks them.
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum = 0.1
    last = net.classifier[-1]
    net.classifier[-1] = nn.Identity()
    return Classifier(net, nn.Linear(last.in_features, args.n_classes))


class PaperFigures(NamedTuple):
    params: int
    size_mb: float  # float32, MiB
    note: str  # why our count differs


class ModelSpec(NamedTuple):
    name: str
    role: str
    build: Callable[[ModelArgs], Classifier]
    paper: PaperFigures | None  # None: a model beyond the paper
    distilled: bool = False  # trained by distillation from the task's teacher


MODEL_REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "student",
            "student (proposed)",
            build_student,
            PaperFigures(
                712_778,
                2.719,
                "The paper's count is reproduced only by a 3-channel input whose features "
                "flatten to 32 x 168 = 5,376 (a resized image); the true 1 x 128 x 188 mel "
                "flattens to 32 x 12 x 19 = 7,296, so the first dense layer is larger.",
            ),
            distilled=True,
        ),
        ModelSpec(
            "pooled-student",
            "student pooled over time (beyond the paper)",
            build_pooled_student,
            None,
            distilled=True,
        ),
        ModelSpec(
            "teacher",
            "teacher",
            build_teacher,
            PaperFigures(
                11_177_616,
                42.676,
                "torchvision's ResNet18 with 2 classes has 11,177,538 parameters (3-channel "
                "stem); the one-channel stem removes 2 x 64 x 7 x 7 = 6,272. The paper's extra "
                "78 are not explained there.",
            ),
        ),
        ModelSpec(
            "mobilenetv3s",
            "baseline: MobileNetV3-small",
            build_mobilenetv3s,
            PaperFigures(
                1_519_906,
                5.844,
                "Exactly torchvision's mobilenet_v3_small(num_classes=2) in the paper; the "
                "one-channel stem removes 2 x 16 x 3 x 3 = 288.",
            ),
        ),
    )
}


def model_spec(name: str) -> ModelSpec:
    try:
        return MODEL_REGISTRY[name]
    except KeyError:
        raise UnknownModelError(
            f"unknown model {name!r}; registered: {', '.join(MODEL_REGISTRY)}"
        ) from None


def build_model(name: str, args: ModelArgs | None = None) -> Classifier:
    return model_spec(name).build(args or ModelArgs())


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def float32_size_mb(model: nn.Module) -> float:
    """Size of the parameters stored as float32, in MiB (the paper's convention)."""
    return count_parameters(model) * 4 / 2**20
