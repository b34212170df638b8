"""The pure rules: the surge rule, threshold hysteresis, bucket windows, and the settings."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nser_cli import main
from nser_nwdaf.abnormal import SurgeRule, assess
from nser_nwdaf.cli import run
from nser_nwdaf.events import ExceptionTrend, MatchingDirection
from nser_nwdaf.settings import resolve
from nser_nwdaf.thresholds import step
from nser_nwdaf.windows import Window
from nser_shared.errors import ConfigurationError

RULE = SurgeRule(short_seconds=10, baseline_seconds=300, factor=3.0, min_events=3,
                 floor_per_minute=0.6)  # fmt: skip


def test_surge_rule_needs_enough_negative_screams_in_a_quiet_cell() -> None:
    two = assess(RULE, "c", negatives=2, elapsed_seconds=10, baseline_negatives=0,
                 previous_negatives=0)  # fmt: skip
    three = assess(RULE, "c", negatives=3, elapsed_seconds=10, baseline_negatives=0,
                   previous_negatives=0)  # fmt: skip
    assert not two.abnormal
    assert two.score == 0
    assert three.abnormal  # 18 per minute against the 0.6 floor
    assert three.level == 30
    assert three.trend is ExceptionTrend.UP


def test_surge_rule_is_relative_to_the_cells_own_baseline() -> None:
    # A cell that always hears 6 negative screams a minute: 1 in 10 s is its normal.
    usual = assess(RULE, "c", negatives=3, elapsed_seconds=10, baseline_negatives=30,
                   previous_negatives=3)  # fmt: skip
    assert usual.baseline_per_minute == 6.0
    assert usual.score == 3.0  # 18 per minute is three times the baseline: abnormal
    assert usual.abnormal
    steady = assess(RULE, "c", negatives=3, elapsed_seconds=10, baseline_negatives=90,
                    previous_negatives=3)  # fmt: skip
    assert not steady.abnormal
    assert steady.trend is ExceptionTrend.STABLE


@pytest.mark.parametrize(
    ("direction", "values", "reports"),
    [
        # fires at 10; 9 and 8.5 stay above 10 * 0.8, so no re-fire; 7 re-arms; 10 fires again
        ("ASCENDING", [5, 10, 9, 10, 8.5, 12, 7, 10], [10, 10]),
        ("CROSSED", [5, 10, 9, 7, 10], [10, 7, 10]),
        ("DESCENDING", [20, 10, 11, 9, 13, 10], [10, 10]),
    ],
)
def test_thresholds_fire_on_crossings_with_hysteresis(
    direction: str, values: list[float], reports: list[float]
) -> None:
    fired, seen = False, []
    for value in values:
        nxt = step(fired, value, 10.0, MatchingDirection(direction), rearm=0.8)
        fired = nxt.fired_side
        if nxt.report:
            seen.append(value)
    assert seen == reports


@given(
    start=st.floats(min_value=1e9, max_value=2e9),
    length=st.floats(min_value=0, max_value=1e4),
    bucket=st.sampled_from([1, 5, 60]),
)
def test_a_covering_window_holds_its_span_in_whole_buckets(
    start: float, length: float, bucket: int
) -> None:
    w = Window.covering(start, start + length, bucket)
    assert w.start <= start
    assert w.end > start + length
    assert w.start % bucket == 0
    assert w.end % bucket == 0
    assert w.end - w.start <= length + 2 * bucket


def test_settings_come_from_the_environment_and_bad_ones_are_refused() -> None:
    s = resolve(environ={"NSER_NWDAF_SHORT_WINDOW_SECONDS": "5", "NSER_NWDAF_PLMN": "208-93"})
    assert (s.short_window_seconds, s.mcc, s.mnc) == (5, "208", "93")
    with pytest.raises(ConfigurationError, match="NSER_NWDAF_TICK_SECONDS"):
        resolve(environ={"NSER_NWDAF_TICK_SECONDS": "soon"})
    with pytest.raises(ConfigurationError, match="multiple of bucket_seconds"):
        resolve(environ={"NSER_NWDAF_BUCKET_SECONDS": "5", "NSER_NWDAF_SHORT_WINDOW_SECONDS": "7"})
    with pytest.raises(ConfigurationError, match="retention_seconds"):
        resolve(environ={"NSER_NWDAF_RETENTION_SECONDS": "60"})
    assert resolve(environ={"NSER_NWDAF_DONE_TTL_SECONDS": "300"}).done_ttl_seconds == 300
    with pytest.raises(ConfigurationError, match="done_ttl_seconds must be >= 60"):
        resolve(environ={"NSER_NWDAF_DONE_TTL_SECONDS": "5"})
    assert callable(run)


def test_nser_nwdaf_reports_a_bad_option_and_exits_non_zero(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["nwdaf", "--plmn", "not-a-plmn"]) == 1
    assert "plmn 'not-a-plmn' must be MCC-MNC" in capsys.readouterr().err
