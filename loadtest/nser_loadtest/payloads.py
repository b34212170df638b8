"""`nser payloads`: what each payload dtype costs on the radio and in accuracy.

    nser payloads --out runs/payloads                        # windows rendered from the scenes
    nser payloads --data synthetic:data/corpus --out runs/payloads   # the corpus's test split

Every window goes the way it would in service: features -> `encode_window` in the dtype ->
`decode_window` (the server's checks and dequantisation) -> the served students, on the engine
the MEC serves (served.py). Per dtype the report gives bytes per window (the tensor and the
whole serialized FeatureWindow), the largest feature error the encoding introduced, detection
accuracy, type accuracy on the scream windows, and how often each agrees with the float32
prediction. Writes payloads.md and payloads.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from nser_loadtest.served import load_engine, served_probabilities
from nser_models.checkpoint import SHIPPED_DIR, load_checkpoint, shipped_checkpoint
from nser_models.served import SERVED_MODEL
from nser_sensing.devices import WindowFramer, build_devices
from nser_shared.errors import NserError
from nser_shared.frontend.features import DEFAULT_FEATURE_CONFIG, WINDOW_HOP_S, FeatureConfig
from nser_shared.provenance import checkpoint_digests
from nser_shared.sound.scenes import SCENES, RecordedClips, scene_spec
from nser_shared.wire.labels import TASK_CLASSES, Task
from nser_shared.wire.windows import DeviceKind, PayloadDtype, decode_window, encode_window

log = logging.getLogger(__name__)
NOT_A_SCREAM = -1  # type label of a window that takes no part in the type task


@dataclass
class LabelledWindows:
    source: str
    features: Tensor  # (N, 1, n_mels, frames)
    detection: Tensor  # (N,) class index of TASK_CLASSES[DETECTION]
    type: Tensor  # (N,) class index of TASK_CLASSES[TYPE], NOT_A_SCREAM for non-screams


def scene_windows(
    scenes: list[str],
    devices: int,
    seconds: float,
    hop_s: float,
    seed: int,
    recorded: RecordedClips | None = None,
) -> LabelledWindows:
    """Every window of `devices` devices per scene, labelled with the scenes' ground truth;
    `recorded`: real clips the scenes play beside their synthetic events."""
    framer = WindowFramer(hop_s=hop_s)
    negative_or_positive = TASK_CLASSES[Task.TYPE]
    features, detection, type_ = [], [], []
    for scene in scenes:
        for device in build_devices(
            devices, scene=scene, seconds=seconds, seed=seed, recorded=recorded
        ):
            for span in framer.spans(device.track):
                window = framer.frame(device.track, span)
                truth = window.truth
                assert window.features is not None  # no energy gate here
                assert truth is not None  # scenes always know
                features.append(torch.from_numpy(window.features))
                detection.append(int(truth.is_scream))
                label = truth.type_label
                type_.append(NOT_A_SCREAM if label is None else negative_or_positive.index(label))
    return LabelledWindows(
        f"scenes {', '.join(scenes)} ({devices} devices x {seconds:g} s, hop {hop_s:g} s)",
        torch.stack(features),
        torch.tensor(detection),
        torch.tensor(type_),
    )


def corpus_windows(spec: str, config: FeatureConfig, split_seed: int) -> LabelledWindows:
    """The held-out test split of a labelled source, as the models were evaluated on it."""
    from nser_models.data.clips import split_by_speaker, task_label
    from nser_models.data.sources import load_source
    from nser_models.featureset import compute_features

    test = split_by_speaker(load_source(spec), seed=split_seed)["test"]
    type_labels = [task_label(r, Task.TYPE) for r in test]
    return LabelledWindows(
        f"{spec} (test split, {len(test)} clips)",
        compute_features(test, config),
        torch.tensor([int(r.is_scream) for r in test]),
        torch.tensor([NOT_A_SCREAM if t is None else t for t in type_labels]),
    )


def round_trip(features: Tensor, dtype: PayloadDtype, config: FeatureConfig) -> dict[str, Any]:
    """Encode and decode every window as a device and the server would."""
    decoded, message_bytes, tensor_bytes = [], [], []
    for i, window in enumerate(features.numpy()):
        message = encode_window(
            window,
            config=config,
            dtype=dtype,
            device_id="payload-report",
            device_kind=DeviceKind.PHONE,
            nr_cell_id="00066c001",
            sequence=i,
            captured_at=time.time(),
        )
        message_bytes.append(message.ByteSize())
        tensor_bytes.append(len(message.tensor))
        decoded.append(torch.from_numpy(decode_window(message, config).features))
    return {
        "features": torch.stack(decoded),
        "tensor_bytes": int(np.max(tensor_bytes)),
        "message_bytes": int(np.max(message_bytes)),
    }


def _share(hits: Tensor) -> float | None:
    return float(hits.double().mean()) if len(hits) else None


def measure(windows: LabelledWindows, checkpoints: Path = SHIPPED_DIR) -> dict[str, Any]:
    config = DEFAULT_FEATURE_CONFIG
    engine = load_engine(SERVED_MODEL, checkpoints)
    screams = windows.type != NOT_A_SCREAM
    rows: dict[str, Any] = {}
    reference: dict[Task, Tensor] = {}
    for dtype in PayloadDtype:  # float32 first: the reference the others are compared with
        trip = round_trip(windows.features, dtype, config)
        decoded: Tensor = trip.pop("features")
        probabilities = served_probabilities(engine, decoded)
        detection = torch.from_numpy(probabilities[Task.DETECTION].argmax(axis=1))
        type_ = torch.from_numpy(probabilities[Task.TYPE].argmax(axis=1))[screams]
        reference.setdefault(Task.DETECTION, detection)
        reference.setdefault(Task.TYPE, type_)
        rows[dtype.value] = {
            **trip,
            "max_abs_feature_error": float((decoded - windows.features).abs().max()),
            "detection_accuracy": _share(detection == windows.detection),
            "detection_agreement_with_float32": _share(detection == reference[Task.DETECTION]),
            "type_accuracy": _share(type_ == windows.type[screams]),
            "type_agreement_with_float32": _share(type_ == reference[Task.TYPE]),
        }
        log.info("%s: %s", dtype.value, rows[dtype.value])
    return {
        "source": windows.source,
        "windows": len(windows.features),
        "scream_windows": int(screams.sum()),
        "feature_config_id": config.id,
        "models": "shipped students (detection, type)",
        "dtypes": rows,
    }


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Payload dtypes: bytes and accuracy per feature window",
        "",
        f"Generated by `{report.get('command', 'nser payloads').strip()}`.",
        "",
        f"Windows: {report['windows']} from {report['source']}; {report['scream_windows']} are "
        f"screams (type task). Models: {report['models']}. Features: "
        f"{report['feature_config_id']}.",
        "",
        "| dtype | tensor bytes | message bytes | max abs error | detection acc | "
        "agrees with float32 | type acc | agrees with float32 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in report["dtypes"].items():
        lines.append(
            f"| {name} | {row['tensor_bytes']:,} | {row['message_bytes']:,} | "
            f"{row['max_abs_feature_error']:.4f} | {_fmt(row['detection_accuracy'])} | "
            f"{_fmt(row['detection_agreement_with_float32'])} | {_fmt(row['type_accuracy'])} | "
            f"{_fmt(row['type_agreement_with_float32'])} |"
        )
    return "\n".join(lines) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="folder for payloads.md/.json")
    parser.add_argument("--data", help="labelled source (e.g. synthetic:DIR): its test split")
    parser.add_argument(
        "--scenes", default=",".join(SCENES), help="scenes to render when there is no --data"
    )
    parser.add_argument("--devices", type=int, default=4, help="devices per scene")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per device")
    parser.add_argument("--hop", type=float, default=WINDOW_HOP_S, help="seconds between windows")
    parser.add_argument("--seed", type=int, default=0, help="seed of the scenes")
    parser.add_argument(
        "--checkpoints",
        type=Path,
        default=SHIPPED_DIR,
        help="folder of <task>-<model>.pt checkpoints",
    )


def run(args: argparse.Namespace) -> int:
    if args.devices < 1:
        raise NserError(f"--devices must be at least 1, got {args.devices}")
    if not args.duration >= 3:
        raise NserError(f"--duration must be at least 3 seconds, got {args.duration}")
    if not args.hop > 0:
        raise NserError(f"--hop must be > 0 seconds, got {args.hop}")
    if not args.checkpoints.is_dir():
        raise NserError(f"checkpoint folder not found: {args.checkpoints}")
    if args.data:
        ckpt = load_checkpoint(shipped_checkpoint(Task.DETECTION, SERVED_MODEL, args.checkpoints))
        split_seed = int(ckpt.train_config.get("split_seed", 0))
        windows = corpus_windows(args.data, DEFAULT_FEATURE_CONFIG, split_seed)
    else:
        scenes = [s.strip() for s in args.scenes.split(",") if s.strip()]
        if not scenes:
            raise NserError("--scenes needs at least one scene")
        for scene in scenes:
            scene_spec(scene)
        windows = scene_windows(scenes, args.devices, args.duration, args.hop, args.seed)
    report = measure(windows, args.checkpoints)
    report["command"] = "nser payloads " + " ".join(sys.argv[2:] if len(sys.argv) > 2 else [])
    report["inputs"] = checkpoint_digests(args.checkpoints)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "payloads.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "payloads.md").write_text(markdown(report))
    print(markdown(report))
    print(f"report written to {args.out / 'payloads.md'}")
    return 0
