"""Windows of recorded clips as a device hears them: the training and test windows of the
real-audio corpus.

A device streams continuous audio and sends 3 s windows every second, so a cry reaches the
model somewhere inside a window of background, often cut by the window's edges, at whatever
level, through whatever microphone and room. `device_windows` makes such windows from clips:

1. the clip, trimmed to where it is audible, is perturbed by a chain of torchaudio effects
   (`Perturbation`): speed (tempo and pitch together, 0.85-1.15x), an equaliser peak or notch,
   a telephone-like band limit (300-3400 Hz, as narrow-band codecs pass) and room reverberation
   (an exponentially decaying noise tail, RT60 0.15-0.7 s);
2. it goes at a random offset into a 3 s bed, overlapping the window by at least
   `min_overlap_s` (the scenes' rule for a window to hold a sound), at an SNR drawn from
   `snr_db`. Beds are random stretches of the split's own recorded ambience, of the synthetic
   noise categories (data/noise.py), or digital silence (the padded clip the front end makes of
   a short recording);
3. with probability `distractor_probability` a second clip, never a scream, is added anywhere.
   The window keeps the first clip's label, as the scenes' ground truth does.

Everything is drawn from one generator seeded by (seed, split), so a split's windows are the
same on every run and held-out packages never lend a bed to training windows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import torchaudio.functional as AF

from nser_models.data.clips import ClipRecord
from nser_models.data.mixtures import load_audible, place_clip
from nser_shared.errors import DatasetError
from nser_shared.frontend.audio import read_audio
from nser_shared.frontend.features import DEFAULT_FEATURE_CONFIG
from nser_shared.sound.noise import generate_noise, noise_categories, rms

Audio = npt.NDArray[np.float32]
SAMPLE_RATE = 16_000
NOISE_BED_SECONDS = 20.0
SPEED_FACTORS = (0.85, 0.9, 0.95, 1.05, 1.1, 1.15)
NOISE_SEED_BASE = 9_000  # apart from the scenes' (0...) and the synthetic mixtures' (7000...)


@dataclass(frozen=True)
class WindowRecipe:
    """How the windows of one split are drawn."""

    snr_db: tuple[float, float] = (0.0, 25.0)
    bed_dbfs: tuple[float, float] = (-60.0, -25.0)
    min_overlap_s: float = 0.5
    silence_probability: float = 0.15  # bed of digital silence: the padded-clip case
    recorded_bed_probability: float = 0.6  # of the rest: recorded ambience, else synthetic noise
    distractor_probability: float = 0.3
    perturb_probability: float = 0.8
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("snr_db", "bed_dbfs"):
            low, high = getattr(self, name)
            if not (math.isfinite(low) and math.isfinite(high) and low <= high):
                raise DatasetError(f"window recipe: {name} must be a finite (low, high) range")
        for name in (
            "silence_probability",
            "recorded_bed_probability",
            "distractor_probability",
            "perturb_probability",
        ):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise DatasetError(f"window recipe: {name} must be in [0, 1]")
        if not self.min_overlap_s > 0.0:
            raise DatasetError("window recipe: min_overlap_s must be positive")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Perturbation:
    """A random chain of microphone, room and voice changes (see the module docstring)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def __call__(self, clip: Audio) -> Audio:
        rng = self.rng
        x = torch.from_numpy(clip.astype(np.float32))
        if rng.uniform() < 0.6:  # speed: tempo and pitch, as a faster or higher voice
            # In steps of 5 %: rates with a large common divisor keep the resampling kernel
            # small (16,733 Hz to 16,000 Hz would need one of 16,733 x 16,000 taps).
            factor = float(rng.choice(SPEED_FACTORS))
            x = AF.resample(x, round(SAMPLE_RATE * factor), SAMPLE_RATE)
        if rng.uniform() < 0.5:  # an equaliser peak or notch: the microphone's colour
            x = AF.equalizer_biquad(
                x, SAMPLE_RATE, float(rng.uniform(150, 5000)), float(rng.uniform(-12, 12)), 0.7
            )
        if rng.uniform() < 0.25:  # narrow-band telephone or codec
            x = AF.lowpass_biquad(AF.highpass_biquad(x, SAMPLE_RATE, 300.0), SAMPLE_RATE, 3400.0)
        if rng.uniform() < 0.3:  # a room
            x = _reverberate(x, float(rng.uniform(0.15, 0.7)), rng)
        out: Audio = x.numpy().astype(np.float32)
        return out


def _reverberate(x: torch.Tensor, rt60_s: float, rng: np.random.Generator) -> torch.Tensor:
    n = round(rt60_s * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60_s)  # -60 dB at rt60
    tail[0] = float(np.sqrt(np.sum(tail[1:] ** 2)))  # direct path as loud as the tail
    response = torch.from_numpy((tail / np.sqrt(np.sum(tail**2))).astype(np.float32))
    wet = AF.fftconvolve(x, response)[: len(x) + n // 2]
    peak = float(wet.abs().max())
    scaled: torch.Tensor = wet * (float(x.abs().max()) / peak if peak > 0 else 1.0)
    return scaled


def device_windows(
    labelled: Sequence[tuple[ClipRecord, int]],
    per_label: dict[int, int],
    beds: Sequence[ClipRecord],
    distractors: Sequence[ClipRecord],
    recipe: WindowRecipe,
    split: int,
    window_s: float = 3.0,
) -> list[tuple[ClipRecord, int, Audio]]:
    """`per_label[label]` windows of each labelled clip (see the module docstring): (clip,
    label, audio) triples. `beds` are recorded ambience clips of the same split; `distractors`
    its clips that may sound beside the main one (screams among them are skipped)."""
    rng = np.random.default_rng([recipe.seed, split])
    n = round(window_s * SAMPLE_RATE)
    perturb = Perturbation(rng)
    recorded = [load_audible(r, DEFAULT_FEATURE_CONFIG) for r in beds]
    recorded = [b for b in recorded if len(b) > SAMPLE_RATE // 2]
    noise = [
        generate_noise(
            c, NOISE_BED_SECONDS, SAMPLE_RATE, NOISE_SEED_BASE + 10 * recipe.seed + split
        )
        for c in noise_categories()
    ]
    others = [load_audible(r, DEFAULT_FEATURE_CONFIG) for r in distractors if not r.is_scream]
    min_overlap = round(recipe.min_overlap_s * SAMPLE_RATE)
    out = []
    for record, label in labelled:
        clip = load_audible(record, DEFAULT_FEATURE_CONFIG)
        for _ in range(per_label.get(label, 0)):
            sound = perturb(clip) if rng.uniform() < recipe.perturb_probability else clip
            window = _bed(rng, n, recorded, noise, recipe)
            bed_rms = rms(window)
            level = bed_rms if bed_rms > 0 else 10.0 ** (rng.uniform(*recipe.bed_dbfs) / 20.0)
            gain = (
                level
                * 10.0 ** (rng.uniform(*recipe.snr_db) / 20.0)
                / max(rms(sound.astype(np.float64)), 1e-9)
            )
            overlap = min(min_overlap, len(sound))
            place_clip(
                window, sound, gain, int(rng.integers(overlap - len(sound), n - overlap + 1))
            )
            if others and rng.uniform() < recipe.distractor_probability:
                other = others[int(rng.integers(len(others)))]
                other_gain = (
                    level
                    * 10.0 ** (rng.uniform(*recipe.snr_db) / 20.0)
                    / max(rms(other.astype(np.float64)), 1e-9)
                )
                place_clip(window, other, other_gain, int(rng.integers(1 - len(other), n)))
            peak = float(np.abs(window).max())
            if peak > 1.0:
                window /= peak  # a loud sound clips no more than a device's AGC lets it
            out.append((record, label, window.astype(np.float32)))
    return out


def _bed(
    rng: np.random.Generator,
    n: int,
    recorded: Sequence[Audio],
    noise: Sequence[Audio],
    recipe: WindowRecipe,
) -> npt.NDArray[np.float64]:
    if rng.uniform() < recipe.silence_probability:
        return np.zeros(n)
    pool = recorded if recorded and rng.uniform() < recipe.recorded_bed_probability else noise
    source = pool[int(rng.integers(len(pool)))]
    if len(source) < n:
        source = np.tile(source, n // len(source) + 1)
    start = int(rng.integers(len(source) - n + 1))
    bed: npt.NDArray[np.float64] = source[start : start + n].astype(np.float64)
    scaled: npt.NDArray[np.float64] = bed * (
        10.0 ** (rng.uniform(*recipe.bed_dbfs) / 20.0) / max(rms(bed), 1e-12)
    )
    return scaled


def padded_window(record: ClipRecord, window_s: float = 3.0) -> Audio:
    """The clip, mono at 16 kHz, from the window's start: zero-padded or cut as `fit_length`
    does."""
    n = round(window_s * SAMPLE_RATE)
    waveform, rate = read_audio(record.path)
    mono = waveform.mean(dim=0)
    if rate != SAMPLE_RATE:
        mono = AF.resample(mono, rate, SAMPLE_RATE)
    audio = np.zeros(n, dtype=np.float32)
    clip = mono.numpy()[:n]
    audio[: len(clip)] = clip
    return audio


def padded_and_noisy_windows(
    labelled: Sequence[tuple[ClipRecord, int]],
    beds: Sequence[ClipRecord],
    snr_db: float,
    seed: int,
    window_s: float = 3.0,
) -> dict[str, list[tuple[ClipRecord, int, Audio]]]:
    """The two test conditions of a held-out split, one window per clip each:
    `padded`, the clip from the window's start, zero-padded or cut as `fit_length` does; and
    `noisy`, the audible part at a random offset (overlapping by at least 0.5 s) in a stretch
    of the split's own ambience (synthetic noise when it has none) at `snr_db`."""
    recipe = WindowRecipe(
        snr_db=(snr_db, snr_db),
        bed_dbfs=(-35.0, -35.0),
        silence_probability=0.0,
        recorded_bed_probability=1.0,
        distractor_probability=0.0,
        perturb_probability=0.0,
        seed=seed,
    )
    padded = [(record, label, padded_window(record, window_s)) for record, label in labelled]
    noisy = device_windows(labelled, {0: 1, 1: 1}, beds, [], recipe, split=99, window_s=window_s)
    return {"padded": padded, "noisy": noisy}
