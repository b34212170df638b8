"""DEMAND-like background noise, the test-time mixing rule, and the signal building blocks that
the voice synthesiser (`voices.py`) shares.

The real DEMAND recordings (Thiemann et al. 2013) cannot be downloaded here, so each of the
paper's five categories is imitated by layering the sources that dominate it:

- bus: a diesel engine (a harmonic series at 20-50 Hz following a slow drive cycle), road
  roar (brown noise that swells with speed), cabin hiss, rattles, brake squeals, a few talkers;
- metro: deep rumble, a traction-motor whine that glides with the train's speed, wheel clacks
  over rail joints (in pairs, faster at speed), wheel squeal, ventilation hiss;
- cafe: reverberant babble of many talkers, cup and cutlery clinks, chair scrapes;
- kitchen: fridge hum (mains frequency and harmonics), running water, pots and cutlery
  clatter, chopping knocks, sizzling;
- office: ventilation and computer-fan noise, keyboard typing in bursts, mouse clicks, a
  couple of distant talkers.

Noise that contains voices (cafe, office, bus) is the hard case for a scream detector, as in the
paper, where cafe noise cost the student most. Every track is normalised to `NOISE_RMS_DBFS`;
`nser_models.data.mixtures.mix_at_snr` sets the level that matters at mixing time.

The building blocks (coloured noise, band-limited pulse trains, formant filters, a babbling
talker, a synthetic room) live here, below the vocalisation synthesiser, so that the babble in
cafe noise and the babble clips of the corpus are made by the same code.

Why one module: the five noise categories are layered from the same signal blocks, and splitting
them would scatter one recipe.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
from scipy import ndimage, signal

from nser_shared.errors import DatasetError

Signal = npt.NDArray[np.float64]

NOISE_SAMPLE_RATE = 16000  # DEMAND's 16 kHz release
NOISE_RMS_DBFS = -26.0

# F1-F4 of an adult male voice (Peterson & Barney 1952, rounded). Speakers scale them.
VOWELS: dict[str, tuple[float, float, float, float]] = {
    "a": (730.0, 1090.0, 2440.0, 3400.0),
    "ae": (660.0, 1720.0, 2410.0, 3400.0),
    "e": (530.0, 1840.0, 2480.0, 3500.0),
    "i": (270.0, 2290.0, 3010.0, 3700.0),
    "o": (570.0, 840.0, 2410.0, 3400.0),
    "u": (300.0, 870.0, 2240.0, 3300.0),
}
FORMANT_BANDWIDTHS = (90.0, 110.0, 170.0, 250.0)


# --- signal building blocks -------------------------------------------------------------------


def coloured_noise(rng: np.random.Generator, n: int, exponent: float = 0.0) -> Signal:
    """Unit-RMS noise with power spectrum 1/f**exponent (0 white, 1 pink, 2 brown)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.maximum(np.fft.rfftfreq(n), 1.0 / max(n, 1))
    spectrum *= freqs ** (-exponent / 2.0)
    spectrum[0] = 0.0
    return unit_rms(np.fft.irfft(spectrum, n))


def rms(x: Signal) -> float:
    return math.sqrt(float(np.mean(x**2))) if x.size else 0.0


def unit_rms(x: Signal) -> Signal:
    level = rms(x)
    return x / level if level > 1e-12 else x


def one_pole_lowpass(x: Signal, sample_rate: int, corner_hz: float) -> Signal:
    """-6 dB/octave above `corner_hz`: the spectral tilt of a voice source."""
    a = math.exp(-2.0 * math.pi * corner_hz / sample_rate)
    out: Signal = signal.lfilter([1.0 - a], [1.0, -a], x)
    return out


def bandpass(x: Signal, sample_rate: int, low_hz: float, high_hz: float, order: int = 2) -> Signal:
    nyquist = sample_rate / 2.0
    high = min(high_hz, 0.95 * nyquist)
    sos = signal.butter(order, [low_hz, high], btype="bandpass", fs=sample_rate, output="sos")
    out: Signal = signal.sosfilt(sos, x)
    return out


def smooth(x: Signal, sample_rate: int, seconds: float) -> Signal:
    """Twice a moving average of `seconds` (a triangular window): removes clicks from steps."""
    size = max(1, round(seconds * sample_rate))
    once = ndimage.uniform_filter1d(x, size, mode="nearest")
    out: Signal = ndimage.uniform_filter1d(once, size, mode="nearest")
    return out


def slow_random(rng: np.random.Generator, n: int, sample_rate: int, rate_hz: float) -> Signal:
    """A smooth random curve of about unit variance that changes `rate_hz` times a second."""
    knots = max(2, math.ceil(n / sample_rate * rate_hz) + 2)
    values = rng.standard_normal(knots)
    positions = np.linspace(0.0, knots - 1.0, n)
    curve = np.interp(positions, np.arange(knots), values)
    return smooth(curve, sample_rate, 0.5 / rate_hz) * 1.4  # smoothing loses ~30 % of the swing


def pulse_train(f0: Signal, sample_rate: int, top_hz: float, divide: float = 1.0) -> Signal:
    """Unit-RMS band-limited pulse train: equal-amplitude harmonics of f0/divide up to top_hz.

    A closed-form sum (Dirichlet kernel) costs O(samples) whatever the number of harmonics; the
    top harmonic fades in with its fractional count, so a gliding f0 adds no clicks.
    `divide=2` gives the period-doubled source used for subharmonics.
    """
    freq = np.maximum(f0 / divide, 1.0)
    phase = np.mod(2.0 * np.pi * np.cumsum(freq) / sample_rate, 2.0 * np.pi)
    count = np.maximum(top_hz / freq, 1.0)
    whole = np.floor(count)
    half = np.sin(0.5 * phase)
    safe = np.where(np.abs(half) < 1e-9, 1.0, half)
    kernel = np.where(
        np.abs(half) < 1e-9, whole, np.sin((whole + 0.5) * phase) / (2.0 * safe) - 0.5
    )
    harmonics = kernel + (count - whole) * np.cos((whole + 1.0) * phase)
    out: Signal = harmonics / np.sqrt(count / 2.0)
    return out


def formant_filter(
    x: Signal, sample_rate: int, formants: Sequence[float], bandwidths: Sequence[float]
) -> Signal:
    """Cascade of second-order resonators (Klatt 1980), unity gain at 0 Hz."""
    for freq, width in zip(formants, bandwidths, strict=True):
        if freq >= 0.45 * sample_rate:
            continue
        c = -math.exp(-2.0 * math.pi * width / sample_rate)
        b = (
            2.0
            * math.exp(-math.pi * width / sample_rate)
            * math.cos(2 * math.pi * freq / sample_rate)
        )
        x = signal.lfilter([1.0 - b - c], [1.0, -b, -c], x)
    return x


def vowel_filter(
    source: Signal,
    sample_rate: int,
    vowels: Sequence[str],
    weights: npt.NDArray[np.float64],
    formant_scale: float = 1.0,
    f1_scale: float = 1.0,
) -> Signal:
    """Filter `source` through each vowel's formants and crossfade them with `weights` (V, n).

    `formant_scale` is the speaker's vocal-tract length; `f1_scale` > 1 opens the jaw (screams).
    """
    out = np.zeros_like(source)
    for vowel, weight in zip(vowels, weights, strict=True):
        f1, f2, f3, f4 = VOWELS[vowel]
        formants = [f1 * f1_scale * formant_scale] + [f * formant_scale for f in (f2, f3, f4)]
        out += weight * formant_filter(source, sample_rate, formants, FORMANT_BANDWIDTHS)
    return out


def segment_weights(
    labels: npt.NDArray[np.int64], count: int, sample_rate: int, fade_s: float = 0.03
) -> npt.NDArray[np.float64]:
    """One-hot rows (count, n) from a per-sample label track, smoothed into crossfades."""
    onehot = (labels[None, :] == np.arange(count)[:, None]).astype(np.float64)
    return np.stack([smooth(row, sample_rate, fade_s) for row in onehot])


def talker(
    rng: np.random.Generator,
    n: int,
    sample_rate: int,
    *,
    f0_hz: float,
    formant_scale: float = 1.0,
    syllable_rate: float = 4.0,
    breathiness: float = 0.1,
    brightness_hz: float = 350.0,
) -> Signal:
    """Unit-RMS speech-like babble: consonant-vowel syllables in phrases, with intonation.

    Syllables come at `syllable_rate` per second with a vowel drawn per syllable and a noise
    burst (fricative or plosive release) at most onsets; phrases of 1-3 s are separated by short
    pauses, and f0 declines over each phrase with a random accent.
    """
    vowels = list(VOWELS)
    labels = np.zeros(n, dtype=np.int64)
    loudness = np.zeros(n)
    frication = np.zeros(n)
    f0_shape = np.ones(n)
    position = 0
    while position < n:
        phrase = min(n - position, int(rng.uniform(1.0, 3.0) * sample_rate))
        f0_shape[position : position + phrase] = np.linspace(1.1 + 0.1 * rng.random(), 0.85, phrase)
        cursor = position
        while cursor < position + phrase:
            length = int(sample_rate / syllable_rate * rng.uniform(0.6, 1.4))
            end = min(position + phrase, cursor + length)
            labels[cursor:end] = rng.integers(len(vowels))
            onset = min(end, cursor + int(length * rng.uniform(0.1, 0.3)))
            loudness[onset:end] = rng.uniform(0.4, 1.0)
            if rng.random() < 0.7:
                frication[cursor:onset] = rng.uniform(0.2, 0.6)
            cursor = end
        position += phrase + int(rng.uniform(0.1, 0.5) * sample_rate)
    f0 = f0_hz * f0_shape * np.exp(0.08 * slow_random(rng, n, sample_rate, 3.0))
    top = min(0.45 * sample_rate, 10000.0)
    voiced = one_pole_lowpass(pulse_train(f0, sample_rate, top), sample_rate, brightness_hz)
    source = unit_rms(voiced) + breathiness * coloured_noise(rng, n)
    weights = segment_weights(labels, len(vowels), sample_rate)
    speech = vowel_filter(source, sample_rate, vowels, weights, formant_scale)
    speech = unit_rms(speech) * smooth(loudness, sample_rate, 0.015)
    hiss = bandpass(coloured_noise(rng, n), sample_rate, 2500.0, 7500.0)
    return unit_rms(speech + 0.5 * hiss * smooth(frication, sample_rate, 0.005))


def reverb(
    x: Signal, sample_rate: int, rng: np.random.Generator, rt60_s: float, wet: float
) -> Signal:
    """A small synthetic room: exponentially decaying noise as the impulse response."""
    length = max(1, int(rt60_s * sample_rate))
    t = np.arange(length) / sample_rate
    tail = rng.standard_normal(length) * np.exp(-6.9 * t / rt60_s)  # -60 dB at rt60
    tail = one_pole_lowpass(tail, sample_rate, 4000.0)  # walls absorb the highs first
    tail *= wet / math.sqrt(float(np.sum(tail**2)) + 1e-12)
    tail[0] += 1.0 - wet
    out: Signal = signal.fftconvolve(x, tail)[: len(x)]
    return out


def _add_events(
    out: Signal,
    rng: np.random.Generator,
    sample_rate: int,
    rate_hz: float,
    make: Callable[[np.random.Generator], Signal],
) -> None:
    """Add events from `make` at Poisson times (`rate_hz` a second) into `out`, in place."""
    for start in rng.integers(0, len(out), rng.poisson(rate_hz * len(out) / sample_rate)):
        event = make(rng)
        end = min(len(out), start + len(event))
        out[start:end] += event[: end - start]


def _ring(
    rng: np.random.Generator, sample_rate: int, low_hz: float, high_hz: float, decay_s: float
) -> Signal:
    """A struck object: a few inharmonic partials with exponential decay."""
    n = int(decay_s * 5 * sample_rate)
    t = np.arange(n) / sample_rate
    out = np.zeros(n)
    for _ in range(rng.integers(2, 6)):
        freq = rng.uniform(low_hz, min(high_hz, 0.45 * sample_rate))
        decay = decay_s * rng.uniform(0.3, 1.0)
        out += (
            rng.uniform(0.2, 1.0)
            * np.sin(2 * np.pi * freq * t + rng.uniform(0, 6.3))
            * np.exp(-t / decay)
        )
    return out * rng.uniform(0.3, 1.0)


def _burst(
    rng: np.random.Generator,
    sample_rate: int,
    seconds: float,
    low_hz: float,
    high_hz: float,
    attack_s: float = 0.002,
) -> Signal:
    """Band-limited noise with a fast attack and exponential decay (clicks, knocks, hiss)."""
    n = max(8, int(seconds * sample_rate))
    t = np.arange(n) / sample_rate
    envelope: Signal = np.minimum(1.0, t / attack_s) * np.exp(-t / (seconds / 4))
    noise = bandpass(rng.standard_normal(n), sample_rate, low_hz, high_hz)
    return unit_rms(noise) * envelope * float(rng.uniform(0.3, 1.0))


def _crowd(rng: np.random.Generator, n: int, sample_rate: int, talkers: int) -> Signal:
    voices = np.zeros(n)
    for _ in range(talkers):
        female = rng.random() < 0.5
        voices += rng.uniform(0.3, 1.0) * talker(
            rng,
            n,
            sample_rate,
            f0_hz=rng.uniform(170, 260) if female else rng.uniform(90, 160),
            formant_scale=1.15 if female else 1.0,
            syllable_rate=rng.uniform(3.0, 5.5),
        )
    return unit_rms(voices)


# --- the noise categories ---------------------------------------------------------------------


def _bus(rng: np.random.Generator, n: int, sr: int) -> Signal:
    speed = np.clip(0.5 + 0.5 * slow_random(rng, n, sr, 1 / 10), 0.0, 1.0)  # drive cycles
    engine = one_pole_lowpass(pulse_train(22.0 + 28.0 * speed, sr, 600.0), sr, 120.0)
    road = one_pole_lowpass(coloured_noise(rng, n, 2.0), sr, 500.0) * (0.3 + speed)
    out = unit_rms(engine) + 0.8 * unit_rms(road) + 0.08 * coloured_noise(rng, n, 1.0)
    _add_events(out, rng, sr, 0.8, lambda r: 0.3 * _burst(r, sr, 0.05, 800, 5000))  # rattles
    _add_events(out, rng, sr, 0.03, lambda r: 0.15 * _burst(r, sr, 1.2, 3000, 6000, 0.2))
    out += 0.12 * reverb(_crowd(rng, n, sr, 2), sr, rng, 0.3, 0.3)
    return out


def _metro(rng: np.random.Generator, n: int, sr: int) -> Signal:
    speed = np.clip(0.5 + 0.6 * slow_random(rng, n, sr, 1 / 15), 0.05, 1.0)
    rumble = one_pole_lowpass(coloured_noise(rng, n, 2.0), sr, 300.0) * (0.4 + speed)
    whine = one_pole_lowpass(pulse_train(150.0 + 900.0 * speed, sr, 3000.0), sr, 600.0)
    out = unit_rms(rumble) + 0.15 * unit_rms(whine) * speed + 0.1 * coloured_noise(rng, n, 0.5)
    clack = np.zeros(n)
    # Wheel sets cross a rail joint in pairs; the interval shrinks as the train speeds up.
    position = 0
    while position < n:
        for offset in (0, int(0.12 * sr)):
            event = _burst(rng, sr, 0.06, 100, 2000)
            end = min(n, position + offset + len(event))
            clack[position + offset : end] += event[: max(0, end - position - offset)]
        position += int(sr * rng.uniform(0.4, 0.6) / max(float(speed[min(position, n - 1)]), 0.2))
    out += 0.5 * clack
    _add_events(out, rng, sr, 0.02, lambda r: _squeal(r, sr))
    return out


def _squeal(rng: np.random.Generator, sr: int) -> Signal:
    n = int(rng.uniform(0.8, 3.0) * sr)
    f = rng.uniform(2000, 5000) * np.exp(0.01 * slow_random(rng, n, sr, 8.0))
    tone = np.sin(2 * np.pi * np.cumsum(f) / sr)
    return 0.1 * tone * np.hanning(n)


def _cafe(rng: np.random.Generator, n: int, sr: int) -> Signal:
    crowd = reverb(_crowd(rng, n, sr, int(rng.integers(6, 11))), sr, rng, 0.6, 0.5)
    out = crowd + 0.2 * coloured_noise(rng, n, 1.0)
    _add_events(out, rng, sr, 1.5, lambda r: 0.4 * _ring(r, sr, 2000, 8000, 0.08))  # cups
    _add_events(out, rng, sr, 0.05, lambda r: 0.2 * _burst(r, sr, 0.5, 200, 3000, 0.1))
    return out


def _kitchen(rng: np.random.Generator, n: int, sr: int) -> Signal:
    t = np.arange(n) / sr
    hum = sum(np.sin(2 * np.pi * 50.0 * k * t) / k for k in (1, 2, 3, 4))
    water = np.zeros(n)
    position = 0
    while position < n:  # the tap runs for a while, then rests
        length = int(rng.uniform(2.0, 10.0) * sr)
        if rng.random() < 0.5:
            chunk = bandpass(coloured_noise(rng, length), sr, 400, 6000)
            chunk *= 1.0 + 0.5 * slow_random(rng, length, sr, 12.0)
            water[position : position + length] = chunk[: n - position]
        position += length
    out = 0.1 * hum + 0.6 * water + 0.05 * coloured_noise(rng, n, 1.0)
    _add_events(out, rng, sr, 0.6, lambda r: _ring(r, sr, 300, 4000, 0.15))  # pots, cutlery
    _add_events(out, rng, sr, 0.15, lambda r: _chopping(r, sr))
    return out


def _chopping(rng: np.random.Generator, sr: int) -> Signal:
    beats = int(rng.integers(3, 12))
    period = int(sr / rng.uniform(2.0, 5.0))
    out = np.zeros(beats * period + sr // 10)
    for k in range(beats):
        knock = _burst(rng, sr, 0.08, 100, 3000)
        out[k * period : k * period + len(knock)] += knock
    return 0.8 * out


def _office(rng: np.random.Generator, n: int, sr: int) -> Signal:
    t = np.arange(n) / sr
    fan = rng.uniform(90, 140)
    hvac = one_pole_lowpass(coloured_noise(rng, n, 1.0), sr, 800.0)
    out = unit_rms(hvac) + 0.05 * (np.sin(2 * np.pi * fan * t) + 0.5 * np.sin(4 * np.pi * fan * t))
    _add_events(out, rng, sr, 0.1, lambda r: _typing(r, sr))
    _add_events(out, rng, sr, 0.2, lambda r: 0.3 * _burst(r, sr, 0.02, 1500, 7000))  # mouse
    out += 0.4 * reverb(_crowd(rng, n, sr, 2), sr, rng, 0.4, 0.5)
    return out


def _typing(rng: np.random.Generator, sr: int) -> Signal:
    keys = int(rng.integers(5, 40))
    times = np.cumsum(rng.uniform(0.08, 0.25, keys))
    out = np.zeros(int((times[-1] + 0.1) * sr))
    for time in times:
        click = _burst(rng, sr, 0.015, 1000, 7000)
        start = int(time * sr)
        out[start : start + len(click)] += click[: len(out) - start]
    return 0.5 * out


_CATEGORIES: dict[str, Callable[[np.random.Generator, int, int], Signal]] = {
    "bus": _bus,
    "metro": _metro,
    "cafe": _cafe,
    "kitchen": _kitchen,
    "office": _office,
}


def noise_categories() -> tuple[str, ...]:
    return tuple(_CATEGORIES)


def generate_noise(
    category: str, seconds: float, sample_rate: int, seed: int
) -> npt.NDArray[np.float32]:
    """`seconds` of float32 noise of `category` at `NOISE_RMS_DBFS`, the same for the same seed."""
    if category not in _CATEGORIES:
        raise DatasetError(
            f"unknown noise category {category!r}; choose one of: {', '.join(_CATEGORIES)}"
        )
    if not (math.isfinite(seconds) and seconds > 0 and sample_rate > 0):
        raise DatasetError(
            f"noise needs positive seconds and sample rate, got {seconds}, {sample_rate}"
        )
    # crc32 rather than hash(): str hashes change between processes.
    rng = np.random.default_rng([seed, zlib.crc32(category.encode())])
    n = round(seconds * sample_rate)
    noise = unit_rms(_CATEGORIES[category](rng, n, sample_rate))
    noise *= 10.0 ** (NOISE_RMS_DBFS / 20.0)
    peak = float(np.max(np.abs(noise)))
    if peak > 0.99:  # rare loud events: limit rather than clip
        noise *= 0.99 / peak
    return noise.astype(np.float32)


# --- mixing -----------------------------------------------------------------------------------
