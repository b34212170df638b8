"""The load test's figures: latency percentiles against offered load, and latency CDFs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from nser_loadtest.openloop import LoadResult


def plot_latency_vs_load(grids: dict[str, list[LoadResult]], slo_ms: float, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for index, (model, results) in enumerate(grids.items()):
        done = [r for r in results if r.ok]
        rates = [r.offered_rate for r in done]
        for q, style in (("p50", "--"), ("p99", "-")):
            ax.plot(rates, [r.latency_ms[q] for r in done], style, marker="o", color=f"C{index}",
                    label=f"{model} {q}")  # fmt: skip
    ax.axhline(slo_ms, color="grey", linewidth=0.8, label=f"SLO {slo_ms:g} ms")
    ax.set(xscale="log", yscale="log", xlabel="offered load (windows/s)",
           ylabel="latency (ms, from the scheduled send)",
           title="Latency against offered load")  # fmt: skip
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_cdf(latencies_ms: dict[str, Sequence[float]], rate: float, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for model, values in latencies_ms.items():
        ordered = np.sort(np.asarray(values))
        if ordered.size:
            ax.plot(ordered, np.arange(1, ordered.size + 1) / ordered.size, label=model)
    ax.set(xscale="log", xlabel="latency (ms)", ylabel="fraction of requests",
           title=f"Latency CDF at {rate:g} windows/s")  # fmt: skip
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
