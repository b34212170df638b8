"""`nser compose-run`'s verdict and report, on hand-made results (the run itself needs a Docker
engine; docs/deploy.md records one)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from nser_up.compose_run import checks, markdown

PASSING: dict[str, Any] = {
    "devices_per_scene": 2,
    "duration_s": 60.0,
    "link_profile": "urllc",
    "build_s": 120.0,
    "start_s": 30.0,
    "mec_recovery_s": 12.0,
    "groups": {"sensing-assault": {"exit_code": 0, "report": ["2 devices, 60 s"]}},
    "alerts": {"assault": 2, "party": 0, "quiet-home": 0},
    "latency_ms": {"end_to_end": {"p50": 20.0, "p99": 90.0}},
    "image_mb": {"mec": 350},
    "left_behind": {"containers": [], "networks": [], "volumes": []},
}


def test_a_clean_run_passes_every_check() -> None:
    assert all(checks(PASSING).values())


@pytest.mark.parametrize(
    ("change", "failed"),
    [
        (lambda r: r["groups"]["sensing-assault"].update(exit_code=1), "every device group"),
        (lambda r: r["alerts"].update(assault=1), "every assault device alerted"),
        (lambda r: r.update(mec_recovery_s=None), "the MEC came back"),
        (lambda r: r.update(latency_ms={}), "per-stage latency"),
        (lambda r: r["left_behind"].update(volumes=["nser-run_redis-data"]), "down -v"),
    ],
)
def test_each_failure_fails_its_own_check(change: Any, failed: str) -> None:
    report = copy.deepcopy(PASSING)
    change(report)
    verdict = checks(report)
    assert [name for name, ok in verdict.items() if not ok] == [
        name for name in verdict if name.startswith(failed)
    ]


def test_the_report_shows_the_verdict_and_the_figures() -> None:
    report = {**PASSING, "checks": checks(PASSING)}
    text = markdown(report, "nser compose-run --out x")
    assert "| every assault device alerted | yes |" in text
    assert "| nser/mec | 350 |" in text
    assert "| end_to_end | 20.0 | 90.0 |" in text
    assert "12.0 s after kill -9" in text
