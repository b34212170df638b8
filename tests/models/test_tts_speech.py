"""espeak-ng speech, the training negatives of `nser corpus tts`: real espeak-ng, real files."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile

from nser_cli import main
from nser_models.data.clips import write_manifest
from nser_models.data.real_corpus import sound_class_of
from nser_models.data.real_families import SoundClass
from nser_models.data.tts_speech import build_tts_corpus, load_tts
from nser_shared.errors import DatasetError
from nser_shared.wire.labels import Valence


def test_tts_corpus_is_spoken_16k_speech_labelled_not_a_scream(tmp_path: Path) -> None:
    records = build_tts_corpus(tmp_path / "a", clips=4, seed=1)
    assert load_tts(tmp_path / "a") == records
    for record in records:
        audio, rate = soundfile.read(record.path, dtype="float32")
        assert rate == 16_000 == record.sample_rate
        # A short line: spoken for between a third of a second and a few seconds, not silence.
        assert 0.3 < len(audio) / rate < 5.0
        assert np.sqrt(np.mean(audio**2)) > 0.01
        assert sound_class_of(record) is SoundClass.SPEECH
        assert (record.is_scream, record.valence, record.source) == (
            False,
            Valence.NEUTRAL,
            "espeak-ng",
        )
    assert len({r.speaker for r in records}) > 1  # voices are drawn per clip
    again = build_tts_corpus(tmp_path / "b", clips=4, seed=1)
    assert [r.path.read_bytes() for r in again] == [r.path.read_bytes() for r in records]


def test_bad_tts_input_gets_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(DatasetError, match="at least 1"):
        build_tts_corpus(tmp_path / "none", clips=0)
    with pytest.raises(DatasetError, match="manifest not found"):
        load_tts(tmp_path / "missing")
    records = build_tts_corpus(tmp_path / "c", clips=1)
    write_manifest(tmp_path / "c" / "manifest.csv", [replace(records[0], is_scream=True)])
    with pytest.raises(DatasetError, match="not an espeak-ng speech corpus"):
        load_tts(tmp_path / "c")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "keep.txt").write_text("x")
    assert main(["corpus", "tts", "--out", str(tmp_path / "d"), "--clips", "1"]) == 1
    assert "is not empty" in capsys.readouterr().err
