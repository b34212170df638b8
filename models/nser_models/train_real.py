"""`nser train-real`: train on real recordings, measured on packages no model saw.

    nser train-real --real data/real --synthetic data/corpus --out runs/real
    nser train-real ... --ship models/checkpoints        # then train on every package and ship

The real corpus (data/real_corpus.py) is split into `folds` groups of whole Debian packages,
balanced by their cries (`package_folds`); a hash check proves that no clip's audio sits in two
splits of a fold. For each fold and task, the models are fine-tuned from the checkpoints
trained on the synthetic corpus alone (`synthetic_start`; never the shipped detection ones,
which have heard every package) on device-like windows of the other packages' clips
(data/real_windows.py) beside the synthetic training split: the teacher by cross-entropy,
then MobileNetV3-small, then the students distilled from the fold's teacher. Every model of a
fold is then scored on the held out packages' clips in two conditions, padded (the clip from the
window's start) and in noise (at a random offset in the held-out packages' own ambience at 20 dB
SNR).

The report (`real-audio.md`, `real-audio.json` in --out) gives, per fold and pooled over the
folds' held-out clips, for the fold models and for the checkpoints they started from
("start"): ROC AUC and recall at 1 % and 5 % false alarms of P(scream) for cries against
speech and against every other sound, and the AUC of P(negative) for cries against laughs and
cheers (valence). With --ship the same recipe trains on every package and writes the
checkpoints and manifest there; their held-out metrics are the synthetic test split's.

Why one module: the folds, the recipe and the shipping run share one loop over the models; the
windows are real_windows.py.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from nser_models.architectures import model_spec
from nser_models.augment import AugmentConfig
from nser_models.checkpoint import SHIPPED_DIR, checkpoint_filename, load_checkpoint
from nser_models.checkpoint import write_manifest as write_checkpoint_manifest
from nser_models.data.clips import ClipRecord, split_by_speaker, task_records
from nser_models.data.real_corpus import TABLE_PATH, load_real, sound_class_of
from nser_models.data.real_families import SoundClass
from nser_models.data.real_windows import (
    Audio,
    WindowRecipe,
    device_windows,
    padded_and_noisy_windows,
)
from nser_models.data.sources import load_source
from nser_models.data.tts_speech import MANIFEST_NAME as TTS_MANIFEST
from nser_models.data.tts_speech import load_tts
from nser_models.featureset import DEFAULT_CACHE_DIR, FeatureSet, build_feature_set
from nser_models.metrics import predict_logits, recall_at_false_alarm, roc_auc
from nser_models.report import real_audio_markdown
from nser_models.task_data import TaskData
from nser_models.train import (
    STUDENT,
    TEACHER,
    TrainConfig,
    add_device_argument,
    add_precision_argument,
    add_task_argument,
    train_model,
    training_device,
)
from nser_models.yamnet import Embeddings, YamNet, YamNetProbe
from nser_shared.errors import DatasetError, NserError
from nser_shared.frontend.features import DEFAULT_FEATURE_CONFIG, FeatureConfig, MelFrontEnd
from nser_shared.provenance import checkpoint_digests, input_digests
from nser_shared.wire.labels import Task, Valence

log = logging.getLogger(__name__)
BASELINE = "mobilenetv3s"
POOLED_STUDENT = "pooled-student"
# The order they train in: the students learn from the fold's teacher.
MODELS = (TEACHER, BASELINE, STUDENT, POOLED_STUDENT)
CONDITIONS = ("padded", "noisy")
# Whom the students learn from on the real windows (`RealRecipe.student_teachers`): the fold's
# ResNet teacher, the YAMNet probe (yamnet.py), or both, their log-odds averaged. On the
# synthetic clips always the ResNet teacher (`_student_targets`).
STUDENT_TEACHERS = ("resnet", "yamnet", "both")
PROBE = "yamnet-probe"  # its row in the report: the probe is scored like the models it teaches
# The detection checkpoints trained on the synthetic corpus alone. The shipped detection ones
# have heard every real package, so no fold may start from them.
SYNTHETIC_DIR = SHIPPED_DIR / "synthetic"


def synthetic_start(task: Task) -> Path:
    """Where training on real audio starts unless told otherwise: checkpoints that never heard
    real audio. For detection SYNTHETIC_DIR; for type the shipped ones, which are synthetic-only
    (the real packages hold 7 laughs: nothing to learn valence from)."""
    return SYNTHETIC_DIR if task is Task.DETECTION else SHIPPED_DIR


@dataclass(frozen=True)
class RealRecipe:
    """The recipe, recorded in every checkpoint it makes."""

    folds: int = 3
    epochs: dict[str, int] | None = None  # per model; None: EPOCHS
    lr: dict[str, float] | None = None  # per model; None: LR
    # Every epoch runs and the last weights are kept: the validation speakers (a slice of the
    # training packages) picked epoch 1 or 2, long before the models had learned the real clips.
    # Cries are one clip in seven: drawn more often. 18 / 3 rather than 6 / 1 (a third of the
    # epochs, so the same steps) lifted a hard-label pooled student's pooled AUC, cries against
    # speech, from 0.837 to 0.869, most on the fold whose cries are unlike the others' (stop 26).
    windows_per_scream: int = 18
    windows_per_other: int = 3
    # Time masks of up to 6 frames (0.1 s), not the paper's 20: a 20-frame mask can erase a
    # 0.3 s grunt whole while the label still says scream (stop 26: recall at 5 % false alarms
    # 57 % -> 68 % at 18 / 3 windows).
    augmentation: AugmentConfig = field(default_factory=lambda: AugmentConfig(time_mask_frames=6))
    synthetic_clips: int = 200  # of the synthetic training split, beside the real clips
    val_fraction: float = 0.15  # of the training packages' speakers: the logged validation loss
    test_snr_db: float = 20.0
    window: WindowRecipe = field(default_factory=WindowRecipe)
    seed: int = 0
    student_teachers: str = "resnet"  # one of STUDENT_TEACHERS; detection only beyond "resnet"
    precision: str = "fp32"  # TrainConfig.precision of every model
    # espeak-ng speech (data/tts_speech.py) beside the real training windows, labelled not a
    # scream; the number of its clips, so that a run with another corpus is another recipe.
    tts_clips: int = 0

    def __post_init__(self) -> None:
        if self.student_teachers not in STUDENT_TEACHERS:
            raise NserError(
                f"student teachers {self.student_teachers!r}: one of {', '.join(STUDENT_TEACHERS)}"
            )

    @property
    def uses_yamnet(self) -> bool:
        return self.student_teachers != "resnet"

    def epochs_of(self, model: str) -> int:
        return (self.epochs or EPOCHS)[model]

    def lr_of(self, model: str) -> float:
        return (self.lr or LR)[model]


# The two fine-tuned networks at 3e-4: at 1e-3 for 4 epochs the teacher's validation loss
# jumped from epoch to epoch and its held-out AUC fell below its starting checkpoint's; at 3e-4
# its validation AUC (a slice of the training packages' speakers) rose to epoch 15 at 6 / 1
# windows a clip. At 18 / 3 windows an epoch is three times as long: a third of the epochs.
# Fields added to the recipe after runs were recorded (and resumed by their record): left out of
# the record at these defaults, so that those runs' folds and checkpoints still read back.
LATER_FIELDS: dict[str, Any] = {"student_teachers": "resnet", "precision": "fp32", "tts_clips": 0}

EPOCHS = {TEACHER: 5, BASELINE: 4, STUDENT: 10, POOLED_STUDENT: 10}
LR = {TEACHER: 3e-4, BASELINE: 3e-4, STUDENT: 1e-3, POOLED_STUDENT: 1e-3}


def package_folds(records: Sequence[ClipRecord], folds: int) -> list[list[str]]:
    """Packages dealt into `folds` groups so that each holds out a fair share of the cries and
    of the laughs (the rare classes): packages in order of their share of cries plus their share
    of laughs, each to the group with the smallest such sum so far (then the fewest clips).
    Deterministic."""
    packages = sorted({r.source for r in records})
    if folds < 2 or folds > len(packages):
        raise DatasetError(f"--folds must be in [2, {len(packages)}] (the packages), got {folds}")

    def share(package: str) -> float:
        own = [r for r in records if r.source == package]
        total = 0.0
        for rare in (lambda r: r.is_scream, lambda r: r.valence is Valence.POSITIVE):
            all_rare = sum(1 for r in records if rare(r))
            total += sum(1 for r in own if rare(r)) / all_rare if all_rare else 0.0
        return total

    weight = {p: share(p) for p in packages}
    clips = {p: sum(r.source == p for r in records) for p in packages}
    groups: list[list[str]] = [[] for _ in range(folds)]
    for package in sorted(packages, key=lambda p: (-weight[p], -clips[p], p)):
        target = min(
            range(folds),
            key=lambda i: (sum(weight[p] for p in groups[i]), sum(clips[p] for p in groups[i]), i),
        )
        groups[target].append(package)
    return [sorted(g) for g in groups]


def assert_disjoint(splits: dict[str, Sequence[ClipRecord]]) -> int:
    """Raise DatasetError if the same audio bytes sit in two splits; returns the clips hashed."""
    owner: dict[str, str] = {}
    for name, records in splits.items():
        for record in records:
            digest = hashlib.sha256(record.path.read_bytes()).hexdigest()
            other = owner.setdefault(digest, name)
            if other != name:
                raise DatasetError(
                    f"{record.clip_id} ({record.path}) is in the {name} split and, with the "
                    f"same bytes, in the {other} split"
                )
    return len(owner)


def speaker_slice(
    records: Sequence[ClipRecord], fraction: float, seed: int
) -> tuple[list[ClipRecord], list[ClipRecord]]:
    """(rest, slice): about `fraction` of the clips, whole speakers, from packages with more
    than one speaker; for early stopping, not for reporting."""
    by_package: dict[str, list[str]] = {}
    for r in records:
        by_package.setdefault(r.source, [])
        if r.speaker not in by_package[r.source]:
            by_package[r.source].append(r.speaker)
    rng = random.Random(seed)
    held: set[str] = set()
    for speakers in by_package.values():
        if len(speakers) < 3:
            continue
        shuffled = sorted(speakers)
        rng.shuffle(shuffled)
        held.update(shuffled[: max(1, round(fraction * len(shuffled)))])
    return [r for r in records if r.speaker not in held], [r for r in records if r.speaker in held]


# --- feature sets -------------------------------------------------------------------------


def _window_features(
    triples: Sequence[tuple[ClipRecord, int, Any]], features: FeatureConfig, key: str
) -> FeatureSet:
    cache = DEFAULT_CACHE_DIR / f"{features.id}-real-{key}.pt"
    if cache.is_file():
        x: Tensor = torch.load(cache, weights_only=True)
    else:
        front_end = MelFrontEnd(features)
        x = torch.empty(len(triples), *features.shape)
        with torch.inference_mode():
            for i, (_, _, audio) in enumerate(triples):
                x[i] = front_end(torch.from_numpy(audio), 16_000)
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f".{cache.name}.{os.getpid()}")
        torch.save(x, tmp)
        os.replace(tmp, cache)
    return FeatureSet(
        records=[r for r, _, _ in triples],
        features=x,
        labels=torch.tensor([label for _, label, _ in triples], dtype=torch.long),
    )


def _key(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _concat(sets: Sequence[FeatureSet]) -> FeatureSet:
    sets = [s for s in sets if len(s)]
    return FeatureSet(
        records=[r for s in sets for r in s.records],
        features=torch.cat([s.features for s in sets]),
        labels=torch.cat([s.labels for s in sets]),
    )


def _window_embeddings(audio: Sequence[Audio], key: str) -> Embeddings:
    """YAMNet's embedding of every window, cached beside the mel features."""
    cache = DEFAULT_CACHE_DIR / f"yamnet-{key}.pt"
    if cache.is_file():
        cached: Tensor = torch.load(cache, weights_only=True)
        return cached.numpy()
    out = YamNet().embeddings(audio)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(f".{cache.name}.{os.getpid()}")
    torch.save(torch.from_numpy(out), tmp)
    os.replace(tmp, cache)
    return out


@dataclass(frozen=True)
class TrainingWindows:
    """The windows a fold (or the ship run) trains on: the real windows first, then the
    synthetic clips (train only). When the recipe's students learn from YAMNet, its embeddings
    of the real windows, in the same order."""

    train: FeatureSet
    val: FeatureSet
    yamnet: tuple[Embeddings, Embeddings] | None = None  # (train's real windows, val)

    def fit_probe(self) -> YamNetProbe:
        """The YAMNet probe of the real windows: fitted on train's, its strength chosen on val."""
        if self.yamnet is None:
            raise NserError("the YAMNet probe needs the windows' YAMNet embeddings")
        train, val = self.yamnet
        labels = self.train.labels[: len(train)].numpy()
        return YamNetProbe.fit(train, labels, val, self.val.labels.numpy())


def training_sets(
    task: Task,
    real_train: Sequence[ClipRecord],
    synthetic: dict[str, list[ClipRecord]],
    recipe: RealRecipe,
    features: FeatureConfig,
    tts: Sequence[ClipRecord] = (),
) -> TrainingWindows:
    """(train, val) of device-like windows of `real_train` plus synthetic clips; the `tts`
    clips (recipe.tts_clips of them) join the training windows, never the validation ones."""
    if len(tts) != recipe.tts_clips:
        raise NserError(f"the recipe names {recipe.tts_clips} espeak-ng clips, given {len(tts)}")
    if recipe.uses_yamnet and task is not Task.DETECTION:
        raise NserError("the YAMNet teacher knows screams, not valence: detection only")
    rest, held = speaker_slice(real_train, recipe.val_fraction, recipe.seed)
    per_label = {0: recipe.windows_per_other, 1: recipe.windows_per_scream}
    if task is Task.TYPE:  # negative cries are many, positive laughs few: draw laughs more
        per_label = {0: 4 * recipe.windows_per_scream, 1: recipe.windows_per_other + 1}
    sets: dict[str, FeatureSet] = {}
    embeddings: dict[str, Embeddings] = {}
    for index, (name, records) in enumerate((("train", rest), ("val", held))):
        labelled = task_records(records, task)
        if name == "train":  # after the real clips: their windows stay those of a run without
            labelled += task_records(tts, task)
        beds = [r for r in records if sound_class_of(r) is SoundClass.BACKGROUND]
        triples = device_windows(labelled, per_label, beds, records, recipe.window, split=index)
        key = _key(
            task,
            name,
            sorted(r.clip_id for r, _ in labelled),
            per_label,
            recipe.window.to_dict(),
            index,
        )
        real = _window_features(triples, features, key)
        if recipe.uses_yamnet:
            embeddings[name] = _window_embeddings([a for _, _, a in triples], _key("yamnet", key))
        if name == "train":  # validation stays real: it picks the epoch that transfers
            pool = synthetic[name]
            pool = random.Random(recipe.seed).sample(pool, min(recipe.synthetic_clips, len(pool)))
            real = _concat([real, build_feature_set(task_records(pool, task), features)])
        sets[name] = real
    yamnet = (embeddings["train"], embeddings["val"]) if recipe.uses_yamnet else None
    return TrainingWindows(sets["train"], sets["val"], yamnet)


@dataclass(frozen=True)
class HeldOut:
    """A fold's held-out windows in both conditions (for detection every clip takes part, for
    type the cries and laughs) and the ids of the clips they come from."""

    task: Task
    windows: dict[str, list[tuple[ClipRecord, int, Audio]]]
    clip_ids: list[str]


def held_out_windows(task: Task, real_test: Sequence[ClipRecord], recipe: RealRecipe) -> HeldOut:
    labelled = task_records(real_test, task)
    beds = [r for r in real_test if sound_class_of(r) is SoundClass.BACKGROUND]
    windows = padded_and_noisy_windows(labelled, beds, recipe.test_snr_db, recipe.seed)
    return HeldOut(task, windows, sorted(r.clip_id for r, _ in labelled))


def held_out_features(
    held: HeldOut, recipe: RealRecipe, features: FeatureConfig
) -> dict[str, FeatureSet]:
    """The mel features of the held-out windows, by condition."""
    return {
        c: _window_features(
            held.windows[c],
            features,
            _key(held.task, c, held.clip_ids, recipe.test_snr_db, recipe.seed),
        )
        for c in CONDITIONS
    }


def held_out_embeddings(held: HeldOut, recipe: RealRecipe) -> dict[str, Embeddings]:
    """YAMNet's embeddings of the held-out windows, by condition, in the same order."""
    return {
        c: _window_embeddings(
            [a for _, _, a in held.windows[c]],
            _key("test", held.task, c, held.clip_ids, recipe.test_snr_db, recipe.seed),
        )
        for c in CONDITIONS
    }


# --- scoring --------------------------------------------------------------------------------


def scores_of(checkpoint: Path, features: FeatureConfig, windows: FeatureSet) -> list[float]:
    """P(class 1) of every window: P(scream) for detection, P(negative) for type."""
    model = load_checkpoint(checkpoint, features).build()
    return torch.softmax(predict_logits(model, windows.features), dim=1)[:, 1].tolist()


def synthetic_accuracy(checkpoint: Path, features: FeatureConfig, test: FeatureSet) -> float:
    """Accuracy (%) of a checkpoint on the synthetic test speakers' clips."""
    logits = predict_logits(load_checkpoint(checkpoint, features).build(), test.features)
    return round(100 * float((logits.argmax(dim=1) == test.labels).double().mean()), 2)


def detection_metrics(records: Sequence[ClipRecord], scores: Sequence[float]) -> dict[str, Any]:
    """Cries against speech and against every other sound: AUC, recall at 1 % / 5 % false alarms."""
    classes = [sound_class_of(r) for r in records]
    out: dict[str, Any] = {}
    for name, negatives in (
        ("vs_speech", {SoundClass.SPEECH}),
        ("vs_other", {SoundClass.BACKGROUND, SoundClass.VOCALISATION}),
    ):
        keep = [i for i, c in enumerate(classes) if c is SoundClass.SCREAM or c in negatives]
        s = [scores[i] for i in keep]
        p = [classes[i] is SoundClass.SCREAM for i in keep]
        if all(p) or not any(p):
            continue
        out[name] = {
            "auc": round(roc_auc(s, p), 4),
            "recall_at_1pct": round(recall_at_false_alarm(s, p, 0.01), 4),
            "recall_at_5pct": round(recall_at_false_alarm(s, p, 0.05), 4),
            "cries": sum(p),
            "negatives": len(p) - sum(p),
        }
    return out


def valence_metrics(records: Sequence[ClipRecord], scores: Sequence[float]) -> dict[str, Any]:
    """Cries (negative) against laughs and cheers (positive): AUC of P(negative) and the
    accuracy at 0.5."""
    negative = [r.is_scream for r in records]
    if all(negative) or not any(negative):
        return {}
    right = [(s >= 0.5) == n for s, n in zip(scores, negative, strict=True)]
    return {
        "auc": round(roc_auc(scores, negative), 4),
        "accuracy": round(sum(right) / len(right), 4),
        "cries": sum(negative),
        "laughs": len(negative) - sum(negative),
    }


def _metrics(task: Task, records: Sequence[ClipRecord], scores: Sequence[float]) -> dict[str, Any]:
    return (
        detection_metrics(records, scores)
        if task is Task.DETECTION
        else valence_metrics(records, scores)
    )


# --- the runs -------------------------------------------------------------------------------


def train_models(
    task: Task,
    data: TaskData,
    recipe: RealRecipe,
    features: FeatureConfig,
    out: Path,
    init: Path,
    source: str,
    device: str = "cpu",
    probe_logits: Tensor | None = None,
) -> dict[str, Path]:
    """Train the four models in order into `out`. A model whose checkpoint there was trained on
    the same windows with the same recipe from the same start (its `resume_key`) is kept, so a
    stopped run resumes at the model it was training.

    The students learn from `recipe.student_teachers`: the ResNet teacher; the YAMNet probe,
    whose `probe_logits` of data.train's windows are given; or both."""
    if recipe.uses_yamnet and probe_logits is None:
        raise NserError("the recipe's students learn from YAMNet: the probe's logits are needed")
    paths: dict[str, Path] = {}
    windows_recipe_start = (
        [r.clip_id for r in data.train.records],
        [r.clip_id for r in data.val.records],
        _recipe_dict(recipe),
        checkpoint_digests(init),  # hashed once, not once a model
    )
    for name in MODELS:
        key = _key(task, name, source, *windows_recipe_start)
        kept = out / checkpoint_filename(task, name)
        if kept.is_file() and _resume_key(kept, features) == key:
            log.info("%s/%s: kept %s (trained before with this recipe)", task.value, name, kept)
            paths[name] = kept
            continue
        config = TrainConfig(
            epochs=recipe.epochs_of(name),
            lr=recipe.lr_of(name),
            keep="last",
            seed=recipe.seed,
            augmentation=recipe.augmentation,
            precision=recipe.precision,
        )
        teacher = None
        teacher_logits = None
        if model_spec(name).distilled:
            teacher = load_checkpoint(paths[TEACHER], features).build()
            for p in teacher.parameters():
                p.requires_grad_(False)
            if probe_logits is not None and recipe.uses_yamnet:
                teacher_logits = _student_targets(recipe, probe_logits, teacher, data.train)
                teacher = None
        paths[name] = train_model(
            name,
            data,
            features,
            config,
            out,
            teacher,
            source,
            init,
            device=device,
            recipe={**_recipe_dict(recipe), "resume_key": key},
            teacher_logits=teacher_logits,
        )
    return paths


def _student_targets(
    recipe: RealRecipe, probe_logits: Tensor, teacher: nn.Module, train: FeatureSet
) -> Tensor:
    """The students' soft targets: on the real windows (the first len(probe_logits)) the
    probe's (`yamnet`) or its log-odds and the ResNet teacher's averaged (`both`); on the
    synthetic clips the ResNet teacher's alone: YAMNet has heard real voices, not ours (taught
    by the probe there too, the pooled student lost 6 points on the synthetic test speakers)."""
    resnet = predict_logits(teacher, train.features)
    n = len(probe_logits)
    real = probe_logits if recipe.student_teachers == "yamnet" else (probe_logits + resnet[:n]) / 2
    return torch.cat([real, resnet[n:]])


def _resume_key(path: Path, features: FeatureConfig) -> str | None:
    with contextlib.suppress(NserError):
        recipe = load_checkpoint(path, features).train_config.get("recipe") or {}
        key = recipe.get("resume_key")
        return key if isinstance(key, str) else None
    return None


def _recipe_dict(recipe: RealRecipe) -> dict[str, Any]:
    d = asdict(recipe)
    d["epochs"] = dict(recipe.epochs or EPOCHS)
    d["lr"] = dict(recipe.lr or LR)
    for name, default in LATER_FIELDS.items():  # as recorded before they existed
        if d[name] == default:
            del d[name]
    return d


def fold_state_path(out: Path, task: Task, index: int) -> Path:
    """Where a scored fold is kept until the whole report is written (`run_folds`)."""
    return out / f"fold-{index}-{task.value}.json"


def _fold_key(task: Task, test_packages: Sequence[str], recipe: RealRecipe, start: Path) -> str:
    """What a fold's scores depend on: a fold kept under another key is trained again."""
    return _key(task, sorted(test_packages), _recipe_dict(recipe), checkpoint_digests(start))


def _read_fold(path: Path, key: str, clips: dict[str, list[str]]) -> dict[str, Any] | None:
    """A fold scored before with the same key on the same windows (`clips`, per condition), or
    None (missing, another key or other windows, unreadable)."""
    try:
        state: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("%s cannot be read (%s): the fold is trained again", path, exc)
        return None
    if state.get("key") != key:
        log.info("%s was scored with another recipe or start: the fold is trained again", path)
        return None
    if state.get("clips") != clips:
        log.info("%s scored other windows: the fold is trained again", path)
        return None
    return state


def _write_fold(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(state) + "\n")
    os.replace(tmp, path)


def _task_result(
    task: Task, per_fold: list[dict[str, Any]], pooled: dict[str, dict[str, list[Any]]]
) -> dict[str, Any]:
    """One task's part of the report: its folds' rows and the metrics pooled over them."""
    return {
        "folds": per_fold,
        "pooled": {
            name: {
                **{
                    c: _metrics(task, [r for r, _ in pairs], [s for _, s in pairs])
                    for c, pairs in by_condition.items()
                },
                "both": _metrics(
                    task,
                    [r for pairs in by_condition.values() for r, _ in pairs],
                    [s for pairs in by_condition.values() for _, s in pairs],
                ),
            }
            for name, by_condition in pooled.items()
        },
    }


def _train_and_score_fold(
    task: Task,
    index: int,
    test_packages: Sequence[str],
    real: Sequence[ClipRecord],
    synthetic: dict[str, list[ClipRecord]],
    tts: Sequence[ClipRecord],
    held: HeldOut,
    tests: dict[str, FeatureSet],
    recipe: RealRecipe,
    features: FeatureConfig,
    out: Path,
    start: Path,
    score_only: bool,
    device: str,
) -> tuple[dict[str, Any], dict[str, dict[str, list[float]]], dict[str, Path]]:
    """(the fold's row, every model's score of every held-out window, the fold models)."""
    real_test = [r for r in real if r.source in test_packages]
    real_train = [r for r in real if r.source not in test_packages]
    hashed = assert_disjoint(
        {"train": [*real_train, *tts], "test": real_test, "synthetic": synthetic["train"]}
    )
    paths: dict[str, Path] = {}
    probe_scores: dict[str, list[float]] = {}
    synthetic_test = build_feature_set(task_records(synthetic["test"], task), features)
    if not score_only:
        trained_on = training_sets(task, real_train, synthetic, recipe, features, tts)
        train, val = trained_on.train, trained_on.val
        data = TaskData(task, train, val, synthetic_test, "", {"test": list(test_packages)})
        log.info(
            "fold %d (%s), %s: %d train / %d val windows",
            index,
            ", ".join(test_packages),
            task.value,
            len(train),
            len(val),
        )
        probe_logits = None
        if recipe.uses_yamnet:  # the students' second teacher, scored beside them
            probe = trained_on.fit_probe()
            assert trained_on.yamnet is not None
            probe_logits = probe.logits(trained_on.yamnet[0])
            probe_scores = {
                c: torch.softmax(probe.logits(e), dim=1)[:, 1].tolist()
                for c, e in held_out_embeddings(held, recipe).items()
            }
        fold_dir = out / f"fold-{index}"
        paths = train_models(
            task, data, recipe, features, fold_dir, start, "real+synthetic", device, probe_logits
        )
    row: dict[str, Any] = {"test_packages": test_packages, "clips_hashed": hashed}
    # The checkpoints training started from, on the same windows: the "before".
    scored = {**paths, **{f"{n} (start)": start / checkpoint_filename(task, n) for n in MODELS}}
    # What hearing real audio cost on the synthetic test speakers (the paper's Tables I-II).
    row["synthetic_test_accuracy"] = {
        name: synthetic_accuracy(path, features, synthetic_test) for name, path in scored.items()
    }
    fold_scores: dict[str, dict[str, list[float]]] = {}
    for name, path in scored.items():
        row[name] = {}
        for condition, windows in tests.items():
            scores = scores_of(path, features, windows)
            fold_scores.setdefault(name, {})[condition] = scores
            row[name][condition] = _metrics(task, windows.records, scores)
    if probe_scores:
        fold_scores[PROBE] = probe_scores
        row[PROBE] = {c: _metrics(task, tests[c].records, v) for c, v in probe_scores.items()}
    return row, fold_scores, paths


def run_folds(
    real: Sequence[ClipRecord],
    synthetic: dict[str, list[ClipRecord]],
    tasks: Sequence[Task],
    recipe: RealRecipe,
    features: FeatureConfig,
    out: Path,
    init: Path | None,
    keep_models: bool = False,
    score_only: bool = False,
    device: str = "cpu",
    on_fold: Callable[[dict[str, Any]], None] | None = None,
    tts: Sequence[ClipRecord] = (),
) -> dict[str, Any]:
    """Train and score every fold; fold models go to `out/fold-N/`, removed after scoring
    unless `keep_models`. With `score_only`, nothing is trained: only the starting checkpoints
    are scored (every real clip is held out from them when they never saw real audio).
    `init` (None: `synthetic_start`) holds the checkpoints each model starts from.

    Each scored fold is kept in `fold_state_path` (its metrics and every window's score) until
    the caller has written the report: a run stopped part way and started again with the same
    recipe, packages and starting checkpoints reads the folds it finished back instead of
    training them again. On two cores a fold takes up to an hour. `on_fold` is given the result
    so far (the folds done, pooled over them) after each fold."""
    refuse_real_trained(init, tasks)
    folds = package_folds(real, recipe.folds)
    result: dict[str, Any] = {"folds": folds, "recipe": _recipe_dict(recipe), "tasks": {}}
    for task in tasks:
        start = init or synthetic_start(task)
        pooled: dict[str, dict[str, list[Any]]] = {}
        per_fold = []
        for index, test_packages in enumerate(folds):
            real_test = [r for r in real if r.source in test_packages]
            held = held_out_windows(task, real_test, recipe)
            tests = held_out_features(held, recipe, features)
            state_path = fold_state_path(out, task, index)
            key = _fold_key(task, test_packages, recipe, start) + ("-score" if score_only else "")
            clips = {c: [r.clip_id for r in w.records] for c, w in tests.items()}
            state = _read_fold(state_path, key, clips)
            paths: dict[str, Path] = {}
            if state is not None:
                log.info("fold %d, %s: read back from %s", index, task.value, state_path)
                row, fold_scores = state["row"], state["scores"]
            else:
                row, fold_scores, paths = _train_and_score_fold(
                    task, index, test_packages, real, synthetic, tts, held, tests, recipe,
                    features, out, start, score_only, device,
                )  # fmt: skip
                _write_fold(
                    state_path, {"key": key, "clips": clips, "row": row, "scores": fold_scores}
                )
            for name, by_condition in fold_scores.items():
                for condition, scores in by_condition.items():
                    bucket = pooled.setdefault(name, {}).setdefault(condition, [])
                    bucket.extend(zip(tests[condition].records, scores, strict=True))
            per_fold.append(row)
            if not keep_models:
                for path in paths.values():
                    path.unlink()
                with contextlib.suppress(OSError):
                    (out / f"fold-{index}").rmdir()
            # The report so far: a run of hours shows each fold as it is done.
            result["tasks"][task.value] = _task_result(task, per_fold, pooled)
            if on_fold is not None:
                on_fold(result)
    return result


def refuse_real_trained(init: Path | None, tasks: Sequence[Task]) -> None:
    """DatasetError if a starting checkpoint (`init`, None: `synthetic_start`) was trained on
    real audio: every package would then be heard by the model before its fold holds it out."""
    for task in tasks:
        for name in MODELS:
            path = (init or synthetic_start(task)) / checkpoint_filename(task, name)
            source = str(load_checkpoint(path).train_config.get("source", ""))
            if "real" in source.split("+"):
                raise DatasetError(
                    f"{path} was trained on real audio ({source}); the folds must start from "
                    f"checkpoints that never heard the real packages, such as {SYNTHETIC_DIR}"
                )


def ship(
    real: Sequence[ClipRecord],
    synthetic: dict[str, list[ClipRecord]],
    tasks: Sequence[Task],
    recipe: RealRecipe,
    features: FeatureConfig,
    out: Path,
    init: Path | None,
    device: str = "cpu",
    tts: Sequence[ClipRecord] = (),
) -> None:
    """Train on every package with the same recipe; write the checkpoints and the manifest."""
    for task in tasks:
        windows = training_sets(task, real, synthetic, recipe, features, tts)
        synthetic_test = build_feature_set(task_records(synthetic["test"], task), features)
        data = TaskData(task, windows.train, windows.val, synthetic_test, "", {})
        start = init or synthetic_start(task)
        probe_logits = None
        if recipe.uses_yamnet:
            assert windows.yamnet is not None
            probe_logits = windows.fit_probe().logits(windows.yamnet[0])
        train_models(
            task, data, recipe, features, out, start, "real+synthetic", device, probe_logits
        )
    write_checkpoint_manifest(out)


# --- CLI --------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = RealRecipe()
    parser.add_argument(
        "--real", type=Path, required=True, help="the real corpus (nser corpus real)"
    )
    parser.add_argument("--synthetic", type=Path, required=True, help="the synthetic corpus")
    parser.add_argument("--out", type=Path, required=True, help="folder for fold models and report")
    add_task_argument(parser)
    parser.add_argument(
        "--folds", type=int, default=d.folds, help="groups of packages, each held out once"
    )
    parser.add_argument(
        "--init",
        type=Path,
        help="checkpoints to fine-tune from (default: those that never heard real audio: "
        "models/checkpoints/synthetic for detection, the shipped ones for type)",
    )
    parser.add_argument("--ship", type=Path, help="then train on every package and write here")
    parser.add_argument("--skip-folds", action="store_true", help="only --ship")
    parser.add_argument(
        "--score-only",
        action="store_true",
        help="train nothing; score the --init checkpoints on every fold's held-out clips",
    )
    parser.add_argument(
        "--keep-fold-models", action="store_true", help="keep OUT/fold-N/*.pt after scoring"
    )
    parser.add_argument(
        "--seed", type=int, default=d.seed, help="seed of the windows and the training"
    )
    parser.add_argument(
        "--synthetic-clips",
        type=int,
        default=d.synthetic_clips,
        help="clean synthetic training clips beside the real windows",
    )
    parser.add_argument(
        "--student-teachers",
        choices=STUDENT_TEACHERS,
        default=d.student_teachers,
        help="whom the students learn from: the ResNet teacher, the YAMNet probe "
        "(models/nser_models/yamnet.py; detection only) or both",
    )
    parser.add_argument(
        "--tts",
        type=Path,
        help="espeak-ng speech (nser corpus tts) to train on as more speech, never held out",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one epoch per model, 100 synthetic clips, 2 windows a cry: a smoke run",
    )
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="PyTorch threads")
    add_device_argument(parser)
    add_precision_argument(parser)


def run(args: argparse.Namespace) -> int:
    if args.threads < 1:
        raise NserError("--threads must be at least 1")
    if args.skip_folds and args.ship is None:
        raise NserError("--skip-folds needs --ship DIR")
    device = training_device(args.device)
    torch.set_num_threads(args.threads)
    if args.synthetic_clips < 0:
        raise NserError("--synthetic-clips must be >= 0")
    tts = load_tts(args.tts) if args.tts is not None else []
    recipe = RealRecipe(
        folds=args.folds,
        seed=args.seed,
        window=WindowRecipe(seed=args.seed),
        synthetic_clips=args.synthetic_clips,
        student_teachers=args.student_teachers,
        precision=args.precision,
        tts_clips=len(tts),
    )
    if args.quick:
        recipe = replace(
            recipe,
            epochs=dict.fromkeys(MODELS, 1),
            synthetic_clips=100,
            windows_per_scream=2,
            windows_per_other=1,
        )
    features = DEFAULT_FEATURE_CONFIG
    real = load_real(args.real)
    synthetic = split_by_speaker(load_source(f"synthetic:{args.synthetic}"), seed=0)
    tasks = list(Task) if args.task == "all" else [Task(args.task)]
    if recipe.uses_yamnet and tasks != [Task.DETECTION]:
        raise NserError(
            "--student-teachers yamnet / both: the YAMNet teacher is for detection only"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.skip_folds:
        # The clip table and the checkpoints every fold started from.
        starts = {args.init or synthetic_start(task) for task in tasks}
        tts_manifest = [args.tts / TTS_MANIFEST] if args.tts is not None else []
        inputs = input_digests([TABLE_PATH, *tts_manifest]) | {
            k: v for start in sorted(starts) for k, v in checkpoint_digests(start).items()
        }

        def write_report(result: dict[str, Any]) -> None:  # after every fold, then at the end
            result["inputs"] = inputs
            (args.out / "real-audio.json").write_text(json.dumps(result, indent=1) + "\n")
            (args.out / "real-audio.md").write_text(real_audio_markdown(result))

        result = run_folds(
            real,
            synthetic,
            tasks,
            recipe,
            features,
            args.out,
            args.init,
            args.keep_fold_models,
            args.score_only,
            device,
            write_report,
            tts,
        )
        write_report(result)
        print(real_audio_markdown(result))
        for task in tasks:  # the report holds them now
            for index in range(args.folds):
                fold_state_path(args.out, task, index).unlink(missing_ok=True)
    if args.ship is not None:
        args.ship.mkdir(parents=True, exist_ok=True)
        ship(real, synthetic, tasks, recipe, features, args.ship, args.init, device, tts)
    return 0
