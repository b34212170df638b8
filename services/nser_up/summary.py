"""The run summary of `nser up`: ground truth against decisions, and latency by stage."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import httpx

from nser_shared.wire.labels import Valence

NEGATIVE = Valence.NEGATIVE.value


def _alerted_devices(http: httpx.Client, decision_url: str) -> dict[str, int]:
    """Device id -> alerts raised for it (every status), from the decision REST API."""
    out: dict[str, int] = {}
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        reply = http.get(f"{decision_url}/v1/alerts", params=params, timeout=10)
        reply.raise_for_status()
        page = reply.json()
        for alert in page["alerts"]:
            out[alert["device_id"]] = out.get(alert["device_id"], 0) + 1
        cursor = page["next_cursor"]
        if cursor is None:
            return out


def ground_truth(reports: dict[str, Path], http: httpx.Client, decision_url: str) -> dict[str, Any]:
    """Per scene: devices that heard a negative scream and were alerted for, and false alerts."""
    alerted = _alerted_devices(http, decision_url)
    scenes: dict[str, Any] = {}
    for scene, path in reports.items():
        if not path.is_file():
            scenes[scene] = {"error": f"no report at {path}"}
            continue
        report = json.loads(path.read_text())
        negative: set[str] = set()
        other: set[str] = set()
        for device in report["devices"]:
            heard = any(r["truth_type"] == NEGATIVE for r in device["requests"])
            (negative if heard else other).add(device["device_id"])
        totals = report["totals"]
        scenes[scene] = {
            "devices": len(negative) + len(other),
            "devices_with_negative_screams": len(negative),
            "alerted_of_those": len(negative & alerted.keys()),
            "devices_without": len(other),
            "falsely_alerted": len(other & alerted.keys()),
            "windows_sent": totals["windows_sent"],
            "windows_answered": totals["answers"],
            "device_latency_ms": totals["latency_ms"],
            "agreement": totals["agreement"],
        }
    return scenes


def markdown(summary: dict[str, Any]) -> str:
    c = summary["config"]
    lines = [
        f"# nser up: {c['scenario']} ({c['placement']})",
        "",
        f"`{summary['command']}`: {c['devices']} devices over {c['cells']} cells, "
        f"{c['duration_s']:g} s, link {summary['link_profile']}, payload {c['dtype']}; "
        f"ran {summary['wall_s']:.0f} s.",
        "",
        "## Ground truth against decisions",
        "",
        "| scene | devices | heard a negative scream | alerted of those | others | falsely alerted "
        "| windows answered | detection agreement |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scene, s in summary["ground_truth"].items():
        if "error" in s:
            lines.append(f"| {scene} | {s['error']} |||||||")
            continue
        agree = s["agreement"].get("detection_accuracy")
        lines.append(
            f"| {scene} | {s['devices']} | {s['devices_with_negative_screams']} | "
            f"{s['alerted_of_those']} | {s['devices_without']} | {s['falsely_alerted']} | "
            f"{s['windows_answered']} / {s['windows_sent']} | "
            + ("-" if agree is None else f"{agree * 100:.0f} %")
            + " |"
        )
    lines += [
        "",
        "## Latency by stage (ms; decision service histograms, as PromQL histogram_quantile)",
        "",
        "| stage | p50 | p95 | p99 |",
        "|---|---:|---:|---:|",
    ]
    for stage, q in summary["latency_ms"].items():
        cells = ["-" if math.isnan(v) else f"{v:.2f}" for v in (q["p50"], q["p95"], q["p99"])]
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    if summary.get("prometheus"):
        p = summary["prometheus"]
        lines += [
            "",
            "Prometheus, queried with `histogram_quantile(q, sum by (le) "
            "(nser_decision_end_to_end_seconds_bucket))` after its last scrape: end-to-end "
            f"p50 {p['p50']:.2f} ms, p99 {p['p99']:.2f} ms.",
        ]
    return "\n".join(lines) + "\n"
