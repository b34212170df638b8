"""`nser bench-peer`: the MEC side by side with the peer a user would pick instead, KServe's
ModelServer, driven by one load generator over one protocol (the Open Inference Protocol).

    nser bench-peer --out docs/loadtest/peer           # about 10 minutes on 2 cores
    nser bench-peer --quick --out runs/peer            # about a minute

The peer (loadtest/peer/kserve_peer.py) runs in a virtual environment of its own, made on first
use in `.venv-peer` (kserve and onnxruntime at `PEER_REQUIREMENTS`; neither is an nser
dependency), and serves each model's detection network exported to ONNX, on ONNX Runtime with
one intra-op thread. Per window the peer runs that one network; the MEC runs the whole pipeline
(detection, the type network for windows it calls screams, and publication to Redis before it
answers). Both get the same windows at the same fixed-rate schedule, one server at a time on
the same cores as the generator; latency runs from each request's scheduled send time.
Writes report.json, report.md and latency_vs_load.png.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc

from nser.oip.v2 import open_inference_pb2 as oip
from nser.oip.v2 import open_inference_pb2_grpc as oip_grpc
from nser_loadtest.bench_serving import machine, max_throughput
from nser_loadtest.cli import ServerCpu, served_settings
from nser_loadtest.openloop import LoadResult, Protocol, run_open_loop
from nser_loadtest.plots import plot_latency_vs_load
from nser_loadtest.windows import corpus_windows
from nser_mec.runners import DEFAULT_BACKEND, BackendName
from nser_models.checkpoint import SHIPPED_DIR
from nser_models.export import export
from nser_shared.errors import NserError
from nser_shared.provenance import REPO_ROOT, checkpoint_digests
from nser_shared.wire.labels import Task
from nser_up.processes import MecChild, RedisChild, free_port

PEER_REQUIREMENTS = ("kserve==0.21.0", "onnxruntime==1.32.0")
PEER_SCRIPT = REPO_ROOT / "loadtest" / "peer" / "kserve_peer.py"
PEER_VENV = REPO_ROOT / ".venv-peer"
# Offered windows/s per model; quick mode takes every third.
RATES: dict[str, tuple[float, ...]] = {
    "student": (50, 100, 200, 300, 400, 500, 600, 700, 800, 1000),
    "teacher": (10, 20, 30, 40, 50, 60, 70, 80, 100),
}
SLO_MS = {"student": 10.0, "teacher": 50.0}


def peer_python(venv: Path = PEER_VENV) -> Path:
    """The peer environment's interpreter, made (or remade, when the pins change) on demand."""
    stamp = (
        venv / f".nser-peer-{hashlib.sha256(' '.join(PEER_REQUIREMENTS).encode()).hexdigest()[:12]}"
    )
    python = venv / "bin" / "python"
    if not stamp.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             *PEER_REQUIREMENTS],
            capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode != 0:
            raise NserError(f"cannot install the KServe peer into {venv}: {done.stderr[-2000:]}")
        stamp.touch()
    return python


class PeerChild:
    """The KServe peer as a child process, ready once it answers ServerReady."""

    def __init__(self, python: Path, models: dict[str, Path], log: Path) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        specs = [arg for name, path in models.items() for arg in ("--model", f"{name}={path}")]
        self.args = [str(python), str(PEER_SCRIPT), *specs, "--grpc_port", str(self.port),
                     "--http_port", str(free_port())]  # fmt: skip
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60.0) -> None:
        self.process = subprocess.Popen(
            self.args, stdout=self.log.open("wb"), stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout_s
        with grpc.insecure_channel(self.address) as channel:
            stub = oip_grpc.GRPCInferenceServiceStub(channel)
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise NserError(f"the KServe peer exited; see {self.log}")
                try:
                    if stub.ServerReady(oip.ServerReadyRequest(), timeout=1).ready:
                        return
                except grpc.RpcError:
                    time.sleep(0.5)
        raise NserError(f"the KServe peer did not get ready in {timeout_s:g} s; see {self.log}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def sweep(
    target: str, cpu: ServerCpu, model: str, rates: tuple[float, ...], seconds: float
) -> list[LoadResult]:
    windows = corpus_windows(16)
    results = []
    for rate in rates:
        before = cpu.seconds()
        result = asyncio.run(
            run_open_loop(target, windows, model=model, rate=rate, duration_s=seconds,
                          protocol=Protocol.OIP)
        )  # fmt: skip
        after = cpu.seconds()
        if before is not None and after is not None:
            result = replace(result, server_cpu_cores=(after - before) / result.duration_s)
        results.append(result)
    return results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", default="student,teacher", help="comma-separated")
    parser.add_argument("--seconds", type=float, default=8.0, help="per load step")
    parser.add_argument("--quick", action="store_true", help="a smoke run of about a minute")
    parser.add_argument(
        "--backend",
        type=BackendName,
        choices=list(BackendName),
        default=DEFAULT_BACKEND,
        help="the MEC's backend (default: %(default)s); the peer always runs ONNX Runtime",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("runs/peer"), help="folder for the report and figure"
    )


def run(args: argparse.Namespace) -> int:
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in RATES]
    if not models or unknown:
        raise NserError(f"--models must be among {', '.join(RATES)}, got {args.models!r}")
    if not args.seconds > 0:
        raise NserError(f"--seconds must be > 0, got {args.seconds}")
    seconds = 1.5 if args.quick else args.seconds
    rates = {m: RATES[m][::3] if args.quick else RATES[m] for m in models}
    python = peer_python()
    grids: dict[str, dict[str, list[LoadResult]]] = {"nser": {}, "kserve": {}}
    with tempfile.TemporaryDirectory(prefix="nser-peer-") as tmp:
        folder = Path(tmp)
        onnx = {m: folder / f"{Task.DETECTION.value}-{m}.onnx" for m in models}
        for model in models:
            export(model, Task.DETECTION, folder)
        redis_child = RedisChild(free_port(), folder)
        mec = MecChild(redis_child.url, folder / "mec.log",
                       ["--models", ",".join(models), "--backend", args.backend.value],
                       pki=None)  # fmt: skip  # plaintext: this measures serving, not TLS
        try:
            redis_child.start()
            mec.start()
            assert mec.process is not None
            settings = served_settings(mec.metrics_url)
            cpu = ServerCpu(mec.process.pid)
            grids["nser"] = {m: sweep(mec.address, cpu, m, rates[m], seconds) for m in models}
        finally:
            mec.stop()
            redis_child.stop()
        peer = PeerChild(python, onnx, folder / "peer.log")
        try:
            peer.start()
            assert peer.process is not None
            cpu = ServerCpu(peer.process.pid)
            grids["kserve"] = {m: sweep(peer.address, cpu, m, rates[m], seconds) for m in models}
        finally:
            peer.stop()
    report = {
        "command": " ".join(["nser bench-peer", *sys.argv[2:]]),
        "inputs": checkpoint_digests(SHIPPED_DIR),
        "machine": machine(),
        "nser": {
            "backend": args.backend.value,
            "does": f"detection, type for detected screams ({args.backend.value}), XADD to "
            "Redis, then answers",
            "settings": settings,
        },
        "kserve": {
            "does": "detection only (the exported network, onnxruntime), then answers",
            "requirements": list(PEER_REQUIREMENTS),
        },
        "seconds_per_step": seconds,
        "slo_ms": {m: SLO_MS[m] for m in models},
        "grids": {
            s: {m: [r.to_dict() for r in rs] for m, rs in g.items()} for s, g in grids.items()
        },
        "max_rate_at_slo": {
            s: {m: max_throughput(rs, SLO_MS[m]) for m, rs in g.items()} for s, g in grids.items()
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    plot_latency_vs_load(
        {f"{s} {m}": rs for s, g in grids.items() for m, rs in g.items()},
        SLO_MS[models[0]],
        args.out / "latency_vs_load.png",
    )
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "report.md").write_text(markdown(report))
    (args.out / "summary.md").write_text(summary_markdown(report))
    print(markdown(report))
    return 0


def _ms(result: dict[str, Any], key: str) -> str:
    value = result["latency_ms"].get(key)
    return "-" if value is None else f"{value:.2f}"


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    lines = [
        "# The MEC beside KServe: one load generator, one protocol",
        "",
        f"Generated by `{report['command']}`. Machine: {m['cpu']}, {m['cores']} cores; "
        f"Python {m['python']}; {versions}; the peer: "
        f"{', '.join(report['kserve']['requirements'])}. "
        "Open Inference Protocol (gRPC) to both, fixed-rate arrivals, "
        f"{report['seconds_per_step']:g} s per step, one server at a time on the cores the "
        "generator also uses; latency from each request's scheduled send time.",
        "",
        f"- nser does per window: {report['nser']['does']}.",
        f"- KServe does per window: {report['kserve']['does']}.",
        "",
        "![latency vs load](latency_vs_load.png)",
        "",
        "| model | offered /s | nser p50 / p99 ms | nser achieved /s | nser CPU cores "
        "| KServe p50 / p99 ms | KServe achieved /s | KServe CPU cores |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    grids = report["grids"]
    for model, ours in grids["nser"].items():
        for mine, theirs in zip(ours, grids["kserve"][model], strict=True):
            lines.append(
                f"| {model} | {mine['offered_rate']:g} | {_ms(mine, 'p50')} / {_ms(mine, 'p99')} "
                f"| {mine['achieved_rate']:.0f} | {_cores(mine)} | {_ms(theirs, 'p50')} / "
                f"{_ms(theirs, 'p99')} | {theirs['achieved_rate']:.0f} | {_cores(theirs)} |"
            )
    return "\n".join(lines) + "\n\n" + summary_markdown(report)


# Issue 16's targets: (what, the figure's name in `targets`, the bound, higher is better).
TARGETS = (
    ("student: nser's max rate at p99 <= 10 ms over KServe's", "student_ratio", 1.5, True),
    ("teacher: nser's max rate at p99 <= 50 ms over KServe's", "teacher_ratio", 1.2, True),
    (
        "nser's student max rate over its teacher's, each at its SLO",
        "student_over_teacher",
        10,
        True,
    ),
    ("nser's student p50 at the lowest rate, ms", "light_load_p50_ms", 2.0, False),
)


def targets(report: dict[str, Any]) -> dict[str, float | None]:
    """The figures issue 16's targets judge, None where this run lacks what one needs."""
    top = report["max_rate_at_slo"]

    def ratio(a: float | None, b: float | None) -> float | None:
        return a / b if a is not None and b else None

    steps = report["grids"]["nser"].get("student") or []
    return {
        "student_ratio": ratio(top["nser"].get("student"), top["kserve"].get("student")),
        "teacher_ratio": ratio(top["nser"].get("teacher"), top["kserve"].get("teacher")),
        "student_over_teacher": ratio(top["nser"].get("student"), top["nser"].get("teacher")),
        "light_load_p50_ms": steps[0]["latency_ms"].get("p50") if steps else None,
    }


def summary_markdown(report: dict[str, Any]) -> str:
    """The highest rate each server holds under each SLO, and issue 16's targets (summary.md,
    which docs/loadtest.md includes)."""
    lines = [
        f"nser does per window: {report['nser']['does']}; KServe: {report['kserve']['does']}.",
        "",
        "| model | SLO (p99) | nser max /s | KServe max /s | ratio |",
        "|---|---:|---:|---:|---:|",
    ]
    top = report["max_rate_at_slo"]
    for model, slo in report["slo_ms"].items():
        ours, theirs = top["nser"][model], top["kserve"][model]
        ratio = f"{ours / theirs:.2f}x" if theirs else "-"
        lines.append(f"| {model} | {slo:g} ms | {ours:.0f} | {theirs:.0f} | {ratio} |")
    lines += ["", "| target | measured | met |", "|---|---:|---|"]
    figures = targets(report)
    for what, key, bound, higher in TARGETS:
        value = figures[key]
        shown = "-" if value is None else f"{value:.3f}"  # 1.199 is not 1.2
        met = (
            "-"
            if value is None
            else ("yes" if (value >= bound if higher else value <= bound) else "no")
        )
        sign = ">=" if higher else "<="
        lines.append(f"| {what} {sign} {bound:g} | {shown} | {met} |")
    return "\n".join(lines) + "\n"


def _cores(result: dict[str, Any]) -> str:
    value = result.get("server_cpu_cores")
    return "-" if value is None else f"{value:.2f}"
