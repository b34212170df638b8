"""`nser corpus`: write a corpus to a directory.

    nser corpus --out data/synthetic            # synthetic vocalisations: 48 speakers x 40 clips
    nser corpus --out /tmp/tiny --speakers 3 --clips-per-speaker 12 --noise-seconds 5
    nser corpus real --out data/real            # real recordings from Debian packages
    nser corpus real --out data/real --debs ~/debs --packages warmux-data,redeclipse-data
    nser corpus tts --out data/tts              # espeak-ng speech: training negatives

`synthetic` (the default) writes clips, manifest.csv and DEMAND-layout noise; `real` builds the
real-audio corpus from the committed clip table (data/real_corpus.py); `tts` has espeak-ng speak
short lines (data/tts_speech.py).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from nser_models.data import real_corpus, tts_speech
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
    parser.add_argument(
        "kind",
        nargs="?",
        choices=("synthetic", "real", "tts"),
        default="synthetic",
        help="which corpus (default: %(default)s)",
    )
    parser.add_argument("--out", type=Path, help="directory to write into")
    real = parser.add_argument_group("real corpus")
    real.add_argument(
        "--debs",
        type=Path,
        help="folder of the packages' .deb files; missing ones are fetched into it with "
        "`apt-get download` (default: OUT/.debs)",
    )
    real.add_argument(
        "--packages", help="comma-separated packages to take (default: every package)"
    )
    real.add_argument(
        "--write-table",
        action="store_true",
        help="maintainers: relabel every file from the rules of data/real_families.py and "
        f"rewrite {real_corpus.TABLE_PATH.name}, instead of building",
    )
    real.add_argument("--keep-unpacked", action="store_true", help="keep OUT/.unpacked")
    parser.add_argument_group("tts corpus").add_argument(
        "--clips",
        type=int,
        default=tts_speech.DEFAULT_CLIPS,
        help="spoken lines to write (default: %(default)s; --seed picks their voices)",
    )
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
    if args.kind == "real":
        return run_real(args)
    if args.kind == "tts":
        return run_tts(args)
    if args.out is None:
        raise DatasetError("--out is required")
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


def run_real(args: argparse.Namespace) -> int:
    packages = [p.strip() for p in args.packages.split(",") if p.strip()] if args.packages else None
    started = time.perf_counter()
    if args.write_table:
        if args.debs is None:
            raise DatasetError("--write-table needs --debs DIR (and unpacks into DIR/unpacked)")
        rows = real_corpus.relabel(args.debs, args.debs / "unpacked", packages)
        if packages is not None:  # the other packages' rows stay as they are
            rows += [r for r in real_corpus.read_table() if r.package not in set(packages)]
        real_corpus.write_table(rows)
        print(f"wrote {len(rows)} rows to {real_corpus.TABLE_PATH}")
        return 0
    if args.out is None:
        raise DatasetError("--out is required")
    out: Path = args.out
    _check_target(out, args.force, allowed={".debs"})
    report = real_corpus.build_corpus(out, args.debs or out / ".debs", packages=packages)
    records = report.records
    print(
        f"wrote {len(records)} clips from {len({r.source for r in records})} packages to {out} "
        f"in {time.perf_counter() - started:.1f} s\n"
        f"  manifest: {out / real_corpus.MANIFEST_NAME}\n"
        "  class:   " + _counts(real_corpus.sound_class_of(r).value for r in records) + "\n"
        "  valence: " + _counts(r.valence.value for r in records) + "\n"
        "  package: " + _counts(r.source for r in records)
    )
    if report.changed:
        print(
            f"  skipped {len(report.changed)} clips whose bytes differ from the table "
            f"(another package version?): {', '.join(report.changed[:5])}"
        )
    return 0


def run_tts(args: argparse.Namespace) -> int:
    if args.out is None:
        raise DatasetError("--out is required")
    out: Path = args.out
    _check_target(out, args.force)
    started = time.perf_counter()
    records = tts_speech.build_tts_corpus(out, args.clips, args.seed)
    print(
        f"wrote {len(records)} espeak-ng clips in {len({r.speaker for r in records})} voices "
        f"to {out} in {time.perf_counter() - started:.1f} s\n"
        f"  manifest: {out / tts_speech.MANIFEST_NAME}"
    )
    return 0


def _check_target(out: Path, force: bool, allowed: frozenset[str] | set[str] = frozenset()) -> None:
    if out.exists() and not out.is_dir():
        raise DatasetError(f"{out} exists and is not a directory")
    if out.is_dir() and any(p.name not in allowed for p in out.iterdir()) and not force:
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
