"""Scenes are deterministic, carry the ground truth they promise, and files work as sources."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from nser_shared.errors import SceneError
from nser_shared.frontend.audio import write_audio
from nser_shared.sound.scenes import (
    SAMPLE_RATE,
    SCENES,
    RecordedClips,
    SceneEvent,
    audio_files,
    load_track,
    render_scene,
    window_truth,
)
from nser_shared.wire.labels import Valence


def _window_labels(scene: str, devices: int = 2) -> Counter[tuple[str, str | None]]:
    labels: Counter[tuple[str, str | None]] = Counter()
    for device in range(devices):
        track = render_scene(scene, seed=0, device_index=device, seconds=30.0)
        for start in range(28):
            truth = track.truth(float(start), start + 3.0)
            assert truth is not None
            labels[truth.detection_label, truth.type_label] += 1
    return labels


def test_scene_is_the_same_for_the_same_seed_and_device() -> None:
    first = render_scene("assault", seed=3, device_index=2, seconds=12.0)
    again = render_scene("assault", seed=3, device_index=2, seconds=12.0)
    np.testing.assert_array_equal(first.audio, again.audio)
    assert first.events == again.events


def test_scene_differs_between_devices_and_seeds() -> None:
    base = render_scene("party", seed=0, device_index=0, seconds=10.0)
    other_device = render_scene("party", seed=0, device_index=1, seconds=10.0)
    other_seed = render_scene("party", seed=1, device_index=0, seconds=10.0)
    assert not np.array_equal(base.audio, other_device.audio)
    assert not np.array_equal(base.audio, other_seed.audio)


def test_scene_is_16k_mono_of_the_requested_length_within_full_scale() -> None:
    track = render_scene("quiet-home", seed=0, device_index=0, seconds=7.5)
    assert track.audio.shape == (round(7.5 * SAMPLE_RATE),)
    assert track.audio.dtype == np.float32
    assert float(np.abs(track.audio).max()) <= 1.0
    assert all(0 <= e.start_s < e.end_s <= 7.5 for e in track.events or ())


def test_assault_has_negative_scream_windows_and_no_positive_ones() -> None:
    labels = _window_labels("assault")
    assert labels["scream", "negative"] > 0
    assert labels["scream", "positive"] == 0


def test_party_has_positive_scream_windows_and_no_negative_ones() -> None:
    labels = _window_labels("party")
    assert labels["scream", "positive"] > 0
    assert labels["scream", "negative"] == 0


def test_quiet_home_has_no_scream_windows() -> None:
    labels = _window_labels("quiet-home")
    assert set(labels) == {("non_scream", None)}


def test_every_scene_uses_known_emotions_only() -> None:
    for name in SCENES:
        track = render_scene(name, seed=0, device_index=0, seconds=30.0)
        assert track.events, name
        assert {e.emotion for e in track.events} <= set(SCENES[name].emotions)


def _event(start: float, end: float, emotion: str, scream: bool, valence: Valence) -> SceneEvent:
    return SceneEvent(start, end, emotion, scream, valence)


def test_scream_overlapping_half_a_second_makes_a_scream_window() -> None:
    events = (_event(2.5, 4.0, "fear", True, Valence.NEGATIVE),)
    truth = window_truth(events, 0.0, 3.0)
    assert truth.detection_label == "scream"
    assert (truth.type_label, truth.emotion) == ("negative", "fear")


def test_scream_overlapping_less_than_half_a_second_does_not() -> None:
    events = (_event(2.6, 4.0, "joy", True, Valence.POSITIVE),)
    truth = window_truth(events, 0.0, 3.0)
    assert (truth.is_scream, truth.type_label, truth.emotion) == (False, None, "joy")


def test_scream_wins_over_a_longer_non_scream_and_the_longest_scream_sets_valence() -> None:
    events = (
        _event(0.0, 2.0, "laugh", False, Valence.NEUTRAL),
        _event(2.0, 2.6, "joy", True, Valence.POSITIVE),
        _event(2.2, 3.0, "fear", True, Valence.NEGATIVE),
    )
    truth = window_truth(events, 0.0, 3.0)
    assert (truth.is_scream, truth.type_label, truth.emotion) == (True, "negative", "fear")


def test_window_without_events_is_background() -> None:
    truth = window_truth((_event(5.0, 6.0, "fear", True, Valence.NEGATIVE),), 0.0, 3.0)
    assert (truth.is_scream, truth.emotion) == (False, None)


def test_unknown_scene_names_the_choices() -> None:
    with pytest.raises(SceneError, match="quiet-home"):
        render_scene("disco", seed=0, device_index=0)


def test_audio_file_becomes_a_16k_mono_track_without_truth(tmp_path: Path) -> None:
    t = np.arange(44100 * 2) / 44100
    stereo = np.stack([0.3 * np.sin(2 * np.pi * 440 * t), 0.1 * np.sin(2 * np.pi * 880 * t)])
    write_audio(tmp_path / "a.wav", stereo, 44100)
    track = load_track(tmp_path / "a.wav")
    assert track.events is None
    assert track.truth(0.0, 3.0) is None
    assert abs(len(track.audio) - 2 * SAMPLE_RATE) <= 1
    assert len(load_track(tmp_path / "a.wav", seconds=1.0).audio) == SAMPLE_RATE


def test_audio_folder_lists_wav_and_flac_files_sorted(tmp_path: Path) -> None:
    for name in ("b.wav", "a.flac", "c.txt"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in audio_files(tmp_path)] == ["a.flac", "b.wav"]


@pytest.mark.parametrize(("name", "message"), [("missing", "not found"), ("empty", "no .wav")])
def test_bad_audio_paths_are_refused_clearly(tmp_path: Path, name: str, message: str) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(SceneError, match=message):
        audio_files(tmp_path / name)


def _tone(hz: float, seconds: float) -> np.ndarray:
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def test_without_recorded_clips_a_scene_is_rendered_as_before() -> None:
    plain = render_scene("assault", seed=2, device_index=1, seconds=20.0)
    empty = RecordedClips({"recorded-scream": ()})  # a kind with no clips is not played
    assert render_scene("assault", 2, 1, 20.0, empty).events == plain.events
    np.testing.assert_array_equal(render_scene("assault", 2, 1, 20.0, empty).audio, plain.audio)
    # As rendered before recorded clips existed (the audio's sha256 was the same too).
    assert [(e.emotion, round(e.start_s, 3)) for e in plain.events or ()] == [
        ("pain", 3.253),
        ("pain", 7.675),
        ("pain", 14.861),
    ]


def test_recorded_clips_play_with_the_truth_of_their_kind() -> None:
    recorded = RecordedClips(
        {
            "recorded-scream": (_tone(700.0, 1.0),),
            "recorded-speech": (_tone(200.0, 1.5),),
            "recorded-laugh": (_tone(1200.0, 0.8),),
        }
    )
    tracks = {
        s: render_scene(s, seed=0, device_index=0, seconds=45.0, recorded=recorded) for s in SCENES
    }
    for scene, track in tracks.items():
        events = track.events or ()
        played = {e.emotion for e in events} - set(SCENES[scene].emotions)
        assert played, scene
        assert played <= set(SCENES[scene].recorded), scene  # only the kinds the scene names
        for event in events:
            if event.emotion == "recorded-scream":
                assert event.is_scream
                assert event.valence is Valence.NEGATIVE
                assert event.end_s - event.start_s == pytest.approx(1.0, abs=1e-3)
            elif event.emotion in ("recorded-speech", "recorded-laugh"):
                assert not event.is_scream
    assault = tracks["assault"]
    cry = next(e for e in assault.events or () if e.emotion == "recorded-scream")
    truth = assault.truth(cry.start_s, cry.start_s + 3.0)
    assert truth is not None
    assert truth.is_scream
    assert truth.valence is Valence.NEGATIVE
    # The clip is in the audio: its tone dominates the spectrum over the event.
    span = assault.audio[round(cry.start_s * SAMPLE_RATE) : round(cry.end_s * SAMPLE_RATE)]
    spectrum = np.abs(np.fft.rfft(span))
    assert np.fft.rfftfreq(len(span), 1 / SAMPLE_RATE)[spectrum.argmax()] == pytest.approx(
        700.0, abs=2.0
    )


def test_unknown_recorded_kinds_are_refused() -> None:
    with pytest.raises(SceneError, match="unknown recorded kinds"):
        RecordedClips({"recorded-cough": (_tone(300.0, 0.5),)})
