"""Scene-like training windows: where the clip lands, the labels kept, splits kept apart.

Each call of scene_mixtures generates its noise beds (five 30 s tracks: seconds of CPU). Here
every bed is made once and then reused (read-only) by every test: generate_noise is
deterministic, as tests/models/test_synthetic_corpus.py checks.
"""

import functools
from pathlib import Path

import numpy as np
import pytest
import torch

from nser_models.data import mixtures
from nser_models.data.clips import ClipRecord, task_records
from nser_models.data.mixtures import Audio, MixConfig, active_span, scene_mixtures
from nser_models.data.sources import load_source
from nser_models.data.synthetic import CorpusConfig, generate_corpus
from nser_models.task_data import prepare_task_data
from nser_shared.errors import DatasetError
from nser_shared.frontend.features import DEFAULT_FEATURE_CONFIG
from nser_shared.sound.noise import generate_noise
from nser_shared.wire.labels import Task

RATE = DEFAULT_FEATURE_CONFIG.sample_rate


@functools.cache
def _bed_once(category: str, seconds: float, sample_rate: int, seed: int) -> Audio:
    bed = generate_noise(category, seconds, sample_rate, seed)
    bed.flags.writeable = False  # scene_mixtures only reads a bed: a write would raise
    return bed


@pytest.fixture(autouse=True)
def beds_made_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mixtures, "generate_noise", _bed_once)


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> list[ClipRecord]:
    out = tmp_path_factory.mktemp("corpus")
    generate_corpus(out, CorpusConfig(seed=5, speakers=8, clips_per_speaker=12, noise_seconds=5.0))
    return load_source(f"synthetic:{out}")


def test_active_span_trims_silence_around_the_sound() -> None:
    clip = np.zeros(RATE, dtype=np.float32)
    clip[4000:8000] = 0.5 * np.sin(np.arange(4000, dtype=np.float32))
    trimmed = active_span(clip, RATE)
    assert 3800 <= len(trimmed) <= 4400
    assert float(np.abs(trimmed).max()) == pytest.approx(0.5, abs=0.01)


def test_mixtures_are_noisy_windows_that_keep_labels_and_are_deterministic(
    records: list[ClipRecord],
) -> None:
    labelled = task_records(records[:12], Task.DETECTION)
    pool = records[:24]  # the distractors: the non-screams of two speakers' clips
    assert any(not r.is_scream for r in pool)
    mix = MixConfig(per_clip=2, distractor_probability=1.0)
    first = scene_mixtures(labelled, pool, DEFAULT_FEATURE_CONFIG, mix, split_index=0)
    again = scene_mixtures(labelled, pool, DEFAULT_FEATURE_CONFIG, mix, split_index=0)
    other_split = scene_mixtures(labelled, pool, DEFAULT_FEATURE_CONFIG, mix, split_index=1)
    assert len(first) == 2 * len(labelled)
    assert [(r, label) for r, label, _ in first] == 2 * labelled
    for (_, _, audio), (_, _, audio_again), (_, _, audio_other) in zip(
        first, again, other_split, strict=True
    ):
        assert audio.shape == (DEFAULT_FEATURE_CONFIG.n_samples,)
        assert np.array_equal(audio, audio_again)
        assert not np.array_equal(audio, audio_other)
        assert float(np.abs(audio).max()) <= 1.0
        # Never digital silence: the background runs through the whole window.
        quarter = len(audio) // 4
        assert all(np.sqrt(np.mean(audio[i : i + quarter] ** 2)) > 1e-4 for i in (0, 3 * quarter))


def test_the_clip_overlaps_the_window_by_at_least_the_minimum(records: list[ClipRecord]) -> None:
    labelled = task_records(records[:6], Task.DETECTION)
    # A bed at -100 dBFS and the clip 60 dB over it: the samples above 1e-3 are the clip's.
    loud = MixConfig(per_clip=20, snr_db=(60.0, 60.0), bed_dbfs=(-100.0, -100.0))
    mixtures = scene_mixtures(labelled, [], DEFAULT_FEATURE_CONFIG, loud, split_index=0)
    spans = []
    for _, _, audio in mixtures:
        heard = np.flatnonzero(np.abs(audio) > 1e-3)
        spans.append((heard[-1] - heard[0]) / RATE)
        assert spans[-1] >= 0.45  # the 0.5 s minimum, less the clip's own quiet edges
    assert min(spans) < 1.0  # some clips are cut by a window edge


def test_bad_mixture_settings_are_refused() -> None:
    with pytest.raises(DatasetError, match="per_clip"):
        MixConfig(per_clip=-1)
    with pytest.raises(DatasetError, match="snr_db"):
        MixConfig(snr_db=(20.0, 3.0))
    with pytest.raises(DatasetError, match="distractor_probability"):
        MixConfig(distractor_probability=1.5)


def test_task_data_mixes_train_and_val_only_and_keeps_the_fingerprint(
    records: list[ClipRecord], tmp_path: Path
) -> None:
    plain = prepare_task_data(records, Task.DETECTION, DEFAULT_FEATURE_CONFIG, cache_dir=tmp_path)
    mixed = prepare_task_data(
        records, Task.DETECTION, DEFAULT_FEATURE_CONFIG, cache_dir=tmp_path, mix=MixConfig()
    )
    assert len(mixed.train) == 2 * len(plain.train)
    assert len(mixed.val) == 2 * len(plain.val)
    assert len(mixed.test) == len(plain.test)
    assert torch.equal(mixed.train.features[: len(plain.train)], plain.train.features)
    assert torch.equal(mixed.train.labels, plain.train.labels.repeat(2))
    assert mixed.fingerprint == plain.fingerprint
    assert mixed.speakers == plain.speakers
    cached = prepare_task_data(
        records, Task.DETECTION, DEFAULT_FEATURE_CONFIG, cache_dir=tmp_path, mix=MixConfig()
    )
    assert torch.equal(cached.train.features, mixed.train.features)
