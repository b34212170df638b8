"""`nser bench-serving`: student vs teacher, in process and served, on this machine.

    nser bench-serving --out docs/serving            # about 4 minutes on 2 cores
    nser bench-serving --quick --out runs/bench       # under a minute

1. In process: batch-1 latency (median) of each model's detection network on each CPU backend
   (ONNX Runtime, TorchScript, eager), and per window in a batch of the MEC's max batch size:
   the backend choice.
2. Served: starts a private redis-server and the MEC service (both models, the chosen backend)
   as child processes, then offers open-loop load from this process over loopback gRPC:
   a low rate for the unloaded latency, the student at 200 windows/s (the aim: p99 < 5 ms), and
   a rate sweep per model for the highest rate whose p99 stays under the SLO (default 20 ms),
   and each model's capacity: the rate it sustains closed loop with a max batch of requests in
   flight.
Client and server share the machine's cores, as a MEC host's co-located clients would not:
the served figures are a floor on what the host alone can do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nser_loadtest.bench_report import markdown
from nser_loadtest.bench_serving_aims import AIM_RATE
from nser_loadtest.openloop import LoadResult, run_closed_loop, run_open_loop
from nser_loadtest.windows import corpus_windows
from nser_mec.backends import make_runner
from nser_mec.runners import BackendName
from nser_mec.settings import MecSettings
from nser_models.checkpoint import SHIPPED_DIR, load_checkpoint, shipped_checkpoint
from nser_shared.errors import ConfigurationError
from nser_shared.frontend.features import DEFAULT_FEATURE_CONFIG
from nser_shared.provenance import checkpoint_digests
from nser_shared.wire.labels import Task
from nser_up.processes import MecChild, RedisChild, free_port

log = logging.getLogger(__name__)

SWEEP_START = {"student": 50.0, "mobilenetv3s": 50.0, "teacher": 5.0}
SWEEP_FACTOR = 1.5
BATCH = MecSettings.max_batch_size  # the served max batch: in-process batches, capacity in flight


def _median_ms(run: Any, batch: np.ndarray, iterations: int) -> float:
    for _ in range(3):
        run(batch)
    times = []
    for _ in range(iterations):
        started = time.perf_counter()
        run(batch)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def in_process(
    models: list[str], backends: list[BackendName], threads: int, iterations: int
) -> list[dict[str, Any]]:
    rows = []
    for name in models:
        network = load_checkpoint(shipped_checkpoint(Task.DETECTION, name)).build()
        shape = (1, *DEFAULT_FEATURE_CONFIG.shape)
        one = np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)
        full = np.repeat(one, BATCH, axis=0)
        for backend in backends:
            runner = make_runner(backend, network, one, threads)
            n = iterations if name != "teacher" else max(10, iterations // 8)
            rows.append(
                {
                    "model": name,
                    "backend": backend.value,
                    "threads": threads,
                    "batch1_ms": _median_ms(runner.run, one, n),
                    "batched_ms_per_window": _median_ms(runner.run, full, max(5, n // BATCH))
                    / BATCH,
                }
            )
            log.info("in process: %s", rows[-1])
    return rows


def sweep(
    target: str, windows: list[Any], model: str, slo_ms: float, step_s: float
) -> list[LoadResult]:
    """Raise the offered rate by SWEEP_FACTOR until p99 breaks the SLO; then bisect twice."""
    results: list[LoadResult] = []
    rate, passed, failed = SWEEP_START.get(model, 20.0), 0.0, 0.0
    while not failed and len(results) < 25:
        result = asyncio.run(
            run_open_loop(target, windows, model=model, rate=rate, duration_s=step_s)
        )
        results.append(result)
        log.info("%s at %.0f/s: p99 %.2f ms", model, rate, result.latency_ms.get("p99", -1))
        if result.meets(slo_ms):
            passed, rate = rate, rate * SWEEP_FACTOR
        else:
            failed = rate
    for _ in range(2):
        rate = (passed + failed) / 2
        result = asyncio.run(
            run_open_loop(target, windows, model=model, rate=rate, duration_s=step_s)
        )
        results.append(result)
        passed, failed = (rate, failed) if result.meets(slo_ms) else (passed, rate)
    return results


def max_throughput(results: list[LoadResult], slo_ms: float) -> float:
    return max((r.achieved_rate for r in results if r.meets(slo_ms)), default=0.0)


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "versions": {
            p: version(p) for p in ("torch", "onnxruntime", "openvino", "grpcio", "protobuf")
        },
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, default=Path("runs/bench-serving"), help="folder for the report"
    )
    parser.add_argument(
        "--models", default="student,teacher", help="comma-separated models to compare"
    )
    parser.add_argument(
        "--backends",
        default="onnxruntime,openvino,torchscript,eager",
        help="comma-separated backends measured in process",
    )
    parser.add_argument("--serve-backend", default="onnxruntime", help="backend of the server")
    parser.add_argument("--threads", type=int, default=1, help="server intra-op threads")
    parser.add_argument("--step-seconds", type=float, default=5.0, help="seconds per offered rate")
    parser.add_argument("--slo-ms", type=float, default=20.0, help="p99 latency objective, ms")
    parser.add_argument(
        "--low-rate", type=float, default=10.0, help="windows/s for the unloaded latency"
    )
    parser.add_argument("--quick", action="store_true", help="short steps (about a minute)")


def run(args: argparse.Namespace) -> int:
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    try:
        backends = [BackendName(b.strip()) for b in args.backends.split(",") if b.strip()]
        serve_backend = BackendName(args.serve_backend)
    except ValueError as exc:
        raise ConfigurationError(f"{exc}; backends: {', '.join(BackendName)}") from None
    if args.threads < 1 or args.step_seconds <= 0 or args.slo_ms <= 0 or args.low_rate <= 0:
        raise ConfigurationError("threads, step seconds, SLO and low rate must be positive")
    step_s = 1.5 if args.quick else args.step_seconds
    torch.set_num_threads(args.threads)
    report: dict[str, Any] = {
        "command": " ".join(["nser bench-serving", *sys.argv[2:]]),
        "inputs": checkpoint_digests(SHIPPED_DIR),
        "machine": machine(),
        "server": {"backend": serve_backend.value, "threads": args.threads,
                   "max_batch_size": MecSettings.max_batch_size,
                   "max_queue_delay_us": MecSettings.max_queue_delay_us, "models": models},
        "slo_ms": args.slo_ms,
        "in_process": in_process(models, backends, args.threads, 40 if args.quick else 400),
    }  # fmt: skip
    windows = corpus_windows(16)
    with tempfile.TemporaryDirectory(prefix="nser-bench-") as tmp:
        redis_child = RedisChild(free_port(), Path(tmp))
        mec = MecChild(
            redis_child.url,
            Path(tmp) / "mec.log",
            ["--models", ",".join(models), "--backend", serve_backend.value,
             "--threads", str(args.threads)],
            pki=None,  # plaintext (--insecure): this measures model serving, not TLS
        )  # fmt: skip
        try:
            redis_child.start()
            mec.start()
            report["served"] = served(mec.address, windows, models, args, step_s)
        finally:
            mec.stop()
            redis_child.stop()
    write_report(args.out, report)
    print((args.out / "report.md").read_text())
    return 0


def served(
    target: str, windows: list[Any], models: list[str], args: argparse.Namespace, step_s: float
) -> dict[str, Any]:
    low = {
        m: asyncio.run(
            run_open_loop(target, windows, model=m, rate=args.low_rate, duration_s=2 * step_s)
        ).to_dict()
        for m in models
    }
    aim = asyncio.run(
        run_open_loop(target, windows, model="student", rate=AIM_RATE, duration_s=2 * step_s)
    )
    sweeps = {m: sweep(target, windows, m, args.slo_ms, step_s) for m in models}
    capacity = {
        m: asyncio.run(
            run_closed_loop(target, windows, model=m, concurrency=BATCH, duration_s=2 * step_s)
        ).to_dict()
        for m in models
    }
    return {
        "capacity": capacity,
        "low_load": low,
        "student_at_aim_rate": aim.to_dict(),
        "sweeps": {m: [r.to_dict() for r in rs] for m, rs in sweeps.items()},
        "max_throughput": {m: max_throughput(rs, args.slo_ms) for m, rs in sweeps.items()},
    }


def write_report(out: Path, report: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "report.md").write_text(markdown(report))
