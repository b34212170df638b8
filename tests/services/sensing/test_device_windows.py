"""Device identity, sliding windows, sequence numbers, the energy gate and payload sizes."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
import torch

from nser_sensing.devices import (
    WindowFramer,
    build_devices,
    looped_spans,
    nr_cell_id,
    rms_dbfs,
    window_spans,
)
from nser_sensing.errors import DeviceConfigError
from nser_shared.frontend.features import DEFAULT_FEATURE_CONFIG, MelFrontEnd
from nser_shared.frontend.mel_numpy import TOLERANCE
from nser_shared.sound.scenes import SAMPLE_RATE, AudioTrack, SceneEvent
from nser_shared.wire.labels import Valence
from nser_shared.wire.windows import DeviceKind, PayloadDtype, encode_window, payload_bytes


def _quiet_then_loud(seconds_quiet: float, seconds_loud: float) -> AudioTrack:
    rng = np.random.default_rng(0)
    loud = 0.1 * rng.standard_normal(round(seconds_loud * SAMPLE_RATE))  # about -20 dBFS
    audio = np.concatenate([np.zeros(round(seconds_quiet * SAMPLE_RATE)), loud])
    return AudioTrack("test", audio.astype(np.float32), None)


def test_windows_slide_by_the_hop_and_number_from_zero() -> None:
    spans = window_spans(30.0, 1.0, 3.0)
    assert len(spans) == 28
    assert [s.sequence for s in spans] == list(range(28))
    assert (spans[5].start_s, spans[5].end_s) == (5.0, 8.0)
    assert len(window_spans(30.0, 0.5, 3.0)) == 55
    assert len(window_spans(10.0, 3.0, 3.0)) == 3


def test_a_looped_track_keeps_the_hop_and_frames_the_same_audio_each_loop() -> None:
    spans = looped_spans(10.0, 40.0, 1.0, 3.0)  # 8 windows a loop, a loop every 8 s
    assert [s.sequence for s in spans] == list(range(38))
    assert all(b.start_s - a.start_s == 1.0 for a, b in itertools.pairwise(spans))
    assert spans[-1].end_s <= 40.0
    assert [s.track_start_s for s in spans[:10]] == [0, 1, 2, 3, 4, 5, 6, 7, 0, 1]
    assert all(s.track_start_s >= 0.0 and s.track_end_s <= 10.0 for s in spans)

    events = (SceneEvent(4.5, 5.5, "pain", True, Valence.NEGATIVE),)
    track = AudioTrack("scene:test", np.zeros(10 * SAMPLE_RATE, dtype=np.float32), events)
    framer = WindowFramer(hop_s=1.0)
    framed = [framer.frame(track, s) for s in framer.spans(track, play_s=40.0)]
    screams = [w.span.sequence for w in framed if w.truth is not None and w.truth.is_scream]
    assert screams == [k + 8 * loop for loop in range(5) for k in (2, 3, 4, 5) if k + 8 * loop < 38]
    assert len(framer.spans(track)) == len(framer.spans(track, play_s=10.0)) == 8
    assert len(framer.spans(track, play_s=6.0)) == 4


def test_devices_render_a_loop_once_and_play_it_for_the_duration() -> None:
    (device,) = build_devices(1, scene="quiet-home", seconds=60.0, loop_s=12.0)
    assert device.track.seconds == 12.0
    assert device.play_s == 60.0
    with pytest.raises(DeviceConfigError, match="loop"):
        build_devices(1, scene="quiet-home", seconds=60.0, loop_s=0.0)


def test_audio_shorter_than_a_window_gives_one_window() -> None:
    assert len(window_spans(1.2, 1.0, 3.0)) == 1


@pytest.mark.parametrize("hop", [0.0, -1.0, float("nan")])
def test_hop_must_be_positive(hop: float) -> None:
    with pytest.raises(DeviceConfigError, match="hop"):
        WindowFramer(hop_s=hop)


def test_framed_window_holds_the_front_ends_features_of_that_span() -> None:
    track = _quiet_then_loud(0.0, 6.0)
    framer = WindowFramer(hop_s=1.0)
    window = framer.frame(track, framer.spans(track)[2])
    samples = torch.from_numpy(track.audio[2 * SAMPLE_RATE : 5 * SAMPLE_RATE])
    expected = MelFrontEnd()(samples, SAMPLE_RATE)
    assert window.features is not None
    assert window.features.shape == DEFAULT_FEATURE_CONFIG.shape == (1, 128, 188)
    # The devices compute them with numpy (no PyTorch in their image): within its tolerance.
    np.testing.assert_allclose(window.features, expected.numpy(), rtol=0, atol=TOLERANCE)


def test_energy_gate_skips_quiet_windows_but_keeps_counting_sequences() -> None:
    track = _quiet_then_loud(6.0, 4.0)  # 10 s: windows 0-3 are silent throughout
    framer = WindowFramer(hop_s=1.0, gate_dbfs=-55.0)
    windows = [framer.frame(track, span) for span in framer.spans(track)]
    assert [w.span.sequence for w in windows] == list(range(8))
    assert [w.skipped for w in windows] == [True] * 4 + [False] * 4
    assert all(w.features is not None for w in windows if not w.skipped)


def test_without_a_gate_no_window_is_skipped() -> None:
    track = _quiet_then_loud(6.0, 4.0)
    framer = WindowFramer(hop_s=1.0)
    assert not any(framer.frame(track, span).skipped for span in framer.spans(track))


def test_rms_dbfs_of_full_scale_sine_and_silence() -> None:
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    assert rms_dbfs(np.sin(2 * np.pi * 100 * t)) == pytest.approx(-3.01, abs=0.01)
    assert rms_dbfs(np.zeros(100)) == -120.0


def test_devices_get_ids_kinds_and_cells_round_robin() -> None:
    devices = build_devices(7, scene="quiet-home", seconds=3.0, cells=3)
    assert [d.device_id for d in devices[:4]] == [
        "phone-0000",
        "watch-0001",
        "assistant-0002",
        "phone-0003",
    ]
    assert all(re.fullmatch(r"[0-9a-f]{9}", d.nr_cell_id) for d in devices)
    assert len({d.nr_cell_id for d in devices}) == 3
    assert devices[0].nr_cell_id == devices[3].nr_cell_id == "00066c001"
    assert {d.profile.name for d in devices} == {"urllc"}


def test_cell_ids_roll_over_to_the_next_gnb_after_three_sectors() -> None:
    assert [nr_cell_id(i) for i in range(4)] == ["00066c001", "00066c002", "00066c003", "00066d001"]


def test_devices_can_share_one_kind_and_mix_link_profiles() -> None:
    devices = build_devices(
        4, scene="quiet-home", seconds=3.0, kinds=(DeviceKind.WATCH,), profiles=("urllc", "lte")
    )
    assert {d.kind for d in devices} == {DeviceKind.WATCH}
    assert [d.profile.name for d in devices] == ["urllc", "lte", "urllc", "lte"]


@pytest.mark.parametrize(
    ("count", "cells", "message"), [(0, 1, "at least 1 device"), (2, 0, "at least 1 cell")]
)
def test_fleet_sizes_are_checked(count: int, cells: int, message: str) -> None:
    with pytest.raises(DeviceConfigError, match=message):
        build_devices(count, scene="party", cells=cells)


@pytest.mark.parametrize(
    ("dtype", "size"),
    [(PayloadDtype.FLOAT32, 96256), (PayloadDtype.FLOAT16, 48128), (PayloadDtype.INT8, 24064)],
)
def test_payload_bytes_per_dtype(dtype: PayloadDtype, size: int) -> None:
    track = _quiet_then_loud(0.0, 3.0)
    framer = WindowFramer()
    window = framer.frame(track, framer.spans(track)[0])
    assert window.features is not None
    message = encode_window(
        window.features,
        config=DEFAULT_FEATURE_CONFIG,
        dtype=dtype,
        device_id="phone-0000",
        device_kind=DeviceKind.PHONE,
        nr_cell_id="00066c001",
        sequence=0,
        captured_at=0.0,
    )
    assert payload_bytes(DEFAULT_FEATURE_CONFIG, dtype) == len(message.tensor) == size
    assert message.ByteSize() < size + 200  # metadata is small beside the tensor
