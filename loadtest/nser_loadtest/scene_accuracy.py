"""`nser scene-accuracy`: how each model does on the windows devices really send.

    nser scene-accuracy --out docs/evaluation/scenes
    nser scene-accuracy --checkpoints runs/new --out runs/new/scenes

The corpus's test split measures clean clips; a device streams a scene (nser_shared.sound.scenes):
background noise with sounds anywhere in the window. This renders every scene for `--devices`
devices, frames it as a device does (no energy gate), and runs each model pair (detection, type) on
the engine the MEC serves (served.py), both tasks on every window. Per model and scene it reports
detection accuracy, how many non-scream windows are called screams, type accuracy on the true
scream windows, the mean P(negative) of those, the share of windows the decision policy's default
thresholds would call negative screams (alerting windows), and the share of devices whose windows
would raise an alert under the whole default policy, incidents and evidence included
(`Policy.first_alert`). `--seeds 0,1,2` renders each scene once per seed, so `--devices` times as
many devices. Writes scenes.md and scenes.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from nser_decision.policy import Policy
from nser_loadtest.payloads import NOT_A_SCREAM, LabelledWindows, scene_windows
from nser_loadtest.served import load_engine, served_probabilities
from nser_mec.engine import InferenceEngine
from nser_models.architectures import MODEL_REGISTRY
from nser_models.checkpoint import SHIPPED_DIR, shipped_checkpoint
from nser_models.data.real_corpus import TABLE_PATH, recorded_clips
from nser_shared.errors import NserError
from nser_shared.frontend.features import WINDOW_HOP_S
from nser_shared.provenance import checkpoint_digests, input_digests
from nser_shared.sound.scenes import SCENES, RecordedClips, scene_spec
from nser_shared.wire.labels import SCREAM, TASK_CLASSES, Task, Valence

SCREAM_COLUMN = TASK_CLASSES[Task.DETECTION].index(SCREAM)
NEGATIVE = TASK_CLASSES[Task.TYPE].index(Valence.NEGATIVE.value)


def _share(hits: torch.Tensor) -> float | None:
    return float(hits.double().mean()) if len(hits) else None


def measure_model(
    engine: InferenceEngine,
    windows: LabelledWindows,
    devices: int,
    evidence_thresholds: tuple[float, ...] = (),
    seeds: int = 1,
) -> dict[str, Any]:
    """`windows` holds `devices` devices' windows, each device's in capture order, one per hop;
    with `seeds` > 1, the devices of each seed in turn (`per_seed` replays them apart)."""
    probabilities = served_probabilities(engine, windows.features)
    p_scream = torch.from_numpy(probabilities[Task.DETECTION][:, SCREAM_COLUMN])
    p_negative = torch.from_numpy(probabilities[Task.TYPE][:, NEGATIVE])
    policy = Policy()
    called_scream = p_scream >= policy.scream_threshold
    screams = windows.type != NOT_A_SCREAM
    return {
        "windows": len(windows.features),
        "scream_windows": int(screams.sum()),
        "detection_accuracy": _share(called_scream.long() == windows.detection),
        "non_screams_called_screams": _share(called_scream[windows.detection == 0]),
        "type_accuracy": _share(
            (p_negative[screams] >= 0.5).long() == (windows.type[screams] == NEGATIVE).long()
        ),
        "mean_p_negative_true_screams": _share(p_negative[screams]),
        "alerting_windows": _share(called_scream & (p_negative >= policy.negative_threshold)),
        "devices": devices,
        **_policy_replay(policy, p_scream, p_negative, devices),
        "per_seed": [
            _policy_replay(policy, p_scream[part], p_negative[part], devices // seeds)
            for part in torch.arange(len(p_scream)).chunk(seeds)
        ],
        "sweep": {
            f"{t:g}": _policy_replay(
                dataclasses.replace(policy, evidence_threshold=t), p_scream, p_negative, devices
            )
            for t in evidence_thresholds
        },
    }


def _policy_replay(
    policy: Policy, p_scream: Tensor, p_negative: Tensor, devices: int
) -> dict[str, float | None]:
    """Each device's windows through the whole policy: the share of devices alerted, and the
    median seconds from a device's first alerting window to its alert."""
    per_device = len(p_scream) // devices
    assert per_device * devices == len(p_scream), "every device sends as many windows"
    alerting = (p_scream >= policy.scream_threshold) & (p_negative >= policy.negative_threshold)
    times = [i * WINDOW_HOP_S for i in range(per_device)]
    delays = []
    for device in range(devices):
        span = slice(device * per_device, (device + 1) * per_device)
        windows = zip(times, p_scream[span].tolist(), p_negative[span].tolist(), strict=True)
        alert = policy.first_alert(windows)
        if alert is not None:
            first_alerting = int(alerting[span].nonzero()[0])
            delays.append((alert - first_alerting) * WINDOW_HOP_S)
    return {
        "devices_alerted": len(delays) / devices,
        "median_s_to_alert": statistics.median(delays) if delays else None,
    }


def measure(
    models: list[str],
    scenes: list[str],
    devices: int,
    seconds: float,
    seeds: list[int],
    checkpoints: Path,
    evidence_thresholds: tuple[float, ...] = (),
    recorded: RecordedClips | None = None,
) -> dict[str, Any]:
    rows: dict[str, dict[str, Any]] = {m: {} for m in models}
    engines = {m: load_engine(m, checkpoints) for m in models}
    for scene in scenes:
        per_seed = [
            scene_windows([scene], devices, seconds, WINDOW_HOP_S, seed, recorded) for seed in seeds
        ]
        windows = LabelledWindows(
            per_seed[0].source,
            torch.cat([w.features for w in per_seed]),
            torch.cat([w.detection for w in per_seed]),
            torch.cat([w.type for w in per_seed]),
        )
        for model in models:
            rows[model][scene] = measure_model(
                engines[model], windows, devices * len(seeds), evidence_thresholds, len(seeds)
            )
    return {
        "scenes": scenes,
        "devices_per_scene": devices * len(seeds),
        "seconds_per_device": seconds,
        "seeds": seeds,
        "checkpoints": _shown(checkpoints),
        "recorded_clips": (
            {kind: len(clips) for kind, clips in recorded.clips.items()} if recorded else None
        ),
        "policy": {
            name: getattr(Policy, name)
            for name in (
                "scream_threshold",
                "negative_threshold",
                "evidence_reference",
                "evidence_threshold",
            )
        },
        "models": rows,
    }


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:g} s"


def _recorded_lines(counts: dict[str, int] | None) -> list[str]:
    if not counts:
        return ["Synthetic events only.", ""]
    pool = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    shares = "; ".join(
        f"{scene}: " + ", ".join(f"{kind} {w:g}" for kind, w in spec.recorded.items())
        for scene, spec in SCENES.items()
        if spec.recorded
    )
    return [
        f"Recorded clips play beside the synthetic events (pool: {pool}; relative shares "
        f"beside the synthetic emotions, scenes.py: {shares}).",
        "",
    ]


def markdown(report: dict[str, Any]) -> str:
    policy = report["policy"]
    lines = [
        "# Accuracy on scene windows",
        "",
        f"Generated by `{report.get('command', 'nser scene-accuracy').strip()}`.",
        "",
        f"Scenes {', '.join(report['scenes'])}: {report['devices_per_scene']} devices each, "
        f"{report['seconds_per_device']:g} s per device, one 3 s window per second, seeds "
        f"{', '.join(str(s) for s in report['seeds'])}; checkpoints `{report['checkpoints']}`. "
        f"Alerting windows: P(scream) >= {policy['scream_threshold']} and P(negative) >= "
        f"{policy['negative_threshold']}. Devices alerted: devices whose windows raise an alert "
        "under the decision policy's defaults, incidents and evidence included (evidence "
        f"reference {policy['evidence_reference']}, threshold {policy['evidence_threshold']}); "
        "time to alert: median over those devices of the seconds from the first alerting "
        "window to the alert.",
        "",
        *_recorded_lines(report.get("recorded_clips")),
        "| model | scene | windows | true screams | detection acc | non-screams called "
        "screams | type acc (true screams) | mean P(negative), true screams | alerting windows "
        "| devices alerted | time to alert |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for model, scenes in report["models"].items():
        for scene, row in scenes.items():
            lines.append(
                f"| {model} | {scene} | {row['windows']} | {row['scream_windows']} | "
                f"{_fmt(row['detection_accuracy'])} | {_fmt(row['non_screams_called_screams'])} | "
                f"{_fmt(row['type_accuracy'])} | {_fmt(row['mean_p_negative_true_screams'])} | "
                f"{_fmt(row['alerting_windows'])} | "
                f"{round(row['devices_alerted'] * row['devices'])} of {row['devices']} | "
                f"{_seconds(row['median_s_to_alert'])} |"
            )
    return "\n".join(lines + _target_lines(report) + _sweep_lines(report)) + "\n"


# Issue 13's scene targets, for 20 devices a scene over 600 s on each of three seeds: at most 1
# of 20 party devices and none of 20 quiet homes alert, at least 19 of 20 assault devices do,
# with a median time to alert of at most 5 s. As shares, so that any fleet size is judged.
TARGETS: dict[str, tuple[str, float]] = {
    "party": ("at most", 1 / 20),
    "quiet-home": ("at most", 0.0),
    "assault": ("at least", 19 / 20),
}
TARGET_SECONDS_TO_ALERT = 5.0


def _target_lines(report: dict[str, Any]) -> list[str]:
    """Each seed's devices against the scene targets (issue 13): met or not, per model."""
    scenes = [s for s in TARGETS if s in report["scenes"]]
    if not scenes:
        return []
    per_seed = report["devices_per_scene"] // len(report["seeds"])
    lines = [
        "",
        "## Targets, seed by seed",
        "",
        f"Devices alerted of {per_seed} per scene and seed (issue 13: party at most 5 %, quiet "
        f"home none, assault at least 95 % with a median time to alert of at most "
        f"{TARGET_SECONDS_TO_ALERT:g} s).",
        "",
        "| model | seed | " + " | ".join(scenes) + " | met |",
        "|---|---:|" + "---:|" * len(scenes) + "---|",
    ]
    for model, rows in report["models"].items():
        for index, seed in enumerate(report["seeds"]):
            cells, met = [], True
            for scene in scenes:
                replay = rows[scene]["per_seed"][index]
                share, seconds = replay["devices_alerted"], replay["median_s_to_alert"]
                bound, limit = TARGETS[scene]
                ok = share <= limit + 1e-9 if bound == "at most" else share >= limit - 1e-9
                if scene == "assault":
                    ok = ok and seconds is not None and seconds <= TARGET_SECONDS_TO_ALERT
                met = met and ok
                cells.append(f"{round(share * per_seed)} ({_seconds(seconds)})")
            lines.append(
                f"| {model} | {seed} | " + " | ".join(cells) + f" | {'yes' if met else 'no'} |"
            )
    return lines


def _sweep_lines(report: dict[str, Any]) -> list[str]:
    """The policy's evidence threshold swept: devices alerted (time to alert) per scene."""
    sweeps = {m: {sc: row.get("sweep", {}) for sc, row in scenes.items()}
              for m, scenes in report["models"].items()}  # fmt: skip
    thresholds = sorted({t for m in sweeps.values() for sw in m.values() for t in sw}, key=float)
    if not thresholds:
        return []
    scenes = report["scenes"]
    lines = [
        "",
        "## The decision policy's evidence threshold, swept",
        "",
        "Devices alerted (median time to alert) with every other setting at its default:",
        "",
        "| model | evidence threshold | " + " | ".join(scenes) + " |",
        "|---|---:|" + "---:|" * len(scenes),
    ]
    for model, by_scene in sweeps.items():
        for t in thresholds:
            cells = []
            for scene in scenes:
                r = by_scene[scene][t]
                of = report["devices_per_scene"]
                alerted = round(r["devices_alerted"] * of)
                cells.append(f"{alerted} of {of} ({_seconds(r['median_s_to_alert'])})")
            lines.append(f"| {model} | {t} | " + " | ".join(cells) + " |")
    return lines


def _shown(path: Path) -> str:
    """`path` relative to the working directory when it lies below it, so that a report names
    no checkout's absolute path."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="folder for scenes.md/.json")
    parser.add_argument("--models", default=",".join(MODEL_REGISTRY), help="models to measure")
    parser.add_argument("--scenes", default=",".join(SCENES), help="scenes to render")
    parser.add_argument("--devices", type=int, default=5, help="devices per scene")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per device")
    parser.add_argument(
        "--seeds", default="0", help="comma-separated scene seeds (nser up plays seed 0)"
    )
    parser.add_argument(
        "--evidence-thresholds",
        default="",
        help="also replay the policy with each of these evidence thresholds (comma-separated)",
    )
    parser.add_argument(
        "--checkpoints",
        type=Path,
        default=SHIPPED_DIR,
        help="folder of <task>-<model>.pt checkpoints",
    )
    parser.add_argument(
        "--real",
        type=Path,
        help="the real-audio corpus (nser corpus real): its cries, speech and laughs play in "
        "the scenes beside the synthetic events",
    )
    parser.add_argument(
        "--real-packages",
        default="",
        help="only these packages' clips (comma-separated), e.g. those a model never heard",
    )


def run(args: argparse.Namespace) -> int:
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODEL_REGISTRY]
    if not models or unknown:
        raise NserError(f"unknown models {unknown}; registered: {', '.join(MODEL_REGISTRY)}")
    scenes = [s.strip() for s in args.scenes.split(",") if s.strip()]
    if not scenes:
        raise NserError("--scenes needs at least one scene")
    for scene in scenes:
        scene_spec(scene)
    try:
        seeds = sorted({int(s) for s in args.seeds.split(",") if s.strip()})
    except ValueError:
        raise NserError(f"--seeds must be comma-separated integers, got {args.seeds!r}") from None
    if not seeds or min(seeds) < 0:
        raise NserError(f"--seeds needs at least one seed, none negative; got {args.seeds!r}")
    if args.devices < 1:
        raise NserError(f"--devices must be at least 1, got {args.devices}")
    if not args.duration >= 3:
        raise NserError(f"--duration must be at least 3 seconds, got {args.duration}")
    if not args.checkpoints.is_dir():
        raise NserError(f"checkpoint folder not found: {args.checkpoints}")
    missing = [
        str(shipped_checkpoint(task, m, args.checkpoints))
        for m in models
        for task in Task
        if not shipped_checkpoint(task, m, args.checkpoints).is_file()
    ]
    if missing:
        raise NserError(f"missing checkpoints: {', '.join(missing)}")
    try:
        sweep = tuple(float(t) for t in args.evidence_thresholds.split(",") if t.strip())
    except ValueError:
        raise NserError(
            "--evidence-thresholds must be comma-separated numbers, got "
            f"{args.evidence_thresholds!r}"
        ) from None
    if not all(math.isfinite(t) and t >= 0 for t in sweep):
        raise NserError(f"--evidence-thresholds must be >= 0, got {args.evidence_thresholds!r}")
    packages = [p.strip() for p in args.real_packages.split(",") if p.strip()] or None
    if packages is not None and args.real is None:
        raise NserError("--real-packages needs --real DIR")
    recorded = recorded_clips(args.real, packages) if args.real is not None else None
    report = measure(
        models, scenes, args.devices, args.duration, seeds, args.checkpoints, sweep, recorded
    )
    report["command"] = "nser scene-accuracy " + " ".join(sys.argv[2:])
    report["inputs"] = checkpoint_digests(args.checkpoints) | (
        input_digests([TABLE_PATH]) if args.real is not None else {}
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scenes.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "scenes.md").write_text(markdown(report))
    print(markdown(report))
    print(f"report written to {args.out / 'scenes.md'}")
    return 0
