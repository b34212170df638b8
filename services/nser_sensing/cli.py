"""`nser sense` (also `python -m nser_sensing`): simulated devices sending feature windows to the
MEC, with a report of what the radio, the server and the models did.

    nser sense --scene assault --devices 20 --cells 4 --profile urllc --out runs/sense.json
    nser sense --audio recordings/ --devices 3 --fast

Every device frames its audio into 3 s windows every `--hop` seconds, turns each into a mel
tensor on the device and sends only that, through its link profile, to `--target`.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
from pathlib import Path
from typing import TypeVar

from nser_sensing.client import (
    ClientConfig,
    check_reachable,
    default_target,
    parse_target,
    run_sensing,
)
from nser_sensing.devices import WindowFramer, build_devices
from nser_sensing.metrics import first_error, summary_text
from nser_sensing.transport import add_arguments as add_transport_arguments
from nser_sensing.transport import resolve as resolve_transport
from nser_shared.errors import NserError
from nser_shared.frontend.config import WINDOW_HOP_S
from nser_shared.links import DEFAULT_LINK_PROFILE, LINK_PROFILES, link_profile
from nser_shared.sound.scenes import SCENES, scene_spec
from nser_shared.wire.device_ids import fleet_device_ids
from nser_shared.wire.windows import DeviceKind, PayloadDtype

log = logging.getLogger(__name__)
DEFAULT_DEVICES = 20
DEFAULT_SCENE = "party"
DEFAULT_SCENE_SECONDS = 30.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        default=default_target(),
        help="MEC inference service HOST:PORT (default: $NSER_MEC_ADDR or 127.0.0.1:50051)",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--scene", help=f"scripted scene: {', '.join(SCENES)} (default: party)")
    source.add_argument("--audio", type=Path, help="a .wav/.flac file or a folder of them")
    parser.add_argument("--devices", type=int, default=DEFAULT_DEVICES, help="default: 20")
    parser.add_argument("--cells", type=int, default=1, help="NR cells the devices spread over")
    parser.add_argument(
        "--first-device", type=int, default=0, help="index of the first device (ids, cells)"
    )
    parser.add_argument(
        "--kind",
        default="mixed",
        help="device kind: phone, watch, assistant, or mixed (round-robin; the default)",
    )
    parser.add_argument(
        "--profile",
        default=DEFAULT_LINK_PROFILE,
        help=f"link profile(s), comma-separated, dealt round-robin: {', '.join(LINK_PROFILES)}",
    )
    parser.add_argument("--hop", type=float, default=WINDOW_HOP_S, help="seconds between windows")
    parser.add_argument(
        "--duration",
        type=float,
        help="seconds of audio per device (default: 30 for a scene, the whole file for audio)",
    )
    parser.add_argument(
        "--loop",
        type=float,
        help="render (or read) only this many seconds and play them over and over for "
        "--duration: hours of play for minutes of rendering (default: no loop)",
    )
    parser.add_argument(
        "--dtype", default="float32", help="payload: float32, float16 or int8 (default float32)"
    )
    parser.add_argument(
        "--energy-gate-dbfs",
        type=float,
        help="skip windows quieter than this RMS level (e.g. -55); default: send all",
    )
    parser.add_argument("--model", default="", help="model to ask for (default: the server's)")
    parser.add_argument("--stream", action="store_true", help="one ClassifyStream per device")
    parser.add_argument("--fast", action="store_true", help="no real-time pacing")
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the scenes and the link delays"
    )
    parser.add_argument(
        "--max-attempts",
        type=int,
        default=ClientConfig.max_attempts,
        help="sends per window, the first included",
    )
    parser.add_argument("--connect-timeout", type=float, default=5.0, help="seconds")
    parser.add_argument("--out", type=Path, help="write the full report here (JSON)")
    add_transport_arguments(parser)  # --tls-ca, --device-certs, --insecure
    parser.add_argument(
        "--sent-log",
        type=Path,
        help="append one JSON line per window sent (device, sequence, outcome, result id)",
    )


T = TypeVar("T")


def _choice(value: str, choices: dict[str, T], what: str) -> T:
    if value not in choices:
        raise NserError(f"unknown {what} {value!r}; choose one of: {', '.join(choices)}")
    return choices[value]


def _settings(args: argparse.Namespace) -> tuple[tuple[str, ...], tuple[DeviceKind, ...]]:
    """Check every argument that argparse cannot; return (profiles, kinds)."""
    if args.devices < 1:
        raise NserError(f"--devices must be at least 1, got {args.devices}")
    if args.cells < 1:
        raise NserError(f"--cells must be at least 1, got {args.cells}")
    if not (math.isfinite(args.hop) and args.hop > 0):
        raise NserError(f"--hop must be > 0 seconds, got {args.hop}")
    if args.duration is not None and not (math.isfinite(args.duration) and args.duration >= 3):
        raise NserError(f"--duration must be at least 3 seconds (one window), got {args.duration}")
    if args.loop is not None and not (math.isfinite(args.loop) and args.loop >= 3):
        raise NserError(f"--loop must be at least 3 seconds (one window), got {args.loop}")
    if args.loop is not None and args.duration is None:
        raise NserError("--loop needs --duration: the seconds to play")
    if args.scene is not None:
        scene_spec(args.scene)
    if args.audio is not None and not args.audio.exists():
        raise NserError(f"audio path not found: {args.audio}")
    if args.max_attempts < 1:
        raise NserError(f"--max-attempts must be at least 1, got {args.max_attempts}")
    if not (math.isfinite(args.connect_timeout) and args.connect_timeout > 0):
        raise NserError(f"--connect-timeout must be > 0 seconds, got {args.connect_timeout}")
    if args.energy_gate_dbfs is not None and not math.isfinite(args.energy_gate_dbfs):
        raise NserError(f"--energy-gate-dbfs must be a number, got {args.energy_gate_dbfs}")
    if args.out is not None and args.out.is_dir():
        raise NserError(f"--out must be a file path, {args.out} is a folder")
    if args.sent_log is not None and args.sent_log.is_dir():
        raise NserError(f"--sent-log must be a file path, {args.sent_log} is a folder")
    profiles = tuple(p.strip() for p in args.profile.split(",") if p.strip())
    if not profiles:
        raise NserError("--profile needs at least one link profile")
    for name in profiles:
        link_profile(name)
    kinds = {"mixed": tuple(DeviceKind), **{k.value: (k,) for k in DeviceKind}}
    return profiles, _choice(args.kind, kinds, "device kind")


def run(args: argparse.Namespace) -> int:
    profiles, kinds = _settings(args)
    dtype = _choice(args.dtype, {d.value: d for d in PayloadDtype}, "dtype")
    config = ClientConfig(
        target=parse_target(args.target),
        transport=resolve_transport(args),
        dtype=dtype,
        model=args.model,
        stream=args.stream,
        realtime=not args.fast,
        max_attempts=args.max_attempts,
        connect_timeout_s=args.connect_timeout,
        seed=args.seed,
        sent_log=args.sent_log,
    )
    framer = WindowFramer(hop_s=args.hop, gate_dbfs=args.energy_gate_dbfs)
    device_ids = fleet_device_ids(args.first_device, args.devices, kinds)
    config.transport.check(device_ids)  # every device's certificate, before minutes of rendering
    check_reachable(config, device_ids[0])
    scene = None if args.audio is not None else (args.scene or DEFAULT_SCENE)
    duration = args.duration
    if scene is not None and duration is None:
        duration = DEFAULT_SCENE_SECONDS
    log.info("preparing %d devices (%s)", args.devices, scene or args.audio)
    devices = build_devices(
        args.devices,
        scene=scene,
        audio=args.audio,
        seconds=duration,
        cells=args.cells,
        kinds=kinds,
        profiles=profiles,
        seed=args.seed,
        first_index=args.first_device,
        loop_s=args.loop,
    )
    report = run_sensing(devices, framer, config)
    report.settings["source"] = f"scene:{scene}" if scene else str(args.audio)
    report.settings["profiles"] = list(profiles)
    if args.out is not None:
        try:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(report.to_dict(), indent=2) + "\n")
        except OSError as exc:
            raise NserError(f"cannot write the report to {args.out}: {exc}") from exc
    print(summary_text(report))
    if args.out is not None:
        print(f"report written to {args.out}")
    totals = report.totals()
    if totals["windows_sent"] and not totals["answers"]:
        raise NserError(f"no window was answered; the first error: {first_error(report.records)}")
    return 0
