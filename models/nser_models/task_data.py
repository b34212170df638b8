"""A task's speaker-disjoint train / val / test feature sets, built the same way for training
and evaluation so that evaluation sees exactly the speakers training held out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nser_models.data.clips import ClipRecord, fingerprint, split_by_speaker, task_records
from nser_models.data.mixtures import MixConfig
from nser_models.featureset import (
    DEFAULT_CACHE_DIR,
    FeatureSet,
    build_feature_set,
    with_scene_mixtures,
)
from nser_shared.errors import DatasetError
from nser_shared.frontend.features import FeatureConfig
from nser_shared.wire.labels import TASK_CLASSES, Task


@dataclass
class TaskData:
    task: Task
    train: FeatureSet
    val: FeatureSet
    test: FeatureSet
    fingerprint: str  # of the labelled clips of all three splits
    speakers: dict[str, list[str]]  # split -> speakers in it


def prepare_task_data(
    records: Sequence[ClipRecord],
    task: Task,
    features: FeatureConfig,
    split_seed: int = 0,
    fractions: tuple[float, float, float] = (0.7, 0.1, 0.2),
    cache_dir: Path | None = DEFAULT_CACHE_DIR,
    mix: MixConfig | None = None,
) -> TaskData:
    """Split `records` by speaker (over all clips, so both tasks hold out the same speakers),
    keep the clips that take part in `task`, and compute their features.

    With `mix`, the train and validation sets also get scene-like windows of their own clips
    (data/mixtures.py); the test set stays the clean clips, as the paper evaluates."""
    splits = split_by_speaker(records, fractions, split_seed)
    sets: dict[str, FeatureSet] = {}
    clean_records: list[ClipRecord] = []
    for split_index, (name, split_records) in enumerate(splits.items()):
        labelled = task_records(split_records, task)
        labels = {label for _, label in labelled}
        if len(labels) < len(TASK_CLASSES[task]):
            raise DatasetError(
                f"the {name} split has {len(labelled)} clips for task {task.value} but not every "
                f"class ({TASK_CLASSES[task]}); use more speakers or another split seed"
            )
        sets[name] = build_feature_set(labelled, features, cache_dir)
        clean_records += sets[name].records
        if mix is not None and mix.per_clip > 0 and name != "test":
            sets[name] = with_scene_mixtures(
                sets[name], labelled, split_records, features, mix, split_index, cache_dir
            )
    return TaskData(
        task=task,
        train=sets["train"],
        val=sets["val"],
        test=sets["test"],
        fingerprint=fingerprint(clean_records),
        speakers={name: sorted({r.speaker for r in s.records}) for name, s in sets.items()},
    )
