"""ASVP-ESD (Landry et al. 2020): `Audio/actor_<n>/*.wav`, names of dash-separated numeric codes.

`03-01-06-01-02-12-02-01-01-16.wav` reads: 0 modality (03 audio), 1 vocal channel (01 speech,
02 non-speech), 2 emotion (`ASVP_EMOTIONS`), 3 intensity, 4 statement, 5 actor, 6 age, 7 source,
8 language (missing in some releases, so 9 or 10 fields), last a sound sub-code (`SOUND_CODES`).

Field meanings vary between releases, so what counts as a scream is decided in one place only:
`ScreamRule`, passed to `load_asvp_esd`.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from nser_models.data.clips import ClipRecord
from nser_shared.errors import DatasetError
from nser_shared.frontend.audio import audio_sample_rate
from nser_shared.wire.labels import Valence

log = logging.getLogger(__name__)

ASVP_DATASET = "asvp-esd"

# Emotion code (field 2) -> (name, valence): the one valence table for ASVP-ESD.
ASVP_EMOTIONS: dict[int, tuple[str, Valence]] = {
    1: ("boredom", Valence.NEUTRAL),  # also sighs
    2: ("neutral", Valence.NEUTRAL),
    3: ("happy", Valence.POSITIVE),  # also laughs
    4: ("sad", Valence.NEGATIVE),  # also cries
    5: ("angry", Valence.NEGATIVE),
    6: ("fear", Valence.NEGATIVE),  # also screams and panic
    7: ("disgust", Valence.NEGATIVE),
    8: ("surprise", Valence.POSITIVE),
    9: ("excited", Valence.POSITIVE),
    10: ("pleasure", Valence.POSITIVE),
    11: ("pain", Valence.NEGATIVE),
    12: ("disappointment", Valence.NEGATIVE),
    13: ("breath", Valence.NEUTRAL),
}

# Sound sub-codes (last field) that the releases document; others occur and are kept.
SOUND_CODES: dict[int, str] = {
    13: "laugh",
    14: "cry",
    16: "scream",
    36: "panic",
    66: "mixed voices",
    77: "noisy",
}
SCREAM_SOUND_CODES = frozenset({16, 36})
NOISY_SOUND_CODES = frozenset({66, 77})

SPEECH_CHANNEL = 1
_FIELD_COUNTS = (9, 10)  # with and without the language field
_NAME = re.compile(r"^\d+(?:-\d+)+\.wav$", re.ASCII | re.IGNORECASE)
_ACTOR_DIR = re.compile(r"^actor_(\d+)$", re.ASCII | re.IGNORECASE)


@dataclass(frozen=True)
class AsvpName:
    """The numeric fields of one ASVP-ESD file name."""

    codes: tuple[int, ...]

    @property
    def vocal_channel(self) -> int:
        return self.codes[1]

    @property
    def emotion(self) -> int:
        return self.codes[2]

    @property
    def actor(self) -> int:
        return self.codes[5]

    @property
    def sound(self) -> int:
        return self.codes[-1]


@dataclass(frozen=True)
class ScreamRule:
    """What counts as a scream in ASVP-ESD, and which clips are left out: the one place.

    A loaded clip is a scream when its sound sub-code (last field) is in `sound_codes` or its
    emotion code (field 2) is in `emotion_codes`. The default follows the data set's own scream
    (16) and panic (36) sub-codes. `emotion_codes={6}` would also count every fear clip.

    Clips whose sub-code is in `drop_sound_codes` (e.g. `NOISY_SOUND_CODES`: noisy 77, mixed
    voices 66) are not loaded at all, as either class: their label is not trustworthy.
    """

    sound_codes: frozenset[int] = SCREAM_SOUND_CODES
    emotion_codes: frozenset[int] = frozenset()
    drop_sound_codes: frozenset[int] = frozenset()

    def keeps(self, name: AsvpName) -> bool:
        return name.sound not in self.drop_sound_codes

    def is_scream(self, name: AsvpName) -> bool:
        return name.sound in self.sound_codes or name.emotion in self.emotion_codes


def parse_asvp_name(filename: str) -> AsvpName | None:
    """Fields of an ASVP-ESD file name, or None if it is not one (wrong shape, unknown emotion)."""
    if not _NAME.match(filename):
        return None
    codes = tuple(int(part) for part in filename.rsplit(".", 1)[0].split("-"))
    if len(codes) not in _FIELD_COUNTS or codes[2] not in ASVP_EMOTIONS:
        return None
    return AsvpName(codes)


def load_asvp_esd(
    root: Path, rule: ScreamRule = ScreamRule(), *, include_speech: bool = True
) -> list[ClipRecord]:
    """Every clip under `root` as a `ClipRecord`, labelled by `rule`, sorted by clip id.

    `root` may be the release folder, its `Audio` folder or anything above them: every
    `actor_<n>` folder below it is read (its `*.wav` children only). The speaker is the actor
    folder (`asvp-actor_12`). `include_speech=False` keeps only non-speech clips (channel 02).

    Files whose names do not parse, and copies of a clip already seen in another release
    folder, are skipped and counted in the log. Raises DatasetError if `root` is missing, holds
    no actor folders, or yields no clips.
    """
    if not root.is_dir():
        raise DatasetError(f"ASVP-ESD folder not found: {root}")
    actor_dirs = _actor_dirs(root)
    if not actor_dirs:
        raise DatasetError(f"no actor_<n> folders under {root}; is it the ASVP-ESD release?")
    records: dict[str, ClipRecord] = {}
    unparsed: list[str] = []
    dropped = duplicates = 0
    for actor_dir, actor in actor_dirs:
        speaker = f"asvp-actor_{actor:02d}"
        for path in _wav_files(actor_dir):
            name = parse_asvp_name(path.name)
            if name is None:
                unparsed.append(path.name)
                continue
            if not rule.keeps(name) or (
                not include_speech and name.vocal_channel == SPEECH_CHANNEL
            ):
                dropped += 1
                continue
            clip_id = f"{ASVP_DATASET}/{speaker}/{path.stem}"
            if clip_id in records:
                duplicates += 1
                continue
            emotion, valence = ASVP_EMOTIONS[name.emotion]
            records[clip_id] = ClipRecord(
                clip_id=clip_id,
                path=path,
                dataset=ASVP_DATASET,
                speaker=speaker,
                emotion=emotion,
                valence=valence,
                is_scream=rule.is_scream(name),
                sample_rate=audio_sample_rate(path),
            )
    _log_skipped(root, unparsed, dropped, duplicates)
    if not records:
        raise DatasetError(f"no usable ASVP-ESD clips under {root} ({len(unparsed)} unparsed)")
    return [records[key] for key in sorted(records)]


def _actor_dirs(root: Path) -> list[tuple[Path, int]]:
    found = []
    for path in [root, *root.rglob("*")]:
        match = _ACTOR_DIR.match(path.name)
        if match and path.is_dir():
            found.append((path, int(match.group(1))))
    return sorted(found)


def _wav_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() == ".wav" and p.is_file())


def _log_skipped(root: Path, unparsed: Sequence[str], dropped: int, duplicates: int) -> None:
    if unparsed:
        log.warning(
            "ASVP-ESD %s: skipped %d files whose names do not parse (e.g. %s)",
            root,
            len(unparsed),
            ", ".join(unparsed[:3]),
        )
    if dropped:
        log.info("ASVP-ESD %s: left out %d clips (scream rule, channel filter)", root, dropped)
    if duplicates:
        log.info("ASVP-ESD %s: skipped %d duplicate copies of clips", root, duplicates)


def balance_detection(records: Iterable[ClipRecord], seed: int = 0) -> list[ClipRecord]:
    """The paper's detection set: every scream plus as many randomly chosen non-screams.

    If screams are the larger class (not so in ASVP-ESD) the screams are sampled instead, so
    the classes are always equal. The choice depends on `seed` and the clip ids only, not on the
    order of `records`; the result keeps the input order. Raises DatasetError if a class is
    empty.
    """
    records = list(records)
    screams = sorted((r for r in records if r.is_scream), key=lambda r: r.clip_id)
    others = sorted((r for r in records if not r.is_scream), key=lambda r: r.clip_id)
    if not screams or not others:
        raise DatasetError(
            f"cannot balance detection: {len(screams)} screams, {len(others)} non-screams"
        )
    n = min(len(screams), len(others))
    rng = random.Random(seed)
    chosen = [*rng.sample(screams, n), *rng.sample(others, n)]
    chosen_ids = {r.clip_id for r in chosen}
    return [r for r in records if r.clip_id in chosen_ids]
