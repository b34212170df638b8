"""`nser profile-mec`: where the MEC's CPU goes per window, from a sampling profile under load.

    nser profile-mec --out docs/loadtest/profile                  # about 2 minutes
    nser profile-mec --backends onnxruntime --seconds 5 --out runs/profile

For each backend: a private redis-server and the MEC (plaintext, the one model), the load test's
windows offered at a fixed rate over the Open Inference Protocol, and py-spy (a sampling
profiler, a dev dependency) attached to the MEC for `--seconds` in the middle of the load. Every
sample of a thread that is running Python (py-spy leaves out idle threads) is put in one bucket
(`BUCKETS`, the first that matches its stack): the model's forward passes, the rest of the
inference thread, Redis publication, window decoding and checks, the event loop's gRPC and
asyncio work, other threads. The share of each bucket is of those samples; a sample of a thread
that only waits (the event loop in epoll, the inference thread for its next batch) is left out.
Writes report.json and report.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from nser_loadtest.bench_serving import machine
from nser_loadtest.cli import ServerCpu
from nser_loadtest.openloop import LoadResult, Protocol, run_open_loop
from nser_loadtest.windows import corpus_windows
from nser_mec.runners import BackendName
from nser_models.checkpoint import SHIPPED_DIR
from nser_models.served import SERVED_MODEL
from nser_shared.errors import NserError
from nser_shared.provenance import checkpoint_digests
from nser_up.processes import MecChild, RedisChild, free_port

WARMUP_S = 2.0  # load before the profiler attaches: the first batches allocate
SAMPLE_RATE_HZ = 200
WAITING = "waiting"
# Leaves of a thread that waits, which py-spy does not always see as idle: the event loop in
# epoll, the inference thread waiting for its next batch.
WAITING_LEAVES = ("select (selectors.py", "_worker (concurrent/futures/thread.py")
# (bucket, substrings of a stack: the first bucket with one in the stack takes the sample)
BUCKETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("model forward passes", ("nser_mec/runners.py", "nser_mec/backends.py")),
    ("inference thread, other", ("): inference_", "nser_mec/engine.py")),
    ("Redis publication", ("nser_mec/publisher.py", "redis/")),
    ("window decoding and checks", ("nser_shared/wire/windows.py", "to_feature_window")),
    ("gRPC and asyncio, event loop", ("): MainThread",)),
    ("other threads", ("",)),
)


def bucket_of(stack: str) -> str:
    """The bucket of one py-spy stack (`thread (tid): name;frame;frame...`, root first)."""
    leaf = stack.rsplit(";", 1)[-1]
    if any(mark in leaf for mark in WAITING_LEAVES):
        return WAITING
    return next(name for name, marks in BUCKETS if any(m in stack for m in marks))


def read_raw(path: Path) -> Counter[str]:
    """Samples per bucket of py-spy's raw (collapsed stacks) output."""
    counts: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            counts[bucket_of(stack)] += int(count)
    return counts


def py_spy() -> str:
    path = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(path).is_file():
        raise NserError("py-spy is not installed: `.venv/bin/pip install py-spy` (a dev extra)")
    return path


def profile_backend(
    backend: BackendName, model: str, rate: float, seconds: float, folder: Path
) -> dict[str, Any]:
    """One backend's profile: its buckets, the load's result and the server's CPU."""
    spy = py_spy()
    redis_child = RedisChild(free_port(), folder)
    log = folder / f"mec-{backend.value}.log"
    mec = MecChild(redis_child.url, log, ["--models", model, "--backend", backend.value],
                   pki=None)  # fmt: skip  # plaintext: this measures serving, not TLS
    raw = folder / f"{backend.value}.raw"
    try:
        redis_child.start()
        mec.start()
        assert mec.process is not None
        pid, cpu = mec.process.pid, ServerCpu(mec.process.pid)
        command = [spy, "record", "--pid", str(pid), "--duration", str(round(seconds)),
                   "--rate", str(SAMPLE_RATE_HZ), "--format", "raw", "--threads",
                   "--nonblocking", "--output", str(raw)]  # fmt: skip
        done: dict[str, subprocess.CompletedProcess[str]] = {}

        def record() -> None:
            done["spy"] = subprocess.run(command, capture_output=True, text=True, check=False)

        windows = corpus_windows(16)
        recorder = threading.Timer(WARMUP_S, record)
        recorder.start()
        before = cpu.seconds()
        result: LoadResult = asyncio.run(
            run_open_loop(mec.address, windows, model=model, rate=rate,
                          duration_s=WARMUP_S + round(seconds) + 1.0, protocol=Protocol.OIP)
        )  # fmt: skip
        after = cpu.seconds()
        recorder.join()
    finally:
        mec.stop()
        redis_child.stop()
    spied = done.get("spy")
    if spied is None or spied.returncode != 0 or not raw.is_file():
        reason = spied.stderr.strip()[-400:] if spied is not None else "did not run"
        raise NserError(f"py-spy could not profile the MEC (it needs ptrace rights): {reason}")
    counts = read_raw(raw)
    working = sum(n for name, n in counts.items() if name != WAITING)
    if working == 0:
        raise NserError(f"py-spy took no samples of the MEC at work; see {log}")
    return {
        "backend": backend.value,
        "samples": dict(counts),
        "shares": {name: counts.get(name, 0) / working for name, _ in BUCKETS},
        "load": result.to_dict(),
        "server_cpu_cores": None
        if before is None or after is None
        else (after - before) / result.duration_s,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=SERVED_MODEL, help="(default: %(default)s)")
    parser.add_argument(
        "--backends",
        default="onnxruntime,openvino",
        help="comma-separated, each profiled in turn (default: %(default)s)",
    )
    parser.add_argument("--rate", type=float, default=300.0, help="windows/s offered")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds profiled")
    parser.add_argument(
        "--out", type=Path, default=Path("runs/profile"), help="folder for the report"
    )


def run(args: argparse.Namespace) -> int:
    try:
        backends = [BackendName(b.strip()) for b in args.backends.split(",") if b.strip()]
    except ValueError as exc:
        raise NserError(f"{exc}; backends: {', '.join(BackendName)}") from None
    if not backends:
        raise NserError("--backends names none")
    if not args.rate > 0 or not args.seconds >= 1:
        raise NserError("--rate must be > 0 and --seconds >= 1")
    py_spy()  # a clear error before anything starts
    with tempfile.TemporaryDirectory(prefix="nser-profile-") as tmp:
        profiles = [
            profile_backend(b, args.model, args.rate, args.seconds, Path(tmp)) for b in backends
        ]
    report = {
        "command": " ".join(["nser profile-mec", *sys.argv[2:]]),
        "inputs": checkpoint_digests(SHIPPED_DIR),
        "machine": machine(),
        "model": args.model,
        "rate": args.rate,
        "seconds": args.seconds,
        "profiles": profiles,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "report.md").write_text(markdown(report))
    (args.out / "table.md").write_text(table_markdown(report))
    print(markdown(report))
    return 0


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        "# Where the MEC's CPU goes per window",
        "",
        f"Generated by `{report['command']}`. Machine: {m['cpu']}, {m['cores']} cores; Python "
        f"{m['python']}. The MEC serves {report['model']} (detection, type for the windows it "
        f"calls screams, then XADD to Redis) at {report['rate']:g} windows/s offered over the "
        "Open Inference Protocol (the load test's windows, every vocal class in turn), the "
        f"load generator on the same cores; py-spy samples it {SAMPLE_RATE_HZ} times a second "
        f"for {report['seconds']:g} s. Shares are of the samples of threads at work "
        "(loadtest/nser_loadtest/profile_mec.py says how stacks are bucketed).",
        "",
    ]
    return "\n".join(lines) + "\n" + table_markdown(report)


def table_markdown(report: dict[str, Any]) -> str:
    """The buckets' shares and the load's figures, a column per backend (table.md, which
    docs/loadtest.md includes)."""
    profiles = report["profiles"]
    lines = [
        "| share of the MEC's working samples | "
        + " | ".join(p["backend"] for p in profiles)
        + " |",
        "|---|" + "---:|" * len(profiles),
    ]
    for name, _ in BUCKETS:
        lines.append(
            f"| {name} | " + " | ".join(f"{p['shares'][name]:.0%}" for p in profiles) + " |"
        )
    lines.append(
        "| achieved windows/s | "
        + " | ".join(f"{p['load']['achieved_rate']:.0f}" for p in profiles)
        + " |"
    )
    lines.append("| p50 / p99 ms | " + " | ".join(_p50_p99(p["load"]) for p in profiles) + " |")
    lines.append(
        "| server CPU, cores | "
        + " | ".join(_cores(p["server_cpu_cores"]) for p in profiles)
        + " |"
    )
    lines.append(
        "| server CPU per window, ms | " + " | ".join(_per_window(p) for p in profiles) + " |"
    )
    return "\n".join(lines) + "\n"


def _per_window(profile: dict[str, Any]) -> str:
    cores, rate = profile["server_cpu_cores"], profile["load"]["achieved_rate"]
    return "-" if cores is None or not rate else f"{1e3 * cores / rate:.2f}"


def _p50_p99(load: dict[str, Any]) -> str:
    ms = load["latency_ms"]
    return "-" if "p50" not in ms else f"{ms['p50']:.2f} / {ms['p99']:.2f}"


def _cores(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
