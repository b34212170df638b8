"""The mel front end (nser_shared.frontend.features) and audio I/O (nser_shared.frontend.audio)."""

import math
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from torch import Tensor

from nser_shared.errors import FeatureConfigMismatchError, InvalidAudioError
from nser_shared.frontend.audio import read_audio, write_audio
from nser_shared.frontend.features import (
    DEFAULT_FEATURE_CONFIG,
    DenoiseConfig,
    FeatureConfig,
    MelFrontEnd,
    normalise,
    require_same_config,
    spectral_gate,
    validate_waveform,
)

RATE = 16_000
TONE_HZ = 1000.0
TONE_BIN = 64  # 1000 Hz / (16000 Hz / 1024) on the STFT grid


def sine(freq: float, rate: int = RATE, seconds: float = 3.0, amp: float = 0.5) -> Tensor:
    t = torch.arange(round(rate * seconds), dtype=torch.float64) / rate
    return (amp * torch.sin(2 * math.pi * freq * t)).to(torch.float32)


def white_noise(n: int, std: float, seed: int = 0) -> Tensor:
    return std * torch.randn(n, generator=torch.Generator().manual_seed(seed))


def tone_burst_in_noise(noise_std: float = 0.05) -> Tensor:
    """A 1 kHz tone during the middle second of 3 s of white noise.

    A burst, not a steady tone: the gate estimates each bin's floor over the window, so a tone
    that never stops is, by design, as stationary as a fan whine and gated like one.
    """
    tone = sine(TONE_HZ, amp=0.3)
    tone[:RATE] = 0.0
    tone[2 * RATE :] = 0.0
    return tone + white_noise(3 * RATE, noise_std)


def band_means(features: Tensor) -> Tensor:
    return features[0].mean(dim=1)  # (n_mels,)


# --- shape, range, dtype ----------------------------------------------------------------------


def test_front_end_output_is_1x128x188_float32_for_three_seconds_at_16k() -> None:
    out = MelFrontEnd()(sine(440.0) + white_noise(3 * RATE, 0.01), RATE)
    assert out.shape == (1, 128, 188)
    assert out.shape == DEFAULT_FEATURE_CONFIG.shape
    assert out.dtype == torch.float32


def test_front_end_output_spans_exactly_minus_one_to_one_for_non_constant_audio() -> None:
    out = MelFrontEnd()(sine(440.0) + white_noise(3 * RATE, 0.01), RATE)
    assert float(out.min()) == -1.0
    assert float(out.max()) == 1.0
    assert bool(torch.isfinite(out).all())


def test_front_end_accepts_float64_audio_and_returns_float32() -> None:
    out = MelFrontEnd()(sine(440.0).to(torch.float64), RATE)
    assert out.dtype == torch.float32


def test_digital_silence_maps_to_all_minus_one_instead_of_dividing_by_a_zero_span() -> None:
    out = MelFrontEnd()(torch.zeros(3 * RATE), RATE)
    assert out.shape == (1, 128, 188)
    assert torch.equal(out, torch.full_like(out, -1.0))


def test_normalise_maps_a_constant_spectrogram_to_minus_one() -> None:
    assert torch.equal(normalise(torch.full((4, 5), -7.0)), torch.full((4, 5), -1.0))


# --- resampling and channels ----------------------------------------------------------------


def test_a_44k1_sine_gives_nearly_the_same_mel_as_the_same_sine_at_16k() -> None:
    front_end = MelFrontEnd()
    at_44k1 = front_end(sine(TONE_HZ, rate=44_100), 44_100)
    at_16k = front_end(sine(TONE_HZ, rate=RATE), RATE)
    assert at_44k1.shape == at_16k.shape
    assert int(band_means(at_44k1).argmax()) == int(band_means(at_16k).argmax())
    assert float((at_44k1 - at_16k).abs().mean()) < 0.05


def test_a_48k_stereo_clip_is_mixed_to_mono_by_the_channel_mean() -> None:
    front_end = MelFrontEnd()
    left, right = sine(TONE_HZ, rate=48_000), sine(3000.0, rate=48_000, amp=0.2)
    stereo = front_end(torch.stack([left, right]), 48_000)
    mono = front_end((left + right) / 2, 48_000)
    assert stereo.shape == (1, 128, 188)
    torch.testing.assert_close(stereo, mono)


def test_a_clip_with_identical_channels_equals_the_mono_clip() -> None:
    front_end = MelFrontEnd()
    audio = sine(TONE_HZ, rate=48_000) + white_noise(3 * 48_000, 0.01)
    assert torch.equal(front_end(torch.stack([audio, audio]), 48_000), front_end(audio, 48_000))


# --- padding and trimming -------------------------------------------------------------------


def test_a_one_second_clip_is_zero_padded_at_the_end() -> None:
    out = MelFrontEnd()(sine(TONE_HZ, seconds=1.0) + white_noise(RATE, 0.01), RATE)
    assert out.shape == (1, 128, 188)
    # 1 s is 62.5 hops; from frame 70 on, every STFT window (±2 hops) lies in the zero padding,
    # whose power is below the top-dB floor, so it is the minimum.
    assert torch.equal(out[0, :, 70:], torch.full_like(out[0, :, 70:], -1.0))
    assert float(out[0, :, :60].mean()) > -0.9


def test_a_five_second_clip_gives_the_features_of_its_first_three_seconds() -> None:
    front_end = MelFrontEnd()
    audio = sine(TONE_HZ, seconds=5.0) + white_noise(5 * RATE, 0.05)
    assert torch.equal(front_end(audio, RATE), front_end(audio[: 3 * RATE], RATE))


# --- invalid audio --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("audio", "message"),
    [
        pytest.param(torch.zeros(0), "empty", id="empty"),
        pytest.param(torch.zeros(2, 0), "empty", id="empty-channels"),
        pytest.param(torch.tensor([0.0, float("nan"), 0.1]), "NaN", id="nan"),
        pytest.param(torch.tensor([0.0, float("inf"), 0.1]), "Inf", id="inf"),
        pytest.param(torch.tensor([0.0, float("-inf"), 0.1]), "Inf", id="minus-inf"),
        pytest.param(torch.tensor(0.5), "shape", id="rank-0"),
        pytest.param(torch.zeros(1, 2, RATE), "shape", id="rank-3"),
        pytest.param(torch.zeros(RATE, dtype=torch.int16), "floating point", id="int16"),
        pytest.param(torch.zeros(RATE, 2), "(samples, channels)", id="samples-by-channels"),
    ],
)
def test_front_end_rejects_unusable_audio_naming_the_problem(audio: Tensor, message: str) -> None:
    with pytest.raises(InvalidAudioError, match=re.escape(message)):
        MelFrontEnd()(audio, RATE)


def test_front_end_rejects_an_unsupported_sample_rate() -> None:
    with pytest.raises(InvalidAudioError, match="unsupported sample rate 12345"):
        MelFrontEnd()(sine(TONE_HZ), 12345)


def test_validate_waveform_rejects_a_numpy_array() -> None:
    with pytest.raises(InvalidAudioError, match=r"torch\.Tensor"):
        validate_waveform(np.zeros(RATE, dtype=np.float32), RATE)


def test_invalid_audio_error_is_a_value_error_for_callers_outside_nser() -> None:
    with pytest.raises(ValueError, match="empty"):
        validate_waveform(torch.zeros(0), RATE)


# --- FeatureConfig identity -----------------------------------------------------------------


def test_feature_config_id_is_the_same_for_two_default_constructions() -> None:
    assert FeatureConfig().id == FeatureConfig().id == DEFAULT_FEATURE_CONFIG.id
    assert FeatureConfig(**DEFAULT_FEATURE_CONFIG.to_dict()).id == DEFAULT_FEATURE_CONFIG.id


def test_default_feature_config_id_is_pinned_because_checkpoints_store_it() -> None:
    # Changing any default invalidates every checkpoint and feature message; do it knowingly.
    assert DEFAULT_FEATURE_CONFIG.id == "mel-2a5080d2e107"


def test_feature_config_id_ignores_int_versus_float_spelling_of_a_float_field() -> None:
    # A config read from hand-written JSON ("clip_seconds": 3) is the same configuration.
    config = FeatureConfig(clip_seconds=3, f_min=0, top_db=80)
    assert config == DEFAULT_FEATURE_CONFIG
    assert config.id == DEFAULT_FEATURE_CONFIG.id
    assert DenoiseConfig(highpass_hz=100) == DenoiseConfig()


@pytest.mark.parametrize(
    "change",
    [
        {"sample_rate": 22_050},
        {"clip_seconds": 2.0},
        {"n_fft": 2048},
        {"win_length": 512},
        {"hop_length": 128},
        {"f_min": 20.0},
        {"f_max": 7600.0},
        {"n_mels": 64},
        {"top_db": 60.0},
        {"denoise": DenoiseConfig(gate_quantile=0.3)},
    ],
    ids=lambda change: next(iter(change)),
)
def test_changing_any_feature_config_field_changes_the_id(change: dict[str, object]) -> None:
    assert FeatureConfig(**change).id != DEFAULT_FEATURE_CONFIG.id


def test_switching_denoise_on_changes_the_id_and_off_restores_it() -> None:
    denoised = DEFAULT_FEATURE_CONFIG.with_denoise(True)
    assert denoised.denoise == DenoiseConfig()
    assert denoised.id != DEFAULT_FEATURE_CONFIG.id
    assert denoised.with_denoise(False).id == DEFAULT_FEATURE_CONFIG.id
    assert denoised.with_denoise(True).id == denoised.id


@pytest.mark.parametrize(
    "config",
    [DEFAULT_FEATURE_CONFIG, DEFAULT_FEATURE_CONFIG.with_denoise(True)],
    ids=["default", "denoise"],
)
def test_feature_config_round_trips_through_a_dict(config: FeatureConfig) -> None:
    restored = FeatureConfig.from_dict(config.to_dict())
    assert restored == config
    assert restored.id == config.id


def test_feature_config_from_dict_rejects_an_unknown_key() -> None:
    data = DEFAULT_FEATURE_CONFIG.to_dict() | {"n_bark": 24}
    with pytest.raises(FeatureConfigMismatchError, match="n_bark"):
        FeatureConfig.from_dict(data)


def test_feature_config_from_dict_rejects_an_unknown_denoise_key() -> None:
    data = DEFAULT_FEATURE_CONFIG.with_denoise(True).to_dict()
    data["denoise"]["wiener"] = True
    with pytest.raises(FeatureConfigMismatchError, match="wiener"):
        FeatureConfig.from_dict(data)


def test_require_same_config_passes_on_the_same_id() -> None:
    require_same_config(DEFAULT_FEATURE_CONFIG, FeatureConfig().id, "checkpoint")


def test_require_same_config_raises_naming_both_ids_on_a_mismatch() -> None:
    other = DEFAULT_FEATURE_CONFIG.with_denoise(True).id
    with pytest.raises(FeatureConfigMismatchError, match=f"checkpoint.*{other}") as info:
        require_same_config(DEFAULT_FEATURE_CONFIG, other, "checkpoint")
    assert DEFAULT_FEATURE_CONFIG.id in str(info.value)


# --- noise mitigation -----------------------------------------------------------------------


def test_spectral_gate_keeps_a_tone_burst_and_lowers_stationary_noise_relative_to_it() -> None:
    # Measured on the power spectrogram, in dB, where the gate acts.
    power = MelFrontEnd().spectrogram(tone_burst_in_noise())  # (513, 188)
    gated = spectral_gate(power, DenoiseConfig())
    tone = (slice(TONE_BIN - 2, TONE_BIN + 3), slice(70, 115))  # tone bins, tone-on frames
    noise = (slice(200, None), slice(None))  # 3.1-8 kHz: noise only

    def db(p: Tensor) -> float:
        return 10.0 * math.log10(float(p.mean()))

    assert abs(db(gated[tone]) - db(power[tone])) < 0.1
    # white noise: each bin's power is exponentially distributed, so with the default 12 dB
    # threshold over the 20th percentile nearly all of it is gated
    gain_db = 10.0 * torch.log10(gated[noise] / power[noise].clamp_min(1e-30))
    assert float(gain_db.median()) < -10.0  # the typical noise bin
    assert db(gated[noise]) < db(power[noise]) - 5.0  # the noise energy, outliers included
    contrast_plain = db(power[tone]) - db(power[noise])
    contrast_gated = db(gated[tone]) - db(gated[noise])
    assert contrast_gated > contrast_plain + 5.0


def test_spectral_gate_never_amplifies_and_attenuates_at_most_the_reduction() -> None:
    power = MelFrontEnd().spectrogram(tone_burst_in_noise())
    config = DenoiseConfig()
    gain = spectral_gate(power, config) / power.clamp_min(1e-30)
    assert float(gain.max()) <= 1.0 + 1e-6
    assert float(gain.min()) >= 10.0 ** (-config.gate_reduction_db / 10.0) - 1e-6


def test_denoise_keeps_the_tone_band_the_loudest() -> None:
    audio = tone_burst_in_noise()
    plain = band_means(MelFrontEnd()(audio, RATE))
    denoised = band_means(MelFrontEnd(DEFAULT_FEATURE_CONFIG.with_denoise(True))(audio, RATE))
    assert int(denoised.argmax()) == int(plain.argmax())


def test_highpass_removes_a_30_hz_rumble() -> None:
    # gate_reduction_db=0 makes the gate's gain exactly 1, isolating the high-pass.
    highpass_only = FeatureConfig(denoise=DenoiseConfig(gate_reduction_db=0.0))
    audio = sine(30.0, amp=0.3) + sine(TONE_HZ, amp=0.3)
    plain = band_means(MelFrontEnd()(audio, RATE))
    filtered = band_means(MelFrontEnd(highpass_only)(audio, RATE))
    tone_band = int(plain[10:].argmax()) + 10
    # Mel bands 0-3 span 0-55 Hz; before, the rumble there is as loud as the tone.
    rumble_plain = float(plain[:4].max() - plain[tone_band])
    rumble_filtered = float(filtered[:4].max() - filtered[tone_band])
    assert rumble_plain > -0.1
    assert rumble_filtered < rumble_plain - 0.3
    assert int(filtered.argmax()) == tone_band


# --- audio files ----------------------------------------------------------------------------


def test_write_then_read_audio_round_trips_within_pcm16_precision(tmp_path: Path) -> None:
    audio = torch.stack([sine(TONE_HZ, seconds=0.5), sine(3000.0, seconds=0.5, amp=0.2)])
    path = tmp_path / "nested" / "clip.wav"
    write_audio(path, audio, RATE)
    restored, rate = read_audio(path)
    assert rate == RATE
    assert restored.shape == audio.shape
    assert restored.dtype == torch.float32
    assert float((restored - audio).abs().max()) <= 1.0 / 2**15


def test_write_audio_accepts_mono_numpy_and_reads_back_one_channel(tmp_path: Path) -> None:
    audio = sine(TONE_HZ, seconds=0.25).numpy()
    write_audio(tmp_path / "mono.wav", audio, 48_000)
    restored, rate = read_audio(tmp_path / "mono.wav")
    assert rate == 48_000
    assert restored.shape == (1, audio.shape[0])
    np.testing.assert_allclose(restored[0].numpy(), audio, atol=1.0 / 2**15)


def test_write_audio_clips_samples_outside_minus_one_to_one(tmp_path: Path) -> None:
    write_audio(tmp_path / "loud.wav", torch.tensor([1.5, -1.5, 0.0]), RATE)
    restored, _ = read_audio(tmp_path / "loud.wav")
    assert float(restored.max()) <= 1.0
    assert float(restored.min()) >= -1.0
    assert float(restored[0, 0]) > 0.999
    assert soundfile.info(str(tmp_path / "loud.wav")).subtype == "PCM_16"


def test_read_audio_rejects_a_file_that_is_not_audio(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("this is not a RIFF file\n")
    with pytest.raises(InvalidAudioError, match="cannot read audio file"):
        read_audio(path)


def test_read_audio_rejects_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidAudioError, match=r"missing\.wav"):
        read_audio(tmp_path / "missing.wav")
