"""The soak report of `nser up --soak-interval S`: does anything grow without bound?

Every S seconds the run samples, from the services' own interfaces: the MEC's answered and
refused windows (and those refused for want of Redis), the decision service's end-to-end histogram,
every child process's resident memory (/proc/<pid>/status), Redis's used memory and the
results stream's length. The report gives per interval the throughput, the end-to-end latency
percentiles of the windows decided in that interval (from the histogram's bucket differences,
as PromQL's `histogram_quantile(rate(...))` does), the errors, and the memory; then, per
process, memory after warm-up against memory at the end.

Growth is judged from the first sample after `warmup_s` (caches, arenas and the first batch of
each shape settle in the first minute) to the last: a process whose memory grew by more than
`GROWTH_LIMIT` over the rest of the run is flagged.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nser_shared.prom import Buckets, histogram_buckets, histogram_quantile, sample_value

END_TO_END = "nser_decision_end_to_end_seconds"
GROWTH_LIMIT = 0.05  # more than 5 % growth after warm-up is flagged (issue 15)
QUANTILES = (0.5, 0.95, 0.99)


def rss_mib(pid: int) -> float | None:
    """Resident memory of process `pid` in MiB, or None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return None


@dataclass(frozen=True)
class SoakSample:
    at_s: float  # seconds since the run started
    windows_answered: float  # the MEC's OK answers, cumulative
    windows_refused: float  # the MEC's answers with any other status, cumulative
    publish_refused: float  # windows the MEC refused for want of Redis, cumulative
    end_to_end: Buckets  # the decision service's end-to-end histogram, cumulative
    rss_mib: dict[str, float | None]  # process name -> resident memory
    redis_used_mib: float | None
    stream_length: int | None


def take_sample(
    at_s: float,
    mec_metrics: str,
    decision_metrics: str,
    pids: Mapping[str, int],
    redis_info: Callable[[], tuple[float, int]] | None,
) -> SoakSample:
    answered = sample_value(mec_metrics, "nser_mec_requests_total", {"code": "OK"})
    every = sample_value(mec_metrics, "nser_mec_requests_total")
    used, length = (None, None)
    if redis_info is not None:
        try:
            used_bytes, length_value = redis_info()
            used, length = used_bytes / 2**20, length_value
        except Exception:  # a sample with a gap beats a stopped soak
            pass
    return SoakSample(
        at_s=at_s,
        windows_answered=answered,
        windows_refused=every - answered,
        publish_refused=sample_value(mec_metrics, "nser_mec_publish_refused_total"),
        end_to_end=histogram_buckets(decision_metrics, END_TO_END),
        rss_mib={name: rss_mib(pid) for name, pid in pids.items()},
        redis_used_mib=used,
        stream_length=length,
    )


def _bucket_delta(later: Buckets, earlier: Buckets) -> Buckets:
    before = dict(earlier)
    return [(le, count - before.get(le, 0.0)) for le, count in later]


def _ms(value: float) -> float | None:
    return None if math.isnan(value) else round(value * 1e3, 2)


def intervals(samples: list[SoakSample]) -> list[dict[str, Any]]:
    """Per interval between consecutive samples: throughput, latency, errors, memory."""
    rows = []
    for a, b in itertools.pairwise(samples):
        seconds = max(b.at_s - a.at_s, 1e-9)
        delta = _bucket_delta(b.end_to_end, a.end_to_end)
        rows.append(
            {
                "until_s": round(b.at_s, 1),
                "windows_per_s": round((b.windows_answered - a.windows_answered) / seconds, 2),
                "refused": b.windows_refused - a.windows_refused,
                "publish_refused": b.publish_refused - a.publish_refused,
                "decided": delta[-1][1] if delta else 0.0,
                **{f"p{round(q * 100)}_ms": _ms(histogram_quantile(q, delta)) for q in QUANTILES},
                "rss_mib": b.rss_mib,
                "redis_used_mib": b.redis_used_mib,
                "stream_length": b.stream_length,
            }
        )
    return rows


def memory_growth(samples: list[SoakSample], warmup_s: float) -> dict[str, dict[str, Any]]:
    """Per process (and Redis): memory after warm-up, at its last sample, growth, and the flag.

    A process that ended before the run (a device fleet that played its scene) is compared at
    its last sample."""
    settled = [s for s in samples if s.at_s >= warmup_s] or samples[-1:]

    def pair(read: Callable[[SoakSample], float | None]) -> tuple[float | None, float | None]:
        values = [v for v in map(read, settled) if v is not None]
        return (values[0], values[-1]) if values else (None, None)

    def rss(name: str) -> Callable[[SoakSample], float | None]:
        return lambda sample: sample.rss_mib.get(name)

    names = list(dict.fromkeys(name for s in samples for name in s.rss_mib))
    pairs = {name: pair(rss(name)) for name in names}
    pairs["redis (used_memory)"] = pair(lambda sample: sample.redis_used_mib)
    out: dict[str, dict[str, Any]] = {}
    for name, (start, end) in pairs.items():
        growth = None if start is None or end is None or start <= 0 else (end - start) / start
        out[name] = {
            "start_mib": None if start is None else round(start, 1),
            "end_mib": None if end is None else round(end, 1),
            "growth": None if growth is None else round(growth, 4),
            "flagged": growth is not None and growth > GROWTH_LIMIT,
        }
    return out


def soak_report(
    samples: list[SoakSample], warmup_s: float, config: Mapping[str, Any]
) -> dict[str, Any]:
    first, last = samples[0], samples[-1]
    seconds = max(last.at_s - first.at_s, 1e-9)
    whole = _bucket_delta(last.end_to_end, first.end_to_end)
    return {
        "config": dict(config),
        "warmup_s": warmup_s,
        "growth_limit": GROWTH_LIMIT,
        "totals": {
            "seconds": round(seconds, 1),
            "windows_answered": last.windows_answered - first.windows_answered,
            "windows_per_s": round((last.windows_answered - first.windows_answered) / seconds, 2),
            "refused": last.windows_refused - first.windows_refused,
            "publish_refused": last.publish_refused - first.publish_refused,
            **{f"p{round(q * 100)}_ms": _ms(histogram_quantile(q, whole)) for q in QUANTILES},
        },
        "memory": memory_growth(samples, warmup_s),
        "intervals": intervals(samples),
        "samples": [asdict(s) for s in samples],
    }


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def soak_markdown(report: Mapping[str, Any]) -> str:
    t = report["totals"]
    c = report["config"]
    env = " ".join(f"{k}={v}" for k, v in c["environment"].items())
    lines = [
        "# Soak run of `nser up`",
        "",
        f"Generated by `{(env + ' ' if env else '') + c['command']}`: scenario "
        f"{c['scenario']}, {c['devices']} devices sending one window per "
        f"{c['hop_s']:g} s each, placement {c['placement']}, for "
        f"{t['seconds']:.0f} s.",
        "",
        f"Throughput {t['windows_per_s']:.1f} windows/s ({t['windows_answered']:.0f} answered), "
        f"refused {t['refused']:.0f} (for want of Redis {t['publish_refused']:.0f}); "
        f"end-to-end latency p50 {_fmt(t['p50_ms'])} ms, p95 {_fmt(t['p95_ms'])} ms, "
        f"p99 {_fmt(t['p99_ms'])} ms.",
        "",
        f"## Memory: after the {report['warmup_s']:.0f} s warm-up against the end",
        "",
        f"Flagged: growth above {report['growth_limit'] * 100:.0f} % over the rest of the run.",
        "",
        "| process | after warm-up MiB | end MiB | growth | flagged |",
        "|---|---:|---:|---:|---|",
    ]
    for name, row in report["memory"].items():
        growth = "-" if row["growth"] is None else f"{row['growth'] * 100:+.1f} %"
        lines.append(
            f"| {name} | {_fmt(row['start_mib'])} | {_fmt(row['end_mib'])} | {growth} | "
            f"{'YES' if row['flagged'] else 'no'} |"
        )
    names = list(report["memory"])[:-1]
    lines += [
        "",
        "## Over time",
        "",
        "| until s | windows/s | decided | p50 ms | p95 ms | p99 ms | refused | no Redis | "
        + " | ".join(f"{n} MiB" for n in names)
        + " | Redis MiB | stream length |",
        "|" + "---:|" * (10 + len(names)),
    ]
    for row in report["intervals"]:
        memory = " | ".join(_fmt(row["rss_mib"].get(n)) for n in names)
        lines.append(
            f"| {row['until_s']:.0f} | {row['windows_per_s']:.1f} | {row['decided']:.0f} | "
            f"{_fmt(row['p50_ms'])} | {_fmt(row['p95_ms'])} | {_fmt(row['p99_ms'])} | "
            f"{row['refused']:.0f} | {row['publish_refused']:.0f} | {memory} | "
            f"{_fmt(row['redis_used_mib'])} | {_fmt(row['stream_length'], 0)} |"
        )
    return "\n".join(lines) + "\n"
