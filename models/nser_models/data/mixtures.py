"""Scene-like training windows: a clip as a device at the edge hears it.

A corpus clip starts at the first sample of its window and is padded with digital silence; a
device streams continuous audio, so every window it sends is background noise with the sound
somewhere in it, often cut by the window's edges, sometimes with another sound beside it.
Models trained on the clips alone fail on such windows (docs/ml-core.md, "Scene windows").

`scene_mixtures` makes such windows from the clips of one split, so held-out speakers stay
held out: each clip, trimmed to where it is audible, goes at a random offset into a window of
one of the noise categories (its own noise seeds, disjoint from the scenes' beds), overlapping
the window by at least `min_overlap_s` (the scenes' rule for a window to count as holding the
sound), at an SNR drawn from `snr_db` over a bed whose level is drawn from `bed_dbfs`. With
probability `distractor_probability` a second clip, always a non-scream from the same split,
is added anywhere in the window at its own SNR; the window keeps the first clip's label, as
the scenes' ground truth does (a scream wins over a non-scream).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from nser_models.data.clips import ClipRecord
from nser_shared.errors import DatasetError, InvalidAudioError
from nser_shared.frontend.audio import read_audio
from nser_shared.frontend.features import FeatureConfig
from nser_shared.sound.noise import generate_noise, noise_categories

Audio = npt.NDArray[np.float32]
BED_SECONDS = 30.0  # one noise track per category and split; windows are random chunks of it
NOISE_SEED_BASE = 7_000  # the scenes use seed 0 by default; these beds never coincide with them
ACTIVE_RANGE_DB = 30.0  # a 10 ms frame is audible when within this of the clip's loudest frame


@dataclass(frozen=True)
class MixConfig:
    per_clip: int = 1  # mixtures made from each clip, besides the clean clip itself
    snr_db: tuple[float, float] = (3.0, 20.0)
    bed_dbfs: tuple[float, float] = (-65.0, -25.0)
    min_overlap_s: float = 0.5  # nser_shared.sound.scenes.SCREAM_MIN_OVERLAP_S
    distractor_probability: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        problems = []
        if self.per_clip < 0:
            problems.append("per_clip must be >= 0")
        for name in ("snr_db", "bed_dbfs"):
            low, high = getattr(self, name)
            if not (math.isfinite(low) and math.isfinite(high) and low <= high):
                problems.append(f"{name} must be a finite (low, high) range")
        if not self.min_overlap_s > 0.0:
            problems.append("min_overlap_s must be positive")
        if not 0.0 <= self.distractor_probability <= 1.0:
            problems.append("distractor_probability must be in [0, 1]")
        if problems:
            raise DatasetError("bad scene-mixture settings: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rms(x: Audio) -> float:
    return math.sqrt(float(np.mean(x**2))) if x.size else 0.0


def active_span(clip: Audio, sample_rate: int) -> Audio:
    """`clip` without its leading and trailing near-silence (10 ms frames, ACTIVE_RANGE_DB)."""
    hop = sample_rate // 100
    frames = len(clip) // hop
    if frames == 0:
        return clip
    power = (clip[: frames * hop].astype(np.float64).reshape(frames, hop) ** 2).mean(axis=1)
    loud = np.flatnonzero(power >= power.max() * 10.0 ** (-ACTIVE_RANGE_DB / 10.0))
    if len(loud) == 0:
        return clip
    return clip[int(loud[0]) * hop : (int(loud[-1]) + 1) * hop]


def load_audible(record: ClipRecord, config: FeatureConfig) -> Audio:
    """The clip as mono float32 at the config's rate, trimmed to where it is audible."""
    waveform, rate = read_audio(record.path)
    mono = waveform.mean(dim=0)
    if rate != config.sample_rate:
        import torchaudio

        mono = torchaudio.functional.resample(mono, rate, config.sample_rate)
    return active_span(mono.to(torch.float32).numpy(), config.sample_rate)


def place_clip(
    window: npt.NDArray[np.float64], clip: Audio, gain: float, start: int
) -> npt.NDArray[np.float64]:
    """Add `gain * clip` into `window` from sample `start` (negative: cut at the left edge)."""
    first, last = max(0, start), min(len(window), start + len(clip))
    if first < last:
        window[first:last] += gain * clip[first - start : last - start]
    return window


def scene_mixtures(
    labelled: Sequence[tuple[ClipRecord, int]],
    distractor_pool: Sequence[ClipRecord],
    config: FeatureConfig,
    mix: MixConfig,
    split_index: int,
) -> list[tuple[ClipRecord, int, Audio]]:
    """`mix.per_clip` scene-like windows of each labelled clip: (clip, label, audio) triples.

    Distractors are drawn from the non-screams of `distractor_pool` (the split's clips).
    `split_index` keeps the noise and the draws of different splits apart. Deterministic for
    the same clips, config and seeds.
    """
    if mix.per_clip == 0 or not labelled:
        return []
    n = config.n_samples
    rate = config.sample_rate
    rng = np.random.default_rng([mix.seed, split_index])
    categories = noise_categories()
    beds = {
        c: generate_noise(c, BED_SECONDS, rate, NOISE_SEED_BASE + 10 * mix.seed + split_index)
        for c in categories
    }
    clips = [load_audible(record, config) for record, _ in labelled]
    distractors = [
        load_audible(record, config) for record in distractor_pool if not record.is_scream
    ]
    min_overlap = round(mix.min_overlap_s * rate)
    out = []
    for _ in range(mix.per_clip):
        for (record, label), clip in zip(labelled, clips, strict=True):
            bed = beds[categories[int(rng.integers(len(categories)))]]
            offset = int(rng.integers(len(bed) - n))
            bed_rms = 10.0 ** (rng.uniform(*mix.bed_dbfs) / 20.0)
            window = bed[offset : offset + n].astype(np.float64) * (bed_rms / max(_rms(bed), 1e-12))
            overlap = min(min_overlap, len(clip))
            start = int(rng.integers(overlap - len(clip), n - overlap + 1))
            gain = bed_rms * 10.0 ** (rng.uniform(*mix.snr_db) / 20.0) / max(_rms(clip), 1e-12)
            place_clip(window, clip, gain, start)
            if distractors and rng.uniform() < mix.distractor_probability:
                other = distractors[int(rng.integers(len(distractors)))]
                other_start = int(rng.integers(1 - len(other), n))
                other_gain = (
                    bed_rms * 10.0 ** (rng.uniform(*mix.snr_db) / 20.0) / max(_rms(other), 1e-12)
                )
                place_clip(window, other, other_gain, other_start)
            audio = np.clip(window, -1.0, 1.0).astype(np.float32)
            out.append((record, label, audio))
    return out


_SILENT_POWER = 1e-10  # -100 dBFS: below this a signal counts as silence


def mix_at_snr(
    clean: Tensor,
    noise: Tensor,
    snr_db: float,
    generator: torch.Generator | np.random.Generator,
) -> Tensor:
    """`clean` plus a random chunk of `noise` scaled so that the mix has `snr_db`.

    Both are 1-D at the same sample rate. The chunk starts at a random offset drawn from
    `generator`; noise shorter than the clip is tiled. Signal power is measured over the whole
    clip. A silent clip has no power to measure against: its power is taken as -100 dBFS, so it
    stays practically silent. The result is not clipped.
    """
    if clean.dim() != 1 or noise.dim() != 1:
        raise InvalidAudioError(
            f"mix_at_snr wants 1-D audio, got {tuple(clean.shape)} and {tuple(noise.shape)}"
        )
    if clean.numel() == 0 or noise.numel() == 0:
        raise InvalidAudioError("mix_at_snr got empty audio")
    n, available = clean.shape[0], noise.shape[0]
    if available < n:
        noise = noise.repeat(math.ceil(n / available) + 1)
        offset = _randint(generator, available)
    else:
        offset = _randint(generator, available - n + 1)
    chunk = noise[offset : offset + n].to(torch.float64)
    noise_power = float(chunk.pow(2).mean())
    if noise_power < _SILENT_POWER:
        if float(noise.to(torch.float64).pow(2).mean()) < _SILENT_POWER:
            raise InvalidAudioError("the noise recording is silent")
        return clean.clone()  # a silent stretch of real noise: there is nothing to add
    signal_power = max(float(clean.to(torch.float64).pow(2).mean()), _SILENT_POWER)
    gain = math.sqrt(signal_power / (noise_power * 10.0 ** (snr_db / 10.0)))
    return (clean.to(torch.float64) + gain * chunk).to(clean.dtype)


def _randint(generator: torch.Generator | np.random.Generator, high: int) -> int:
    """A uniform integer in [0, high) from either kind of generator."""
    if isinstance(generator, torch.Generator):
        return int(torch.randint(0, high, (1,), generator=generator))
    return int(generator.integers(0, high))
