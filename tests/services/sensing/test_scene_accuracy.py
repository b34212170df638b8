"""`nser scene-accuracy`: a small real run and its report, and bad arguments refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

NSER = [sys.executable, "-c", "from nser_shared.cli import main; raise SystemExit(main())"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*NSER, "scene-accuracy", *args], capture_output=True, text=True,
                          timeout=600)  # fmt: skip


def test_report_covers_each_model_and_scene_with_shares_in_range(tmp_path: Path) -> None:
    done = _run("--models", "student", "--scenes", "assault,quiet-home", "--devices", "1",
                "--duration", "8", "--out", str(tmp_path))  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "scenes.json").read_text())
    rows = report["models"]["student"]
    assert set(rows) == {"assault", "quiet-home"}
    assert rows["quiet-home"]["scream_windows"] == 0
    assert rows["quiet-home"]["type_accuracy"] is None  # no true screams to type
    for row in rows.values():
        assert row["windows"] == 6  # 8 s, 3 s windows, one per second
        for key in ("detection_accuracy", "non_screams_called_screams", "alerting_windows"):
            assert row[key] is None or 0.0 <= row[key] <= 1.0
    assert "| student | assault |" in (tmp_path / "scenes.md").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--models", "resnet99"], "unknown models"),
        (["--scenes", "disco"], "unknown scene"),
        (["--devices", "0"], "--devices must be at least 1"),
        (["--duration", "2"], "--duration must be at least 3 seconds"),
        (["--checkpoints", "/nonexistent"], "checkpoint folder not found"),
    ],
)
def test_bad_arguments_are_refused(tmp_path: Path, args: list[str], message: str) -> None:
    done = _run(*args, "--out", str(tmp_path))
    assert done.returncode == 1
    assert message in done.stderr
