"""`nser payloads`: bytes and accuracy per payload dtype, and a clear error for a bad scene."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nser_cli import main as nser_main


def test_payloads_compares_the_dtypes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    options = ["--out", str(tmp_path), "--devices", "1", "--duration", "5"]
    assert nser_main(["payloads", *options, "--scenes", "assault"]) == 0
    report = json.loads((tmp_path / "payloads.json").read_text())
    rows = report["dtypes"]
    assert [rows[d]["tensor_bytes"] for d in ("float32", "float16", "int8")] == [
        96256,
        48128,
        24064,
    ]
    assert rows["float32"]["max_abs_feature_error"] == 0.0
    assert rows["float32"]["detection_agreement_with_float32"] == 1.0
    assert 0 < rows["int8"]["max_abs_feature_error"] <= 0.5 / 127 + 1e-6
    assert report["windows"] == 3
    assert "| int8 | 24,064 |" in (tmp_path / "payloads.md").read_text()
    assert "report written to" in capsys.readouterr().out


def test_payloads_refuses_an_unknown_scene(capsys: pytest.CaptureFixture[str]) -> None:
    assert nser_main(["payloads", "--out", "unused", "--scenes", "disco"]) == 1
    assert "unknown scene 'disco'" in capsys.readouterr().err
