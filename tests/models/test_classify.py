"""`nser classify`: real audio files of any rate and length through the shipped students."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile

from nser_cli import main
from nser_models.classify import (
    CSV_HEADER,
    CascadeModels,
    WindowScore,
    classify_file,
    load_models,
    most_alarming,
    window_offsets,
)
from nser_shared.errors import InvalidAudioError
from nser_shared.frontend.audio import write_audio
from nser_shared.frontend.features import MelFrontEnd


@pytest.fixture(scope="module")
def models() -> CascadeModels:
    return load_models()  # the served model, as the CLI uses by default


@pytest.fixture(scope="module")
def front_end(models: CascadeModels) -> MelFrontEnd:
    return MelFrontEnd(models.features)


def sound(seconds: float, rate: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    """A loud, varying test signal: a chirp with bursts of noise, (channels, samples)."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * rate)) / rate
    chirp = 0.4 * np.sin(2 * np.pi * (300 + 200 * t) * t)
    bursts = 0.3 * rng.standard_normal(t.size) * (np.sin(2 * np.pi * 0.7 * t) > 0)
    mono = (chirp + bursts).astype(np.float32)
    return np.stack([mono * (1.0 - 0.3 * c) for c in range(channels)])


def write(path: Path, seconds: float, rate: int, channels: int = 1) -> Path:
    write_audio(path, sound(seconds, rate, channels), rate)
    return path


def starts(scores: list[WindowScore]) -> list[float]:
    return [s.start_s for s in scores]


def test_window_rule_covers_the_end_and_always_gives_one_window() -> None:
    rate, window, hop = 16000, 48000, 16000
    assert window_offsets(7 * rate, window, hop) == [k * hop for k in range(5)]  # 0..4 s
    assert window_offsets(round(7.5 * rate), window, hop) == [k * hop for k in range(6)]  # 0..5 s
    assert window_offsets(3 * rate, window, hop) == [0]
    assert window_offsets(3 * rate + 1, window, hop) == [0, hop]  # the last one padded
    assert window_offsets(rate, window, hop) == [0]
    assert window_offsets(1, window, hop) == [0]


def test_seven_seconds_of_stereo_at_44k1_gives_windows_at_0_to_4_s(
    tmp_path: Path, models: CascadeModels, front_end: MelFrontEnd
) -> None:
    path = write(tmp_path / "stereo.wav", 7.0, 44100, channels=2)
    assert soundfile.info(str(path)).channels == 2
    scores = classify_file(path, models, front_end)
    assert starts(scores) == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert all(s.path == path for s in scores)
    for s in scores:
        assert 0.0 <= s.p_scream <= 1.0
        assert 0.0 <= s.p_negative <= 1.0
    assert most_alarming(scores).alarm == max(s.p_scream * s.p_negative for s in scores)


def test_one_second_at_8_khz_gives_one_window(
    tmp_path: Path, models: CascadeModels, front_end: MelFrontEnd
) -> None:
    scores = classify_file(write(tmp_path / "short.wav", 1.0, 8000), models, front_end)
    assert starts(scores) == [0.0]
    assert 0.0 <= scores[0].p_scream <= 1.0
    assert 0.0 <= scores[0].p_negative <= 1.0


def test_a_rate_the_front_end_does_not_accept_is_resampled(
    tmp_path: Path, models: CascadeModels, front_end: MelFrontEnd
) -> None:
    scores = classify_file(write(tmp_path / "odd.wav", 5.5, 12000), models, front_end)
    assert starts(scores) == [0.0, 1.0, 2.0, 3.0]  # 5.5 s: the window at 3 s is padded
    assert all(0.0 <= s.p_scream <= 1.0 and 0.0 <= s.p_negative <= 1.0 for s in scores)


def test_the_same_sound_at_another_rate_scores_about_the_same(
    tmp_path: Path, models: CascadeModels, front_end: MelFrontEnd
) -> None:
    def chirp(rate: int) -> np.ndarray:  # band-limited: the same sound at any rate
        t = np.arange(4 * rate) / rate
        return (0.5 * np.sin(2 * np.pi * (300 + 200 * t) * t)).astype(np.float32)

    write_audio(tmp_path / "a.wav", chirp(16000), 16000)
    write_audio(tmp_path / "b.wav", chirp(48000), 48000)
    a = classify_file(tmp_path / "a.wav", models, front_end)
    b = classify_file(tmp_path / "b.wav", models, front_end)
    assert starts(a) == starts(b) == [0.0, 1.0]
    for x, y in zip(a, b, strict=True):
        assert x.p_scream == pytest.approx(y.p_scream, abs=0.1)
        assert x.p_negative == pytest.approx(y.p_negative, abs=0.1)


def test_nan_samples_are_refused_naming_the_file(
    tmp_path: Path, models: CascadeModels, front_end: MelFrontEnd
) -> None:
    path = tmp_path / "nan.wav"
    data = sound(4.0, 16000)[0]
    data[100] = np.nan
    soundfile.write(str(path), data, 16000, subtype="FLOAT")
    with pytest.raises(InvalidAudioError, match=r"nan\.wav.*NaN"):
        classify_file(path, models, front_end)


def parse_table(out: str) -> list[list[str]]:
    """The table's rows (header first), split on runs of two or more spaces."""
    return [re.split(r"\s{2,}", line.strip()) for line in out.splitlines() if line.strip()]


def test_cli_reports_bad_files_and_still_classifies_the_good_one(
    tmp_path: Path,
    models: CascadeModels,
    front_end: MelFrontEnd,
    capsys: pytest.CaptureFixture[str],
) -> None:
    good = write(tmp_path / "good.wav", 7.0, 44100, channels=2)
    missing = tmp_path / "missing.wav"
    text = tmp_path / "x.wav"
    text.write_bytes(b"this is not audio, just some text\n")
    empty = tmp_path / "empty.wav"
    soundfile.write(str(empty), np.zeros(0, dtype=np.float32), 16000, subtype="PCM_16")
    out_csv = tmp_path / "scores.csv"

    code = main(["classify", str(missing), str(text), str(good), str(empty), "--csv", str(out_csv)])

    assert code == 1
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if "error:" in line]
    assert len(errors) == 3
    for bad, error in zip((missing, text, empty), errors, strict=True):
        assert str(bad) in error

    rows = parse_table(captured.out)
    assert rows[0] == ["path", "row", "start_s", "p_scream", "p_negative"]
    windows = [r for r in rows[1:] if r[1] == "window"]
    summaries = [r for r in rows[1:] if r[1] == "most alarming"]
    assert [r[0] for r in windows] == [str(good)] * 5
    assert [float(r[2]) for r in windows] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert len(summaries) == 1
    summary = summaries[0]
    assert summary[0] == str(good)
    assert summary[2:] in [r[2:] for r in windows]  # it is one of the window rows
    products = [float(r[3]) * float(r[4]) for r in windows]
    # the max of the printed (rounded) products, up to that rounding
    assert float(summary[3]) * float(summary[4]) == pytest.approx(max(products), abs=2e-4)
    expected = most_alarming(classify_file(good, models, front_end))
    assert float(summary[2]) == expected.start_s

    with out_csv.open(newline="") as handle:
        lines = list(csv.reader(handle))
    assert tuple(lines[0]) == CSV_HEADER == ("path", "window_start_s", "p_scream", "p_negative")
    assert len(lines) == 1 + 5
    assert [line[2:] for line in lines[1:]] == [r[3:] for r in windows]
    for path, start, p_scream, p_negative in lines[1:]:
        assert path == str(good)
        assert re.fullmatch(r"\d+\.\d", start)
        assert re.fullmatch(r"[01]\.\d{4}", p_scream)
        assert re.fullmatch(r"[01]\.\d{4}", p_negative)


def test_cli_exits_0_when_every_file_is_classified(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = write(tmp_path / "a.wav", 2.0, 22050)
    b = write(tmp_path / "b.flac", 3.5, 48000, channels=2)
    assert main(["classify", str(a), str(b)]) == 0
    captured = capsys.readouterr()
    assert "error" not in captured.err
    rows = parse_table(captured.out)[1:]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (str(a), "window", "0.0"),
        (str(a), "most alarming", "0.0"),
        (str(b), "window", "0.0"),
        (str(b), "window", "1.0"),
        (str(b), "most alarming", rows[4][2]),
    ]


def test_cli_without_paths_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["classify"])
    assert exc.value.code == 2
    assert "PATH" in capsys.readouterr().err


def test_cli_help_defines_most_alarming(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["classify", "--help"])
    assert "p_scream * p_negative" in " ".join(capsys.readouterr().out.split())
