"""The synthetic vocalisation corpus: a deterministic, seeded stand-in for ASVP-ESD and VIVAE,
written to disk with a manifest and DEMAND-layout noise. How each clip sounds, and why the
classes overlap, is in nser_shared.sound.voices; the noise in nser_shared.sound.noise.

Each clip is made from its own seeded generator (`synthesise_clip`), so the corpus is the same
whatever the order or the number of worker processes that made it.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from nser_models.data.clips import ClipRecord, write_manifest
from nser_models.data.demand import PAPER_NOISE_ENVIRONMENTS
from nser_shared.errors import DatasetError
from nser_shared.frontend.audio import write_audio
from nser_shared.sound.noise import NOISE_SAMPLE_RATE, generate_noise
from nser_shared.sound.voices import VOCAL_CLASSES, make_speaker, synthesise_clip
from nser_shared.wire.labels import Valence

DATASET = "synthetic"
MANIFEST_NAME = "manifest.csv"


@dataclass(frozen=True)
class CorpusConfig:
    """What the corpus holds. The same config always gives the same bytes."""

    seed: int = 0
    speakers: int = 48
    clips_per_speaker: int = 40
    high_rate_fraction: float = 0.3  # share of clips at 44.1 kHz; the rest are at 16 kHz
    noise_seconds: float = 60.0  # length of each DEMAND-like noise track

    def __post_init__(self) -> None:
        if self.seed < 0:
            raise DatasetError(f"seed must be >= 0, got {self.seed}")
        if self.speakers < 1:
            raise DatasetError(f"speakers must be >= 1, got {self.speakers}")
        if self.clips_per_speaker < len(VOCAL_CLASSES):
            raise DatasetError(
                f"clips per speaker must be >= {len(VOCAL_CLASSES)} so that every speaker "
                f"produces every kind of vocalisation, got {self.clips_per_speaker}"
            )
        if not 0.0 <= self.high_rate_fraction <= 1.0:
            raise DatasetError(
                f"high_rate_fraction must be in [0, 1], got {self.high_rate_fraction}"
            )
        if not (math.isfinite(self.noise_seconds) and self.noise_seconds > 0):
            raise DatasetError(f"noise seconds must be > 0, got {self.noise_seconds}")


DEFAULT_CORPUS = CorpusConfig()


def clip_schedule(clips_per_speaker: int) -> list[str]:
    """The emotion of each clip index: screams and non-screams alternate, so half the clips
    are screams; negative and positive screams alternate, so half of those are negative."""
    negative = [
        e for e, c in VOCAL_CLASSES.items() if c.is_scream and c.valence is Valence.NEGATIVE
    ]
    positive = [
        e for e, c in VOCAL_CLASSES.items() if c.is_scream and c.valence is Valence.POSITIVE
    ]
    screams = [e for pair in zip(negative, positive, strict=True) for e in pair]
    others = [e for e, c in VOCAL_CLASSES.items() if not c.is_scream]
    kinds = (screams, others)
    return [kinds[i % 2][(i // 2) % len(kinds[i % 2])] for i in range(clips_per_speaker)]


def clip_id(speaker: str, index: int) -> str:
    return f"syn-{speaker}-{index:04d}"


def _write_speaker(out_dir: Path, config: CorpusConfig, speaker_index: int) -> list[ClipRecord]:
    speaker = make_speaker(config.seed, speaker_index)
    records = []
    for index, emotion in enumerate(clip_schedule(config.clips_per_speaker)):
        audio, sr = synthesise_clip(
            config.seed, speaker, speaker_index, index, emotion, config.high_rate_fraction
        )
        name = clip_id(speaker.name, index)
        path = out_dir / "clips" / speaker.name / f"{name}.wav"
        write_audio(path, audio, sr)
        kind = VOCAL_CLASSES[emotion]
        records.append(
            ClipRecord(
                clip_id=name,
                path=path,
                dataset=DATASET,
                speaker=speaker.name,
                emotion=emotion,
                valence=kind.valence,
                is_scream=kind.is_scream,
                sample_rate=sr,
            )
        )
    return records


def noise_path(out_dir: Path, environment: str) -> Path:
    """Where a DEMAND environment's first channel lives, as in the real data set."""
    return out_dir / "noise" / environment / "ch01.wav"


def _write_noise(out_dir: Path, config: CorpusConfig, category: str) -> None:
    audio = generate_noise(category, config.noise_seconds, NOISE_SAMPLE_RATE, config.seed)
    write_audio(noise_path(out_dir, PAPER_NOISE_ENVIRONMENTS[category]), audio, NOISE_SAMPLE_RATE)


def generate_corpus(
    out_dir: Path, config: CorpusConfig = DEFAULT_CORPUS, *, workers: int | None = None
) -> list[ClipRecord]:
    """Write clips, `manifest.csv` and DEMAND-layout noise under `out_dir`; return the records.

    `workers` processes (default: one per available core) share the work; it changes only the
    time taken, never the output.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    workers = workers or len(os.sched_getaffinity(0))
    speakers = range(config.speakers)
    if workers <= 1:
        for category in PAPER_NOISE_ENVIRONMENTS:
            _write_noise(out_dir, config, category)
        per_speaker = [_write_speaker(out_dir, config, i) for i in speakers]
    else:
        # Spawned, not forked: a fork copies a caller's threads' locks but not the threads (a
        # test runner's worker, a service), and the children of a forked pool hung in SciPy.
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=spawn) as pool:
            noise_jobs = [
                pool.submit(_write_noise, out_dir, config, c) for c in PAPER_NOISE_ENVIRONMENTS
            ]
            per_speaker = list(pool.map(partial(_write_speaker, out_dir, config), speakers))
            for job in noise_jobs:
                job.result()
    records = [r for group in per_speaker for r in group]
    write_manifest(out_dir / MANIFEST_NAME, records)
    return records
