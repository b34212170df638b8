"""`nser scene-accuracy`: a small real run and its report, and bad arguments refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nser_cli import main


def test_report_covers_each_model_and_scene_with_shares_in_range(tmp_path: Path) -> None:
    args = ["--models", "student", "--scenes", "assault,quiet-home", "--devices", "1",
            "--seeds", "0,3", "--duration", "8", "--evidence-thresholds", "0,100",
            "--out", str(tmp_path)]  # fmt: skip
    assert main(["scene-accuracy", *args]) == 0
    report = json.loads((tmp_path / "scenes.json").read_text())
    assert (report["seeds"], report["devices_per_scene"]) == ([0, 3], 2)  # a device per seed
    rows = report["models"]["student"]
    assert set(rows) == {"assault", "quiet-home"}
    assert rows["quiet-home"]["scream_windows"] == 0
    assert rows["quiet-home"]["type_accuracy"] is None  # no true screams to type
    for row in rows.values():
        assert row["windows"] == 12  # two devices, 8 s each, 3 s windows, one per second
        assert row["devices"] == 2
        for key in ("detection_accuracy", "non_screams_called_screams", "alerting_windows"):
            assert row[key] is None or 0.0 <= row[key] <= 1.0
        assert row["devices_alerted"] in (0.0, 0.5, 1.0)
        assert (row["median_s_to_alert"] is None) == (row["devices_alerted"] == 0.0)
    assert "| student | assault |" in (tmp_path / "scenes.md").read_text()
    # The sweep: no evidence needed alerts at the first alerting window, or never; evidence no
    # 8 s device can gather alerts no one.
    for row in rows.values():
        first, never = row["sweep"]["0"], row["sweep"]["100"]
        assert never == {"devices_alerted": 0.0, "median_s_to_alert": None}
        assert first["median_s_to_alert"] in (None, 0.0)
        assert first["devices_alerted"] >= row["devices_alerted"]
    assert "| student | 100 | 0 of 2 (-) | 0 of 2 (-) |" in (tmp_path / "scenes.md").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--models", "resnet99"], "unknown models"),
        (["--scenes", "disco"], "unknown scene"),
        (["--devices", "0"], "--devices must be at least 1"),
        (["--seeds", "0,x"], "--seeds must be comma-separated integers"),
        (["--seeds", "-1"], "none negative"),
        (["--duration", "2"], "--duration must be at least 3 seconds"),
        (["--checkpoints", "/nonexistent"], "checkpoint folder not found"),
        (["--evidence-thresholds", "1,x"], "comma-separated numbers"),
        (["--evidence-thresholds", "-1"], "must be >= 0"),
        (["--real-packages", "0ad-data"], "--real-packages needs --real DIR"),
        (["--real", "/nonexistent"], "manifest not found: /nonexistent"),
    ],
)
def test_bad_arguments_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["scene-accuracy", *args, "--out", str(tmp_path)]) == 1
    assert message in capsys.readouterr().err
