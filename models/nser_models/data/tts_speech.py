"""Synthetic speech from espeak-ng (Debian): extra negatives for training on real audio.

    nser corpus tts --out data/tts                # 400 clips, about a second each
    nser train-real ... --tts data/tts            # they join every fold's training windows

The real corpus's speech is a few announcers and unit voices; a detector trained on it still
calls many shouted callouts screams (the shipped pooled student gave P(scream) >= 0.5 to 59 of
280 espeak-ng callouts). espeak-ng speaks a fixed list of short phrases, callouts and everyday
lines in six languages, in its voice variants at random pitch, speed and loudness:
many more voices than the corpus's speakers, none of them a scream. The issue allows Debian's
speech synthesisers as extra negatives. They train only: every held-out clip stays a
recording (train_real.py adds them to the training part of each fold, never to its
validation speakers or its held-out packages).

Each clip is written at the front end's 16 kHz as 16-bit WAV with a `manifest.csv`
(dataset `tts`, class speech, valence neutral, speaker `espeak-ng/<language>+<variant>`,
source `espeak-ng`). The same `--clips` and `--seed` write the same clips.
"""

from __future__ import annotations

import logging
import random
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile
import torch
import torchaudio

from nser_models.data.clips import ClipRecord, read_manifest, write_manifest
from nser_shared.errors import DatasetError
from nser_shared.wire.labels import Valence

log = logging.getLogger(__name__)

DATASET = "tts"
SOURCE = "espeak-ng"
EMOTION = "speech:tts"  # real_corpus.sound_class_of reads the class before the colon
MANIFEST_NAME = "manifest.csv"
SAMPLE_RATE = 16_000
DEFAULT_CLIPS = 400

# Short lines a device may hear spoken, shouted or called across a room: what a scream
# detector must not take for a scream.
PHRASES: dict[str, tuple[str, ...]] = {
    "en": (
        "watch out",
        "go go go",
        "over here",
        "come on, hurry up",
        "get down",
        "let's move",
        "hey, wait for me",
        "stop right there",
        "what are you doing",
        "no way",
        "hello, can you hear me",
        "dinner is ready",
        "I'm coming",
        "turn it off",
        "where are my keys",
        "good morning everyone",
        "one, two, three",
        "look at that",
        "are you kidding me",
        "that was close",
    ),
    "de": ("pass auf", "komm schon", "los, los", "hier drüben", "was machst du da"),
    "fr": ("attention", "allez, vite", "par ici", "qu'est-ce que tu fais", "arrête"),
    "es": ("cuidado", "vamos, vamos", "por aquí", "qué estás haciendo", "espera"),
    "it": ("attenzione", "andiamo", "qui, presto", "che cosa fai", "fermati"),
    "pt": ("cuidado", "vamos embora", "aqui", "o que você está fazendo", "espera aí"),
}
VARIANTS = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5",
    "croak", "klatt", "klatt2", "klatt3", "whisperf", "adam", "Alex", "Alicia", "Andrea",
    "Andy", "Annie", "aunty", "belinda", "benjamin", "boris", "caleb", "david", "ed",
    "edward", "Gene", "grandma", "grandpa", "gustave", "linda", "max", "Michael", "Mike",
    "norbert", "pablo", "paul", "quincy", "rob", "robert", "shelby", "steph", "travis",
    "victor", "zac",
)  # fmt: skip
PITCH = (10, 99)  # espeak-ng -p, 0-99
SPEED = (110, 260)  # -s, words per minute
AMPLITUDE = (80, 200)  # -a, 0-200


def espeak_ng() -> str:
    path = shutil.which("espeak-ng")
    if path is None:
        raise DatasetError(
            "espeak-ng is not installed: `apt-get install espeak-ng` "
            "(scripts/system_packages.sh installs it)"
        )
    return path


def speak(text: str, voice: str, pitch: int, speed: int, amplitude: int) -> np.ndarray:
    """One line spoken by espeak-ng, as mono float32 at 16 kHz."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "line.wav"
        command = [
            espeak_ng(), "-v", voice, "-p", str(pitch),
            "-s", str(speed), "-a", str(amplitude), "-w", str(wav), text,
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not wav.is_file():
            raise DatasetError(f"espeak-ng failed on {voice!r} {text!r}: {done.stderr.strip()}")
        audio, rate = soundfile.read(wav, dtype="float32", always_2d=True)
    mono = torch.from_numpy(audio.mean(axis=1))
    if rate != SAMPLE_RATE:
        mono = torchaudio.functional.resample(mono, rate, SAMPLE_RATE)
    out: np.ndarray = mono.numpy().astype(np.float32)
    return out


def build_tts_corpus(out: Path, clips: int = DEFAULT_CLIPS, seed: int = 0) -> list[ClipRecord]:
    """Write `clips` spoken lines and their manifest into `out`; their records."""
    if clips < 1:
        raise DatasetError("--clips must be at least 1")
    rng = random.Random(seed)
    lines = [(language, text) for language, texts in PHRASES.items() for text in texts]
    (out / "clips").mkdir(parents=True, exist_ok=True)
    records = []
    for index in range(clips):
        language, text = lines[index % len(lines)]
        variant = rng.choice(VARIANTS)
        voice = f"{language}+{variant}"
        audio = speak(
            text,
            voice,
            rng.randint(*PITCH),
            rng.randint(*SPEED),
            rng.randint(*AMPLITUDE),
        )
        peak = float(np.abs(audio).max(initial=0.0))
        if peak > 1.0:
            audio /= peak
        clip_id = f"tts-{index:04d}"
        path = out / "clips" / f"{clip_id}.wav"
        soundfile.write(path, audio, SAMPLE_RATE, subtype="PCM_16")
        records.append(
            ClipRecord(
                clip_id=clip_id,
                path=path,
                dataset=DATASET,
                speaker=f"{SOURCE}/{voice}",
                emotion=EMOTION,
                valence=Valence.NEUTRAL,
                is_scream=False,
                sample_rate=SAMPLE_RATE,
                source=SOURCE,
            )
        )
    write_manifest(out / MANIFEST_NAME, records)
    log.info("wrote %d espeak-ng clips into %s", len(records), out)
    return records


def load_tts(path: Path) -> list[ClipRecord]:
    """Records of a corpus written by `build_tts_corpus` (the folder or its manifest)."""
    records = read_manifest(path / MANIFEST_NAME if path.is_dir() else path)
    bad = [r.clip_id for r in records if r.dataset != DATASET or r.is_scream]
    if bad:
        raise DatasetError(
            f"{path}: not an espeak-ng speech corpus ({bad[0]} is not one of its clips)"
        )
    if not records:
        raise DatasetError(f"{path}: the espeak-ng corpus is empty")
    return records
