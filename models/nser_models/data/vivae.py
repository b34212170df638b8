"""VIVAE (Holz et al. 2022): non-speech vocalisations, `full_set/` (1,085 files) and `core_set/`
(a 480-file subset), named `S01_achievement_low_01.wav`, 44.1 kHz.

Every VIVAE clip is an intense non-speech vocalisation, and the paper uses all of them for the
positive-vs-negative type task, which runs only on audio already detected as a scream. So every
VIVAE record has `is_scream=True`: the type task assumes a detected scream. (VIVAE therefore
has no negatives for the detection task; detection is trained on ASVP-ESD.)
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from nser_models.data.clips import ClipRecord
from nser_shared.errors import DatasetError
from nser_shared.frontend.audio import audio_sample_rate
from nser_shared.wire.labels import Valence

log = logging.getLogger(__name__)

VIVAE_DATASET = "vivae"
VIVAE_SUBSETS = ("full_set", "core_set")
VIVAE_NAME = re.compile(
    r"^(S\d{2})_(achievement|anger|fear|pain|pleasure|surprise)"
    r"_(low|moderate|strong|peak)_(\d+)\.wav$"
)
# Emotion -> valence: the one valence table for VIVAE.
VIVAE_VALENCE: dict[str, Valence] = {
    "achievement": Valence.POSITIVE,
    "pleasure": Valence.POSITIVE,
    "surprise": Valence.POSITIVE,
    "anger": Valence.NEGATIVE,
    "fear": Valence.NEGATIVE,
    "pain": Valence.NEGATIVE,
}


def load_vivae(root: Path, subset: str = "full_set") -> list[ClipRecord]:
    """Every clip of a VIVAE subset as a `ClipRecord` (`is_scream=True`), sorted by clip id.

    `root` is the data set folder (the `subset` folder is read, found below it if nested) or a
    folder of the wav files themselves. The speaker is the `S01` field (`vivae-S01`). Files
    that do not match the naming pattern are skipped and counted in the log. Raises
    DatasetError if the folder is missing or yields no clips.
    """
    if subset not in VIVAE_SUBSETS:
        raise DatasetError(f"unknown VIVAE subset {subset!r}; choose one of {VIVAE_SUBSETS}")
    folder = _subset_folder(root, subset)
    records: list[ClipRecord] = []
    skipped: list[str] = []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        match = VIVAE_NAME.match(path.name)
        if match is None:
            skipped.append(path.name)
            continue
        speaker, emotion = match.group(1), match.group(2)
        records.append(
            ClipRecord(
                clip_id=f"{VIVAE_DATASET}/{path.stem}",
                path=path,
                dataset=VIVAE_DATASET,
                speaker=f"{VIVAE_DATASET}-{speaker}",
                emotion=emotion,
                valence=VIVAE_VALENCE[emotion],
                is_scream=True,
                sample_rate=audio_sample_rate(path),
            )
        )
    if skipped:
        log.warning(
            "VIVAE %s: skipped %d files whose names do not match (e.g. %s)",
            folder,
            len(skipped),
            ", ".join(skipped[:3]),
        )
    if not records:
        raise DatasetError(f"no VIVAE clips in {folder} ({len(skipped)} files did not match)")
    return records


def _subset_folder(root: Path, subset: str) -> Path:
    """The folder holding `subset`'s wav files: `root/subset`, one nested `subset` folder, or
    `root` itself when it holds wav files (but not when it is the other subset's folder)."""
    if not root.is_dir():
        raise DatasetError(f"VIVAE folder not found: {root}")
    if (root / subset).is_dir():
        return root / subset
    if root.name in VIVAE_SUBSETS:
        if root.name != subset:
            raise DatasetError(f"{root} is the VIVAE {root.name}, but {subset} was asked for")
        return root
    nested = sorted(p for p in root.rglob(subset) if p.is_dir())
    if len(nested) == 1:
        return nested[0]
    if len(nested) > 1:
        raise DatasetError(f"several VIVAE {subset} folders under {root}: {nested}")
    if any(p.suffix.lower() == ".wav" for p in root.iterdir()):
        return root
    raise DatasetError(f"no VIVAE {subset} folder or wav files under {root}")
