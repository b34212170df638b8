"""The device-side log of settled windows (`nser sense --sent-log PATH`): one JSON line per
window whose outcome is settled, appended as it is settled. It is where a run's per-window records
live: the devices keep none in memory (an hour of 50 devices is 180,000 of them), and the report
is built from this file at the end; a reconciliation after a fault compares what the devices were
told with what reached the results stream and the decision layer. Each line is a
`RequestRecord` (metrics.py), for example:

    {"device_id": "phone-0003", "sequence": 17, "status": "OK", "attempts": 2, ...,
     "result_id": "9f...", "at": 1767000000.123456}

`status` is OK (acknowledged: `result_id` is the MEC's id for it), a gRPC status code name (the
window was refused, or failed on its last attempt: `result_id` is empty) or NO_ANSWER. `at` is
the unix time the device settled it. The file is opened for appending and line-buffered, so a run
killed midway leaves every settled line on disk. Without `--sent-log` the log is a temporary
file, removed once the report is built.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import TextIO

from nser_sensing.metrics import RequestRecord
from nser_shared.errors import NserError


class SentLog:
    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.file: TextIO = path.open("a", buffering=1, encoding="utf-8")
        except OSError as exc:
            raise NserError(f"cannot open the sent-window log {path}: {exc}") from exc
        self.path = path
        self.start = self.file.tell()  # where this run's lines begin (the file may hold others)

    def write(self, record: RequestRecord) -> None:
        self.file.write(json.dumps(asdict(record)) + "\n")

    def close(self) -> None:
        self.file.close()


def read_sent_log(path: Path) -> list[dict[str, object]]:
    """Every line of a sent-window log, in order."""
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def records_by_device(path: Path, since: int = 0) -> dict[str, list[RequestRecord]]:
    """The records a log holds from byte offset `since` on (a log appended to by an earlier run
    starts after its lines), grouped by device and in sequence order."""
    grouped: dict[str, list[RequestRecord]] = defaultdict(list)
    with path.open(encoding="utf-8") as lines:
        lines.seek(since)
        for line in lines:
            if line.strip():
                record = RequestRecord(**json.loads(line))
                grouped[record.device_id].append(record)
    for records in grouped.values():
        records.sort(key=lambda r: r.sequence)
    return grouped
