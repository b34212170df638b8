"""The real-audio corpus: labelling rules on a fixture package with the real layout, the
committed clip table and its spot checks, and `nser corpus real` on a fixture .deb."""

from __future__ import annotations

import hashlib
import shutil
import statistics
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile

from nser_cli import main
from nser_models.data import real_corpus
from nser_models.data.real_corpus import (
    TableRow,
    build_corpus,
    label_package,
    read_table,
    recorded_clips,
)
from nser_models.data.real_families import FAMILIES, PACKAGES, SoundClass
from nser_models.data.sources import load_source
from nser_shared.errors import DatasetError
from nser_shared.wire.labels import Valence

RE = "usr/share/games/redeclipse/data/sounds"
NEX = "usr/share/games/nexuiz/data/data.pk3"
needs_dpkg = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb")


def tone(seconds: float, hz: float, rate: int = 22050) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def ogg_bytes(audio: np.ndarray, rate: int = 22050) -> bytes:
    import io

    buffer = io.BytesIO()
    soundfile.write(buffer, audio, rate, format="OGG", subtype="VORBIS")
    return buffer.getvalue()


def make_package_tree(root: Path) -> None:
    """Files of redeclipse-data's and nexuiz-data's real layouts, and one nobody claims."""
    for rel, audio in {
        f"{RE}/player/pain2.ogg": tone(0.8, 440),
        f"{RE}/voice/haha.ogg": tone(1.0, 300),
        f"{RE}/announcer/fight.ogg": tone(0.6, 150),
        f"{RE}/ambience/wind.ogg": tone(4.0, 90),
        f"{RE}/weapons/rifle/shot.ogg": tone(0.3, 1000),  # no family: left out
    }.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(ogg_bytes(audio))
    archive = root / NEX
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("sound/player/marine/player/death1.ogg", ogg_bytes(tone(0.9, 500)))
        z.writestr("sound/player/marine/coms/attack.ogg", ogg_bytes(tone(0.7, 180)))
        z.writestr("sound/player/marine/coms/taunt1.ogg", ogg_bytes(tone(0.7, 180)))  # unclear


def test_rules_label_a_fixture_tree_with_the_real_layout(tmp_path: Path) -> None:
    make_package_tree(tmp_path)
    rows = label_package(PACKAGES["redeclipse-data"], tmp_path)
    by_name = {Path(r.path).name: r for r in rows}
    assert set(by_name) == {"pain2.ogg", "haha.ogg", "fight.ogg", "wind.ogg"}
    assert by_name["pain2.ogg"].sound_class is SoundClass.SCREAM
    assert by_name["pain2.ogg"].valence is Valence.NEGATIVE
    assert by_name["haha.ogg"].sound_class is SoundClass.VOCALISATION
    assert by_name["haha.ogg"].valence is Valence.POSITIVE
    assert by_name["fight.ogg"].sound_class is SoundClass.SPEECH
    assert by_name["wind.ogg"].sound_class is SoundClass.BACKGROUND
    assert by_name["wind.ogg"].duration_s == pytest.approx(4.0, abs=0.01)
    assert by_name["pain2.ogg"].speaker == "redeclipse-data/player"
    assert by_name["pain2.ogg"].pitch_hz == pytest.approx(440, rel=0.05)
    nexuiz = {
        r.path.rpartition("!")[2]: r for r in label_package(PACKAGES["nexuiz-data"], tmp_path)
    }
    assert set(nexuiz) == {
        "sound/player/marine/player/death1.ogg",
        "sound/player/marine/coms/attack.ogg",
    }
    death = nexuiz["sound/player/marine/player/death1.ogg"]
    assert death.path == f"{NEX}!sound/player/marine/player/death1.ogg"
    assert death.speaker == "nexuiz-data/marine"
    assert death.is_scream


def test_table_round_trips_and_bad_rows_are_reported(tmp_path: Path) -> None:
    make_package_tree(tmp_path / "pkg")
    rows = label_package(PACKAGES["redeclipse-data"], tmp_path / "pkg")
    table = tmp_path / "clips.csv"
    real_corpus.write_table(rows, table)
    assert sorted(read_table(table), key=lambda r: r.path) == sorted(rows, key=lambda r: r.path)
    text = table.read_text().replace("redeclipse-data,", "quake-data,", 1)
    table.write_text(text)
    with pytest.raises(DatasetError, match=r"clips.csv:2: package 'quake-data' is not allowed"):
        read_table(table)
    table.write_text(text.replace("quake-data,", "redeclipse-data,").replace(",scream,", ",yell,"))
    with pytest.raises(DatasetError, match="bad row"):
        read_table(table)


# --- the committed table --------------------------------------------------------------------


@pytest.fixture(scope="module")
def table() -> list[TableRow]:
    return read_table()


def test_committed_table_follows_the_rules_it_was_made_from(table: list[TableRow]) -> None:
    assert len({r.clip_id for r in table}) == len(table)
    assert len({(r.package, r.path) for r in table}) == len(table)
    for row in table:
        assert row.version == PACKAGES[row.package].version
        assert row.licence == PACKAGES[row.package].licence
        matched = real_corpus.match_family(row.package, row.path)
        assert matched is not None, row.path
        family, speaker = matched
        assert (family.sound_class, family.valence, family.emotion, speaker) == (
            row.sound_class,
            row.valence,
            row.emotion,
            row.speaker,
        )
        assert len(row.sha256) == 64
    assert {f.package for f in FAMILIES} <= set(PACKAGES)
    # Every family found files: a rule that matches nothing is a typo.
    used = {(r.package, real_corpus.match_family(r.package, r.path)[0].pattern) for r in table}  # type: ignore[index]
    assert used == {(f.package, f.pattern) for f in FAMILIES}


def test_spot_checks_of_loudness_duration_and_pitch(table: list[TableRow]) -> None:
    def of(cls: SoundClass) -> list[TableRow]:
        return [r for r in table if r.sound_class is cls]

    screams, speech, background = (
        of(SoundClass.SCREAM),
        of(SoundClass.SPEECH),
        of(SoundClass.BACKGROUND),
    )
    assert len(screams) >= 150
    assert len(speech) >= 500
    assert len(of(SoundClass.VOCALISATION)) >= 5
    # Nothing silent: every clip has an audible part; voices are recorded close and loud.
    assert all(r.rms_dbfs > -70.0 for r in table)
    assert all(r.rms_dbfs > -40.0 for r in table if r.sound_class is not SoundClass.BACKGROUND)
    # Cries are short bursts: no loop or music was taken for one.
    assert all(0.2 <= r.duration_s <= 6.0 for r in screams)
    assert statistics.median(r.duration_s for r in screams) < 2.0
    # Cries are loud: louder than speech lines on the median.
    assert statistics.median(r.rms_dbfs for r in screams) > statistics.median(
        r.rms_dbfs for r in speech
    )
    # Voices have a pitch in the human range (cries are often too rough to tell), and cries
    # are pitched well above speech lines (screams are high, often 400-3,000 Hz).
    for voices, share in ((screams, 0.7), (speech, 0.85)):
        in_range = [r for r in voices if 70.0 <= r.pitch_hz <= 1000.0]
        assert len(in_range) >= share * len(voices)
    assert statistics.median(r.pitch_hz for r in screams) > 1.4 * statistics.median(
        r.pitch_hz for r in speech
    )
    # Ambience loops run longer than cries.
    assert statistics.median(r.duration_s for r in background) > statistics.median(
        r.duration_s for r in screams
    )


# --- building from a fixture .deb ----------------------------------------------------------


def make_deb(tmp_path: Path, package: str) -> Path:
    tree = tmp_path / "tree"
    make_package_tree(tree)
    (tree / "DEBIAN").mkdir()
    (tree / "DEBIAN" / "control").write_text(
        f"Package: {package}\nVersion: {PACKAGES[package].version}\nArchitecture: all\n"
        "Maintainer: nser tests <tests@example.org>\nDescription: fixture\n"
    )
    debs = tmp_path / "debs"
    debs.mkdir()
    deb = debs / f"{package}_fixture_all.deb"
    subprocess.run(
        ["dpkg-deb", "--build", "-Zgzip", str(tree), str(deb)], check=True, capture_output=True
    )
    return debs


@needs_dpkg
def test_build_writes_16k_wavs_and_a_manifest_and_skips_changed_bytes(tmp_path: Path) -> None:
    debs = make_deb(tmp_path, "redeclipse-data")
    rows = label_package(PACKAGES["redeclipse-data"], tmp_path / "tree")
    tampered = rows[0].__class__(**{**rows[0].__dict__, "sha256": "0" * 64})
    report = build_corpus(tmp_path / "out", debs, [tampered, *rows[1:]], ["redeclipse-data"])
    assert report.changed == [f"redeclipse-data:{rows[0].path}"]
    assert len(report.records) == len(rows) - 1
    for record in report.records:
        info = soundfile.info(str(record.path))
        assert (info.samplerate, info.channels) == (16000, 1)
        assert record.source == "redeclipse-data"
    loaded = load_source(f"real:{tmp_path / 'out'}")
    assert [r.clip_id for r in loaded] == [r.clip_id for r in report.records]
    assert not (tmp_path / "out" / ".unpacked").exists()


@needs_dpkg
def test_recorded_clips_group_cries_speech_and_laughs_for_the_scenes(tmp_path: Path) -> None:
    debs = make_deb(tmp_path, "redeclipse-data")
    rows = label_package(PACKAGES["redeclipse-data"], tmp_path / "tree")
    build_corpus(tmp_path / "out", debs, rows, ["redeclipse-data"])
    recorded = recorded_clips(tmp_path / "out")
    # pain2 is a cry, fight an announcer's line, haha a laugh; the wind is no vocal sound.
    assert {k: len(v) for k, v in recorded.clips.items()} == {
        "recorded-scream": 1,
        "recorded-speech": 1,
        "recorded-laugh": 1,
    }
    (cry,) = recorded.clips["recorded-scream"]
    assert cry.dtype == np.float32
    assert len(cry) == pytest.approx(0.8 * 16000, rel=0.05)  # trimmed to the audible tone
    assert (
        recorded_clips(tmp_path / "out", ["redeclipse-data"]).clips.keys() == recorded.clips.keys()
    )
    with pytest.raises(DatasetError, match="no clips of the packages"):
        recorded_clips(tmp_path / "out", ["0ad-data"])


@needs_dpkg
def test_cli_builds_from_given_debs_and_refuses_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    debs = make_deb(tmp_path, "redeclipse-data")
    rows = label_package(PACKAGES["redeclipse-data"], tmp_path / "tree")
    table = tmp_path / "clips.csv"
    real_corpus.write_table(rows, table)
    monkeypatch.setattr(real_corpus, "TABLE_PATH", table)
    monkeypatch.setattr(real_corpus.read_table, "__defaults__", (table,))
    out = tmp_path / "real"
    args = [
        "corpus",
        "real",
        "--out",
        str(out),
        "--debs",
        str(debs),
        "--packages",
        "redeclipse-data",
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert f"wrote {len(rows)} clips from 1 packages" in printed
    assert hashlib.sha256((out / "manifest.csv").read_bytes()).hexdigest()
    assert main(args) == 1  # not empty
    assert "is not empty" in capsys.readouterr().err
    assert main(["corpus", "real", "--out", str(tmp_path / "x"), "--packages", "quake-data"]) == 1
    assert "unknown packages ['quake-data']" in capsys.readouterr().err
    assert main(["corpus", "real"]) == 1
    assert "--out is required" in capsys.readouterr().err


@needs_dpkg
def test_write_table_relabels_the_given_packages_and_keeps_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    debs = make_deb(tmp_path, "redeclipse-data")
    table = tmp_path / "clips.csv"
    other = TableRow(**{**read_table()[0].__dict__})  # a row of another package
    assert other.package != "redeclipse-data"
    real_corpus.write_table([other], table)
    monkeypatch.setattr(real_corpus.read_table, "__defaults__", (table,))
    monkeypatch.setattr(real_corpus.write_table, "__defaults__", (table,))
    args = ["corpus", "real", "--write-table", "--debs", str(debs), "--packages", "redeclipse-data"]
    assert main(args) == 0
    rows = read_table(table)
    assert other in rows
    assert {Path(r.path).name for r in rows if r.package == "redeclipse-data"} == {
        "pain2.ogg",
        "haha.ogg",
        "fight.ogg",
        "wind.ogg",
    }
