"""`nser classify PATH...`: the models on your own recordings, window by window.

Each file is read with soundfile (any rate, any number of channels, any length), mixed down to
mono, resampled to the feature configuration's rate (16 kHz) and framed the way the sensing
devices frame audio: 3 s windows (`FeatureConfig.clip_seconds`) every `WINDOW_HOP_S` (1 s).

Framing rule: windows start at k * hop (0, 1, 2, ... s) for every k >= 0 with
k * hop < duration - 3 s + hop, that is until a window reaches the end of the file; a file
always gives at least one window. A window that runs past the end (the last one, or the only one
of a file shorter than 3 s) is zero-padded by the front end. So 7 s gives windows at 0-4 s,
7.5 s gives 0-5 s (the one at 5 s padded) and 1 s gives one window at 0 s. `duration` is the
number of samples after resampling over 16 kHz. (The devices drop a trailing partial window
instead: a recording is finite, and its end should be heard.)

Each window goes through `MelFrontEnd` and both tasks' models: the detection model gives
P(scream) and the type model P(negative), the softmax probability of class index 1 of each task
(`TASK_CLASSES`). The most alarming window of a file is the one with the largest
p_scream * p_negative (the first such window on a tie): the probability that it holds a scream
and that the scream is negative, were the two independent.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import torch
import torchaudio
from torch import Tensor

from nser_models.architectures import MODEL_REGISTRY, Classifier, model_spec
from nser_models.checkpoint import SHIPPED_DIR, load_checkpoint, shipped_checkpoint
from nser_models.served import SERVED_MODEL
from nser_shared.errors import CheckpointError, InvalidAudioError, NserError
from nser_shared.frontend.audio import read_audio
from nser_shared.frontend.features import (
    DEFAULT_FEATURE_CONFIG,
    SUPPORTED_SAMPLE_RATES,
    WINDOW_HOP_S,
    FeatureConfig,
    MelFrontEnd,
    require_same_config,
    validate_waveform,
)
from nser_shared.wire.labels import SCREAM, TASK_CLASSES, Task, Valence

BATCH_WINDOWS = 64  # windows per forward pass: bounds memory on long recordings
CSV_HEADER = ("path", "window_start_s", "p_scream", "p_negative")

# The alerting class (index 1) of each task, looked up rather than assumed.
SCREAM_COLUMN = TASK_CLASSES[Task.DETECTION].index(SCREAM)
NEGATIVE = TASK_CLASSES[Task.TYPE].index(Valence.NEGATIVE.value)


@dataclass(frozen=True)
class WindowScore:
    """One window of a file and what the two models say about it."""

    path: Path
    start_s: float  # offset of the window's first sample in the file
    p_scream: float  # detection model: P(scream)
    p_negative: float  # type model: P(negative), whether or not it is a scream

    @property
    def alarm(self) -> float:
        """p_scream * p_negative: what "most alarming" ranks windows by."""
        return self.p_scream * self.p_negative


@dataclass(frozen=True)
class CascadeModels:
    """The detection and type networks of one registered model, and the features they read."""

    name: str
    detection: Classifier
    valence: Classifier  # the TYPE task: positive vs negative scream
    features: FeatureConfig


def load_models(
    name: str = SERVED_MODEL,
    directory: Path = SHIPPED_DIR,
    features: FeatureConfig = DEFAULT_FEATURE_CONFIG,
) -> CascadeModels:
    """Both tasks' checkpoints of model `name` from `directory`, refused unless they were made
    with `features` (FeatureConfigMismatchError) and hold that model and task (CheckpointError).
    """
    model_spec(name)  # UnknownModelError naming the registered ones
    networks: dict[Task, Classifier] = {}
    for task in (Task.DETECTION, Task.TYPE):
        path = shipped_checkpoint(task, name, directory)
        ckpt = load_checkpoint(path, features)
        if ckpt.task is not task or ckpt.model_name != name:
            raise CheckpointError(
                f"{path} holds {ckpt.model_name} for task {ckpt.task.value}, "
                f"expected {name} for task {task.value}"
            )
        networks[task] = ckpt.build()
    return CascadeModels(name, networks[Task.DETECTION], networks[Task.TYPE], features)


def window_offsets(n_samples: int, window: int, hop: int) -> list[int]:
    """Sample offsets of the windows over `n_samples` samples (the module docstring's rule)."""
    offsets = [0]
    while offsets[-1] + hop < n_samples - window + hop:
        offsets.append(offsets[-1] + hop)
    return offsets


def read_mono(path: Path, front_end: MelFrontEnd) -> Tensor:
    """The file as mono float32 at the front end's rate; InvalidAudioError naming the file."""
    if not path.exists():
        raise InvalidAudioError(f"{path}: no such file")
    if not path.is_file():
        raise InvalidAudioError(f"{path}: not a file")
    waveform, rate = read_audio(path)  # its errors name the file
    target = front_end.config.sample_rate
    try:  # empty, NaN/Inf, too many channels; an unsupported rate is resampled below instead
        validate_waveform(waveform, rate if rate in SUPPORTED_SAMPLE_RATES else target)
    except InvalidAudioError as exc:
        raise InvalidAudioError(f"{path}: {exc}") from None
    mono = MelFrontEnd.to_mono(waveform)
    if rate == target:
        return mono
    if rate in SUPPORTED_SAMPLE_RATES:
        return front_end.resample(mono, rate)  # the front end's own (cached) resampler
    resampled: Tensor = torchaudio.functional.resample(mono, rate, target)
    return resampled


def _probabilities(model: Classifier, batch: Tensor, index: int) -> list[float]:
    probabilities: list[float] = model(batch).softmax(dim=1)[:, index].tolist()
    return probabilities


def classify_file(path: Path, models: CascadeModels, front_end: MelFrontEnd) -> list[WindowScore]:
    """Every window of the file at `path`, in order, with P(scream) and P(negative).

    Raises InvalidAudioError naming the file when it is missing, not audio, empty or has NaN or
    infinite samples.
    """
    config = front_end.config
    require_same_config(models.features, config.id, "the front end")
    audio = read_mono(path, front_end)
    hop = round(WINDOW_HOP_S * config.sample_rate)
    offsets = window_offsets(audio.shape[-1], config.n_samples, hop)
    scores: list[WindowScore] = []
    with torch.inference_mode():
        for first in range(0, len(offsets), BATCH_WINDOWS):
            starts = offsets[first : first + BATCH_WINDOWS]
            batch = torch.stack(
                [front_end(audio[s : s + config.n_samples], config.sample_rate) for s in starts]
            )  # (B, 1, n_mels, n_frames)
            p_scream = _probabilities(models.detection, batch, SCREAM_COLUMN)
            p_negative = _probabilities(models.valence, batch, NEGATIVE)
            scores.extend(
                WindowScore(path, s / config.sample_rate, ps, pn)
                for s, ps, pn in zip(starts, p_scream, p_negative, strict=True)
            )
    return scores


def most_alarming(scores: Sequence[WindowScore]) -> WindowScore:
    """The window with the largest p_scream * p_negative (the first on a tie)."""
    return max(scores, key=lambda score: score.alarm)


def _formatted(score: WindowScore) -> tuple[str, str, str]:
    """Start (1 decimal), p_scream and p_negative (4 decimals), as the table and CSV print them."""
    return f"{score.start_s:.1f}", f"{score.p_scream:.4f}", f"{score.p_negative:.4f}"


class _Table:
    """The stdout table: a row per window, then the file's most alarming window."""

    def __init__(self, paths: Sequence[Path], out: TextIO) -> None:
        self.width = max(len("path"), *(len(str(p)) for p in paths))
        self.out = out

    def row(self, path: str, kind: str, start: str, p_scream: str, p_negative: str) -> None:
        line = f"{path:<{self.width}}  {kind:<13}{start:>9}{p_scream:>10}{p_negative:>12}"
        print(line, file=self.out)

    def header(self) -> None:
        self.row("path", "row", "start_s", "p_scream", "p_negative")

    def file(self, scores: Sequence[WindowScore]) -> None:
        for score in scores:
            self.row(str(score.path), "window", *_formatted(score))
        top = most_alarming(scores)
        self.row(str(top.path), "most alarming", *_formatted(top))


def _csv_rows(scores: Sequence[WindowScore]) -> Iterator[tuple[str, ...]]:
    for score in scores:
        yield (str(score.path), *_formatted(score))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "Classify audio files window by window: 3 s windows every 1 s (as the devices frame "
        "audio; the last window reaches the end of the file, zero-padded), each scored with "
        "P(scream) by the detection model and P(negative) by the type model. Per file, the "
        "most alarming window is the one with the largest p_scream * p_negative."
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="audio files")
    parser.add_argument(
        "--model",
        choices=list(MODEL_REGISTRY),
        default=SERVED_MODEL,
        help=f"which model's detection and type checkpoints to use (default: {SERVED_MODEL}, "
        "the one the MEC serves)",
    )
    parser.add_argument(
        "--checkpoints",
        type=Path,
        default=SHIPPED_DIR,
        help="folder of <task>-<model>.pt checkpoints (default: the shipped ones)",
    )
    parser.add_argument(
        "--csv",
        type=Path,
        metavar="FILE",
        help="also write path,window_start_s,p_scream,p_negative, one row per window",
    )


def run(args: argparse.Namespace) -> int:
    models = load_models(args.model, args.checkpoints)
    front_end = MelFrontEnd(models.features)
    table = _Table(args.paths, sys.stdout)
    failed = 0
    with ExitStack() as stack:
        writer = None
        if args.csv is not None:
            try:
                handle = stack.enter_context(args.csv.open("w", newline=""))
            except OSError as exc:
                raise NserError(f"cannot write {args.csv}: {exc}") from exc
            writer = csv.writer(handle)
            writer.writerow(CSV_HEADER)
        table.header()
        for path in args.paths:
            try:
                scores = classify_file(path, models, front_end)
            except NserError as exc:
                print(f"nser classify: error: {exc}", file=sys.stderr)
                failed += 1
                continue
            table.file(scores)
            if writer is not None:
                writer.writerows(_csv_rows(scores))
    if failed:
        print(f"nser classify: {failed} of {len(args.paths)} files failed", file=sys.stderr)
    return 1 if failed else 0
