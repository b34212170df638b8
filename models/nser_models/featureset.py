"""Mel features of a list of clips, computed once with the shared front end and cached on disk."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from nser_models.data.clips import ClipRecord
from nser_models.data.mixtures import MixConfig, scene_mixtures
from nser_shared.frontend.audio import read_audio
from nser_shared.frontend.features import FeatureConfig, MelFrontEnd

log = logging.getLogger(__name__)
DEFAULT_CACHE_DIR = Path(".cache/features")


@dataclass
class FeatureSet:
    """Features (N, 1, n_mels, n_frames) and class labels (N,) of `records`, in order."""

    records: list[ClipRecord]
    features: Tensor
    labels: Tensor

    def __len__(self) -> int:
        return len(self.records)


def compute_features(
    records: Sequence[ClipRecord],
    config: FeatureConfig,
    cache_dir: Path | None = DEFAULT_CACHE_DIR,
) -> Tensor:
    """Features of every record, (N, 1, n_mels, n_frames), from cache when nothing changed.

    The cache key covers the feature config and each file's path, size and mtime, so a
    regenerated corpus or another front end never reads stale features.
    """
    key = _cache_key(records, config)
    cache_file = cache_dir / f"{key}.pt" if cache_dir is not None else None
    if cache_file is not None and cache_file.is_file():
        cached: Tensor = torch.load(cache_file, weights_only=True)
        return cached
    front_end = MelFrontEnd(config)
    out = torch.empty(len(records), *config.shape)
    with torch.inference_mode():
        for i, record in enumerate(records):
            waveform, rate = read_audio(record.path)
            out[i] = front_end(waveform, rate)
    if cache_file is not None:
        _save_atomically(out, cache_file)
        log.info("cached features of %d clips in %s", len(records), cache_file)
    return out


def build_feature_set(
    labelled: Sequence[tuple[ClipRecord, int]],
    config: FeatureConfig,
    cache_dir: Path | None = DEFAULT_CACHE_DIR,
) -> FeatureSet:
    records = [r for r, _ in labelled]
    return FeatureSet(
        records=records,
        features=compute_features(records, config, cache_dir),
        labels=torch.tensor([label for _, label in labelled], dtype=torch.long),
    )


def with_scene_mixtures(
    clean: FeatureSet,
    labelled: Sequence[tuple[ClipRecord, int]],
    distractor_pool: Sequence[ClipRecord],
    config: FeatureConfig,
    mix: MixConfig,
    split_index: int,
    cache_dir: Path | None = DEFAULT_CACHE_DIR,
) -> FeatureSet:
    """`clean` followed by the scene-like windows of its clips (data/mixtures.py), cached."""
    key = _cache_key([*(r for r, _ in labelled), *distractor_pool], config)
    digest = hashlib.sha256(f"{key}|{sorted(mix.to_dict().items())}|{split_index}".encode())
    cache_file = (
        cache_dir / f"{config.id}-mix-{digest.hexdigest()[:16]}.pt"
        if cache_dir is not None
        else None
    )
    if cache_file is not None and cache_file.is_file():
        features: Tensor = torch.load(cache_file, weights_only=True)
    else:
        mixtures = scene_mixtures(labelled, distractor_pool, config, mix, split_index)
        front_end = MelFrontEnd(config)
        features = torch.empty(len(mixtures), *config.shape)
        with torch.inference_mode():
            for i, (_, _, audio) in enumerate(mixtures):
                features[i] = front_end(torch.from_numpy(audio), config.sample_rate)
        if cache_file is not None:
            _save_atomically(features, cache_file)
            log.info("cached features of %d scene mixtures in %s", len(mixtures), cache_file)
    repeats = mix.per_clip
    return FeatureSet(
        records=clean.records + [r for _ in range(repeats) for r, _ in labelled],
        features=torch.cat([clean.features, features]),
        labels=torch.cat(
            [clean.labels, torch.tensor([label for _ in range(repeats) for _, label in labelled])]
        ),
    )


def _save_atomically(tensor: Tensor, path: Path) -> None:
    """Write `tensor` to `path` through a temporary file, so that a reader (another training
    run on the same cache) sees either no file or a whole one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(tensor, temporary)
    os.replace(temporary, path)


def _cache_key(records: Sequence[ClipRecord], config: FeatureConfig) -> str:
    digest = hashlib.sha256(config.id.encode())
    for r in records:
        stat = r.path.stat()
        digest.update(f"{r.path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return f"{config.id}-{digest.hexdigest()[:16]}"
