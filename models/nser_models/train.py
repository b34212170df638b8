"""`nser train`: the teacher and baseline by cross-entropy, then the student by distillation.

    nser train --data synthetic:data/corpus --task all --out runs/synthetic

For each task, on a speaker-disjoint split: the teacher (ResNet18) and the baseline
(MobileNetV3-small) are trained with cross-entropy; the teacher is then frozen and the student
is trained with the distillation loss (see distillation.py). Adam with the paper's betas and
eps, batch 64, augmentation, early stopping on the validation loss. Each model is saved as a
self-describing checkpoint `<out>/<task>-<model>.pt`, with its held-out test metrics.

Why one module: the three models share one training loop, one data preparation and one checkpoint
format; the loss is distillation.py.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm

from nser_models.architectures import (
    MODEL_REGISTRY,
    Classifier,
    ModelArgs,
    build_model,
    model_spec,
)
from nser_models.augment import AugmentConfig, augment_batch
from nser_models.checkpoint import (
    Checkpoint,
    checkpoint_filename,
    load_checkpoint,
    save_checkpoint,
    write_manifest,
)
from nser_models.data.mixtures import MixConfig
from nser_models.data.sources import load_source
from nser_models.distillation import distillation_loss
from nser_models.featureset import FeatureSet
from nser_models.metrics import classification_metrics, predict_logits
from nser_models.task_data import TaskData, prepare_task_data
from nser_shared.errors import NserError
from nser_shared.frontend.features import DEFAULT_FEATURE_CONFIG, FeatureConfig
from nser_shared.provenance import sha256_file
from nser_shared.wire.labels import TASK_CLASSES, Task

log = logging.getLogger(__name__)

STUDENT = "student"
TEACHER = "teacher"
PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 60
    batch_size: int = 64  # paper
    lr: float = 1e-3  # paper: 1e-5 on a GPU; 1e-3 converges in the epochs a CPU affords
    betas: tuple[float, float] = (0.9, 0.9999)  # paper
    eps: float = 1e-8  # paper
    patience: int = 12  # epochs without a better validation loss before stopping
    alpha: float = 0.5  # weight of the distillation term
    temperature: float = 4.0
    teacher_logits: str = "cached"  # "cached": once, on clean features; "online": per batch
    augment: bool = True
    augmentation: AugmentConfig = field(default_factory=AugmentConfig)  # used when `augment`
    # Scene-like windows per training clip (data/mixtures.py); 0, the shipped models' recipe,
    # trains on the clips alone. docs/ml-core.md ("Scene windows") measures what 1 does.
    scene_mix: int = 0
    # "best": the weights of the epoch with the lowest validation loss, stopping after
    # `patience` epochs without a better one; "last": every epoch runs and the last weights are
    # kept (for a validation set too small or too unlike the test to pick an epoch by).
    keep: str = "best"
    seed: int = 0
    split_seed: int = 0
    # "bf16": the forward pass under bfloat16 autocast (the loss and the weights stay float32).
    # On this 2-core Xeon (AVX512-BF16) a ResNet18 teacher's training step took half the time
    # (stop 29: 3.0 -> 1.45 s a batch of 32, one thread); the small students gained nothing.
    precision: str = "fp32"

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise NserError(f"precision {self.precision!r}: one of {', '.join(PRECISIONS)}")


@dataclass
class FitResult:
    state_dict: dict[str, Tensor]
    best_epoch: int
    epochs_run: int
    history: list[dict[str, float]]
    seconds: float


def fit(
    model: Classifier,
    data: TaskData,
    config: TrainConfig,
    teacher: Classifier | None = None,
    desc: str = "",
    teacher_logits: Tensor | None = None,
) -> FitResult:
    """Train `model` on data.train, early-stopping on the validation cross-entropy.

    With a `teacher`, or the `teacher_logits` of every training window (a teacher that does not
    read these features, such as the YAMNet probe of yamnet.py), the loss is the distillation
    loss; otherwise plain cross-entropy. Batches
    are drawn and augmented on the CPU and trained on the device `model` is on (the teacher must
    be on the same one); the returned weights are on the CPU.
    """
    device = next(model.parameters()).device
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    optimiser = torch.optim.Adam(
        model.parameters(), lr=config.lr, betas=config.betas, eps=config.eps
    )
    train = data.train
    if teacher_logits is not None and teacher_logits.shape[0] != len(train):
        raise ValueError(f"{teacher_logits.shape[0]} teacher logits for {len(train)} windows")
    cached_teacher = (
        teacher_logits
        if teacher_logits is not None
        else predict_logits(teacher, train.features)
        if teacher is not None and config.teacher_logits == "cached"
        else None
    )
    best_loss, best_epoch, best_state = float("inf"), 0, _copy_state(model)
    history: list[dict[str, float]] = []
    start = time.perf_counter()
    epoch = 0
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = torch.randperm(len(train), generator=generator)
        sums = {"label": 0.0, "distill": 0.0}
        batches = range(0, len(train), config.batch_size)
        bar = tqdm(batches, desc=f"{desc} epoch {epoch}", leave=False, disable=None)
        for i in bar:
            idx = order[i : i + config.batch_size]
            x, y = train.features[idx], train.labels[idx]  # (B, 1, 128, 188), (B,)
            if config.augment:
                x = augment_batch(x, config.augmentation, generator)
            x, y = x.to(device), y.to(device)
            with torch.autocast(
                device.type, dtype=torch.bfloat16, enabled=config.precision == "bf16"
            ):
                logits = model(x)
            logits = logits.float()
            t_logits = (
                cached_teacher[idx].to(device)
                if cached_teacher is not None
                else _no_grad(teacher, x)
                if teacher is not None
                else None
            )
            if t_logits is None:
                loss = label_loss = F.cross_entropy(logits, y)
                distill = torch.zeros(())
            else:
                loss, label_loss, distill = distillation_loss(
                    logits, t_logits, y, config.alpha, config.temperature
                )
            optimiser.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimiser.step()
            sums["label"] += float(label_loss.detach()) * len(idx)
            sums["distill"] += float(distill.detach()) * len(idx)
            bar.set_postfix(
                label=f"{float(label_loss.detach()):.3f}", distill=f"{float(distill.detach()):.3f}"
            )
        val = _validation(model, data.val)
        row = {
            "epoch": epoch,
            "train_label_loss": sums["label"] / len(train),
            "train_distill_loss": sums["distill"] / len(train),
            **val,
        }
        history.append(row)
        log.info(
            "%s epoch %d: label loss %.4f, distill loss %.4f, val loss %.4f, val acc %.1f%%",
            desc,
            epoch,
            row["train_label_loss"],
            row["train_distill_loss"],
            val["val_loss"],
            val["val_accuracy"],
        )
        if config.keep == "last":
            best_epoch, best_state = epoch, _copy_state(model)
        elif val["val_loss"] < best_loss:
            best_loss, best_epoch, best_state = val["val_loss"], epoch, _copy_state(model)
        elif epoch - best_epoch >= config.patience:
            log.info("%s: early stop, best epoch %d", desc, best_epoch)
            break
    return FitResult(best_state, best_epoch, epoch, history, time.perf_counter() - start)


def _validation(model: nn.Module, val: FeatureSet) -> dict[str, float]:
    logits = predict_logits(model, val.features)
    return {
        "val_loss": float(F.cross_entropy(logits, val.labels)),
        "val_accuracy": 100.0 * float((logits.argmax(1) == val.labels).float().mean()),
    }


def _no_grad(model: nn.Module, x: Tensor) -> Tensor:
    model.eval()
    with torch.no_grad():
        return model(x)  # type: ignore[no-any-return]


def _copy_state(model: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def train_model(
    model_name: str,
    data: TaskData,
    features: FeatureConfig,
    config: TrainConfig,
    out_dir: Path,
    teacher: Classifier | None = None,
    source: str = "",
    init_dir: Path | None = None,
    device: str = "cpu",
    recipe: dict[str, Any] | None = None,
    teacher_logits: Tensor | None = None,
) -> Path:
    """Train one model on `device`, evaluate it on the held-out speakers, save its checkpoint.

    `recipe`, when given, is recorded in the checkpoint's train_config as how the data were made
    (the real-audio recipe of train_real.py).

    With `init_dir`, training starts from that folder's checkpoint of the same task and model
    (fine-tuning) instead of fresh weights; the checkpoint records which file it started from.
    """
    torch.manual_seed(config.seed)  # the initial weights depend on the seed alone
    model = build_model(model_name, ModelArgs(n_classes=len(TASK_CLASSES[data.task])))
    init: dict[str, Any] | None = None
    if init_dir is not None:
        init_path = init_dir / checkpoint_filename(data.task, model_name)
        start = load_checkpoint(init_path, features)
        if start.model_name != model_name or start.task is not data.task:
            raise NserError(
                f"{init_path} holds {start.task.value}/{start.model_name}, "
                f"not {data.task.value}/{model_name}"
            )
        model.load_state_dict(start.state_dict)
        init = {
            "file": str(init_path),
            "sha256": sha256_file(init_path),
            "train_config": start.train_config,
        }
    model.to(device)
    if teacher is not None:
        teacher.to(device)
    result = fit(model, data, config, teacher, f"{data.task.value}/{model_name}", teacher_logits)
    model.load_state_dict(result.state_dict)
    test = classification_metrics(
        predict_logits(model, data.test.features), data.test.labels, len(TASK_CLASSES[data.task])
    )
    log.info(
        "%s/%s: test accuracy %.2f%%, macro-F1 %.2f%%",
        data.task.value,
        model_name,
        test["accuracy"],
        test["macro_f1"],
    )
    metrics: dict[str, Any] = {
        "test": test,
        "best_epoch": result.best_epoch,
        "epochs_run": result.epochs_run,
        "train_seconds": round(result.seconds, 1),
        "history": result.history,
        "sizes": {"train": len(data.train), "val": len(data.val), "test": len(data.test)},
    }
    train_config = {
        **asdict(config),
        "loss": "distillation"
        if teacher is not None or teacher_logits is not None
        else "cross_entropy",
        "source": source,
        "init": init,
        "device": device,
        "speakers": data.speakers,
        **({"recipe": recipe} if recipe is not None else {}),
    }
    path = out_dir / checkpoint_filename(data.task, model_name)
    save_checkpoint(
        path,
        Checkpoint(
            model_name=model_name,
            model_args=ModelArgs(n_classes=len(TASK_CLASSES[data.task])),
            task=data.task,
            feature_config=features,
            state_dict=result.state_dict,
            train_config=train_config,
            metrics=metrics,
            dataset_fingerprint=data.fingerprint,
        ),
    )
    log.info("saved %s", path)
    return path


def train_task(
    task: Task,
    source: str,
    models: list[str],
    out_dir: Path,
    features: FeatureConfig,
    config: TrainConfig,
    teacher_path: Path | None = None,
    init_dir: Path | None = None,
    device: str = "cpu",
) -> list[Path]:
    records = load_source(source)
    mix = MixConfig(per_clip=config.scene_mix, seed=config.seed) if config.scene_mix else None
    data = prepare_task_data(records, task, features, split_seed=config.split_seed, mix=mix)
    log.info(
        "task %s: %d train / %d val / %d test clips; test speakers %s",
        task.value,
        len(data.train),
        len(data.val),
        len(data.test),
        ", ".join(data.speakers["test"]),
    )
    paths = []
    # The teacher goes first: the student learns from it.
    for name in sorted(models, key=lambda m: (m != TEACHER, model_spec(m).distilled)):
        teacher = None
        if model_spec(name).distilled:
            teacher_file = teacher_path or out_dir / checkpoint_filename(task, TEACHER)
            if not teacher_file.is_file():
                raise NserError(
                    f"the student needs a trained teacher: {teacher_file} does not exist "
                    "(train 'teacher' in the same run or pass --teacher)"
                )
            teacher = load_checkpoint(teacher_file, features).build()
            for p in teacher.parameters():
                p.requires_grad_(False)
        paths.append(
            train_model(name, data, features, config, out_dir, teacher, source, init_dir, device)
        )
    return paths


QUICK = TrainConfig(epochs=2, patience=2)


def add_task_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--task",
        default="all",
        choices=[*(t.value for t in Task), "all"],
        help="which task's models to train",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    parser.add_argument(
        "--data", required=True, help="data source: synthetic:DIR, asvp-esd:DIR or vivae:DIR"
    )
    add_task_argument(parser)
    parser.add_argument(
        "--models",
        default=",".join(MODEL_REGISTRY),
        help="comma-separated models to train (default: all)",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for the checkpoints")
    parser.add_argument("--teacher", type=Path, help="teacher checkpoint for the student")
    parser.add_argument(
        "--init",
        type=Path,
        help="fine-tune: start each model from this folder's checkpoint of it (e.g. "
        "models/checkpoints) instead of fresh weights",
    )
    parser.add_argument("--epochs", type=int, default=d.epochs, help="most epochs per model")
    parser.add_argument(
        "--batch-size", type=int, default=d.batch_size, help="windows per training batch"
    )
    parser.add_argument("--lr", type=float, default=d.lr, help="Adam learning rate")
    parser.add_argument(
        "--patience",
        type=int,
        default=d.patience,
        help="epochs without a better validation loss before stopping",
    )
    parser.add_argument(
        "--alpha",
        type=float,
        default=d.alpha,
        help="weight of the distillation term in a student's loss",
    )
    parser.add_argument(
        "--temperature", type=float, default=d.temperature, help="distillation temperature"
    )
    parser.add_argument(
        "--teacher-logits",
        choices=["cached", "online"],
        default=d.teacher_logits,
        help="teacher logits once on clean features, or per augmented batch",
    )
    parser.add_argument(
        "--no-augment", action="store_true", help="train without the paper's augmentation"
    )
    parser.add_argument(
        "--scene-mix",
        type=int,
        default=d.scene_mix,
        help="scene-like windows (clip in background noise, cut by the window) per training "
        "and validation clip; 0 trains on the clips alone",
    )
    parser.add_argument(
        "--seed", type=int, default=d.seed, help="seed of the weights, batches and augmentation"
    )
    parser.add_argument(
        "--split-seed", type=int, default=d.split_seed, help="seed of the speaker-disjoint split"
    )
    parser.add_argument("--denoise", action="store_true", help="noise mitigation in the front end")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="PyTorch threads")
    add_device_argument(parser)
    add_precision_argument(parser)
    parser.add_argument("--quick", action="store_true", help="2 epochs: a smoke test, not a model")


def add_precision_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=TrainConfig.precision,
        help="bf16: forward passes under bfloat16 autocast (about 2x faster for the ResNet18 "
        "teacher on a CPU with AVX512-BF16); fp32: as the shipped models were trained",
    )


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device",
        default="cpu",
        help="where to train: cpu, or a CUDA device such as cuda or cuda:0 (batches are still "
        "augmented on the CPU)",
    )


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    if args.quick:
        return replace(
            QUICK,
            seed=args.seed,
            split_seed=args.split_seed,
            scene_mix=max(0, args.scene_mix),
            precision=args.precision,
        )
    problems = [
        f"--{name} must be positive"
        for name in ("epochs", "batch_size", "lr", "patience", "temperature")
        if getattr(args, name) <= 0
    ]
    if args.scene_mix < 0:
        problems.append("--scene-mix must be >= 0")
    if not 0.0 <= args.alpha <= 1.0:
        problems.append("--alpha must be in [0, 1]")
    if problems:
        raise NserError("; ".join(problems))
    return TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        patience=args.patience,
        alpha=args.alpha,
        temperature=args.temperature,
        teacher_logits=args.teacher_logits,
        augment=not args.no_augment,
        scene_mix=args.scene_mix,
        seed=args.seed,
        split_seed=args.split_seed,
        precision=args.precision,
    )


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODEL_REGISTRY]
    if unknown or not models:
        raise NserError(f"unknown models {unknown}; registered: {', '.join(MODEL_REGISTRY)}")
    if args.threads < 1:
        raise NserError("--threads must be at least 1")
    if args.init is not None and not args.init.is_dir():
        raise NserError(f"--init folder not found: {args.init}")
    device = training_device(args.device)
    torch.set_num_threads(args.threads)
    features = DEFAULT_FEATURE_CONFIG.with_denoise(args.denoise)
    tasks = list(Task) if args.task == "all" else [Task(args.task)]
    for task in tasks:
        train_task(
            task, args.data, models, args.out, features, config, args.teacher, args.init, device
        )
    write_manifest(args.out)
    return 0


def training_device(name: str) -> str:
    """`name` checked: "cpu", or a CUDA device this machine has."""
    wrong = NserError(f"--device must be cpu or a CUDA device (cuda, cuda:N), got {name!r}")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise wrong from None
    if device.type == "cpu":
        return "cpu"
    if device.type != "cuda":
        raise wrong
    if not torch.cuda.is_available():
        raise NserError(f"--device {name}: this machine has no CUDA device (torch sees none)")
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise NserError(
            f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s)"
        )
    return str(device)
