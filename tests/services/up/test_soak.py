"""The soak report's arithmetic: per-interval rates and latency from cumulative samples, and
memory growth after warm-up."""

import math
import os

from nser_up.soak import SoakSample, intervals, memory_growth, rss_mib, soak_markdown, soak_report


def sample(
    at_s: float, answered: float, buckets: list[tuple[float, float]], rss: float
) -> SoakSample:
    return SoakSample(
        at_s=at_s,
        windows_answered=answered,
        windows_refused=0.0,
        publish_refused=0.0,
        end_to_end=buckets,
        rss_mib={"mec": rss},
        redis_used_mib=2.0,
        stream_length=100,
    )


INF = math.inf


def test_intervals_use_the_differences_between_cumulative_samples() -> None:
    samples = [
        sample(0.0, 0.0, [(0.01, 0.0), (0.1, 0.0), (INF, 0.0)], 100.0),
        # 10 s later: 100 windows, all decided within 10 ms.
        sample(10.0, 100.0, [(0.01, 100.0), (0.1, 100.0), (INF, 100.0)], 100.0),
        # 10 s later: 50 more windows, all between 10 and 100 ms.
        sample(20.0, 150.0, [(0.01, 100.0), (0.1, 150.0), (INF, 150.0)], 101.0),
    ]
    first, second = intervals(samples)
    assert first["windows_per_s"] == 10.0
    assert first["decided"] == 100.0
    assert first["p50_ms"] is not None
    assert first["p50_ms"] <= 10.0
    assert second["windows_per_s"] == 5.0
    assert second["decided"] == 50.0
    assert second["p50_ms"] is not None
    assert 10.0 < second["p50_ms"] <= 100.0
    config = {
        "scenario": "evening", "devices": 20, "hop_s": 1.0, "placement": "edge",
        "command": "nser up --soak-interval 60", "environment": {"NSER_RESULTS_MAXLEN": "500"},
    }  # fmt: skip
    report = soak_report(samples, warmup_s=5.0, config=config)
    assert report["totals"]["windows_answered"] == 150.0
    assert report["totals"]["windows_per_s"] == 7.5
    text = soak_markdown(report)
    assert "| mec |" in text
    assert "`NSER_RESULTS_MAXLEN=500 nser up --soak-interval 60`: scenario evening" in text


def test_growth_is_measured_from_the_end_of_warm_up_and_flagged_over_the_limit() -> None:
    buckets = [(INF, 0.0)]
    samples = [
        sample(0.0, 0, buckets, 50.0),  # still warming up: not the reference
        sample(60.0, 0, buckets, 100.0),
        sample(600.0, 0, buckets, 105.0),
    ]
    steady = memory_growth(samples, warmup_s=60.0)
    assert steady["mec"]["start_mib"] == 100.0
    assert steady["mec"]["growth"] == 0.05
    assert not steady["mec"]["flagged"]
    growing = memory_growth([*samples[:2], sample(600.0, 0, buckets, 130.0)], warmup_s=60.0)
    assert growing["mec"]["flagged"]


def test_rss_of_this_process_and_of_a_missing_one() -> None:
    mine = rss_mib(os.getpid())
    assert mine is not None
    assert mine > 1.0
    assert rss_mib(2**22 + 12345) is None
