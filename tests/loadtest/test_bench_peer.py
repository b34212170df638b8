"""`nser bench-peer --quick`: the MEC and a real KServe ModelServer (in its own virtual
environment) take the same load over the Open Inference Protocol, and the report sets them side
by side."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nser_cli import main
from nser_loadtest.bench_peer import RATES


@pytest.mark.slow
def test_quick_side_by_side_run_measures_both_servers(tmp_path: Path) -> None:
    out = tmp_path / "peer"
    assert main(["bench-peer", "--quick", "--models", "student", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    for server in ("nser", "kserve"):
        (steps,) = report["grids"][server].values()
        assert [s["offered_rate"] for s in steps] == list(RATES["student"][::3])
        assert steps[0]["errors"] == {}, (server, steps[0])  # the lowest rate: none refused
        for step in steps:  # higher rates may saturate a server: refusals are counted, not lost
            assert step["ok"] + sum(step["errors"].values()) == step["sent"]
            assert step["achieved_rate"] <= step["offered_rate"] * 1.01
            assert step["server_cpu_cores"] > 0
    assert report["nser"]["settings"]["models"] == "student"
    text = (out / "report.md").read_text()
    assert "| student | 50 |" in text
    assert (out / "latency_vs_load.png").stat().st_size > 1000
    summary = (out / "summary.md").read_text()  # what docs/loadtest.md includes
    assert "| student | 10 ms |" in summary
    assert "| target | measured | met |" in summary


def test_targets_are_the_ratios_of_the_rates_each_server_holds() -> None:
    from nser_loadtest.bench_peer import summary_markdown, targets

    report = {
        "nser": {"backend": "openvino", "does": "both tasks"},
        "kserve": {"does": "detection"},
        "slo_ms": {"student": 10.0, "teacher": 50.0},
        "max_rate_at_slo": {
            "nser": {"student": 600.0, "teacher": 50.0},
            "kserve": {"student": 400.0, "teacher": 50.0},
        },
        "grids": {"nser": {"student": [{"latency_ms": {"p50": 1.5}}]}},
    }
    assert targets(report) == {
        "student_ratio": 1.5,
        "teacher_ratio": 1.0,
        "student_over_teacher": 12.0,
        "light_load_p50_ms": 1.5,
    }
    text = summary_markdown(report)
    assert "| student | 10 ms | 600 | 400 | 1.50x |" in text
    assert "over KServe's >= 1.5 | 1.500 | yes |" in text
    assert "teacher: nser's max rate at p99 <= 50 ms over KServe's >= 1.2 | 1.000 | no |" in text
    assert "p50 at the lowest rate, ms <= 2 | 1.500 | yes |" in text


def test_an_unknown_model_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench-peer", "--models", "resnet152", "--out", "unused"]) == 1
    assert "--models must be among" in capsys.readouterr().err
