"""`nser loadtest`: teacher vs student (and MobileNetV3-small) serving under load.

    nser loadtest --models student,teacher --quick            # under a minute: a smoke report
    nser loadtest --models student,teacher,mobilenetv3s --out docs/loadtest   # the full run

Against a server it starts itself (a private redis-server and `python -m nser_mec` serving the
models, as child processes: this process is only the load generator) or one given by
`--target`. For each model: open-loop load (Poisson arrivals by default; latency measured from
each request's scheduled send time, so queueing shows) over a grid of offered rates, the highest
rate whose p99 stays under the SLO, and its capacity (closed loop). Then, at fixed loads, the
effect of the payload dtype and (own server only, full mode) of the batching settings. Writes
report.json, report.md and PNG plots to `--out`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from nser_loadtest.bench_serving import machine, max_throughput
from nser_loadtest.openloop import LoadResult, Protocol, run_closed_loop, run_open_loop
from nser_loadtest.plots import plot_cdf, plot_latency_vs_load
from nser_loadtest.report import markdown
from nser_loadtest.windows import corpus_windows
from nser_mec.settings import MecSettings
from nser_models.architectures import MODEL_REGISTRY
from nser_models.checkpoint import SHIPPED_DIR
from nser_shared.errors import NserError
from nser_shared.provenance import checkpoint_digests
from nser_shared.wire.windows import PayloadDtype
from nser_up.processes import MecChild, RedisChild, free_port

# Offered windows/s per model (full mode); quick mode takes the 2nd and the 4th.
GRID: dict[str, tuple[float, ...]] = {
    "student": (25, 50, 100, 200, 300, 400, 500),
    "mobilenetv3s": (25, 50, 100, 200, 300, 400, 500),
    "teacher": (2, 5, 10, 20, 30, 40, 50),
}
BATCH_SETTINGS = ((1, 0), (8, 0), (8, 2000), (32, 5000))  # (max batch, max queue delay us)


class ServerCpu:
    """CPU time of a local server process, from /proc (Linux)."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid

    def seconds(self) -> float | None:
        if self.pid is None:
            return None
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def step(
    target: str, windows: list[Any], cpu: ServerCpu, model: str, rate: float, seconds: float,
    poisson: bool, protocol: Protocol = Protocol.NSER,
) -> LoadResult:  # fmt: skip
    before = cpu.seconds()
    result = asyncio.run(
        run_open_loop(target, windows, model=model, rate=rate, duration_s=seconds,
                      poisson=poisson, protocol=protocol)
    )  # fmt: skip
    after = cpu.seconds()
    if before is None or after is None:
        return result
    return replace(result, server_cpu_cores=(after - before) / result.duration_s)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", default="student,teacher", help="comma-separated")
    parser.add_argument("--target", help="HOST:PORT of a running MEC (default: start one)")
    parser.add_argument(
        "--metrics-url",
        help="with --target: the server's /metrics, to report the settings it serves with",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run in under a minute")
    parser.add_argument("--seconds", type=float, default=8.0, help="per load step")
    parser.add_argument(
        "--rates", help="offered windows/s to try, comma-separated (default: a grid per model)"
    )
    parser.add_argument("--slo-ms", type=float, default=20.0, help="p99 bound for throughput")
    parser.add_argument(
        "--arrivals",
        choices=("poisson", "fixed"),
        default="poisson",
        help="open-loop arrival process",
    )
    parser.add_argument(
        "--protocol",
        choices=[p.value for p in Protocol],
        default=Protocol.NSER.value,
        help="nser.v1 Classify, or the Open Inference Protocol's ModelInfer (KServe v2 gRPC)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("runs/loadtest"), help="folder for the report and figures"
    )


def _check(args: argparse.Namespace) -> list[str]:
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODEL_REGISTRY]
    if not models or unknown:
        raise NserError(f"unknown model(s) {unknown}; registered: {', '.join(MODEL_REGISTRY)}")
    if not (math.isfinite(args.seconds) and args.seconds > 0):
        raise NserError(f"--seconds must be > 0, got {args.seconds}")
    if not (math.isfinite(args.slo_ms) and args.slo_ms > 0):
        raise NserError(f"--slo-ms must be > 0, got {args.slo_ms}")
    if args.rates is not None:
        try:
            rates = [float(r) for r in args.rates.split(",") if r.strip()]
        except ValueError:
            raise NserError(f"--rates must be numbers, got {args.rates!r}") from None
        if not rates or not all(math.isfinite(r) and r > 0 for r in rates):
            raise NserError(f"--rates must be > 0 windows/s, got {args.rates!r}")
        args.rate_list = tuple(rates)
    return models


def run(args: argparse.Namespace) -> int:
    models = _check(args)
    seconds = 1.5 if args.quick else args.seconds
    with tempfile.TemporaryDirectory(prefix="nser-loadtest-") as tmp:
        if args.target:
            report = measure(
                args, models, args.target, ServerCpu(None), seconds, tmp,
                metrics_url=args.metrics_url,
            )  # fmt: skip
        else:
            redis_child = RedisChild(free_port(), Path(tmp))
            # Plaintext (--insecure) on purpose: this measures model serving, not TLS.
            mec = MecChild(
                redis_child.url, Path(tmp) / "mec.log", ["--models", ",".join(models)], pki=None
            )
            try:
                redis_child.start()
                mec.start()
                assert mec.process is not None
                cpu = ServerCpu(mec.process.pid)
                report = measure(
                    args, models, mec.address, cpu, seconds, tmp, redis_child.url,
                    mec.metrics_url,
                )  # fmt: skip
            finally:
                mec.stop()
                redis_child.stop()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "report.md").write_text(markdown(report))
    print((args.out / "report.md").read_text())
    return 0


def measure(
    args: argparse.Namespace, models: list[str], target: str, cpu: ServerCpu, seconds: float,
    tmp: str, redis_url: str | None = None, metrics_url: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    settings = served_settings(metrics_url)
    in_flight = int(settings.get("max_batch_size", MecSettings.max_batch_size))
    poisson = args.arrivals == "poisson"
    protocol = Protocol(args.protocol)
    windows = corpus_windows(16)
    _probe(target, windows, models, protocol)
    grids: dict[str, list[LoadResult]] = {}
    for model in models:
        rates: tuple[float, ...] = getattr(args, "rate_list", None) or GRID.get(
            model, GRID["student"]
        )
        rates = rates[1::2][:2] if args.quick and not hasattr(args, "rate_list") else rates
        grids[model] = [
            step(target, windows, cpu, model, r, seconds, poisson, protocol) for r in rates
        ]
    capacity = {
        m: asyncio.run(
            run_closed_loop(
                target,
                windows,
                model=m,
                concurrency=in_flight,
                duration_s=2 * seconds,
                protocol=protocol,
            )
        )
        for m in models
    }
    cdf_rate = min(GRID.get(m, GRID["student"])[2] for m in models)  # every model can take it
    cdf = {
        m: step(target, windows, cpu, m, cdf_rate, 2 * seconds, poisson, protocol) for m in models
    }
    dtypes = {
        d.value: step(
            target, corpus_windows(16, dtype=d), cpu, models[0], 100.0, seconds, poisson, protocol
        )
        for d in PayloadDtype
    }
    batching = (
        {} if args.quick or redis_url is None else _batching(redis_url, windows, tmp, seconds)
    )
    args.out.mkdir(parents=True, exist_ok=True)
    plot_latency_vs_load(grids, args.slo_ms, args.out / "latency_vs_load.png")
    plot_cdf({m: r.raw_ms for m, r in cdf.items()}, cdf_rate, args.out / "latency_cdf.png")
    return {
        "command": " ".join(["nser loadtest", *sys.argv[2:]]),
        "inputs": checkpoint_digests(SHIPPED_DIR),  # the models the MEC served
        "machine": machine(),
        # What the measured server says it serves with ({} when it was not asked).
        "server": {"target": target, "own": redis_url is not None, "settings": settings},
        "models": models,
        "capacity_in_flight": in_flight,
        "arrivals": args.arrivals,
        "protocol": protocol.value,
        "seconds_per_step": seconds,
        "slo_ms": args.slo_ms,
        "grids": {m: [r.to_dict() for r in rs] for m, rs in grids.items()},
        "max_rate_at_slo": {m: max_throughput(rs, args.slo_ms) for m, rs in grids.items()},
        "capacity": {m: r.to_dict() for m, r in capacity.items()},
        "cdf_rate": cdf_rate,
        "at_cdf_rate": {m: r.to_dict() for m, r in cdf.items()},
        "dtypes": {d: r.to_dict() for d, r in dtypes.items()},
        "batching": batching,
        "plots": ["latency_vs_load.png", "latency_cdf.png"],
    }


def served_settings(metrics_url: str | None) -> dict[str, str]:
    """The settings the measured MEC reports on its /metrics (`nser_mec_serving_info`): models,
    backend, threads, batching, cascade. {} without a metrics URL."""
    if metrics_url is None:
        return {}
    try:
        text = httpx.get(metrics_url, timeout=5).text
    except httpx.HTTPError as exc:
        raise NserError(f"cannot read the server's metrics at {metrics_url}: {exc}") from None
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "nser_mec_serving_info":
                return dict(sample.labels)
    raise NserError(f"{metrics_url} has no nser_mec_serving_info: is it a MEC's /metrics?")


def _probe(target: str, windows: list[Any], models: list[str], protocol: Protocol) -> None:
    """Fail fast and clearly: an unreachable server, or a model it does not serve."""
    for model in models:
        try:
            result = asyncio.run(
                asyncio.wait_for(
                    run_open_loop(
                        target, windows, model=model, rate=5, duration_s=0.4, protocol=protocol
                    ),
                    10.0,
                )
            )
        except TimeoutError:
            raise NserError(f"cannot reach the MEC inference service at {target}") from None
        if result.errors:
            raise NserError(f"the server at {target} refused model {model!r}: {result.errors}")


def _batching(
    redis_url: str, windows: list[Any], tmp: str, seconds: float
) -> dict[str, dict[str, Any]]:
    """The student near its capacity under each batching setting, each on a fresh server."""
    out = {}
    for max_batch, delay_us in BATCH_SETTINGS:
        mec = MecChild(redis_url, Path(tmp) / f"mec-b{max_batch}-d{delay_us}.log",
                       ["--models", "student", "--max-batch-size", str(max_batch),
                        "--max-queue-delay-us", str(delay_us)], pki=None)  # fmt: skip
        try:
            mec.start()
            assert mec.process is not None
            result = step(mec.address, windows, ServerCpu(mec.process.pid), "student", 400.0,
                          seconds, True)  # fmt: skip
        finally:
            mec.stop()
        out[f"batch {max_batch}, delay {delay_us} us"] = result.to_dict()
    return out
