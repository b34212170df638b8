"""Audio sources for the simulated devices: scripted scenes with known ground truth, or files.

A scene is a noise bed with synthetic vocalisations (voices.py) placed on a timeline, so
every window a device sends has a known expected answer. Scenes are deterministic: the same
(scene, seed, device index) always gives the same waveform and the same events. The table
`SCENES` is the only place that says what a scene holds.

Each event is a clip made by `synthesise_clip` (16 kHz, a voice of its own), trimmed to where
it is audible, and mixed in at an SNR drawn from the scene's range relative to the bed. The bed
is one long track per (noise category, seed), rotated by a per-device offset, so devices in the
same scene hear the same kind of place without paying for a new track each.

Recorded clips (`RecordedClips`): a scene may also play real recordings among its synthetic
events, in the shares its `recorded` table gives (a recorded pain or death cry at the assault,
recorded speech and laughter at the party and at home). The caller hands them in (`nser
scene-accuracy --real DIR` reads the real-audio corpus); without them a scene is rendered
exactly as before, sample for sample.

Window truth (`window_truth`): a scream event overlapping the window by at least
`SCREAM_MIN_OVERLAP_S` makes it a scream window with that event's valence (the scream with the
most overlap wins, and a scream wins over a longer non-scream, since missing it is what
matters); otherwise the window is a non-scream, labelled with the event it overlaps most.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import signal

from nser_shared.errors import SceneError
from nser_shared.frontend.audio import read_samples
from nser_shared.sound.noise import generate_noise
from nser_shared.sound.voices import VOCAL_CLASSES, VocalClass, make_speaker, synthesise_clip
from nser_shared.wire.labels import TASK_CLASSES, Task, Valence

SAMPLE_RATE = 16000
SCREAM_MIN_OVERLAP_S = 0.5
BED_SECONDS = 40.0  # length of the shared noise track; longer scenes tile it
VOICES_PER_DEVICE = 4  # speakers around one device
AUDIO_SUFFIXES = frozenset({".wav", ".flac"})
Audio = npt.NDArray[np.float32]


@dataclass(frozen=True)
class SceneSpec:
    description: str
    noise: str  # noise category of noise.py
    noise_dbfs: float  # RMS level of the bed
    emotions: dict[str, float]  # emotion (VOCAL_CLASSES) -> relative frequency
    gap_s: tuple[float, float]  # silence between events, drawn uniformly
    snr_db: tuple[float, float]  # event level over the bed, drawn uniformly
    # recorded kind (RECORDED_KINDS) -> relative frequency beside `emotions`, when clips are given
    recorded: dict[str, float] = field(default_factory=dict)


# What a recorded clip is as an event. The real corpus's cries are pain, dying and screaming
# sounds: negative screams. Speech and laughs are what their synthetic kin are.
RECORDED_KINDS: dict[str, VocalClass] = {
    "recorded-scream": VOCAL_CLASSES["pain"],
    "recorded-speech": VOCAL_CLASSES["babble"],
    "recorded-laugh": VOCAL_CLASSES["laugh"],
}


SCENES: dict[str, SceneSpec] = {
    "quiet-home": SceneSpec(
        "a quiet home: low ventilation noise, now and then a sigh, a gasp or a few words",
        noise="office",
        noise_dbfs=-62.0,
        emotions={"sigh": 0.45, "babble": 0.35, "gasp": 0.2},
        gap_s=(4.0, 12.0),
        snr_db=(15.0, 30.0),
        recorded={"recorded-speech": 0.4},
    ),
    "party": SceneSpec(
        "a party: crowd babble and clinking glasses, laughter and joyful screams",
        noise="cafe",
        noise_dbfs=-32.0,
        emotions={"laugh": 0.35, "joy": 0.3, "surprise": 0.2, "triumph": 0.15},
        gap_s=(1.0, 5.0),
        snr_db=(6.0, 20.0),
        recorded={"recorded-speech": 0.3, "recorded-laugh": 0.15},
    ),
    "assault": SceneSpec(
        "an assault in the street: traffic and passers-by, fearful, pained and angry screams "
        "and crying",
        noise="bus",  # engine, road roar and a few talkers: the nearest category to a street
        noise_dbfs=-34.0,
        emotions={"fear": 0.35, "pain": 0.25, "anger": 0.2, "cry": 0.2},
        gap_s=(1.0, 5.0),
        snr_db=(6.0, 20.0),
        recorded={"recorded-scream": 0.4},
    ),
}


def scene_spec(name: str) -> SceneSpec:
    try:
        return SCENES[name]
    except KeyError:
        raise SceneError(f"unknown scene {name!r}; choose one of: {', '.join(SCENES)}") from None


@dataclass(frozen=True)
class RecordedClips:
    """Recorded clips by kind (RECORDED_KINDS): 16 kHz mono float32, each trimmed to where it
    is audible. A kind with no clips is not played."""

    clips: Mapping[str, tuple[Audio, ...]]

    def __post_init__(self) -> None:
        unknown = sorted(set(self.clips) - set(RECORDED_KINDS))
        if unknown:
            raise SceneError(
                f"unknown recorded kinds {unknown}; choose from: {', '.join(RECORDED_KINDS)}"
            )


@dataclass(frozen=True)
class SceneEvent:
    start_s: float
    end_s: float
    emotion: str
    is_scream: bool
    valence: Valence  # NEUTRAL for non-screams, as in the corpus


@dataclass(frozen=True)
class WindowTruth:
    """The expected answer for one window."""

    is_scream: bool
    valence: Valence | None  # positive / negative for a scream window, else None
    emotion: str | None  # the deciding event; None when the window is only background

    @property
    def detection_label(self) -> str:
        return TASK_CLASSES[Task.DETECTION][int(self.is_scream)]

    @property
    def type_label(self) -> str | None:
        return self.valence.value if self.valence is not None else None


def window_truth(events: tuple[SceneEvent, ...], start_s: float, end_s: float) -> WindowTruth:
    """Expected labels of the window [start_s, end_s) (rule in the module docstring)."""

    def overlap(event: SceneEvent) -> float:
        return max(0.0, min(end_s, event.end_s) - max(start_s, event.start_s))

    screams = [e for e in events if e.is_scream and overlap(e) >= SCREAM_MIN_OVERLAP_S]
    if screams:
        top = max(screams, key=overlap)
        return WindowTruth(True, top.valence, top.emotion)
    heard = [e for e in events if overlap(e) > 0]
    return WindowTruth(False, None, max(heard, key=overlap).emotion if heard else None)


@dataclass(frozen=True)
class AudioTrack:
    """What one device hears: 16 kHz mono audio, and the events in it when they are known."""

    name: str  # "scene:party" or the file path
    audio: Audio  # (samples,) float32 at SAMPLE_RATE
    events: tuple[SceneEvent, ...] | None  # None for recorded audio: no ground truth

    @property
    def seconds(self) -> float:
        return len(self.audio) / SAMPLE_RATE

    def truth(self, start_s: float, end_s: float) -> WindowTruth | None:
        return None if self.events is None else window_truth(self.events, start_s, end_s)


@lru_cache(maxsize=8)
def _bed(noise: str, seconds: float, seed: int) -> Audio:
    return generate_noise(noise, seconds, SAMPLE_RATE, seed)


def _active_span(clip: Audio) -> tuple[int, int]:
    """First and last sample of the 10 ms frames within 30 dB of the clip's loudest frame."""
    hop = SAMPLE_RATE // 100
    frames = len(clip) // hop
    if frames == 0:
        return 0, len(clip)
    power = (clip[: frames * hop].astype(np.float64).reshape(frames, hop) ** 2).mean(axis=1)
    loud = np.flatnonzero(power >= power.max() * 1e-3)
    return int(loud[0]) * hop, (int(loud[-1]) + 1) * hop


def _rms(x: Audio) -> float:
    return math.sqrt(float(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def render_scene(
    name: str,
    seed: int,
    device_index: int,
    seconds: float = 30.0,
    recorded: RecordedClips | None = None,
) -> AudioTrack:
    """The scene `name` as heard by device `device_index`, `seconds` long; with `recorded`,
    real clips play among the synthetic events in the shares of the scene's `recorded` table."""
    spec = scene_spec(name)
    n = round(seconds * SAMPLE_RATE)
    scene_code = zlib.crc32(name.encode()) % 1000
    rng = np.random.default_rng([seed, scene_code, device_index])
    bed = _bed(spec.noise, max(BED_SECONDS, seconds), seed)
    offset = int(rng.integers(len(bed)))
    audio = np.resize(np.roll(bed, -offset), n).astype(np.float64)
    bed_rms = 10.0 ** (spec.noise_dbfs / 20.0)
    audio *= bed_rms / max(_rms(bed), 1e-12)
    shares = dict(spec.emotions)
    if recorded is not None:
        shares |= {k: w for k, w in spec.recorded.items() if recorded.clips.get(k)}
    emotions = list(shares)
    weights = np.array([shares[e] for e in emotions]) / sum(shares.values())
    events: list[SceneEvent] = []
    cursor = rng.uniform(0.0, spec.gap_s[1])
    while True:
        emotion = emotions[int(rng.choice(len(emotions), p=weights))]
        if emotion in RECORDED_KINDS:
            assert recorded is not None  # only then are recorded kinds drawn
            pool = recorded.clips[emotion]
            clip = pool[int(rng.integers(len(pool)))]
            kind = RECORDED_KINDS[emotion]
        else:
            voice = 10_000 + device_index * VOICES_PER_DEVICE + int(rng.integers(VOICES_PER_DEVICE))
            index = scene_code * 10_000 + len(events)
            clip, _ = synthesise_clip(seed, make_speaker(seed, voice), voice, index, emotion, 0.0)
            first, last = _active_span(clip)
            clip = clip[first:last]
            kind = VOCAL_CLASSES[emotion]
        start = round(cursor * SAMPLE_RATE)
        if start + len(clip) > n:
            break
        gain = bed_rms * 10.0 ** (rng.uniform(*spec.snr_db) / 20.0) / max(_rms(clip), 1e-12)
        audio[start : start + len(clip)] += gain * clip
        end_s = (start + len(clip)) / SAMPLE_RATE
        events.append(SceneEvent(start / SAMPLE_RATE, end_s, emotion, kind.is_scream, kind.valence))
        cursor = end_s + rng.uniform(*spec.gap_s)
    out = np.clip(audio, -1.0, 1.0).astype(np.float32)
    return AudioTrack(f"scene:{name}", out, tuple(events))


def audio_files(path: Path) -> list[Path]:
    """`path` if it is a WAV/FLAC file, else the WAV/FLAC files under the folder, sorted."""
    if path.is_file():
        if path.suffix.lower() not in AUDIO_SUFFIXES:
            raise SceneError(f"{path} is not a .wav or .flac file")
        return [path]
    if not path.is_dir():
        raise SceneError(f"audio path not found: {path}")
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise SceneError(f"no .wav or .flac files under {path}")
    return files


def load_track(path: Path, seconds: float | None = None) -> AudioTrack:
    """A recorded file as a device's source: mono, 16 kHz, cut to `seconds` if given."""
    samples, rate = read_samples(path)  # (channels, samples)
    mono = samples.mean(axis=0, dtype=np.float64)
    if rate != SAMPLE_RATE:
        factor = math.gcd(rate, SAMPLE_RATE)
        mono = signal.resample_poly(mono, SAMPLE_RATE // factor, rate // factor)
    audio = mono.astype(np.float32)
    if seconds is not None:
        audio = audio[: round(seconds * SAMPLE_RATE)]
    if len(audio) == 0:
        raise SceneError(f"{path} holds no audio")
    return AudioTrack(str(path), np.ascontiguousarray(audio, dtype=np.float32), None)
