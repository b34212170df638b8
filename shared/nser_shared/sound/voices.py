"""Synthetic voices: seeded source-filter synthesis of screams, cries, laughs and other calls.
The synthetic corpus (nser_models.data.synthetic, a stand-in for ASVP-ESD and VIVAE) is made of
them, and so are the voices in the devices' scenes (scenes.py).

Acoustic model. Every clip is made by source-filter synthesis at its own sample rate:

- the voiced source is a band-limited pulse train on a time-varying f0 (harmonics up to
  10 kHz), tilted by a one-pole low-pass whose corner sets how bright the voice is; breath is
  aspiration noise added to it in proportion to the speaker's breathiness;
- nonlinear phenomena act on the source: amplitude modulation at 30-150 Hz ("roughness",
  Arnal et al. 2015), subharmonic episodes (a period-doubled pulse train mixed in), sudden f0
  jumps, and chaotic stretches where the harmonics give way to noise;
- the vocal tract is a cascade of four formant resonators per vowel, crossfaded between vowels
  over time (and with a raised F1 for the open jaw of a scream);
- an amplitude envelope shapes the call: one contour for a scream, bursts for sobs and laughs,
  syllables for babble.

The classes (the table `VOCAL_CLASSES`, the only place that says what each emotion is):

- negative screams (fear, pain, anger): high f0 (anger lower, roar-like), plateau, arched or
  falling contours with strong jitter, and much roughness: deep 30-150 Hz modulation,
  subharmonics, f0 jumps and noise bursts;
- positive screams (joy, surprise, triumph): equally high f0, rising or undulating contours,
  mostly clean phonation;
- non-screams: cry (a wail, or sobs with inhalations between them, at 300-900 Hz and somewhat
  rough), laugh (breathy "ha" bursts at 4-6 Hz, high giggles, or shrieks: a few long bright
  "whoo"s), groan (low and rough, or a higher moan), sigh (falling breath), gasp (a short
  inhalation, half of them with a voiced squeak) and babble (formant-synthesised syllables at
  3-5 Hz, a third of it shouted).

Why the classes overlap (on purpose: the paper's models reach 80-86 % on detection and 67-74 %
on type, and a corpus that every model solves would not tell the three models apart):

- each scream has an intensity from barely raised to full, weak ones being the commoner: a
  weak scream is lower, darker and cleaner. A cry is made by the very same call generator as a
  weak, somewhat rough scream, so a wail and a weak scream differ in the label and little else,
  as in real recordings; shrieking laughs, moans, shouts and voiced gasps sit near screams too,
  and three screams in ten are repeated calls ("ah! ah!") that look like sobbing;
- roughness is drawn per clip around a class mean with a wide spread, plus a per-speaker habit,
  so some speakers' joyful screams are rough and some fearful ones are clean; contours are drawn
  from overlapping shape distributions (a fearful scream may rise, a joyful one may arch);
- speakers differ in pitch range, vocal-tract length (formants), breathiness, tempo, level,
  brightness and roughness habit, and the corpus is split by speaker, so a model must
  generalise to unseen voices;
- every clip is "recorded" differently, whatever its class: onset position, duration (0.6-4 s,
  some longer than the 3 s the front end keeps), peak level (-30 to -3 dBFS), a small synthetic
  room, half of the clips with a background (hiss, distant talk or mains hum at 0-30 dB SNR),
  a microphone low-pass (one clip in ten muffled below 0.8-2.5 kHz) and a noise floor; about
  30 % of clips are at 44.1 kHz, the rest at 16 kHz, so the front end's resampling is exercised.

How hard the result is gets measured, not asserted: `nser evaluate` reports, beside the three
models, a linear reference (logistic regression on each mel band's mean and standard deviation).

Every clip has its own numpy Generator seeded from (seed, speaker, index) (`synthesise_clip`),
so a clip sounds the same whatever else was made before it.

Why one module: the class table (`VOCAL_CLASSES`) and the synthesisers it names are read together,
since the overlap between classes is designed across them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import numpy.typing as npt
from scipy import signal

from nser_shared.sound.noise import (
    Signal,
    coloured_noise,
    one_pole_lowpass,
    pulse_train,
    reverb,
    rms,
    segment_weights,
    slow_random,
    smooth,
    talker,
    unit_rms,
    vowel_filter,
)
from nser_shared.wire.labels import Valence

LOW_RATE, HIGH_RATE = 16000, 44100
MAX_CLIP_SECONDS = 4.0
MIN_CLIP_SECONDS = 0.6
BACKGROUND_FRACTION = 0.5  # clips "recorded" somewhere noisy, whatever their class
MUFFLED_FRACTION = 0.1  # clips heard through something that leaves only the low harmonics


@dataclass(frozen=True)
class VocalClass:
    is_scream: bool
    valence: Valence  # the label written to the manifest


# The class table. The type task (clips.task_label) takes every clip with a valence, as the
# paper's VIVAE task does. Laughs are positive and cries negative: they are the non-screams a
# deployed detector passes most often (a shrieking laugh at a party, a wail in an assault), and
# the type model must then say what they mean rather than guess. The other non-screams carry no
# valence and are left to detection.
VOCAL_CLASSES: dict[str, VocalClass] = {
    "fear": VocalClass(is_scream=True, valence=Valence.NEGATIVE),
    "pain": VocalClass(is_scream=True, valence=Valence.NEGATIVE),
    "anger": VocalClass(is_scream=True, valence=Valence.NEGATIVE),
    "joy": VocalClass(is_scream=True, valence=Valence.POSITIVE),
    "surprise": VocalClass(is_scream=True, valence=Valence.POSITIVE),
    "triumph": VocalClass(is_scream=True, valence=Valence.POSITIVE),
    "cry": VocalClass(is_scream=False, valence=Valence.NEGATIVE),
    "laugh": VocalClass(is_scream=False, valence=Valence.POSITIVE),
    "groan": VocalClass(is_scream=False, valence=Valence.NEUTRAL),
    "sigh": VocalClass(is_scream=False, valence=Valence.NEUTRAL),
    "gasp": VocalClass(is_scream=False, valence=Valence.NEUTRAL),
    "babble": VocalClass(is_scream=False, valence=Valence.NEUTRAL),
}


# --- speakers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Speaker:
    """A voice: the traits that stay the same over all of one speaker's clips."""

    name: str
    pitch: float  # multiplies every f0 range (about 0.75 for a low voice, 1.5 for a high one)
    formants: float  # vocal-tract length: multiplies formant frequencies
    breathiness: float  # aspiration noise relative to the voiced source
    tempo: float  # multiplies rhythms (sobs, laughs, syllables), divides durations
    level_db: float  # habitual loudness, added to each clip's peak level
    roughness: float  # habit added to every clip's roughness: blurs the valence cue
    brightness: float  # multiplies spectral-tilt corners


def speaker_name(index: int) -> str:
    return f"s{index:03d}"


def make_speaker(seed: int, index: int) -> Speaker:
    rng = np.random.default_rng([seed, 0, index])
    high = rng.random() < 0.5
    return Speaker(
        name=speaker_name(index),
        pitch=(1.3 if high else 0.85) * math.exp(rng.normal(0.0, 0.12)),
        formants=(1.12 if high else 1.0) * math.exp(rng.normal(0.0, 0.05)),
        breathiness=rng.uniform(0.05, 0.35),
        tempo=math.exp(rng.normal(0.0, 0.15)),
        level_db=rng.normal(0.0, 3.0),
        roughness=rng.normal(0.0, 0.15),
        brightness=math.exp(rng.normal(0.0, 0.25)),
    )


# --- the voice --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Phonation:
    """Per-sample controls of the voice source (arrays of the clip's length, or constants)."""

    f0: Signal
    voicing: Signal | float = 1.0
    breath: Signal | float = 0.1
    brightness_hz: float = 500.0  # tilt corner: higher is brighter
    am_depth: float = 0.0  # 30-150 Hz amplitude modulation, 0..1
    am_rate_hz: float = 70.0
    subharmonic: Signal | float = 0.0  # share of the period-doubled source, 0..1
    chaos: Signal | float = 0.0  # share of noise replacing the harmonics, 0..1


def render(
    rng: np.random.Generator,
    sr: int,
    phonation: Phonation,
    vowels: Sequence[str],
    weights: npt.NDArray[np.float64],
    speaker: Speaker,
    f1_scale: float = 1.0,
) -> Signal:
    """Source (with nonlinear phenomena) -> vowel formants; unit RMS."""
    n = len(phonation.f0)
    top = min(0.45 * sr, 10000.0)
    f0 = np.clip(phonation.f0, 50.0, top / 2.0)
    voiced = pulse_train(f0, sr, top)
    if np.any(np.asarray(phonation.subharmonic) > 0):
        sub = phonation.subharmonic
        voiced = (1.0 - sub) * voiced + sub * pulse_train(f0, sr, top, divide=2.0)
    if phonation.am_depth > 0:
        rate = phonation.am_rate_hz * np.exp(0.2 * slow_random(rng, n, sr, 3.0))
        carrier = np.cos(2.0 * np.pi * np.cumsum(rate) / sr)
        voiced *= 1.0 - phonation.am_depth * 0.5 * (1.0 - carrier)
    voiced = unit_rms(one_pole_lowpass(voiced, sr, phonation.brightness_hz * speaker.brightness))
    if np.any(np.asarray(phonation.chaos) > 0):
        # Deterministic chaos sounds like harsh noise with the formants left on it.
        harsh = one_pole_lowpass(coloured_noise(rng, n), sr, 3000.0)
        voiced = (1.0 - phonation.chaos) * voiced + phonation.chaos * unit_rms(harsh)
    aspiration = one_pole_lowpass(coloured_noise(rng, n), sr, 5000.0)
    source = phonation.voicing * voiced + phonation.breath * unit_rms(aspiration)
    return unit_rms(vowel_filter(source, sr, vowels, weights, speaker.formants, f1_scale))


def glide(n: int, points: Sequence[tuple[float, float]]) -> Signal:
    """A piecewise-linear curve of n samples through (time fraction, value) points."""
    times, values = zip(*points, strict=True)
    curve = np.interp(np.linspace(0.0, 1.0, n), times, values)
    return np.asarray(curve, dtype=np.float64)


def envelope(n: int, sr: int, attack_s: float, release_s: float) -> Signal:
    t = np.arange(n) / sr
    rise = np.clip(t / max(attack_s, 1e-3), 0.0, 1.0)
    fall = np.clip((n / sr - t) / max(release_s, 1e-3), 0.0, 1.0)
    return np.sin(0.5 * np.pi * rise) * np.sin(0.5 * np.pi * fall)


def episodes(
    rng: np.random.Generator, n: int, sr: int, count: int, min_s: float, max_s: float
) -> Signal:
    """`count` stretches (random place and length) at 1, elsewhere 0, with 10 ms edges."""
    out = np.zeros(n)
    for _ in range(count):
        length = int(rng.uniform(min_s, max_s) * sr)
        start = int(rng.integers(0, max(1, n - length)))
        out[start : start + length] = 1.0
    return smooth(out, sr, 0.005) if count else out


def f0_jumps(rng: np.random.Generator, n: int, sr: int, count: int) -> Signal:
    """Multiplier with `count` sudden register breaks (up or down by a third to an octave)."""
    factor = np.ones(n)
    for _ in range(count):
        start = int(rng.integers(0, n))
        length = int(rng.uniform(0.05, 0.4) * sr)
        ratio = rng.uniform(1.25, 1.9) if rng.random() < 0.6 else rng.uniform(0.55, 0.8)
        factor[start : start + length] *= ratio
    return smooth(factor, sr, 0.003) if count else factor


def vibrato(rng: np.random.Generator, n: int, sr: int, jitter: float) -> Signal:
    """f0 multiplier: slow drift plus fast irregular jitter (in fractions of f0)."""
    drift = 0.02 * slow_random(rng, n, sr, 2.0)
    fast = jitter * slow_random(rng, n, sr, 25.0)
    return np.exp(drift + fast)


def single_vowel(vowel: str, n: int) -> tuple[list[str], npt.NDArray[np.float64]]:
    return [vowel], np.ones((1, n))


def vowel_glide(
    rng: np.random.Generator, n: int, sr: int, choices: Sequence[str]
) -> tuple[list[str], npt.NDArray[np.float64]]:
    """Two vowels, the second taking over somewhere in the middle (ah-ee, oo-ah ...)."""
    first, second = (str(v) for v in rng.choice(choices, size=2))
    switch = int(rng.uniform(0.3, 0.8) * n)
    labels = np.where(np.arange(n) < switch, 0, 1).astype(np.int64)
    return [first, second], segment_weights(labels, 2, sr, fade_s=0.1)


def roughness(rng: np.random.Generator, mean: float, speaker: Speaker, spread: float) -> float:
    return float(np.clip(mean + speaker.roughness + rng.normal(0.0, spread), 0.0, 1.0))


# --- screams ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScreamStyle:
    f0_hz: tuple[float, float]  # peak f0 of an average voice, from weakest to strongest
    contours: dict[str, float]  # contour shape -> probability
    roughness: float  # mean roughness (AM depth, rate of nonlinear phenomena), 0..1
    seconds: tuple[float, float]


SCREAM_STYLES: dict[str, ScreamStyle] = {
    "fear": ScreamStyle(
        (350, 1500), {"plateau": 0.4, "arch": 0.3, "rise": 0.2, "fall": 0.1}, 0.7, (0.6, 2.6)
    ),
    "pain": ScreamStyle(
        (330, 1350), {"fall": 0.4, "arch": 0.3, "plateau": 0.2, "rise": 0.1}, 0.7, (0.5, 2.2)
    ),
    "anger": ScreamStyle(
        (250, 900), {"plateau": 0.4, "arch": 0.3, "fall": 0.2, "rise": 0.1}, 0.75, (0.5, 2.0)
    ),
    "joy": ScreamStyle(
        (350, 1500), {"rise": 0.35, "undulate": 0.3, "arch": 0.25, "plateau": 0.1}, 0.1, (0.5, 2.4)
    ),
    "surprise": ScreamStyle((330, 1400), {"rise": 0.5, "arch": 0.4, "fall": 0.1}, 0.1, (0.3, 1.3)),
    "triumph": ScreamStyle(
        (300, 1200), {"rise": 0.4, "plateau": 0.3, "undulate": 0.2, "arch": 0.1}, 0.15, (0.8, 2.6)
    ),
}


def contour(rng: np.random.Generator, n: int, sr: int, shape: str) -> Signal:
    """f0 relative to the peak over the call, for a named contour shape."""
    low, peak_at, end = rng.uniform(0.5, 0.8), rng.uniform(0.2, 0.6), rng.uniform(0.5, 0.85)
    points = {
        "rise": [(0.0, low), (rng.uniform(0.6, 1.0), 1.0), (1.0, 1.0)],
        "fall": [(0.0, 0.9), (0.06, 1.0), (1.0, end)],
        "arch": [(0.0, low), (peak_at, 1.0), (1.0, end)],
        "plateau": [(0.0, low), (0.1, 1.0), (0.85, rng.uniform(0.9, 1.05)), (1.0, end)],
        "undulate": [(0.0, low), (rng.uniform(0.5, 0.9), 1.0), (1.0, 1.0)],
    }[shape]
    curve = glide(n, points)
    if shape == "undulate":  # "woo-hoo": a slow swing on top of the rise
        seconds = np.arange(n) / sr
        curve *= 1.0 + 0.12 * np.sin(2 * np.pi * rng.uniform(1.5, 4.0) * seconds)
    return curve


SCREAM_VOWELS = ("a", "a", "ae", "e", "i", "o", "u")  # "a" twice: the commonest scream vowel


def scream(style: ScreamStyle, rng: np.random.Generator, sr: int, speaker: Speaker) -> Signal:
    """One call, or (three times in ten) two or three shorter ones: "ah! ah!" like sobs."""
    intensity = 0.15 + 0.85 * rng.beta(1.0, 1.6)  # a weak scream is low, dark, like a cry
    seconds = rng.uniform(*style.seconds) / speaker.tempo**0.5
    calls = 1 if rng.random() < 0.7 else int(rng.integers(2, 4))
    parts: list[Signal] = []
    for k in range(calls):
        if k:
            parts.append(np.zeros(int(rng.uniform(0.08, 0.35) * sr)))
        n = int(max(0.25, seconds / calls) * sr)
        parts.append(scream_call(style, rng, sr, speaker, n, intensity))
    return np.concatenate(parts)


def scream_call(
    style: ScreamStyle,
    rng: np.random.Generator,
    sr: int,
    speaker: Speaker,
    n: int,
    intensity: float,
) -> Signal:
    """One call of n samples; `intensity` in [0, 1] sets its height, brightness and roughness."""
    low, high = style.f0_hz
    peak = speaker.pitch * (low + (high - low) * intensity) * math.exp(rng.normal(0.0, 0.1))
    shapes = list(style.contours)
    shape = str(rng.choice(shapes, p=[style.contours[s] for s in shapes]))
    rough = roughness(rng, style.roughness * (0.5 + 0.5 * intensity), speaker, 0.18)
    f0 = peak * contour(rng, n, sr, shape) * vibrato(rng, n, sr, 0.005 + 0.04 * rough)
    f0 *= f0_jumps(rng, n, sr, int(rng.poisson(2.0 * rough)))
    seconds = n / sr
    phonation = Phonation(
        f0=f0,
        breath=0.5 * speaker.breathiness,
        brightness_hz=600.0 + 2400.0 * intensity,
        am_depth=rough * rng.uniform(0.5, 1.0),
        am_rate_hz=rng.uniform(30.0, 150.0),
        subharmonic=rough
        * rng.uniform(0.3, 0.9)
        * episodes(rng, n, sr, int(rng.poisson(2.0 * rough * seconds)), 0.1, 0.5),
        chaos=rng.uniform(0.3, 0.8)
        * episodes(rng, n, sr, int(rng.poisson(1.5 * rough * seconds)), 0.05, 0.25),
    )
    vowels, weights = vowel_glide(rng, n, sr, SCREAM_VOWELS)
    voice = render(rng, sr, phonation, vowels, weights, speaker, f1_scale=1.3)
    swell = glide(n, [(0.0, rng.uniform(0.6, 1.0)), (rng.uniform(0.2, 0.8), 1.0), (1.0, 0.7)])
    return voice * swell * envelope(n, sr, rng.uniform(0.02, 0.15), rng.uniform(0.05, 0.3))


# --- non-screams ------------------------------------------------------------------------------


def bursts(
    n: int, sr: int, starts: Sequence[int], lengths: Sequence[int], attack_s: float
) -> Signal:
    """Sum of bumps (fast attack, smooth decay), one per (start, length): a laugh's "ha"s."""
    out = np.zeros(n)
    for start, length in zip(starts, lengths, strict=True):
        length = min(length, n - start)
        if length > 0:
            out[start : start + length] += envelope(length, sr, attack_s, 0.6 * length / sr)
    return out


# A wail is made like a weak scream, on purpose: the two differ in the label and in little else.
WAIL_STYLE = ScreamStyle((300, 900), {"arch": 0.5, "fall": 0.4, "plateau": 0.1}, 0.35, (0.3, 2.5))


def cry(rng: np.random.Generator, sr: int, speaker: Speaker) -> Signal:
    """A single wail (half the time) or two to four sobs with inhalations between them; each
    is a weak, somewhat rough scream-like call at 300-900 Hz."""
    sobs = 1 if rng.random() < 0.5 else int(rng.integers(2, 5))
    intensity = rng.uniform(0.15, 0.65)
    longest = WAIL_STYLE.seconds[1] if sobs == 1 else 1.0
    parts: list[Signal] = []
    for k in range(sobs):
        if k:
            gap = int(rng.uniform(0.1, 0.4) / speaker.tempo * sr)
            inhale = one_pole_lowpass(coloured_noise(rng, gap), sr, 4000.0)
            parts.append(rng.uniform(0.0, 0.3) * inhale * envelope(gap, sr, 0.05, 0.05))
        n = int(rng.uniform(WAIL_STYLE.seconds[0], longest) / speaker.tempo * sr)
        parts.append(scream_call(WAIL_STYLE, rng, sr, speaker, n, intensity))
    return np.concatenate(parts)


def laugh(rng: np.random.Generator, sr: int, speaker: Speaker) -> Signal:
    """A bout of breathy "ha"s at 4-6 Hz with falling pitch. One laugh in three is a high
    giggle, one in four a shriek: a few long, bright "whoo"s at 2-3.5 Hz, like repeated
    screams."""
    kind = rng.choice(["ha", "giggle", "shriek"], p=[0.4, 0.35, 0.25])
    shriek = kind == "shriek"
    rate = (rng.uniform(2.0, 3.5) if shriek else rng.uniform(4.0, 6.0)) * speaker.tempo
    count = int(rng.integers(2, 6) if shriek else rng.integers(3, 11))
    period = int(sr / rate)
    n = period * count + int(0.2 * sr)
    start_f0 = (
        speaker.pitch
        * {
            "ha": rng.uniform(200.0, 450.0),
            "giggle": rng.uniform(450.0, 900.0),
            "shriek": rng.uniform(600.0, 1100.0),
        }[kind]
    )
    f0 = start_f0 * glide(n, [(0.0, 1.0), (1.0, rng.uniform(0.6, 0.95))])
    starts = [k * period + int(rng.integers(0, period // 5 + 1)) for k in range(count)]
    lengths = [int(period * rng.uniform(0.5, 0.8)) for _ in range(count)]
    ha = bursts(n, sr, starts, lengths, 0.03)
    breath = speaker.breathiness + (0.0 if shriek else 0.3)
    phonation = Phonation(
        f0=f0 * vibrato(rng, n, sr, 0.015),
        voicing=ha,
        breath=breath * np.maximum(ha, 0.3 * smooth(ha, sr, 0.05)),
        brightness_hz=rng.uniform(1000.0, 2500.0) if shriek else rng.uniform(400.0, 1200.0),
        am_depth=roughness(rng, 0.1, speaker, 0.1) * 0.5,
        am_rate_hz=rng.uniform(30.0, 100.0),
    )
    vowels = ("a", "ae", "e", "o") if kind == "ha" else ("i", "e", "u")
    chosen, weights = single_vowel(str(rng.choice(vowels)), n)
    f1_scale = 1.3 if shriek else 1.0
    return render(rng, sr, phonation, chosen, weights, speaker, f1_scale) * smooth(ha, sr, 0.01)


def groan(rng: np.random.Generator, sr: int, speaker: Speaker) -> Signal:
    """Low, dark and rough; now and then a higher moan."""
    n = int(rng.uniform(0.6, 2.2) / speaker.tempo * sr)
    moan = rng.random() < 0.3
    base = rng.uniform(220.0, 450.0) if moan else rng.uniform(80.0, 200.0)
    shape = glide(n, [(0.0, rng.uniform(0.9, 1.1)), (rng.uniform(0.1, 0.5), 1.1), (1.0, 0.75)])
    rough = roughness(rng, 0.5, speaker, 0.2)
    phonation = Phonation(
        f0=speaker.pitch * base * shape * vibrato(rng, n, sr, 0.01 + 0.03 * rough),
        breath=speaker.breathiness,
        brightness_hz=rng.uniform(400.0, 1200.0) if moan else rng.uniform(250.0, 700.0),
        am_depth=rough * rng.uniform(0.4, 0.9),
        am_rate_hz=rng.uniform(30.0, 90.0),
        subharmonic=rough * episodes(rng, n, sr, int(rng.poisson(2 * rough)), 0.1, 0.6),
    )
    vowels, weights = vowel_glide(rng, n, sr, ("o", "u", "a", "e"))
    voice = render(rng, sr, phonation, vowels, weights, speaker)
    return voice * envelope(n, sr, rng.uniform(0.05, 0.3), rng.uniform(0.1, 0.5))


def sigh(rng: np.random.Generator, sr: int, speaker: Speaker) -> Signal:
    """Mostly breath through an open vowel, falling away; sometimes a low voiced tail."""
    n = int(rng.uniform(0.7, 2.0) / speaker.tempo * sr)
    voicing = rng.uniform(0.0, 0.6) if rng.random() < 0.5 else 0.0
    phonation = Phonation(
        f0=speaker.pitch * rng.uniform(100.0, 250.0) * glide(n, [(0.0, 1.0), (1.0, 0.7)]),
        voicing=voicing * glide(n, [(0.0, 0.2), (0.5, 1.0), (1.0, 0.3)]),
        breath=1.0,
        brightness_hz=300.0,
    )
    vowels, weights = vowel_glide(rng, n, sr, ("a", "ae", "e", "o"))
    breath = render(rng, sr, phonation, vowels, weights, speaker)
    fall = glide(n, [(0.0, 0.0), (rng.uniform(0.1, 0.3), 1.0), (1.0, 0.0)])
    return breath * fall


def gasp(rng: np.random.Generator, sr: int, speaker: Speaker) -> Signal:
    """A short, bright inhalation; half are voiced with a squeak that can pass for a
    short scream."""
    n = int(rng.uniform(0.25, 0.9) * sr)
    voiced = rng.random() < 0.5
    phonation = Phonation(
        f0=speaker.pitch * rng.uniform(400.0, 1000.0) * glide(n, [(0.0, 0.8), (1.0, 1.1)]),
        voicing=rng.uniform(0.4, 1.0) if voiced else 0.0,
        breath=rng.uniform(0.3, 1.0) if voiced else 1.0,
        brightness_hz=rng.uniform(800.0, 2000.0),
    )
    chosen, weights = single_vowel(str(rng.choice(["i", "a", "ae", "u"])), n)
    air = render(rng, sr, phonation, chosen, weights, speaker, f1_scale=1.2)
    return air * envelope(n, sr, rng.uniform(0.03, 0.15), rng.uniform(0.02, 0.1))


def babble(rng: np.random.Generator, sr: int, speaker: Speaker) -> Signal:
    """Speech-like syllables; one talker in three shouts: high and bright, close to a scream."""
    n = int(rng.uniform(1.0, 3.5) * sr)
    shout = rng.random() < 0.3
    return talker(
        rng,
        n,
        sr,
        f0_hz=speaker.pitch * rng.uniform(110.0, 190.0) * (rng.uniform(1.6, 2.6) if shout else 1.0),
        formant_scale=speaker.formants,
        syllable_rate=rng.uniform(3.0, 5.0) * speaker.tempo,
        breathiness=speaker.breathiness,
        brightness_hz=rng.uniform(800.0, 1500.0) if shout else 350.0,
    )


Synthesiser = Callable[[np.random.Generator, int, Speaker], Signal]
SYNTHESISERS: dict[str, Synthesiser] = {
    **{emotion: partial(scream, style) for emotion, style in SCREAM_STYLES.items()},
    "cry": cry,
    "laugh": laugh,
    "groan": groan,
    "sigh": sigh,
    "gasp": gasp,
    "babble": babble,
}


# --- recording --------------------------------------------------------------------------------


def background(rng: np.random.Generator, n: int, sr: int) -> Signal:
    """Unit-RMS sound of the place the clip was taken in: hiss, distant talk or mains hum."""
    kind = rng.integers(3)
    if kind == 0:
        return coloured_noise(rng, n, rng.uniform(0.5, 2.0))
    if kind == 1:
        return talker(rng, n, sr, f0_hz=rng.uniform(90.0, 250.0), syllable_rate=rng.uniform(3, 5))
    t = np.arange(n) / sr
    mains = rng.choice([50.0, 60.0])
    hum = sum(np.sin(2 * np.pi * mains * k * t + rng.uniform(0, 6.3)) / k for k in (1, 2, 3))
    return unit_rms(unit_rms(hum) + coloured_noise(rng, n, 1.0))


def microphone(rng: np.random.Generator, sr: int, clip: Signal) -> Signal:
    """Most microphones roll off the highs a little; some clips are heard through a door, a
    pocket or a phone line, which leaves only the low harmonics."""
    draw = rng.random()
    if draw < MUFFLED_FRACTION:
        cutoff, order = rng.uniform(800.0, 2500.0), 4
    elif draw < 0.6:
        high = 7800.0 if sr == LOW_RATE else 16000.0
        cutoff, order = rng.uniform(3500.0, high), 2
    else:
        return clip
    sos = signal.butter(order, cutoff, btype="lowpass", fs=sr, output="sos")
    out: Signal = signal.sosfilt(sos, clip)
    return out


def record(rng: np.random.Generator, sr: int, dry: Signal, speaker: Speaker) -> Signal:
    """Place the call in a clip and 'record' it: room, microphone, level, noise floor."""
    pre = np.zeros(int(rng.uniform(0.02, 0.6) * sr))
    post = np.zeros(int(rng.uniform(0.05, 0.4) * sr))
    clip = np.concatenate([pre, dry, post])
    target = int(np.clip(len(clip), MIN_CLIP_SECONDS * sr, MAX_CLIP_SECONDS * sr))
    clip = np.pad(clip, (0, max(0, target - len(clip))))[:target]
    clip = reverb(clip, sr, rng, rt60_s=rng.uniform(0.1, 0.5), wet=rng.uniform(0.05, 0.35))
    if rng.random() < BACKGROUND_FRACTION:
        snr_db = rng.uniform(0.0, 30.0)
        clip += background(rng, len(clip), sr) * rms(clip) * 10.0 ** (-snr_db / 20.0)
    clip = microphone(rng, sr, clip)
    peak_db = float(np.clip(rng.uniform(-30.0, -3.0) + speaker.level_db, -32.0, -2.0))
    clip *= 10.0 ** (peak_db / 20.0) / max(float(np.max(np.abs(clip))), 1e-9)
    floor_db = float(rng.uniform(-80.0, -55.0))
    floor: Signal = coloured_noise(rng, len(clip), rng.uniform(0.0, 1.5)) * 10.0 ** (
        floor_db / 20.0
    )
    return clip + floor


def synthesise_clip(
    seed: int,
    speaker: Speaker,
    speaker_index: int,
    index: int,
    emotion: str,
    high_rate_fraction: float,
) -> tuple[npt.NDArray[np.float32], int]:
    """One clip's audio and sample rate, from its own generator (order-independent)."""
    rng = np.random.default_rng([seed, 1, speaker_index, index])
    sr = HIGH_RATE if rng.random() < high_rate_fraction else LOW_RATE
    dry = SYNTHESISERS[emotion](rng, sr, speaker)
    return record(rng, sr, dry, speaker).astype(np.float32), sr
