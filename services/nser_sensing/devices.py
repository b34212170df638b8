"""Simulated sensing devices: identity, radio cell, link profile, audio source, and the on-device
step that turns sliding windows of audio into mel feature windows.

A device frames its audio into `window_s` windows every `hop_s` seconds. Every framed window
gets the next sequence number, including the windows an optional energy gate skips (quiet
windows whose RMS is under `gate_dbfs`): the server then sees a gap, which the contract reads
as "not sent or lost". A skipped window costs no front-end work and no bytes on the radio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nser_sensing.errors import DeviceConfigError
from nser_shared.frontend.config import DEFAULT_FEATURE_CONFIG, WINDOW_HOP_S, FeatureConfig
from nser_shared.frontend.mel_numpy import NumpyMelFrontEnd
from nser_shared.links import LinkProfile, link_profile
from nser_shared.sound.scenes import (
    SAMPLE_RATE,
    AudioTrack,
    RecordedClips,
    WindowTruth,
    audio_files,
    load_track,
    render_scene,
)
from nser_shared.wire.device_ids import device_id
from nser_shared.wire.windows import DeviceKind, Features

FIRST_GNB_ID = 0x00066C  # 24-bit gNB id of the first base station
SECTORS_PER_GNB = 3  # local cell ids 1..3 under each gNB
SILENCE_DBFS = -120.0  # the level reported for digital silence


def nr_cell_id(cell_index: int) -> str:
    """NR Cell Identity of the `cell_index`-th cell: 24-bit gNB id + 12-bit local cell id."""
    gnb = FIRST_GNB_ID + cell_index // SECTORS_PER_GNB
    return f"{gnb:06x}{cell_index % SECTORS_PER_GNB + 1:03x}"


@dataclass(frozen=True)
class Device:
    index: int
    device_id: str
    kind: DeviceKind
    nr_cell_id: str
    profile: LinkProfile
    track: AudioTrack
    play_s: float | None = None  # seconds played, looping the track; None: the track once


def build_devices(
    count: int,
    *,
    scene: str | None = None,
    audio: Path | None = None,
    seconds: float | None = None,
    cells: int = 1,
    kinds: tuple[DeviceKind, ...] = tuple(DeviceKind),
    profiles: tuple[str, ...] = ("urllc",),
    seed: int = 0,
    first_index: int = 0,
    loop_s: float | None = None,
    recorded: RecordedClips | None = None,
) -> list[Device]:
    """`count` devices hearing `scene` (default 30 s) or the audio file(s) at `audio`.

    With `loop_s`, a device renders (or reads) only `loop_s` seconds and plays them over and
    over for `seconds`: hours of play for minutes of rendering and a bounded memory.

    Devices are numbered from `first_index`, so several processes can simulate one fleet
    without sharing a device id.

    `recorded`: real clips a scene plays among its synthetic events (scenes.py).

    Kinds, cells and link profiles are dealt out round-robin by device index; with a folder of
    files, device i plays file i modulo the number of files (whole, or its first `seconds`).
    """
    if count < 1:
        raise DeviceConfigError(f"need at least 1 device, got {count}")
    if cells < 1:
        raise DeviceConfigError(f"need at least 1 cell, got {cells}")
    if first_index < 0:
        raise DeviceConfigError(f"the first device index must be >= 0, got {first_index}")
    if not kinds or not profiles:
        raise DeviceConfigError("need at least one device kind and one link profile")
    if (scene is None) == (audio is None):
        raise DeviceConfigError("give exactly one source: a scene or an audio path")
    if loop_s is not None and not (math.isfinite(loop_s) and loop_s > 0):
        raise DeviceConfigError(f"the loop must be > 0 seconds, got {loop_s}")
    if loop_s is not None and seconds is None:
        raise DeviceConfigError("a loop needs the seconds to play")
    resolved = [link_profile(name) for name in profiles]
    files = audio_files(audio) if audio is not None else []
    play_s = seconds if loop_s is not None else None
    track_s = seconds if loop_s is None or seconds is None else min(seconds, loop_s)
    devices = []
    for i in range(first_index, first_index + count):
        if scene is not None:
            track = render_scene(scene, seed, i, 30.0 if track_s is None else track_s, recorded)
        else:
            track = load_track(files[i % len(files)], track_s)
        kind = kinds[i % len(kinds)]
        devices.append(
            Device(
                index=i,
                device_id=device_id(kind, i),
                kind=kind,
                nr_cell_id=nr_cell_id(i % cells),
                profile=resolved[i % len(resolved)],
                track=track,
                play_s=play_s,
            )
        )
    return devices


@dataclass(frozen=True)
class WindowSpan:
    sequence: int
    start_s: float  # when the window's first sample is captured, from the device's start
    end_s: float  # when its last sample is captured
    loop_offset_s: float = 0.0  # start_s - where the window starts in the track's audio

    @property
    def track_start_s(self) -> float:
        return self.start_s - self.loop_offset_s

    @property
    def track_end_s(self) -> float:
        return self.end_s - self.loop_offset_s


def window_spans(seconds: float, hop_s: float, window_s: float) -> list[WindowSpan]:
    """Sliding windows over `seconds` of audio; audio shorter than one window gives one."""
    if not (math.isfinite(hop_s) and hop_s > 0):
        raise DeviceConfigError(f"hop must be > 0 seconds, got {hop_s}")
    count = 1 + math.floor((seconds - window_s) / hop_s + 1e-9) if seconds >= window_s else 1
    return [WindowSpan(k, k * hop_s, k * hop_s + window_s) for k in range(count)]


def looped_spans(track_s: float, play_s: float, hop_s: float, window_s: float) -> list[WindowSpan]:
    """The windows of `play_s` seconds of a `track_s` track played over and over: one window
    every `hop_s` throughout, each loop framing the track's windows again (a loop lasts as many
    hops as the track has windows, so no window straddles the seam); sequence numbers go on."""
    once = window_spans(track_s, hop_s, window_s)
    period = len(once) * hop_s
    count = max(1, 1 + math.floor((play_s - window_s) / hop_s + 1e-9))
    return [
        WindowSpan(k, k * hop_s, k * hop_s + window_s, (k // len(once)) * period)
        for k in range(count)
    ]


@dataclass(frozen=True)
class FramedWindow:
    span: WindowSpan
    rms_dbfs: float
    features: Features | None  # (1, n_mels, frames); None when the energy gate skipped it
    truth: WindowTruth | None

    @property
    def skipped(self) -> bool:
        return self.features is None


def rms_dbfs(samples: np.ndarray) -> float:
    if samples.size == 0:
        return SILENCE_DBFS
    power = float(np.mean(np.square(samples, dtype=np.float64)))
    return max(SILENCE_DBFS, 10.0 * math.log10(power)) if power > 0 else SILENCE_DBFS


class WindowFramer:
    """The device-side front end: audio span -> gate -> mel features. Shared by the devices of
    one process (it holds no per-device state)."""

    def __init__(
        self,
        hop_s: float = WINDOW_HOP_S,
        gate_dbfs: float | None = None,
        config: FeatureConfig = DEFAULT_FEATURE_CONFIG,
    ) -> None:
        if gate_dbfs is not None and not math.isfinite(gate_dbfs):
            raise DeviceConfigError(f"energy gate must be a finite dBFS level, got {gate_dbfs}")
        window_spans(config.clip_seconds, hop_s, config.clip_seconds)  # validates the hop
        self.hop_s = hop_s
        self.gate_dbfs = gate_dbfs
        self.config = config
        # numpy, not MelFrontEnd: the same features (within mel_numpy.TOLERANCE) without PyTorch,
        # which the devices' image does not carry.
        self.front_end = NumpyMelFrontEnd(config)

    def spans(self, track: AudioTrack, play_s: float | None = None) -> list[WindowSpan]:
        """The windows of the track, or of `play_s` seconds of it played in a loop."""
        window_s = self.config.clip_seconds
        if play_s is None or play_s <= track.seconds:
            return window_spans(min(play_s or track.seconds, track.seconds), self.hop_s, window_s)
        return looped_spans(track.seconds, play_s, self.hop_s, window_s)

    def frame(self, track: AudioTrack, span: WindowSpan) -> FramedWindow:
        start, end = span.track_start_s, span.track_end_s
        samples = track.audio[round(start * SAMPLE_RATE) : round(end * SAMPLE_RATE)]
        level = rms_dbfs(samples)
        truth = track.truth(start, end)
        if self.gate_dbfs is not None and level < self.gate_dbfs:
            return FramedWindow(span, level, None, truth)
        features: Features = self.front_end(samples, SAMPLE_RATE)  # (1, 128, 188) float32
        return FramedWindow(span, level, features, truth)
