"""`nser alerts RUN`: the alert history of a finished `nser up` run, read from its Redis data.

    nser alerts runs/up-20261206-101500/edge      # a run folder holding redis/
    nser alerts runs/up-20261206-101500/edge --csv alerts.csv

`nser up` keeps Redis's append-only file in the run folder's `redis/`. This command starts a
private `redis-server` on a free loopback port over a copy of that folder (the run's own files
are never written), reads every alert the decision service stored, prints them oldest first
and stops Redis again.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from nser_decision.store import ALERTS, alert_key
from nser_shared.errors import NserError
from nser_up.processes import RedisChild, free_port

COLUMNS = ("created", "device_id", "nr_cell_id", "status", "severity", "windows",
           "negative_probability", "responders", "incident_id")  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", type=Path, help="a `nser up` run folder (the one holding redis/)")
    parser.add_argument("--csv", type=Path, help="also write the alerts to this CSV file")


def read_alerts(redis_dir: Path) -> list[dict[str, Any]]:
    """Every alert stored in the Redis data of `redis_dir`, oldest first."""
    with tempfile.TemporaryDirectory(prefix="nser-alerts-") as tmp:
        copy = Path(tmp) / "redis"
        shutil.copytree(redis_dir, copy, ignore=shutil.ignore_patterns("*.conf", "*.log"))
        server = RedisChild(free_port(), copy, appendfsync="everysec")
        server.start(timeout_s=60.0)
        try:
            client = server.client()
            members: list[bytes] = client.zrange(ALERTS, 0, -1)  # type: ignore[assignment]
            alerts = []
            for member in members:
                raw: bytes | None = client.get(alert_key(member.decode()))  # type: ignore[assignment]
                if raw is not None:
                    alerts.append(json.loads(raw))
        finally:
            server.stop()
    return sorted(alerts, key=lambda a: a["created_at"])


def row(alert: dict[str, Any]) -> dict[str, str]:
    created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(alert["created_at"]))
    return {
        "created": created,
        "device_id": alert["device_id"],
        "nr_cell_id": alert["nr_cell_id"],
        "status": alert["status"],
        "severity": str(alert["severity"]),
        "windows": str(alert["windows"]),
        "negative_probability": f"{alert['negative_probability']:.3f}",
        "responders": ",".join(n["responder"] for n in alert["responders"]),
        "incident_id": alert["incident_id"],
    }


def run(args: argparse.Namespace) -> int:
    redis_dir = args.run / "redis"
    if not redis_dir.is_dir():
        raise NserError(
            f"{args.run} holds no redis/ folder: name a `nser up` run folder (with "
            "--compare-placement, its edge/ or cloud/ folder)"
        )
    rows = [row(alert) for alert in read_alerts(redis_dir)]
    widths = {c: max([len(c), *(len(r[c]) for r in rows)]) for c in COLUMNS}
    print("  ".join(c.ljust(widths[c]) for c in COLUMNS))
    for r in rows:
        print("  ".join(r[c].ljust(widths[c]) for c in COLUMNS))
    print(f"{len(rows)} alerts in {args.run}")
    if args.csv is not None:
        with args.csv.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    return 0
