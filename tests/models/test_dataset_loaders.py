"""Loaders of the real data sets, on small trees with the real file-name patterns."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pytest
import torch

from nser_models.data.asvp_esd import (
    ASVP_EMOTIONS,
    NOISY_SOUND_CODES,
    ScreamRule,
    balance_detection,
    load_asvp_esd,
    parse_asvp_name,
)
from nser_models.data.clips import ClipRecord, split_by_speaker, write_manifest
from nser_models.data.demand import PAPER_NOISE_ENVIRONMENTS, load_demand_noise
from nser_models.data.sources import SOURCE_KINDS, load_source
from nser_models.data.vivae import VIVAE_VALENCE, load_vivae
from nser_shared.errors import DatasetError
from nser_shared.frontend.audio import write_audio
from nser_shared.wire.labels import Valence


def _tone(path: Path, rate: int = 16000, seconds: float = 0.2, freq: float = 440.0) -> None:
    t = torch.arange(int(rate * seconds)) / rate
    write_audio(path, 0.5 * torch.sin(2 * math.pi * freq * t), rate)


def _asvp_name(actor: int, emotion: int, sound: int, channel: int = 2) -> str:
    """A file name in the real pattern; odd actors get the language field (10 fields), even
    actors not (9 fields), as both occur across releases."""
    language = [1] if actor % 2 else []
    fields = [3, channel, emotion, 1, 1, actor, 2, 1, *language, sound]
    return "-".join(f"{f:02d}" for f in fields) + ".wav"


# (actor, emotion, sound sub-code, vocal channel): 6 actors, 4 screams (16/36), 1 noisy scream.
ASVP_CLIPS = [
    (1, 6, 16, 2),  # scream
    (1, 3, 13, 2),  # laugh
    (1, 2, 1, 1),  # neutral speech
    (2, 6, 36, 2),  # panic
    (2, 4, 14, 2),  # cry
    (3, 6, 16, 2),  # scream
    (3, 6, 77, 2),  # fear, noisy
    (4, 5, 1, 1),  # angry speech
    (4, 10, 1, 2),  # pleasure
    (5, 6, 16, 2),  # scream
    (5, 13, 1, 2),  # breath
    (6, 8, 66, 2),  # surprise, mixed voices
    (6, 11, 1, 2),  # pain
]
NOISY_FEAR = _asvp_name(3, 6, 77)
MIXED_SURPRISE = _asvp_name(6, 8, 66)


@pytest.fixture
def asvp_root(tmp_path: Path) -> Path:
    """A release folder with the `Audio/actor_<n>` tree nested one level down."""
    root = tmp_path / "ASVP-ESD-Update"
    for actor, emotion, sound, channel in ASVP_CLIPS:
        _tone(root / "Audio" / f"actor_{actor:02d}" / _asvp_name(actor, emotion, sound, channel))
    _tone(root / "Audio" / "actor_01" / "03-01-notanumber-01.wav")
    _tone(root / "Audio" / "actor_02" / "03-01-99-01-01-02-02-01-01-16.wav")  # unknown emotion
    (root / "Audio" / "actor_02" / "readme.txt").write_text("not audio")
    return root


@pytest.fixture
def vivae_root(tmp_path: Path) -> Path:
    root = tmp_path / "VIVAE"
    full = [
        "S01_achievement_low_01.wav",
        "S01_anger_peak_02.wav",
        "S02_fear_strong_01.wav",
        "S02_pleasure_moderate_03.wav",
        "S03_pain_peak_01.wav",
        "S04_surprise_low_01.wav",
    ]
    for name in full:
        _tone(root / "full_set" / name, rate=44100)
    for name in full[:2]:
        _tone(root / "core_set" / name, rate=44100)
    _tone(root / "full_set" / "S01_boredom_low_01.wav", rate=44100)  # not a VIVAE emotion
    _tone(root / "full_set" / "s1_anger_peak_01.wav", rate=44100)
    return root


def _by_name(records: list[ClipRecord]) -> dict[str, ClipRecord]:
    return {r.path.name: r for r in records}


def test_parse_asvp_name_reads_both_field_counts_and_rejects_others() -> None:
    ten = parse_asvp_name("03-01-06-01-02-12-02-01-01-16.wav")
    nine = parse_asvp_name("03-02-03-01-02-07-02-01-13.wav")
    assert ten is not None
    assert (ten.vocal_channel, ten.emotion, ten.actor, ten.sound) == (1, 6, 12, 16)
    assert nine is not None
    assert (nine.emotion, nine.actor, nine.sound) == (3, 7, 13)
    assert parse_asvp_name("03-01-06-01-02-12-02-01-16") is None  # no extension
    assert parse_asvp_name("03-01-06-01-02-12-16.wav") is None  # too few fields
    assert parse_asvp_name("03-01-99-01-02-12-02-01-01-16.wav") is None  # unknown emotion
    assert parse_asvp_name("03-01-0x-01-02-12-02-01-01-16.wav") is None


def test_asvp_valence_table_matches_the_reference() -> None:
    by_valence = {
        v: {name for name, valence in ASVP_EMOTIONS.values() if valence is v} for v in Valence
    }
    assert by_valence[Valence.POSITIVE] == {"happy", "surprise", "excited", "pleasure"}
    assert by_valence[Valence.NEGATIVE] == {
        "angry",
        "fear",
        "sad",
        "pain",
        "disgust",
        "disappointment",
    }
    assert by_valence[Valence.NEUTRAL] == {"boredom", "neutral", "breath"}
    assert sorted(ASVP_EMOTIONS) == list(range(1, 14))


def test_load_asvp_esd_default_rule_labels_scream_and_panic_subcodes(asvp_root: Path) -> None:
    records = load_asvp_esd(asvp_root)

    assert len(records) == len(ASVP_CLIPS)
    screams = {(r.speaker, r.emotion) for r in records if r.is_scream}
    assert screams == {
        ("asvp-actor_01", "fear"),
        ("asvp-actor_02", "fear"),
        ("asvp-actor_03", "fear"),
        ("asvp-actor_05", "fear"),
    }
    noisy_fear = _by_name(records)[NOISY_FEAR]
    assert not noisy_fear.is_scream  # fear emotion alone is not a scream by default
    for r in records:
        assert r.dataset == "asvp-esd"
        assert r.sample_rate == 16000
        assert r.valence is ASVP_EMOTIONS[parse_asvp_name(r.path.name).emotion][1]  # type: ignore[union-attr]
        assert r.clip_id == f"asvp-esd/{r.speaker}/{r.path.stem}"
    assert [r.clip_id for r in records] == sorted(r.clip_id for r in records)


def test_load_asvp_esd_custom_rule_counts_fear_and_drops_noisy(asvp_root: Path) -> None:
    fear_rule = ScreamRule(emotion_codes=frozenset({6}))
    assert _by_name(load_asvp_esd(asvp_root, fear_rule))[NOISY_FEAR].is_scream

    rule = ScreamRule(emotion_codes=frozenset({6}), drop_sound_codes=NOISY_SOUND_CODES)
    records = load_asvp_esd(asvp_root, rule)

    names = _by_name(records)
    assert {NOISY_FEAR, MIXED_SURPRISE} <= set(_by_name(load_asvp_esd(asvp_root)))
    assert len(records) == len(ASVP_CLIPS) - 2  # the noisy (77) and mixed (66) clips
    assert NOISY_FEAR not in names
    assert MIXED_SURPRISE not in names
    assert sum(r.is_scream for r in records) == 4


def test_load_asvp_esd_can_leave_out_speech(asvp_root: Path) -> None:
    records = load_asvp_esd(asvp_root, include_speech=False)

    assert len(records) == len(ASVP_CLIPS) - 2
    assert all(parse_asvp_name(r.path.name).vocal_channel == 2 for r in records)  # type: ignore[union-attr]


def test_load_asvp_esd_skips_and_counts_unparsed_names(
    asvp_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="nser_models.data.asvp_esd")
    records = load_asvp_esd(asvp_root)

    loaded = {r.path.name for r in records}
    assert "03-01-notanumber-01.wav" not in loaded
    assert "03-01-99-01-01-02-02-01-01-16.wav" not in loaded
    assert "readme.txt" not in loaded
    assert "skipped 2 files" in caplog.text


def test_load_asvp_esd_accepts_the_audio_folder_as_root(asvp_root: Path) -> None:
    assert load_asvp_esd(asvp_root / "Audio") == load_asvp_esd(asvp_root)


def test_load_asvp_esd_skips_copies_in_a_second_release_folder(asvp_root: Path) -> None:
    copy = asvp_root / "Bonus" / "actor_01" / _asvp_name(1, 6, 16)
    _tone(copy)
    records = load_asvp_esd(asvp_root)
    assert len(records) == len(ASVP_CLIPS)
    assert copy not in {r.path for r in records}


def test_load_asvp_esd_errors_on_missing_or_empty_root(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not found"):
        load_asvp_esd(tmp_path / "nope")
    with pytest.raises(DatasetError, match="no actor_"):
        load_asvp_esd(tmp_path)
    _tone(tmp_path / "Audio" / "actor_01" / "garbage.wav")
    with pytest.raises(DatasetError, match="no usable"):
        load_asvp_esd(tmp_path)


def test_balance_detection_gives_equal_classes_seeded(asvp_root: Path) -> None:
    records = load_asvp_esd(asvp_root)
    screams = [r for r in records if r.is_scream]

    balanced = balance_detection(records, seed=3)

    assert sum(r.is_scream for r in balanced) == len(screams) == 4
    assert sum(not r.is_scream for r in balanced) == 4
    assert set(screams) <= set(balanced)  # every scream is kept
    assert balance_detection(list(reversed(records)), seed=3) == list(reversed(balanced))
    others = {frozenset(r.clip_id for r in balance_detection(records, seed=s)) for s in range(20)}
    assert len(others) > 1  # the seed chooses which non-screams


def test_balance_detection_rejects_a_missing_class(asvp_root: Path) -> None:
    records = [r for r in load_asvp_esd(asvp_root) if not r.is_scream]
    with pytest.raises(DatasetError, match="0 screams"):
        balance_detection(records, seed=0)


def test_speaker_split_keeps_each_loaded_speaker_in_one_split(
    asvp_root: Path, vivae_root: Path
) -> None:
    for records in (load_asvp_esd(asvp_root), load_vivae(vivae_root)):
        for seed in range(5):
            splits = split_by_speaker(records, seed=seed)
            speakers = [{r.speaker for r in part} for part in splits.values()]
            assert sum(len(s) for s in speakers) == len(set().union(*speakers))
            assert sum(len(part) for part in splits.values()) == len(records)


def test_load_vivae_full_set_labels(vivae_root: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="nser_models.data.vivae")
    records = load_vivae(vivae_root)

    assert len(records) == 6
    assert "skipped 2 files" in caplog.text
    by_name = _by_name(records)
    anger = by_name["S01_anger_peak_02.wav"]
    assert (anger.speaker, anger.emotion, anger.valence) == ("vivae-S01", "anger", Valence.NEGATIVE)
    assert by_name["S04_surprise_low_01.wav"].valence is Valence.POSITIVE
    assert all(r.is_scream and r.sample_rate == 44100 and r.dataset == "vivae" for r in records)
    assert {r.valence for r in records} == {Valence.POSITIVE, Valence.NEGATIVE}
    assert {e for e, v in VIVAE_VALENCE.items() if v is Valence.POSITIVE} == {
        "achievement",
        "pleasure",
        "surprise",
    }


def test_load_vivae_core_set_and_folder_roots(vivae_root: Path) -> None:
    core = load_vivae(vivae_root, subset="core_set")
    assert {r.path.name for r in core} == {"S01_achievement_low_01.wav", "S01_anger_peak_02.wav"}
    assert all(r.path.parent.name == "core_set" for r in core)
    assert load_vivae(vivae_root / "full_set") == load_vivae(vivae_root)
    assert load_vivae(vivae_root.parent) == load_vivae(vivae_root)  # nested one level down
    with pytest.raises(DatasetError, match="core_set was asked for"):
        load_vivae(vivae_root / "full_set", subset="core_set")
    with pytest.raises(DatasetError, match="unknown VIVAE subset"):
        load_vivae(vivae_root, subset="half_set")


def test_load_vivae_errors_on_missing_or_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not found"):
        load_vivae(tmp_path / "nope")
    with pytest.raises(DatasetError, match="no VIVAE full_set"):
        load_vivae(tmp_path)
    _tone(tmp_path / "full_set" / "bad_name.wav", rate=44100)
    with pytest.raises(DatasetError, match="no VIVAE clips"):
        load_vivae(tmp_path)


def _demand_env(folder: Path, rate: int = 16000, channels: int = 2) -> None:
    for ch in range(1, channels + 1):
        _tone(folder / f"ch{ch:02d}.wav", rate=rate, seconds=0.1, freq=100.0 * ch)


def test_load_demand_noise_reads_plain_and_zip_layouts(tmp_path: Path) -> None:
    envs = list(PAPER_NOISE_ENVIRONMENTS.values())
    for env in envs[:2]:
        _demand_env(tmp_path / env)
    for env in envs[2:4]:
        _demand_env(tmp_path / f"{env}_16k" / env)
    _demand_env(tmp_path / f"{envs[4]}_48k" / envs[4], rate=48000)

    noises = load_demand_noise(tmp_path)

    assert list(noises) == list(PAPER_NOISE_ENVIRONMENTS)
    for category, (waveform, rate) in noises.items():
        assert waveform.dtype == torch.float32
        assert waveform.ndim == 1
        expected_rate = 48000 if category == "office" else 16000
        assert rate == expected_rate
        assert waveform.shape[0] == expected_rate // 10
    ch2 = load_demand_noise(tmp_path, channel="ch02")
    assert not torch.equal(ch2["bus"][0], noises["bus"][0])


def test_load_demand_noise_reads_the_synthetic_corpus_noise_folder(tmp_path: Path) -> None:
    _demand_env(tmp_path / "corpus" / "noise" / "SCAFE", channels=1)
    noises = load_demand_noise(tmp_path / "corpus" / "noise", {"cafe": "SCAFE"})
    assert set(noises) == {"cafe"}


def test_load_demand_noise_names_the_missing_environments(tmp_path: Path) -> None:
    _demand_env(tmp_path / "TBUS")
    _demand_env(tmp_path / "TMETRO")
    with pytest.raises(DatasetError) as info:
        load_demand_noise(tmp_path)
    message = str(info.value)
    for missing in ("cafe (PCAFETER)", "kitchen (DKITCHEN)", "office (OOFFICE)"):
        assert missing in message
    assert "TBUS" not in message
    with pytest.raises(DatasetError, match="ch09"):
        load_demand_noise(tmp_path, {"bus": "TBUS"}, channel="ch09")
    with pytest.raises(DatasetError, match="not found"):
        load_demand_noise(tmp_path / "nope")


def test_load_source_dispatches_every_kind(
    tmp_path: Path, asvp_root: Path, vivae_root: Path
) -> None:
    synthetic = [
        ClipRecord(
            clip_id=f"synthetic/{i}",
            path=tmp_path / "corpus" / "clips" / f"{i}.wav",
            dataset="synthetic",
            speaker=f"synth-{i}",
            emotion="scream",
            valence=Valence.NEGATIVE,
            is_scream=True,
            sample_rate=16000,
        )
        for i in range(3)
    ]
    write_manifest(tmp_path / "corpus" / "manifest.csv", synthetic)

    assert load_source(f"synthetic:{tmp_path / 'corpus'}") == synthetic
    assert load_source(f"synthetic:{tmp_path / 'corpus' / 'manifest.csv'}") == synthetic
    assert load_source(f"asvp-esd:{asvp_root}") == balance_detection(load_asvp_esd(asvp_root))
    assert load_source(f"vivae:{vivae_root}") == load_vivae(vivae_root)
    assert SOURCE_KINDS == ("synthetic", "asvp-esd", "vivae", "real")


def test_load_source_rejects_bad_specs(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="valid kinds: synthetic, asvp-esd, vivae"):
        load_source(f"esc50:{tmp_path}")
    with pytest.raises(DatasetError, match="not KIND:PATH"):
        load_source(str(tmp_path / "corpus"))
    with pytest.raises(DatasetError, match="not KIND:PATH"):
        load_source("vivae:")
    with pytest.raises(DatasetError, match="does not exist"):
        load_source(f"vivae:{tmp_path / 'nope'}")
    with pytest.raises(DatasetError, match="manifest not found"):
        load_source(f"synthetic:{tmp_path}")
