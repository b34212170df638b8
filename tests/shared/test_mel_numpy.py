"""The numpy front end (the devices' image has no PyTorch) gives MelFrontEnd's features within
its stated tolerance: on rendered scenes (synthetic voices over noise beds), on edge cases, and
on the real recordings of `nser corpus real` where they have been built."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchaudio

from nser_models.data.clips import read_manifest
from nser_shared.errors import ConfigurationError, InvalidAudioError
from nser_shared.frontend.audio import read_audio
from nser_shared.frontend.config import DEFAULT_FEATURE_CONFIG
from nser_shared.frontend.features import MelFrontEnd
from nser_shared.frontend.mel_numpy import TOLERANCE, NumpyMelFrontEnd
from nser_shared.provenance import REPO_ROOT
from nser_shared.sound.scenes import SAMPLE_RATE, render_scene

REAL = REPO_ROOT / "data" / "real"
REFERENCE = MelFrontEnd()
NUMPY = NumpyMelFrontEnd()


def _largest_difference(audio: np.ndarray) -> float:
    samples = np.ascontiguousarray(audio, dtype=np.float32)
    with torch.inference_mode():
        expected = REFERENCE(torch.from_numpy(samples), SAMPLE_RATE).numpy()
    got = NUMPY(samples, SAMPLE_RATE)
    assert got.shape == expected.shape == DEFAULT_FEATURE_CONFIG.shape
    assert got.dtype == np.float32
    return float(np.abs(got - expected).max())


@pytest.mark.parametrize("scene", ["assault", "party", "quiet-home"])
def test_rendered_scenes_match_melfrontend(scene: str) -> None:
    track = render_scene(scene, seed=3, device_index=1, seconds=12.0)
    for start in range(0, 10 * SAMPLE_RATE, SAMPLE_RATE):
        window = track.audio[start : start + 3 * SAMPLE_RATE]
        assert _largest_difference(window) <= TOLERANCE


@pytest.mark.parametrize(
    "audio",
    [
        np.zeros(48_000),  # digital silence: all -1
        np.random.default_rng(0).normal(0, 1e-5, 48_000),  # near silence
        np.random.default_rng(1).normal(0, 0.2, 20_000),  # short: zero-padded
        np.random.default_rng(2).normal(0, 0.2, 90_000),  # long: cut
        np.random.default_rng(3).normal(0, 0.1, (2, 48_000)),  # stereo: averaged
        0.9 * np.sin(2 * np.pi * 440 * np.arange(48_000) / SAMPLE_RATE),  # one tone
    ],
    ids=["silence", "near-silence", "short", "long", "stereo", "tone"],
)
def test_edge_cases_match_melfrontend(audio: np.ndarray) -> None:
    assert _largest_difference(audio) <= TOLERANCE


def test_recorded_voices_match_melfrontend() -> None:
    manifest = REAL / "manifest.csv"
    if not manifest.is_file():
        pytest.skip("no real corpus here: `nser corpus real --out data/real` builds it")
    records = read_manifest(manifest)[::40][:20]
    assert records
    for record in records:
        waveform, rate = read_audio(record.path)
        # Devices send 16 kHz audio; the recordings are resampled the way MelFrontEnd does it.
        mono = torchaudio.functional.resample(waveform.mean(dim=0), rate, SAMPLE_RATE)
        assert _largest_difference(mono.numpy()) <= TOLERANCE


@pytest.mark.parametrize(
    ("audio", "rate", "message"),
    [
        (np.zeros(100, dtype=np.int16), SAMPLE_RATE, "floating point"),
        (np.zeros((2, 2, 2)), SAMPLE_RATE, "shape"),
        (np.zeros((4000, 2)), SAMPLE_RATE, "channels"),
        (np.zeros(0), SAMPLE_RATE, "empty"),
        (np.array([0.0, np.nan]), SAMPLE_RATE, "NaN"),
        (np.zeros(100), 44_100, "resample first"),
    ],
)
def test_bad_audio_is_refused_with_the_reason(audio: np.ndarray, rate: int, message: str) -> None:
    with pytest.raises(InvalidAudioError, match=message):
        NUMPY(audio, rate)


def test_noise_mitigation_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="noise mitigation"):
        NumpyMelFrontEnd(DEFAULT_FEATURE_CONFIG.with_denoise(True))
