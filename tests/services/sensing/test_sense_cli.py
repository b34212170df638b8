"""`nser sense` and `python -m nser_sensing`: clear errors, summary, report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import grpc
import numpy as np
import pytest
from fake_mec import FakeMec
from support.processes import free_port

from nser_cli import main as nser_main
from nser_sensing.sentlog import read_sent_log
from nser_shared.frontend.audio import write_audio


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--devices", "0"], "--devices must be at least 1"),
        (["--cells", "0"], "--cells must be at least 1"),
        (["--hop", "0"], "--hop must be > 0"),
        (["--hop", "nan"], "--hop must be > 0"),
        (["--duration", "2"], "--duration must be at least 3"),
        (["--scene", "disco"], "unknown scene 'disco'"),
        (["--profile", "6g"], "unknown link profile '6g'"),
        (["--profile", "urllc,6g"], "unknown link profile '6g'"),
        (["--dtype", "int4"], "unknown dtype 'int4'"),
        (["--kind", "tablet"], "unknown device kind 'tablet'"),
        (["--audio", "no/such/file.wav"], "audio path not found"),
        (["--target", "localhost"], "is not HOST:PORT"),
        (["--target", "localhost:99999"], "is not HOST:PORT"),
        (["--max-attempts", "0"], "--max-attempts must be at least 1"),
    ],
)
def test_bad_arguments_exit_1_with_a_clear_message(
    options: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert nser_main(["sense", *options]) == 1
    err = capsys.readouterr().err
    assert err.startswith("nser sense: error: ")
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "options", [["--devices", "many"], ["--scene", "party", "--audio", "a.wav"], ["--bogus"]]
)
def test_malformed_arguments_exit_2(options: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        nser_main(["sense", *options])
    assert exit_info.value.code == 2
    assert "usage: nser sense" in capsys.readouterr().err


def test_unreachable_server_exits_1_with_a_clear_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = f"127.0.0.1:{free_port()}"
    options = ["--target", target, "--connect-timeout", "0.5", "--devices", "1"]
    assert nser_main(["sense", *options, "--duration", "3", "--fast"]) == 1
    err = capsys.readouterr().err
    assert f"cannot reach the MEC inference service at {target}" in err
    assert "Traceback" not in err


def test_target_defaults_to_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("NSER_MEC_ADDR", target)
    options = ["--connect-timeout", "0.3", "--devices", "1", "--duration", "3", "--fast"]
    assert nser_main(["sense", *options]) == 1
    assert target in capsys.readouterr().err


def test_sense_prints_a_summary_and_writes_the_report(
    fake_mec: FakeMec, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "runs" / "sense.json"
    options = ["--target", fake_mec.target, "--scene", "assault", "--devices", "3"]
    options += ["--cells", "2", "--profile", "urllc,lte", "--duration", "5", "--fast"]
    options += ["--dtype", "int8", "--out", str(out)]
    assert nser_main(["sense", *options]) == 0
    printed = capsys.readouterr().out
    assert "3 devices" in printed
    assert "link urllc" in printed
    assert "link lte" in printed
    assert "vs ground truth: detection" in printed
    report = json.loads(out.read_text())
    assert report["totals"]["answers"] == 9
    assert report["settings"]["dtype"] == "int8"
    assert set(report["by_profile"]) == {"urllc", "lte"}
    assert [d["device_id"] for d in report["devices"]] == [
        "phone-0000",
        "watch-0001",
        "assistant-0002",
    ]
    assert len({d["nr_cell_id"] for d in report["devices"]}) == 2
    assert all(len(w.tensor) == 24064 for w in fake_mec.windows())
    first = report["devices"][0]["requests"][0]
    assert first["truth_detection"] in ("scream", "non_scream")
    assert first["uplink_ms"] > 0


def test_python_m_nser_sensing_is_nser_sense() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nser_sensing", "--devices", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "nser sense: error: --devices must be at least 1" in done.stderr


def test_a_server_that_answers_nothing_fails_the_run_with_its_first_error(
    fake_mec: FakeMec, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_mec.fail_first, fake_mec.fail_code = 1000, grpc.StatusCode.NOT_FOUND
    options = ["--target", fake_mec.target, "--devices", "2", "--duration", "3", "--fast"]
    assert nser_main(["sense", *options, "--model", "teacher"]) == 1
    captured = capsys.readouterr()
    assert "errors: NOT_FOUND 2" in captured.out
    assert "no window was answered; the first error: NOT_FOUND: fake server says no" in captured.err


def test_sense_plays_a_folder_of_recordings_without_ground_truth(
    fake_mec: FakeMec, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    write_audio(tmp_path / "a.wav", 0.1 * rng.standard_normal(4 * 16000), 16000)
    write_audio(tmp_path / "b.flac", 0.1 * rng.standard_normal(3 * 22050), 22050)
    options = ["--target", fake_mec.target, "--audio", str(tmp_path), "--devices", "3"]
    assert nser_main(["sense", *options, "--fast", "--kind", "watch"]) == 0
    printed = capsys.readouterr().out
    assert "5 windows framed" in printed  # a.wav (4 s): 2 windows, b.flac (3 s): 1, a.wav: 2
    assert "none known for this source" in printed
    assert {w.device_id for w in fake_mec.windows()} == {"watch-0000", "watch-0001", "watch-0002"}


def test_sent_log_has_one_line_per_window_with_its_outcome(
    fake_mec: FakeMec, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_mec.fail_first, fake_mec.fail_code = 1, grpc.StatusCode.INVALID_ARGUMENT
    log = tmp_path / "logs" / "sent.jsonl"
    options = ["--target", fake_mec.target, "--scene", "assault", "--devices", "2"]
    options += ["--duration", "5", "--fast", "--sent-log", str(log)]
    assert nser_main(["sense", *options]) == 0
    lines = read_sent_log(log)
    assert len(lines) == 6  # 2 devices x 3 windows of 3 s at a 1 s hop
    refused = [line for line in lines if line["status"] != "OK"]
    assert len(refused) == 1
    assert refused[0]["status"] == "INVALID_ARGUMENT"
    assert refused[0]["result_id"] == ""
    for line in lines:
        if line["status"] == "OK":
            assert line["result_id"] == f"r-{line['device_id']}-{line['sequence']}"
            assert line["attempts"] == 1
    capsys.readouterr()
    assert nser_main(["sense", *options]) == 0  # a second run appends
    assert len(read_sent_log(log)) == 12
    assert ", 6 sent, 6 answered" in capsys.readouterr().out  # its report counts its own lines


def test_sent_log_that_is_a_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert nser_main(["sense", "--sent-log", str(tmp_path)]) == 1
    assert "--sent-log must be a file path" in capsys.readouterr().err


def test_without_tls_files_or_insecure_nothing_is_sent(
    fake_mec: FakeMec, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("NSER_SENSE_INSECURE")
    options = ["--target", fake_mec.target, "--devices", "1", "--duration", "3", "--fast"]
    assert nser_main(["sense", *options]) == 1
    err = capsys.readouterr().err
    assert "mutual TLS only" in err
    assert "--tls-ca (NSER_SENSE_TLS_CA)" in err
    assert "--insecure" in err
    assert fake_mec.received == []


def test_insecure_warns_once_that_windows_are_plaintext(
    fake_mec: FakeMec, caplog: pytest.LogCaptureFixture
) -> None:
    options = ["--target", fake_mec.target, "--devices", "2", "--duration", "3", "--fast"]
    assert nser_main(["sense", *options, "--insecure"]) == 0
    warnings = [r for r in caplog.records if r.levelname == "WARNING" and "plaintext" in r.message]
    assert len(warnings) == 1
