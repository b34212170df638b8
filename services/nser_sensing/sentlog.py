"""The device-side log of sent windows (`nser sense --sent-log PATH`): one JSON line per window
whose outcome is settled, appended as it is settled, so a reconciliation after a fault can
compare what the devices were told with what reached the results stream and the decision layer.

    {"device_id": "phone-0003", "sequence": 17, "status": "OK", "result_id": "9f...",
     "attempts": 2, "at": 1767000000.123456}

`status` is OK (acknowledged: `result_id` is the MEC's id for it), a gRPC status code name (the
window was refused, or failed on its last attempt: `result_id` is empty) or NO_ANSWER. `at` is
the unix time the device settled it. The file is opened for appending and line-buffered: nothing
is kept in memory, and a run killed midway leaves every settled line on disk.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TextIO

from nser_shared.errors import NserError


class SentLog:
    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.file: TextIO = path.open("a", buffering=1, encoding="utf-8")
        except OSError as exc:
            raise NserError(f"cannot open the sent-window log {path}: {exc}") from exc
        self.path = path

    def write(
        self, device_id: str, sequence: int, status: str, result_id: str, attempts: int
    ) -> None:
        line = {
            "device_id": device_id,
            "sequence": sequence,
            "status": status,
            "result_id": result_id,
            "attempts": attempts,
            "at": round(time.time(), 6),
        }
        self.file.write(json.dumps(line) + "\n")

    def close(self) -> None:
        self.file.close()


def read_sent_log(path: Path) -> list[dict[str, object]]:
    """Every line of a sent-window log, in order."""
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]
