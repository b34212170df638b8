"""`ClipRecord`, the one description of a labelled clip every loader returns, its CSV manifest,
the task labelling rule and the speaker-disjoint split.
"""

from __future__ import annotations

import csv
import hashlib
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from nser_shared.errors import DatasetError
from nser_shared.wire.labels import TASK_CLASSES, Task, Valence

MANIFEST_COLUMNS = (
    "clip_id",
    "path",
    "dataset",
    "speaker",
    "emotion",
    "valence",
    "is_scream",
    "sample_rate",
    "source",
)
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class ClipRecord:
    """One labelled audio clip on disk."""

    clip_id: str
    path: Path
    dataset: str  # "synthetic", "asvp-esd", "vivae"
    speaker: str  # speaker / actor id, unique within the data set
    emotion: str  # data-set specific emotion or vocalisation name
    valence: Valence
    is_scream: bool
    sample_rate: int  # of the file on disk (the front end resamples)
    # Where the recording comes from, when a data set has parts that must not share a split:
    # the Debian package of a real-corpus clip (data/real_corpus.py). Empty otherwise.
    source: str = ""


def task_label(record: ClipRecord, task: Task) -> int | None:
    """Class index of `record` for `task` (see TASK_CLASSES), or None if it takes no part.

    Detection uses every clip. Type uses clips with a positive or negative valence; for the
    synthetic corpus those are the screams, laughs and cries (synthetic.VOCAL_CLASSES), for
    VIVAE every clip (as in the paper).
    """
    if task is Task.DETECTION:
        return int(record.is_scream)
    if record.valence is Valence.NEUTRAL:
        return None
    return TASK_CLASSES[Task.TYPE].index(record.valence.value)


def task_records(records: Iterable[ClipRecord], task: Task) -> list[tuple[ClipRecord, int]]:
    return [(r, label) for r in records if (label := task_label(r, task)) is not None]


def write_manifest(path: Path, records: Sequence[ClipRecord]) -> None:
    """Write records as CSV, clip paths relative to the manifest's folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        for r in records:
            writer.writerow(
                {
                    "clip_id": r.clip_id,
                    "path": r.path.relative_to(path.parent).as_posix(),
                    "dataset": r.dataset,
                    "speaker": r.speaker,
                    "emotion": r.emotion,
                    "valence": r.valence.value,
                    "is_scream": int(r.is_scream),
                    "sample_rate": r.sample_rate,
                    "source": r.source,
                }
            )


def read_manifest(path: Path) -> list[ClipRecord]:
    """Read a manifest written by `write_manifest`; every bad row is reported by line number."""
    if not path.is_file():
        raise DatasetError(f"manifest not found: {path}")
    records: list[ClipRecord] = []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = set(MANIFEST_COLUMNS) - {"source"} - set(reader.fieldnames or ())
        if missing:
            raise DatasetError(f"{path}: missing columns {sorted(missing)}")
        for line, row in enumerate(reader, start=2):
            try:
                record = ClipRecord(
                    clip_id=row["clip_id"],
                    path=path.parent / row["path"],
                    dataset=row["dataset"],
                    speaker=row["speaker"],
                    emotion=row["emotion"],
                    valence=Valence(row["valence"]),
                    is_scream=_parse_bool(row["is_scream"]),
                    sample_rate=int(row["sample_rate"]),
                    source=row.get("source") or "",
                )
            except (ValueError, KeyError) as exc:
                raise DatasetError(f"{path}:{line}: bad row: {exc}") from exc
            records.append(record)
    if not records:
        raise DatasetError(f"{path}: manifest has no clips")
    return records


def _parse_bool(value: str) -> bool:
    if value in ("1", "true", "True"):
        return True
    if value in ("0", "false", "False"):
        return False
    raise ValueError(f"is_scream must be 0 or 1, got {value!r}")


def split_by_speaker(
    records: Sequence[ClipRecord],
    fractions: tuple[float, float, float] = (0.7, 0.1, 0.2),
    seed: int = 0,
) -> dict[str, list[ClipRecord]]:
    """Split into train / val / test so that no speaker appears in two splits.

    Speakers are shuffled with `seed` and dealt out by their share of clips, so each split gets
    about its fraction of clips. Each split gets at least one speaker.
    """
    speakers = sorted({r.speaker for r in records})
    if len(speakers) < len(SPLITS):
        raise DatasetError(
            f"a speaker-disjoint split needs {len(SPLITS)} speakers, got {len(speakers)}"
        )
    random.Random(seed).shuffle(speakers)
    counts = {s: 0 for s in speakers}
    for r in records:
        counts[r.speaker] += 1
    total = len(records)
    # Test first, then val: the held-out splits get whole speakers closest to their share.
    assignment: dict[str, str] = {}
    remaining = list(speakers)
    for split, fraction in (("test", fractions[2]), ("val", fractions[1])):
        taken = 0
        while remaining and (taken == 0 or taken + counts[remaining[0]] / 2 <= fraction * total):
            if len(remaining) <= 1:
                break
            speaker = remaining.pop(0)
            assignment[speaker] = split
            taken += counts[speaker]
    for speaker in remaining:
        assignment[speaker] = "train"
    splits: dict[str, list[ClipRecord]] = {s: [] for s in SPLITS}
    for r in records:
        splits[assignment[r.speaker]].append(r)
    if not splits["train"]:
        raise DatasetError("split left no speakers for training")
    return splits


def fingerprint(records: Iterable[ClipRecord]) -> str:
    """Hash of the clip list and labels (not the audio bytes): identifies a training set."""
    digest = hashlib.sha256()
    for r in sorted(records, key=lambda r: r.clip_id):
        values = [
            str(getattr(r, f.name))
            for f in fields(r)
            if f.name != "path" and not (f.name == "source" and not r.source)  # as before it
        ]
        digest.update("|".join(values).encode())
    return digest.hexdigest()[:16]
