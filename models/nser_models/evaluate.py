"""`nser evaluate`: the paper's tables and figures for trained checkpoints on any data source.

    nser evaluate --data synthetic:data/corpus --out docs/evaluation

For every task with checkpoints: Table I (clean accuracy and macro-F1 on held-out speakers),
Table II (noise mixed into the test split only, at each SNR, a random category per clip),
Table III (per noise category), Table IV (parameters and sizes), the Fig. 9 equivalent (load
time and batch-1 forward latency on this CPU) and Fig. 7 (t-SNE of raw mels and of the teacher's
and student's penultimate embeddings). Writes report.json, report.md and PNG figures.

Why one module: every table shares one pass over the test data and one set of loaded checkpoints;
report.py renders what it measures.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchaudio
import torchvision

from nser_models.architectures import MODEL_REGISTRY, Classifier
from nser_models.checkpoint import SHIPPED_DIR, Checkpoint, load_checkpoint, shipped_checkpoint
from nser_models.data.clips import ClipRecord
from nser_models.data.demand import load_demand_noise
from nser_models.data.mixtures import mix_at_snr
from nser_models.data.sources import load_source
from nser_models.metrics import classification_metrics, predict_embeddings, predict_logits
from nser_models.report import write_report
from nser_models.summary import model_table
from nser_models.task_data import TaskData, prepare_task_data
from nser_shared.errors import DatasetError, NserError
from nser_shared.frontend.audio import read_audio
from nser_shared.frontend.features import FeatureConfig, MelFrontEnd
from nser_shared.provenance import checkpoint_digests
from nser_shared.wire.labels import TASK_CLASSES, Task

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvalConfig:
    snrs: tuple[float, ...] = (10.0, 5.0, 0.0)
    seed: int = 0
    latency_runs: int = 300
    latency_warmup: int = 30
    load_runs: int = 7
    tsne: bool = True


def evaluate(
    data_spec: str,
    checkpoint_dir: Path,
    out_dir: Path,
    noise_root: Path | None,
    config: EvalConfig,
    real_audio: dict[str, Any] | None = None,
) -> dict[str, Any]:
    records = load_source(data_spec)
    report: dict[str, Any] = {
        "context": _context(data_spec, checkpoint_dir, noise_root, config),
        "tasks": {},
    }
    noise = _load_noise(noise_root) if noise_root is not None else None
    for task in Task:
        checkpoints = _task_checkpoints(checkpoint_dir, task)
        if not checkpoints:
            log.warning("no checkpoints for task %s in %s", task.value, checkpoint_dir)
            continue
        report["tasks"][task.value] = _evaluate_task(task, records, checkpoints, noise, config)
    if not report["tasks"]:
        raise NserError(f"no checkpoints found in {checkpoint_dir}")
    report["models"] = model_table()
    report["latency"] = _latency(checkpoint_dir, records, config)
    if real_audio is not None:
        report["real_audio"] = real_audio
    out_dir.mkdir(parents=True, exist_ok=True)
    write_report(report, out_dir)
    return report


def _task_checkpoints(directory: Path, task: Task) -> dict[str, Checkpoint]:
    found = {}
    for name in MODEL_REGISTRY:
        path = shipped_checkpoint(task, name, directory)
        if path.is_file():
            found[name] = load_checkpoint(path)
    return found


def _evaluate_task(
    task: Task,
    records: list[ClipRecord],
    checkpoints: dict[str, Checkpoint],
    noise: dict[str, torch.Tensor] | None,
    config: EvalConfig,
) -> dict[str, Any]:
    first = next(iter(checkpoints.values()))
    split_seed = int(first.train_config.get("split_seed", 0))
    data = prepare_task_data(records, task, first.feature_config, split_seed=split_seed)
    n_classes = len(TASK_CLASSES[task])
    models = {name: ckpt.build() for name, ckpt in checkpoints.items()}
    result: dict[str, Any] = {
        "classes": list(TASK_CLASSES[task]),
        "data": {
            "fingerprint": data.fingerprint,
            "trained_on_this_data": {
                name: ckpt.dataset_fingerprint == data.fingerprint
                for name, ckpt in checkpoints.items()
            },
            "sizes": {"train": len(data.train), "val": len(data.val), "test": len(data.test)},
            "test_speakers": data.speakers["test"],
            "test_class_counts": torch.bincount(data.test.labels, minlength=n_classes).tolist(),
        },
        "clean": {
            name: classification_metrics(
                predict_logits(m, data.test.features), data.test.labels, n_classes
            )
            for name, m in models.items()
        },
    }
    result["linear_reference"] = _linear_reference(data)
    log.info("%s clean: %s", task.value, {n: r["accuracy"] for n, r in result["clean"].items()})
    if noise is not None:
        result["noisy"], result["per_noise"] = _noisy(
            data, first.feature_config, models, noise, config
        )
    if config.tsne:
        result["tsne"] = _tsne(data, models)
    return result


def _linear_reference(data: TaskData) -> dict[str, Any]:
    """How hard the task is without a CNN: logistic regression on per-band mel mean and std."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def summary(features: torch.Tensor) -> np.ndarray:
        mel = features[:, 0]  # (N, n_mels, frames)
        return torch.cat([mel.mean(dim=2), mel.std(dim=2)], dim=1).numpy()

    train = torch.cat([data.train.features, data.val.features])
    labels = torch.cat([data.train.labels, data.val.labels]).numpy()
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=3000))
    probe.fit(summary(train), labels)
    predicted = torch.from_numpy(probe.predict_proba(summary(data.test.features)))
    return classification_metrics(predicted, data.test.labels, len(TASK_CLASSES[data.task]))


def _load_noise(root: Path) -> dict[str, torch.Tensor]:
    """Noise tracks by category, resampled to the front end's rate."""
    tracks = {}
    for category, (waveform, rate) in load_demand_noise(root).items():
        tracks[category] = (
            torchaudio.functional.resample(waveform, rate, 16000) if rate != 16000 else waveform
        )
    return tracks


def _noisy(
    data: TaskData,
    features: FeatureConfig,
    models: dict[str, Classifier],
    noise: dict[str, torch.Tensor],
    config: EvalConfig,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Table II (a random category per clip) and Table III (each category), at every SNR."""
    if features.sample_rate != 16000:
        raise NserError("noise mixing assumes the front end's 16 kHz rate")
    front_end = MelFrontEnd(features)
    clean = [_clean_16k(front_end, r) for r in data.test.records]
    categories = sorted(noise)
    n_classes = len(TASK_CLASSES[data.task])
    rng = np.random.default_rng(config.seed)
    noisy: dict[str, Any] = {}
    per_noise: dict[str, Any] = {}
    for snr in config.snrs:
        by_category = {}
        for category in categories:
            generator = np.random.default_rng(
                [config.seed, int(snr * 10) + 1000, categories.index(category)]
            )
            with torch.inference_mode():
                by_category[category] = torch.stack(
                    [
                        front_end(mix_at_snr(wave, noise[category], snr, generator), 16000)
                        for wave in clean
                    ]
                )
        pick = rng.integers(0, len(categories), size=len(clean))
        mixed = torch.stack([by_category[categories[k]][i] for i, k in enumerate(pick)])
        key = f"{snr:g}"
        noisy[key] = {
            name: classification_metrics(predict_logits(m, mixed), data.test.labels, n_classes)
            for name, m in models.items()
        }
        per_noise[key] = {
            category: {
                name: classification_metrics(predict_logits(m, feats), data.test.labels, n_classes)
                for name, m in models.items()
            }
            for category, feats in by_category.items()
        }
        log.info(
            "%s SNR %s dB: %s",
            data.task.value,
            key,
            {n: r["accuracy"] for n, r in noisy[key].items()},
        )
    return noisy, per_noise


def _clean_16k(front_end: MelFrontEnd, record: ClipRecord) -> torch.Tensor:
    waveform, rate = read_audio(record.path)
    return front_end.resample(front_end.to_mono(waveform), rate)


def _tsne(data: TaskData, models: dict[str, Classifier]) -> dict[str, Any]:
    """2-D t-SNE points of raw mels and of teacher / student embeddings, with silhouettes."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from sklearn.metrics import silhouette_score

    labels = data.test.labels.numpy()
    spaces = {"raw mel": data.test.features.flatten(1).numpy()}
    for name in ("teacher", "student"):
        if name in models:
            spaces[name] = predict_embeddings(models[name], data.test.features).numpy()
    out: dict[str, Any] = {"labels": labels.tolist(), "spaces": {}}
    for name, x in spaces.items():
        reduced = PCA(n_components=min(50, *x.shape), random_state=0).fit_transform(x)
        points = TSNE(
            n_components=2, perplexity=min(30.0, (len(x) - 1) / 3), random_state=0, init="pca"
        ).fit_transform(reduced)
        out["spaces"][name] = {
            "points": np.round(points, 3).tolist(),
            "silhouette": round(float(silhouette_score(x, labels)), 3),
        }
    return out


def _latency(checkpoint_dir: Path, records: list[ClipRecord], config: EvalConfig) -> dict[str, Any]:
    """Fig. 9: checkpoint load time and batch-1 forward latency, medians after warm-up."""
    task = Task.DETECTION
    paths = {n: shipped_checkpoint(task, n, checkpoint_dir) for n in MODEL_REGISTRY}
    paths = {n: p for n, p in paths.items() if p.is_file()}
    if not paths:
        return {}
    x = _one_real_window(records, load_checkpoint(next(iter(paths.values()))).feature_config)
    threads_before = torch.get_num_threads()
    out: dict[str, Any] = {"task": task.value, "models": {}}
    try:
        for name, path in paths.items():
            load_ms = []
            for _ in range(config.load_runs):
                start = time.perf_counter()
                model = load_checkpoint(path).build()
                load_ms.append(1000 * (time.perf_counter() - start))
            row: dict[str, Any] = {"load_ms": _summary(load_ms)}
            for threads in sorted({1, os.cpu_count() or 1}):
                torch.set_num_threads(threads)
                row[f"forward_ms_{threads}_threads"] = _summary(_forward_times(model, x, config))
            out["models"][name] = row
            log.info("latency %s: %s", name, row)
    finally:
        torch.set_num_threads(threads_before)
    return out


def _one_real_window(records: list[ClipRecord], features: FeatureConfig) -> torch.Tensor:
    waveform, rate = read_audio(records[0].path)
    with torch.inference_mode():
        window: torch.Tensor = MelFrontEnd(features)(waveform, rate)
    return window.unsqueeze(0)  # (1, 1, 128, 188)


def _forward_times(model: torch.nn.Module, x: torch.Tensor, config: EvalConfig) -> list[float]:
    model.eval()
    times = []
    with torch.inference_mode():
        for i in range(config.latency_warmup + config.latency_runs):
            start = time.perf_counter()
            model(x)
            if i >= config.latency_warmup:
                times.append(1000 * (time.perf_counter() - start))
    return times


def _summary(values: list[float]) -> dict[str, float]:
    q = np.percentile(values, [10, 90])
    return {
        "median": round(statistics.median(values), 3),
        "p10": round(float(q[0]), 3),
        "p90": round(float(q[1]), 3),
        "runs": len(values),
    }


def _context(
    data_spec: str, checkpoint_dir: Path, noise_root: Path | None, config: EvalConfig
) -> dict[str, Any]:
    return {
        "command": "nser evaluate " + " ".join(sys.argv[2:])
        if sys.argv[1:2] == ["evaluate"]
        else "",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": data_spec,
        "checkpoints": str(checkpoint_dir),
        "inputs": checkpoint_digests(checkpoint_dir),
        "noise": str(noise_root) if noise_root else None,
        "machine": {
            "cpu": _cpu_model(),
            "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(),
        },
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "torchaudio": torchaudio.__version__,
            "torchvision": torchvision.__version__,
        },
        "config": asdict(config),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def default_noise_root(data_spec: str) -> Path | None:
    """A synthetic corpus carries its own DEMAND-like noise in <corpus>/noise."""
    kind, _, path = data_spec.partition(":")
    if kind == "synthetic" and (Path(path) / "noise").is_dir():
        return Path(path) / "noise"
    return None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = EvalConfig()
    parser.add_argument(
        "--data", required=True, help="data source: synthetic:DIR, asvp-esd:DIR or vivae:DIR"
    )
    parser.add_argument(
        "--checkpoints",
        type=Path,
        default=SHIPPED_DIR,
        help="folder of <task>-<model>.pt checkpoints (default: the shipped ones)",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for the report")
    parser.add_argument(
        "--noise",
        type=Path,
        help="DEMAND-layout noise folder (default: <corpus>/noise for synthetic data)",
    )
    parser.add_argument(
        "--snrs",
        default=",".join(f"{s:g}" for s in d.snrs),
        help="comma-separated SNRs in dB for the noisy tables",
    )
    parser.add_argument(
        "--latency-runs", type=int, default=d.latency_runs, help="load-time measurements per model"
    )
    parser.add_argument("--no-tsne", action="store_true", help="skip the t-SNE figure")
    parser.add_argument(
        "--real-cv",
        type=Path,
        help="real-audio.json of `nser train-real`: its package-disjoint tables join the report",
    )
    parser.add_argument(
        "--seed", type=int, default=d.seed, help="seed of the noise mixing and t-SNE"
    )


def run(args: argparse.Namespace) -> int:
    try:
        snrs = tuple(float(s) for s in args.snrs.split(",") if s.strip())
    except ValueError:
        raise NserError(f"--snrs must be comma-separated numbers, got {args.snrs!r}") from None
    if args.latency_runs < 1:
        raise NserError("--latency-runs must be at least 1")
    if not args.checkpoints.is_dir():
        raise NserError(f"checkpoint folder not found: {args.checkpoints}")
    noise_root = args.noise or default_noise_root(args.data)
    if args.noise is not None and not args.noise.is_dir():
        raise DatasetError(f"noise folder not found: {args.noise}")
    if noise_root is None:
        log.warning("no noise folder: skipping the noisy tables (pass --noise DIR)")
    config = EvalConfig(
        snrs=snrs, seed=args.seed, latency_runs=args.latency_runs, tsne=not args.no_tsne
    )
    real_audio = None
    if args.real_cv is not None:
        try:
            real_audio = json.loads(args.real_cv.read_text())
        except (OSError, ValueError) as exc:
            raise NserError(f"--real-cv {args.real_cv}: {exc}") from None
    evaluate(args.data, args.checkpoints, args.out, noise_root, config, real_audio)
    print(f"report written to {args.out / 'report.md'}")
    return 0
