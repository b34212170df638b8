"""The mel front end in numpy, for processes without PyTorch (the sensing devices' image): the
features `features.MelFrontEnd` computes, for audio already at the configured sample rate and
without noise mitigation (the devices' case), to within `TOLERANCE` on the [-1, 1] scale
(tests/shared/test_mel_numpy.py measures it on synthetic and recorded audio).

The same steps as MelFrontEnd: mono -> zero-pad / cut to the window -> power STFT (periodic Hann
window, centred frames, reflect padding) -> HTK mel filterbank without normalisation -> dB
(floor 1e-10, top 80 dB below the window's peak) -> min-max to [-1, 1]. Computed in float64,
returned as float32.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from nser_shared.errors import ConfigurationError, InvalidAudioError
from nser_shared.frontend.config import DEFAULT_FEATURE_CONFIG, MAX_CHANNELS, FeatureConfig

TOLERANCE = 1e-3  # largest difference from MelFrontEnd accepted on the [-1, 1] feature scale
AMIN = 1e-10  # power floor before the logarithm, as torchaudio's AmplitudeToDB

Audio = npt.NDArray[np.floating]
Features = npt.NDArray[np.float32]


def hz_to_mel(hz: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return 2595.0 * np.log10(1.0 + hz / 700.0)


def mel_to_hz(mel: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_filterbank(config: FeatureConfig) -> npt.NDArray[np.float64]:
    """(n_fft // 2 + 1, n_mels) triangular HTK filters, unnormalised (torchaudio's MelScale)."""
    n_freqs = config.n_fft // 2 + 1
    all_freqs = np.linspace(0.0, config.sample_rate // 2, n_freqs)
    low, high = hz_to_mel(np.array([config.f_min, config.f_max], dtype=np.float64))
    mel_edges = np.linspace(low, high, config.n_mels + 2)
    edges = mel_to_hz(mel_edges)
    widths = np.diff(edges)
    slopes = edges[np.newaxis, :] - all_freqs[:, np.newaxis]  # (n_freqs, n_mels + 2)
    down = -slopes[:, :-2] / widths[:-1]
    up = slopes[:, 2:] / widths[1:]
    return np.maximum(0.0, np.minimum(down, up))


class NumpyMelFrontEnd:
    """Audio window at `config.sample_rate` -> (1, n_mels, n_frames) float32 in [-1, 1]."""

    def __init__(self, config: FeatureConfig = DEFAULT_FEATURE_CONFIG) -> None:
        if config.denoise is not None:
            raise ConfigurationError(
                "the numpy front end has no noise mitigation: use features.MelFrontEnd"
            )
        if config.win_length != config.n_fft:
            raise ConfigurationError("the numpy front end needs win_length == n_fft")
        self.config = config
        n = np.arange(config.win_length)
        self.window = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / config.win_length)  # periodic Hann
        self.filters = mel_filterbank(config)

    def __call__(self, audio: Audio, sample_rate: int) -> Features:
        samples = self._mono(audio, sample_rate)
        c = self.config
        n = c.n_samples
        samples = samples[:n] if len(samples) >= n else np.pad(samples, (0, n - len(samples)))
        half = c.n_fft // 2
        padded = np.pad(samples, (half, half), mode="reflect")
        frames = np.lib.stride_tricks.sliding_window_view(padded, c.n_fft)[:: c.hop_length]
        power = np.abs(np.fft.rfft(frames * self.window, axis=-1)) ** 2  # (frames, freqs)
        mel = power @ self.filters  # (frames, n_mels)
        db = 10.0 * np.log10(np.maximum(mel, AMIN))
        db = np.maximum(db, db.max() - c.top_db)
        low, high = db.min(), db.max()
        if high - low < 1e-6:
            scaled = np.full_like(db, -1.0)
        else:
            scaled = (db - low) / (high - low) * 2.0 - 1.0
        features: Features = scaled.T[np.newaxis].astype(np.float32)  # (1, n_mels, frames)
        return features

    def _mono(self, audio: Audio, sample_rate: int) -> npt.NDArray[np.float64]:
        """The checks of features.validate_waveform, for numpy audio at the configured rate."""
        array = np.asarray(audio)
        if not np.issubdtype(array.dtype, np.floating):
            raise InvalidAudioError(f"audio must be floating point in [-1, 1], got {array.dtype}")
        if array.ndim not in (1, 2):
            raise InvalidAudioError(
                f"audio must have shape (samples,) or (channels, samples), got {array.shape}"
            )
        if array.ndim == 2 and array.shape[0] > MAX_CHANNELS:
            raise InvalidAudioError(
                f"audio has {array.shape[0]} channels (max {MAX_CHANNELS}); "
                "expected (channels, samples), not (samples, channels)"
            )
        if array.size == 0:
            raise InvalidAudioError("audio is empty")
        if not np.isfinite(array).all():
            raise InvalidAudioError("audio contains NaN or Inf samples")
        if sample_rate != self.config.sample_rate:
            raise InvalidAudioError(
                f"the numpy front end takes {self.config.sample_rate} Hz audio, got "
                f"{sample_rate} Hz: resample first"
            )
        mono = array if array.ndim == 1 else array.mean(axis=0, dtype=np.float32)
        return mono.astype(np.float32).astype(np.float64)
