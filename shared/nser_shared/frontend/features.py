"""The mel front end: where a window of audio becomes the (1, 128, 188) tensor every model reads.

One implementation, used by training, evaluation, the sensing clients and the tests. Its whole
configuration is one frozen `FeatureConfig`; `FeatureConfig.id` is a stable hash of it that is
stored in every checkpoint and carried by every feature message, so a model never sees features
made differently from the ones it was trained on.

Pipeline (paper, section IV-B): mono -> resample to 16 kHz -> zero-pad / cut to 3.0 s
-> [optional noise mitigation] -> power STFT (n_fft 1024, window 1024, hop 256)
-> 128 mel bands over 0-8 kHz -> dB (top 80 dB) -> min-max normalise to [-1, 1].

Noise mitigation (the paper's "essential pre-processing to mitigate the background noise",
which it does not specify) is two steps, both switchable through `DenoiseConfig`:
1. a second-order high-pass at `highpass_hz`, removing rumble (traffic, engines, HVAC) below
   the range of human vocalisation;
2. soft spectral gating on the power spectrogram: each frequency bin's noise floor is the
   `gate_quantile` of its power over the window (stationary noise sits near it, a vocalisation
   far above it); bins more than `gate_threshold_db` above the floor pass, bins near it are
   attenuated by up to `gate_reduction_db`, with a smooth (sigmoid) transition to avoid the
   "musical noise" of a hard gate. On white noise the defaults lower the noise by about 15 dB
   and leave a tone burst untouched (tests/shared/test_features.py).
Because every spectrogram is then min-max normalised over an 80 dB range, gating deepens the
troughs rather than making a noisy window look like its clean original; whether it helps a model
under noise has to be measured by training with it (`nser train --denoise`), since a model only
accepts the feature config it was trained on.
"""

from __future__ import annotations

import torch
import torchaudio
from torch import Tensor, nn

from nser_shared.errors import InvalidAudioError
from nser_shared.frontend.config import (
    DEFAULT_FEATURE_CONFIG,
    MAX_CHANNELS,
    SUPPORTED_SAMPLE_RATES,
    WINDOW_HOP_S,
    DenoiseConfig,
    FeatureConfig,
    require_same_config,
)

__all__ = [  # the configuration is defined in config.py; most callers take it from here
    "DEFAULT_FEATURE_CONFIG", "MAX_CHANNELS", "SUPPORTED_SAMPLE_RATES", "WINDOW_HOP_S",
    "DenoiseConfig", "FeatureConfig", "MelFrontEnd", "normalise", "require_same_config",
    "spectral_gate", "validate_waveform",
]  # fmt: skip


def validate_waveform(waveform: Tensor, sample_rate: int) -> None:
    """Raise InvalidAudioError naming the problem, or return if the audio is usable."""
    if not isinstance(waveform, Tensor):
        raise InvalidAudioError(f"audio must be a torch.Tensor, got {type(waveform).__name__}")
    if not waveform.is_floating_point():
        raise InvalidAudioError(f"audio must be floating point in [-1, 1], got {waveform.dtype}")
    if waveform.dim() not in (1, 2):
        raise InvalidAudioError(
            f"audio must have shape (samples,) or (channels, samples), got {tuple(waveform.shape)}"
        )
    if waveform.dim() == 2 and waveform.shape[0] > MAX_CHANNELS:
        raise InvalidAudioError(
            f"audio has {waveform.shape[0]} channels (max {MAX_CHANNELS}); "
            "expected (channels, samples), not (samples, channels)"
        )
    if waveform.numel() == 0 or waveform.shape[-1] == 0:
        raise InvalidAudioError("audio is empty")
    if not bool(torch.isfinite(waveform).all()):
        raise InvalidAudioError("audio contains NaN or Inf samples")
    if sample_rate not in SUPPORTED_SAMPLE_RATES:
        rates = ", ".join(str(r) for r in sorted(SUPPORTED_SAMPLE_RATES))
        raise InvalidAudioError(f"unsupported sample rate {sample_rate} Hz; supported: {rates}")


class MelFrontEnd(nn.Module):
    """Audio window -> normalised log-mel tensor of shape `config.shape`."""

    def __init__(self, config: FeatureConfig = DEFAULT_FEATURE_CONFIG) -> None:
        super().__init__()
        self.config = config
        self.spectrogram = torchaudio.transforms.Spectrogram(
            n_fft=config.n_fft,
            win_length=config.win_length,
            hop_length=config.hop_length,
            power=2.0,
            center=True,
        )
        self.mel_scale = torchaudio.transforms.MelScale(
            n_mels=config.n_mels,
            sample_rate=config.sample_rate,
            f_min=config.f_min,
            f_max=config.f_max,
            n_stft=config.n_fft // 2 + 1,
        )
        self.to_db = torchaudio.transforms.AmplitudeToDB(stype="power", top_db=config.top_db)
        self.resamplers = nn.ModuleDict()  # input rate (str) -> Resample, built on first use

    def forward(self, waveform: Tensor, sample_rate: int) -> Tensor:
        """(samples,) or (channels, samples) float audio -> (1, n_mels, n_frames) in [-1, 1]."""
        validate_waveform(waveform, sample_rate)
        audio = self.fit_length(self.resample(self.to_mono(waveform), sample_rate))  # (T,)
        if self.config.denoise is not None:
            audio = torchaudio.functional.highpass_biquad(
                audio, self.config.sample_rate, self.config.denoise.highpass_hz
            )
        power = self.spectrogram(audio)  # (n_fft/2+1, frames)
        if self.config.denoise is not None:
            power = spectral_gate(power, self.config.denoise)
        mel_db = self.to_db(self.mel_scale(power))  # (n_mels, frames)
        return normalise(mel_db).unsqueeze(0)  # (1, n_mels, frames)

    @staticmethod
    def to_mono(waveform: Tensor) -> Tensor:
        audio = waveform if waveform.dim() == 1 else waveform.mean(dim=0)
        return audio.to(torch.float32)

    def resample(self, audio: Tensor, sample_rate: int) -> Tensor:
        if sample_rate == self.config.sample_rate:
            return audio
        key = str(sample_rate)
        if key not in self.resamplers:
            self.resamplers[key] = torchaudio.transforms.Resample(
                sample_rate, self.config.sample_rate
            ).to(audio.device)
        return self.resamplers[key](audio)  # type: ignore[no-any-return]

    def fit_length(self, audio: Tensor) -> Tensor:
        """Cut to the first `clip_seconds`, or pad with zeros at the end."""
        n = self.config.n_samples
        if audio.shape[-1] >= n:
            return audio[..., :n]
        return nn.functional.pad(audio, (0, n - audio.shape[-1]))


def spectral_gate(power: Tensor, config: DenoiseConfig) -> Tensor:
    """Soft spectral gating of a power spectrogram (freq, frames) against its own noise floor."""
    power_db = 10.0 * torch.log10(power.clamp_min(1e-10))
    floor_db = torch.quantile(power_db, config.gate_quantile, dim=-1, keepdim=True)
    above = (power_db - floor_db - config.gate_threshold_db) / config.gate_slope_db
    min_gain = 10.0 ** (-config.gate_reduction_db / 10.0)
    gain: Tensor = min_gain + (1.0 - min_gain) * torch.sigmoid(above)
    return power * gain


def normalise(mel_db: Tensor) -> Tensor:
    """Min-max scale to [-1, 1]. A constant spectrogram (digital silence) maps to all -1."""
    low, high = mel_db.min(), mel_db.max()
    span = high - low
    if float(span) < 1e-6:
        return torch.full_like(mel_db, -1.0)
    return (mel_db - low) / span * 2.0 - 1.0
