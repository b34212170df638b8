"""`nser corpus`: write the synthetic vocalisation corpus (clips, manifest.csv, DEMAND-layout
noise) to a directory.

    nser corpus --out data/synthetic            # 48 speakers x 40 clips, 60 s of each noise
    nser corpus --out /tmp/tiny --speakers 3 --clips-per-speaker 12 --noise-seconds 5
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from nser_models.data.clips import ClipRecord
from nser_models.data.demand import PAPER_NOISE_ENVIRONMENTS
from nser_models.data.synthetic import (
    DEFAULT_CORPUS,
    MANIFEST_NAME,
    CorpusConfig,
    generate_corpus,
    noise_path,
)
from nser_shared.errors import DatasetError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="directory to write into")
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_CORPUS.seed, help="(default: %(default)s)"
    )
    parser.add_argument(
        "--speakers", type=int, default=DEFAULT_CORPUS.speakers, help="(default: %(default)s)"
    )
    parser.add_argument(
        "--clips-per-speaker",
        type=int,
        default=DEFAULT_CORPUS.clips_per_speaker,
        help="half screams, half non-screams; at least one of each kind (default: %(default)s)",
    )
    parser.add_argument(
        "--noise-seconds",
        type=float,
        default=DEFAULT_CORPUS.noise_seconds,
        help="length of each noise track (default: %(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="processes to use; changes only the time taken (default: one per core)",
    )
    parser.add_argument(
        "--force", action="store_true", help="write into a directory that is not empty"
    )


def run(args: argparse.Namespace) -> int:
    if args.workers < 0:
        raise DatasetError(f"--workers must be >= 0, got {args.workers}")
    config = CorpusConfig(
        seed=args.seed,
        speakers=args.speakers,
        clips_per_speaker=args.clips_per_speaker,
        noise_seconds=args.noise_seconds,
    )  # validates the sizes
    out: Path = args.out
    _check_target(out, args.force)
    started = time.perf_counter()
    records = generate_corpus(out, config, workers=args.workers or None)
    print(summary(out, records, time.perf_counter() - started))
    return 0


def _check_target(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise DatasetError(f"{out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise DatasetError(
            f"{out} is not empty; choose another --out or pass --force to write into it "
            "(files from an earlier corpus that the new manifest does not list are left alone)"
        )


def summary(out: Path, records: list[ClipRecord], seconds: float) -> str:
    speakers = len({r.speaker for r in records})
    lines = [
        f"wrote {len(records)} clips from {speakers} speakers to {out} in {seconds:.1f} s",
        f"  manifest: {out / MANIFEST_NAME}",
        "  emotion:     " + _counts(r.emotion for r in records),
        "  valence:     " + _counts(r.valence.value for r in records),
        "  scream:      " + _counts("scream" if r.is_scream else "non_scream" for r in records),
        "  sample rate: " + _counts(str(r.sample_rate) for r in records),
        "  noise:       "
        + ", ".join(
            f"{category} -> {noise_path(out, env).relative_to(out)}"
            for category, env in PAPER_NOISE_ENVIRONMENTS.items()
        ),
    ]
    return "\n".join(lines)


def _counts(values: Iterable[str]) -> str:
    counts = Counter(values)
    return ", ".join(f"{name} {count}" for name, count in counts.items())
