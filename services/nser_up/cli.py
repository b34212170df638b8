"""`nser up`: start the simulated 5G MEC network, play a scenario, show it live, summarise it.

    nser up                                   # 20 devices, 4 cells, "evening", 60 s, at the edge
    nser up --duration 30 --placement cloud   # the MEC behind the distant-cloud link instead
    nser up --compare-placement               # both, and the comparison the paper argues for

Every service is a child process on free loopback ports. A service that dies is restarted, as
compose's restart policy would (services/nser_up/supervisor.py), and the summary lists the
restarts; one that keeps dying, Ctrl-C, or the end of `--duration` stops them all. The run's
folder (`--out`, default runs/up-<time>) holds summary.json, summary.md (written as far as the
run got, also when it stopped early), the devices' reports, Redis's data (`redis/`: the stream
and the alert history) and every service's log.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import signal
import sys
import threading
import time
from dataclasses import asdict, replace
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import redis

from nser_models.checkpoint import SHIPPED_DIR
from nser_shared.errors import ChildProcessError, NserError
from nser_shared.frontend.features import DEFAULT_FEATURE_CONFIG, WINDOW_HOP_S
from nser_shared.links import LINK_PROFILES
from nser_shared.provenance import checkpoint_digests
from nser_shared.security.redis_url import redact_url
from nser_shared.stream.results import RESULTS_STREAM
from nser_up.errors import InterruptedRunError
from nser_up.network import Network, UpConfig
from nser_up.observe import END_TO_END, latency_table, render, snapshot
from nser_up.scenarios import DEFAULT_SCENARIO, SCENARIOS, split_devices
from nser_up.soak import SoakSample, soak_markdown, soak_report, take_sample
from nser_up.summary import ground_truth, markdown

log = logging.getLogger(__name__)


class StopRequest:
    """Set by SIGINT / SIGTERM and polled by the run: a handler that raised would land anywhere
    (inside Popen, a log call, an HTTP read) and leave the run half stopped."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signal_name = ""

    def handle(self, signum: int, frame: FrameType | None) -> None:
        self.signal_name = signal.Signals(signum).name
        self.event.set()

    def check(self) -> None:
        if self.event.is_set():
            raise InterruptedRunError(self.signal_name)


STOP = StopRequest()
SUPERVISION_INTERVAL_S = 0.25  # how soon a dead service is noticed
RENDER_GRACE_S = 180.0  # beyond the scenario, for the devices to render their scenes
PLAY_GRACE_S = 60.0  # beyond the scenario once the devices play, for retries and the last answers


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--devices", type=int, default=20, help="simulated devices in all")
    parser.add_argument("--cells", type=int, default=4, help="NR cells the devices are spread over")
    parser.add_argument(
        "--scenario", default=DEFAULT_SCENARIO, help=f"one of: {', '.join(SCENARIOS)}"
    )
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of scenario")
    parser.add_argument(
        "--scene-loop",
        type=float,
        help="devices render only this many seconds of their scene and play them over and over "
        "for --duration: for soaks of an hour or more (default: no loop)",
    )
    parser.add_argument("--profile", default="urllc", help="the devices' radio link at the edge")
    parser.add_argument(
        "--placement",
        choices=("edge", "cloud"),
        default="edge",
        help="the MEC beside the base station, or behind a distant-cloud link",
    )
    parser.add_argument("--compare-placement", action="store_true", help="run edge, then cloud")
    parser.add_argument(
        "--dtype",
        choices=("float32", "float16", "int8"),
        default="int8",
        help="payload type of the devices' feature windows",
    )
    parser.add_argument("--no-prometheus", action="store_true", help="run without Prometheus")
    parser.add_argument("--seed", type=int, default=0, help="seed of the scenes the devices play")
    parser.add_argument("--out", type=Path, help="run folder (default runs/up-<time>)")
    parser.add_argument(
        "--credentials",
        type=Path,
        help="a `nser credentials` folder to use (default: made in <run folder>/credentials)",
    )
    parser.add_argument(
        "--soak-interval",
        type=float,
        default=0.0,
        help="soak report: sample memory, throughput and latency every S seconds (soak.md)",
    )
    parser.add_argument(
        "--soak-warmup", type=float, default=60.0, help="seconds before memory growth counts"
    )
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="plaintext gRPC and HTTP, no API tokens, no Redis password (each service warns)",
    )


def _config(args: argparse.Namespace) -> UpConfig:
    if not (math.isfinite(args.duration) and args.duration >= 5):
        raise NserError(f"--duration must be at least 5 seconds, got {args.duration}")
    if args.cells < 1:
        raise NserError(f"--cells must be at least 1, got {args.cells}")
    if args.scene_loop is not None and not (
        math.isfinite(args.scene_loop) and args.scene_loop >= 3
    ):
        raise NserError(f"--scene-loop must be at least 3 seconds, got {args.scene_loop}")
    if not (math.isfinite(args.soak_interval) and args.soak_interval >= 0):
        raise NserError(f"--soak-interval must be >= 0 seconds, got {args.soak_interval}")
    if args.soak_interval and not args.soak_interval >= 1:
        raise NserError(f"--soak-interval must be at least 1 second, got {args.soak_interval}")
    if args.soak_interval and not (
        math.isfinite(args.soak_warmup) and 0 <= args.soak_warmup < args.duration
    ):
        raise NserError(
            f"--soak-warmup must be >= 0 and shorter than --duration, got {args.soak_warmup}"
        )
    if args.insecure and args.credentials is not None:
        raise NserError("--credentials and --insecure exclude each other")
    if args.credentials is not None and not args.credentials.is_dir():
        raise NserError(
            f"--credentials {args.credentials} is not a folder (make one with `nser credentials`)"
        )
    if args.profile not in LINK_PROFILES:
        raise NserError(
            f"unknown link profile {args.profile!r}; one of: {', '.join(LINK_PROFILES)}"
        )
    split_devices(args.scenario, args.devices)  # checks the scenario and the device count
    out = args.out or Path("runs") / time.strftime("up-%Y%m%d-%H%M%S")
    if out.is_dir() and any(out.iterdir()):  # a run's summary and logs are its record
        raise NserError(f"--out {out} is not empty: a run never overwrites one; name a new folder")
    if out.exists() and not out.is_dir():
        raise NserError(f"--out {out} is a file, not a folder")
    return UpConfig(
        out=out, devices=args.devices, cells=args.cells, scenario=args.scenario,
        duration_s=args.duration, profile=args.profile, placement=args.placement,
        dtype=args.dtype,
        redis_url=os.environ.get("REDIS_URL") or None, prometheus=not args.no_prometheus,
        seed=args.seed, insecure=args.insecure, credentials=args.credentials,
        soak_interval_s=args.soak_interval, soak_warmup_s=args.soak_warmup,
        scene_loop_s=args.scene_loop,
    )  # fmt: skip


def run_once(config: UpConfig, command: str) -> dict[str, Any]:
    """One run: start, play, watch, stop, summarise. NserError if it stopped early (a service in
    a crash loop, Ctrl-C); its summary so far is written all the same."""
    config.out.mkdir(parents=True, exist_ok=True)
    network = Network(config, before_each_start=STOP.check)
    started = time.monotonic()
    failure: str | None = None
    summary: dict[str, Any] = {}
    try:
        try:
            summary = _play(network, config, command, started)
        except InterruptedRunError as exc:
            failure = f"interrupted by {exc}"
        except ChildProcessError as exc:
            failure = str(exc)
        if failure is not None and network.decision is not None:  # while the services answer
            try:
                summarise(network, config, command, time.monotonic() - started, failure)
            except (httpx.HTTPError, OSError, ValueError, KeyError) as exc:
                log.warning("no summary of the stopped run: %s", exc)
    finally:
        network.stop()
    if failure:
        (config.out / "failure.txt").write_text(failure + "\n")
        raise NserError(f"the run stopped early: {failure}")
    return summary


def _play(network: Network, config: UpConfig, command: str, started: float) -> dict[str, Any]:
    """Start the network, play the scenario with a live view, and summarise it."""
    network.start_services()
    endpoints = network.endpoints()
    print(endpoints, flush=True)
    network.start_devices()
    assert network.mec is not None
    assert network.decision is not None
    mec_metrics = network.mec.metrics_url
    deadline = time.monotonic() + config.duration_s + RENDER_GRACE_S  # devices render, then play
    tty = sys.stdout.isatty()
    soak = Soak(network, mec_metrics) if config.soak_interval_s else None
    shown_at = -math.inf
    played_from: float | None = None  # the scenario clock starts once the devices play
    while time.monotonic() < deadline and not network.devices_done():
        STOP.check()
        network.check()
        if soak is not None and soak.due(config.soak_interval_s):
            soak.sample()
        if time.monotonic() - shown_at >= (1.0 if tty else 5.0):
            shown_at = time.monotonic()
            now = snapshot(network.http, mec_metrics, network.decision.url)
            if played_from is None and now.windows_answered > 0:
                played_from = shown_at - DEFAULT_FEATURE_CONFIG.clip_seconds  # first window
                # however long the devices took to render, they get the whole scenario
                deadline = max(deadline, played_from + config.duration_s + PLAY_GRACE_S)
            elapsed = None if played_from is None else shown_at - played_from
            view = render(now, elapsed, config.duration_s)
            view += _supervision_line(network)
            if tty:  # the screen is redrawn: the endpoints stay at its foot
                print("\033[2J\033[H" + view + "\n\n" + endpoints, flush=True)
            else:
                print(view + "\n", flush=True)
        STOP.event.wait(SUPERVISION_INTERVAL_S)
    STOP.check()
    network.check()
    time.sleep(2.0)  # the last windows reach the decision service
    if soak is not None:
        soak.sample()
        soak.write(config, command)
    return summarise(network, config, command, time.monotonic() - started)


def _supervision_line(network: Network) -> str:
    restarts = network.supervisor.restarts()
    down = network.supervisor.down()
    failed = network.device_failures()
    if not (restarts or down or failed):
        return ""
    parts = [f"{name} restarted {len(crashes)}x" for name, crashes in restarts.items()]
    parts += [f"{name} down, restarting" for name in down]
    parts += [f"devices ({scene}) died with exit code {code}" for scene, code in failed.items()]
    return "\nsupervision: " + "; ".join(parts)


class Soak:
    """The samples of a soak run (soak.py), taken from the running network."""

    def __init__(self, network: Network, mec_metrics_url: str) -> None:
        self.network = network
        self.mec_metrics_url = mec_metrics_url
        self.started = time.monotonic()
        self.samples: list[SoakSample] = []
        self.redis = redis.Redis.from_url(network.redis_url, socket_timeout=3)

    def due(self, interval_s: float) -> bool:
        return not self.samples or time.monotonic() - self.started >= (
            self.samples[-1].at_s + interval_s
        )

    def _redis_info(self) -> tuple[float, int]:
        return float(self.redis.info("memory")["used_memory"]), int(self.redis.xlen(RESULTS_STREAM))

    def sample(self) -> None:
        assert self.network.decision is not None
        http = self.network.http
        self.samples.append(
            take_sample(
                time.monotonic() - self.started,
                _text(http, self.mec_metrics_url),
                _text(http, f"{self.network.decision.url}/metrics"),
                self.network.pids(),
                self._redis_info,
            )
        )

    def write(self, config: UpConfig, command: str) -> None:
        if len(self.samples) < 2:
            return
        shown = {**_shown(config), "command": command, "hop_s": WINDOW_HOP_S}
        report = soak_report(self.samples, config.soak_warmup_s, shown)
        report["inputs"] = checkpoint_digests(SHIPPED_DIR)  # the models the MEC served
        (config.out / "soak.json").write_text(json.dumps(report, indent=2) + "\n")
        (config.out / "soak.md").write_text(soak_markdown(report))


def _text(http: httpx.Client, url: str) -> str:
    try:
        return http.get(url, timeout=3).text
    except httpx.HTTPError:
        return ""


def _shown(config: UpConfig) -> dict[str, Any]:
    """The run's configuration as the summary shows it: paths as text, no Redis password, and
    the services' settings this run changed through the environment (no secrets)."""
    shown = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()}
    if shown["redis_url"]:
        shown["redis_url"] = redact_url(shown["redis_url"])
    shown["environment"] = {
        k: v
        for k, v in sorted(os.environ.items())
        if k.startswith("NSER_") and not any(w in k for w in ("SECRET", "PASSWORD", "TOKEN"))
    }
    return shown


def summarise(
    network: Network, config: UpConfig, command: str, wall_s: float, failure: str | None = None
) -> dict[str, Any]:
    assert network.decision is not None
    decision_metrics = network.http.get(f"{network.decision.url}/metrics").text
    reports = {scene: config.out / f"sense-{scene}.json" for scene, _ in network.sensing}
    summary: dict[str, Any] = {
        "command": command,
        "config": _shown(config),
        "link_profile": config.link_profile,
        "wall_s": wall_s,
        "ground_truth": ground_truth(reports, network.http, network.decision.url),
        "latency_ms": latency_table(decision_metrics),
        "restarts": network.supervisor.restarts(),
        "device_failures": network.device_failures(),
        "inputs": checkpoint_digests(SHIPPED_DIR),  # the models the MEC served
    }
    if failure is not None:
        summary["failure"] = failure
    if network.prometheus is not None:
        time.sleep(2.5)  # one more scrape
        summary["prometheus"] = {
            f"p{round(q * 100)}": network.prometheus.query(
                f"histogram_quantile({q}, sum by (le) ({END_TO_END}_bucket))"
            ) * 1e3
            for q in (0.5, 0.99)
        }  # fmt: skip
    (config.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (config.out / "summary.md").write_text(markdown(summary))
    return summary


def run(args: argparse.Namespace) -> int:
    config = _config(args)
    command = " ".join(["nser up", *sys.argv[2:]])
    signal.signal(signal.SIGINT, STOP.handle)
    signal.signal(signal.SIGTERM, STOP.handle)
    if not args.compare_placement:
        run_once(config, command)
        print((config.out / "summary.md").read_text())
        print(f"run folder: {config.out}")
        return 0
    results = {}
    for placement in ("edge", "cloud"):
        placed = replace(config, placement=placement, out=config.out / placement)
        results[placement] = run_once(placed, command)
    comparison = compare(results)
    (config.out / "comparison.md").write_text(comparison)
    for placement in results:
        print((config.out / placement / "summary.md").read_text())
    print(comparison)
    print(f"run folder: {config.out}")
    return 0


def compare(results: dict[str, dict[str, Any]]) -> str:
    """Edge against cloud: alerts per placement, then latency by stage side by side."""
    lines = [
        "# Edge vs cloud: the same scenario, the MEC beside the base station or far away",
        "",
        "| placement | link | negative-scream devices alerted | falsely alerted devices |",
        "|---|---|---:|---:|",
    ]
    for placement, result in results.items():
        truth = [s for s in result["ground_truth"].values() if "error" not in s]
        hit = sum(s["alerted_of_those"] for s in truth)
        of = sum(s["devices_with_negative_screams"] for s in truth)
        false = sum(s["falsely_alerted"] for s in truth)
        others = sum(s["devices_without"] for s in truth)
        lines.append(
            f"| {placement} | {result['link_profile']} | {hit} of {of} | {false} of {others} |"
        )
    lines += [
        "",
        "Latency by stage, ms:",
        "",
        "| stage | edge p50 | edge p99 | cloud p50 | cloud p99 |",
        "|---|---:|---:|---:|---:|",
    ]
    edge, cloud = results["edge"]["latency_ms"], results["cloud"]["latency_ms"]
    for stage in edge:
        cells = [edge[stage]["p50"], edge[stage]["p99"], cloud[stage]["p50"], cloud[stage]["p99"]]
        lines.append(f"| {stage} | " + " | ".join(f"{v:.1f}" for v in cells) + " |")
    return "\n".join(lines) + "\n"
