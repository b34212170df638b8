"""What the sensing devices measured: one `RequestRecord` per window sent, per-device counters,
and the report (per device, per link profile, totals) that `nser sense` prints and writes.

Latency is end to end as a device sees it: from the capture of the window's last sample to the
answer arriving back on the device, simulated uplink and downlink delays included. Agreement
with ground truth counts only windows whose source has it (scenes, not recorded files):
detection accuracy over answered windows, and type accuracy over windows that truly are
screams and were detected as screams (the only ones the cascade classifies by type).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

OK = "OK"
NO_ANSWER = "NO_ANSWER"  # a stream closed cleanly without answering the window


@dataclass(frozen=True)
class RequestRecord:
    """One window's trip: what the link did to it and what came back."""

    device_id: str
    sequence: int
    status: str  # OK, a gRPC status code name, or NO_ANSWER
    attempts: int
    request_bytes: int  # serialized FeatureWindow bytes, summed over attempts
    device_ms: float  # capture of the last sample -> first send (front end, device queueing)
    uplink_ms: float  # simulated uplink delay applied, summed over attempts
    downlink_ms: float
    retransmissions: int  # simulated link-layer retransmissions, both directions
    latency_ms: float | None  # capture of the last sample -> answer on the device
    detection: str | None  # the server's labels
    type: str | None
    truth_detection: str | None  # the scene's labels, when known
    truth_type: str | None
    queue_us: int = 0
    inference_us: int = 0
    batch_size: int = 0
    detail: str = ""  # the status message of an error
    result_id: str = ""  # the MEC's id for an acknowledged window
    at: float = 0.0  # unix time the device settled the window


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"mean": None, "p50": None, "p95": None, "p99": None, "max": None}
    data = np.asarray(values, dtype=np.float64)
    p50, p95, p99 = np.percentile(data, [50, 95, 99])
    return {
        "mean": float(data.mean()),
        "p50": float(p50),
        "p95": float(p95),
        "p99": float(p99),
        "max": float(data.max()),
    }


def agreement(records: Iterable[RequestRecord]) -> dict[str, Any]:
    """Detection and type accuracy of answered windows against their ground truth."""
    detection = type_ = correct_detection = correct_type = 0
    for r in records:
        if r.status != OK or r.truth_detection is None:
            continue
        detection += 1
        correct_detection += r.detection == r.truth_detection
        if r.truth_type is not None and r.detection == r.truth_detection and r.type is not None:
            type_ += 1
            correct_type += r.type == r.truth_type
    return {
        "detection_windows": detection,
        "detection_accuracy": correct_detection / detection if detection else None,
        "type_windows": type_,
        "type_accuracy": correct_type / type_ if type_ else None,
    }


def first_error(records: Iterable[RequestRecord]) -> str | None:
    """`CODE: message` of the first failed window, for a person to read."""
    failed = next((r for r in records if r.status != OK), None)
    return None if failed is None else f"{failed.status}: {failed.detail}".rstrip(": ")


def _summary(records: Sequence[RequestRecord]) -> dict[str, Any]:
    answered = [r for r in records if r.status == OK]
    errors = Counter(r.status for r in records if r.status != OK)
    return {
        "windows_sent": len(records),
        "answers": len(answered),
        "errors": dict(sorted(errors.items())),
        "retries": sum(r.attempts - 1 for r in records),
        "bytes_sent": sum(r.request_bytes for r in records),
        "latency_ms": percentiles([r.latency_ms for r in answered if r.latency_ms is not None]),
        "device_ms": percentiles([r.device_ms for r in answered]),
        "uplink_ms": percentiles([r.uplink_ms for r in records]),
        "server_ms": percentiles([(r.queue_us + r.inference_us) / 1e3 for r in answered]),
        "downlink_ms": percentiles([r.downlink_ms for r in answered]),
        "retransmissions": sum(r.retransmissions for r in records),
        "agreement": agreement(records),
    }


@dataclass
class DeviceMetrics:
    device_id: str
    kind: str
    nr_cell_id: str
    profile: str
    source: str
    windows_framed: int = 0
    windows_skipped: int = 0
    bytes_saved: int = 0  # tensor bytes the energy gate kept off the radio
    # Filled from the sent-window log once the run is over (sentlog.py): during a run the
    # records are on disk, not here.
    requests: list[RequestRecord] = field(default_factory=list)

    def skipped(self, tensor_bytes: int) -> None:
        self.windows_skipped += 1
        self.bytes_saved += tensor_bytes

    def summary(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "kind": self.kind,
            "nr_cell_id": self.nr_cell_id,
            "profile": self.profile,
            "source": self.source,
            "windows_framed": self.windows_framed,
            "windows_skipped": self.windows_skipped,
            "bytes_saved": self.bytes_saved,
            **_summary(self.requests),
        }


@dataclass
class SenseReport:
    settings: dict[str, Any]
    devices: list[DeviceMetrics]
    wall_s: float

    @property
    def records(self) -> list[RequestRecord]:
        return [r for d in self.devices for r in d.requests]

    def totals(self) -> dict[str, Any]:
        return {
            "devices": len(self.devices),
            "wall_s": self.wall_s,
            "windows_framed": sum(d.windows_framed for d in self.devices),
            "windows_skipped": sum(d.windows_skipped for d in self.devices),
            "bytes_saved": sum(d.bytes_saved for d in self.devices),
            **_summary(self.records),
        }

    def by_profile(self) -> dict[str, dict[str, Any]]:
        names = sorted({d.profile for d in self.devices})
        return {
            name: _summary([r for d in self.devices if d.profile == name for r in d.requests])
            for name in names
        }

    def to_dict(self, include_requests: bool = True) -> dict[str, Any]:
        devices = []
        for d in self.devices:
            entry = d.summary()
            if include_requests:
                entry["requests"] = [asdict(r) for r in d.requests]
            devices.append(entry)
        return {
            "settings": self.settings,
            "totals": self.totals(),
            "by_profile": self.by_profile(),
            "devices": devices,
        }


def _ms(stats: dict[str, float | None], key: str) -> str:
    value = stats[key]
    return "-" if value is None else f"{value:.1f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def summary_text(report: SenseReport) -> str:
    """A few lines for a person: totals, link delay per profile, latency, accuracy, bytes."""
    t = report.totals()
    errors = ", ".join(f"{k} {v}" for k, v in t["errors"].items()) or "none"
    lat, agree = t["latency_ms"], t["agreement"]
    lines = [
        f"{t['devices']} devices, {t['wall_s']:.1f} s: {t['windows_framed']} windows framed, "
        f"{t['windows_skipped']} skipped by the energy gate, {t['windows_sent']} sent, "
        f"{t['answers']} answered; errors: {errors}; retries: {t['retries']}",
        f"bytes sent: {t['bytes_sent']:,} ({t['bytes_sent'] / max(t['windows_sent'], 1):,.0f} "
        f"per window); saved by the gate: {t['bytes_saved']:,}",
        f"end-to-end latency ms: p50 {_ms(lat, 'p50')}, p95 {_ms(lat, 'p95')}, "
        f"p99 {_ms(lat, 'p99')}, max {_ms(lat, 'max')}",
    ]
    if t["answers"]:
        lines.append(
            f"median ms on the device (front end) {_ms(t['device_ms'], 'p50')}, uplink "
            f"{_ms(t['uplink_ms'], 'p50')}, MEC queue + inference {_ms(t['server_ms'], 'p50')}, "
            f"downlink {_ms(t['downlink_ms'], 'p50')}; the rest is gRPC and client scheduling"
        )
    for name, stats in report.by_profile().items():
        up, down = stats["uplink_ms"], stats["downlink_ms"]
        lines.append(
            f"link {name}: uplink ms mean {_ms(up, 'mean')} p95 {_ms(up, 'p95')}, downlink ms "
            f"mean {_ms(down, 'mean')} p95 {_ms(down, 'p95')}, "
            f"retransmissions {stats['retransmissions']}"
        )
    if agree["detection_windows"]:
        lines.append(
            f"vs ground truth: detection {_pct(agree['detection_accuracy'])} of "
            f"{agree['detection_windows']} windows, type {_pct(agree['type_accuracy'])} of "
            f"{agree['type_windows']} detected screams"
        )
    elif any(r.truth_detection is not None for r in report.records):
        lines.append("vs ground truth: no answered window to compare")
    else:
        lines.append("vs ground truth: none known for this source")
    return "\n".join(lines)
