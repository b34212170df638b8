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
    # Each seed's device replayed alone: together they are the whole fleet's figure.
    text = (tmp_path / "scenes.md").read_text()
    for row in rows.values():
        assert len(row["per_seed"]) == 2
        shares = [r["devices_alerted"] for r in row["per_seed"]]
        assert sum(shares) / 2 == row["devices_alerted"]
    assert "## Targets, seed by seed" in text
    assert "| student | 3 |" in text


def test_targets_are_judged_seed_by_seed() -> None:
    from nser_loadtest.scene_accuracy import _target_lines

    def replay(alerted: int, seconds: float | None) -> dict[str, float | None]:
        return {"devices_alerted": alerted / 20, "median_s_to_alert": seconds}

    def report(assault: dict[str, float | None]) -> dict[str, object]:
        rows = {
            "party": {"per_seed": [replay(1, 9.0)]},
            "quiet-home": {"per_seed": [replay(0, None)]},
            "assault": {"per_seed": [assault]},
        }
        return {
            "scenes": ["quiet-home", "party", "assault"],
            "seeds": [7],
            "devices_per_scene": 20,
            "models": {"m": rows},
        }

    assert "| m | 7 | 1 (9 s) | 0 (-) | 19 (4 s) | yes |" in _target_lines(report(replay(19, 4.0)))
    assert "| 19 (5.5 s) | no |" in "\n".join(_target_lines(report(replay(19, 5.5))))
    assert "| 18 (2 s) | no |" in "\n".join(_target_lines(report(replay(18, 2.0))))


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
