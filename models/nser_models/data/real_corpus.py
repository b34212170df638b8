"""The real-audio corpus: recorded human cries, laughs, speech and ambience from Debian packages.

    nser corpus real --out data/real                  # fetch, verify, decode, write
    nser corpus real --out data/real --debs DIR       # .deb files already downloaded
    nser corpus real --write-table --debs DIR         # maintainers: relabel from the rules

`real_clips.csv` (beside this module, committed) lists every clip: package, version, path inside
the package (`archive!member` inside zip/pk3/wz archives), class, valence, family, speaker,
duration, licence, the sha256 of the file's bytes, and its loudness and median pitch (for the
spot checks in tests/models/test_real_corpus.py). It is made from the rules of
real_families.py by `--write-table`; building reads only the table, so a corpus is exactly
what the table says, verified byte for byte.

Building: `apt-get download PACKAGE=VERSION` (no root needed) into the cache, `dpkg-deb
--fsys-tarfile | tar -x` of only the files the table names, each decoded (libsndfile), mixed
to mono, resampled to 16 kHz, cut to `MAX_CLIP_SECONDS`, and written as 16-bit WAV with a
`manifest.csv` that the training and evaluation code read (`real:data/real`).

Why one module: fetching, verifying, decoding and labelling share one table row and one pass over
each package; the labelling rules are real_families.py.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import shutil
import subprocess
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile
import torch
import torchaudio

from nser_models.data.clips import ClipRecord, read_manifest, write_manifest
from nser_models.data.mixtures import load_audible
from nser_models.data.real_families import (
    ARCHIVE_SUFFIXES,
    AUDIO_SUFFIXES,
    FAMILIES,
    PACKAGES,
    Family,
    Package,
    SoundClass,
)
from nser_shared.errors import DatasetError
from nser_shared.frontend.features import DEFAULT_FEATURE_CONFIG
from nser_shared.sound.scenes import RECORDED_KINDS, RecordedClips
from nser_shared.wire.labels import Valence

log = logging.getLogger(__name__)

TABLE_PATH = Path(__file__).with_name("real_clips.csv")
MANIFEST_NAME = "manifest.csv"
DATASET = "real"
SAMPLE_RATE = 16_000  # the front end's rate: stored once, not resampled at every read
MAX_CLIP_SECONDS = 30.0  # ambience loops are cut here; every cry and line is shorter
Audio = npt.NDArray[np.float32]


@dataclass(frozen=True)
class TableRow:
    """One clip of the committed table."""

    clip_id: str
    package: str
    version: str
    path: str  # inside the package; `archive!member` for a member of a zip archive
    sound_class: SoundClass
    valence: Valence
    emotion: str
    speaker: str  # "package/character", unique across packages
    duration_s: float
    licence: str
    sha256: str  # of the file's bytes as the package ships them
    rms_dbfs: float  # loudness of the active part (spot checks)
    pitch_hz: float  # median detected pitch, 0 where none (spot checks)

    @property
    def is_scream(self) -> bool:
        return self.sound_class is SoundClass.SCREAM


TABLE_COLUMNS = tuple(f.name for f in fields(TableRow))


# --- reading the packages -----------------------------------------------------------------


def fetch_package(package: Package, cache: Path) -> Path:
    """The package's .deb in `cache`, downloaded with `apt-get download` when missing."""
    cache.mkdir(parents=True, exist_ok=True)
    found = _cached_deb(package, cache)
    if found is not None:
        return found
    log.info("downloading %s=%s", package.name, package.version)
    try:
        subprocess.run(
            ["apt-get", "download", f"{package.name}={package.version}"],
            cwd=cache,
            check=True,
            capture_output=True,
            text=True,
        )
    except FileNotFoundError:
        raise DatasetError(
            "apt-get not found: the real corpus is built from Debian packages "
            "(or pass --debs DIR with the .deb files)"
        ) from None
    except subprocess.CalledProcessError as exc:
        raise DatasetError(
            f"apt-get download {package.name}={package.version} failed: "
            f"{exc.stderr.strip() or exc.stdout.strip()} (run `apt-get update` first, or pass "
            "--debs DIR with the .deb files)"
        ) from None
    found = _cached_deb(package, cache)
    if found is None:
        raise DatasetError(f"apt-get download left no {package.name} .deb in {cache}")
    return found


def _cached_deb(package: Package, folder: Path) -> Path | None:
    for deb in sorted(folder.glob(f"{package.name}_*.deb")):
        if _deb_field(deb, "Version") == package.version:
            return deb
    return None


def _deb_field(deb: Path, field: str) -> str:
    result = subprocess.run(
        ["dpkg-deb", "-f", str(deb), field], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise DatasetError(f"{deb} is not a readable .deb: {result.stderr.strip()}")
    return result.stdout.strip()


def unpack(deb: Path, dest: Path, paths: Sequence[str] | None = None) -> Path:
    """Unpack `deb` into `dest`: every file, or only `paths` (relative to the package root)."""
    dest.mkdir(parents=True, exist_ok=True)
    if paths is None:
        subprocess.run(["dpkg-deb", "-x", str(deb), str(dest)], check=True)
        return dest
    tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    members = [f"./{p}" for p in sorted(set(paths))]
    result = subprocess.run(
        ["tar", "-x", "-C", str(dest), *members], stdin=tar.stdout, capture_output=True
    )
    tar.wait()
    if result.returncode != 0:
        raise DatasetError(f"unpacking {deb.name}: {result.stderr.decode().strip()[:500]}")
    return dest


def package_files(root: Path) -> Iterator[tuple[str, Callable[[], bytes]]]:
    """(path, reader of its bytes) of every file under `root` and every audio member of the zip
    archives (pk3, zip, wz) there, as `archive!member`."""
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = file.relative_to(root).as_posix()
        if file.suffix.lower() in ARCHIVE_SUFFIXES and zipfile.is_zipfile(file):
            with zipfile.ZipFile(file) as archive:
                members = [m for m in archive.namelist() if m.lower().endswith(AUDIO_SUFFIXES)]
            for member in members:
                yield f"{relative}!{member}", _member_reader(file, member)
        else:
            yield relative, file.read_bytes


def _member_reader(archive: Path, member: str) -> Callable[[], bytes]:
    def read() -> bytes:
        with zipfile.ZipFile(archive) as z:
            return z.read(member)

    return read


def read_packaged(root: Path, path: str) -> bytes:
    """Bytes of `path` (`archive!member` for an archive member) under the unpacked `root`."""
    outer, _, member = path.partition("!")
    file = root / outer
    if not file.is_file():
        raise DatasetError(f"{path}: not in the unpacked package")
    if not member:
        return file.read_bytes()
    try:
        with zipfile.ZipFile(file) as archive:
            return archive.read(member)
    except (KeyError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"{path}: {exc}") from None


# --- decoding and measuring ----------------------------------------------------------------


def decode(data: bytes, what: str) -> Audio:
    """Audio bytes (any format libsndfile reads) -> mono float32 at SAMPLE_RATE."""
    try:
        samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, ValueError) as exc:
        raise DatasetError(f"{what}: cannot decode: {exc}") from None
    if samples.size == 0:
        raise DatasetError(f"{what}: no samples")
    mono = torch.from_numpy(np.ascontiguousarray(samples.mean(axis=1)))
    if rate != SAMPLE_RATE:
        mono = torchaudio.functional.resample(mono, int(rate), SAMPLE_RATE)
    out: Audio = np.clip(mono.numpy(), -1.0, 1.0).astype(np.float32)
    if not np.isfinite(out).all():
        raise DatasetError(f"{what}: NaN or Inf samples")
    return out


def loudness_and_pitch(audio: Audio) -> tuple[float, float]:
    """(RMS in dBFS over the 10 ms frames within 30 dB of the loudest, median pitch in Hz over
    the frames within 20 dB of it; 0 for a clip too short to tell)."""
    hop = SAMPLE_RATE // 100
    frames = len(audio) // hop
    if frames == 0:
        return -120.0, 0.0
    power = (audio[: frames * hop].astype(np.float64).reshape(frames, hop) ** 2).mean(axis=1)
    rms_dbfs = 10.0 * float(np.log10(max(float(power[power >= power.max() * 1e-3].mean()), 1e-12)))
    if frames < 10:
        return rms_dbfs, 0.0
    pitch = frame_pitches(audio, hop)
    n = min(len(pitch), frames)
    loud = power[:n] >= power.max() * 1e-2
    voiced = pitch[:n][loud & (pitch[:n] > 0)]
    return rms_dbfs, float(np.median(voiced)) if voiced.size else 0.0


def frame_pitches(
    audio: Audio, hop: int, fmin: float = 60.0, fmax: float = 1000.0, threshold: float = 0.15
) -> npt.NDArray[np.float64]:
    """Pitch in Hz of each `hop` frame (0 where unvoiced) by YIN (de Cheveigne & Kawahara 2002):
    the first dip of the cumulative-mean-normalised difference below `threshold`. A spot-check
    measure of the table, not a feature: torchaudio's detect_pitch_frequency locks onto
    subharmonics (146.8 Hz for a 440 Hz tone)."""
    max_lag = int(SAMPLE_RATE / fmin)
    min_lag = int(SAMPLE_RATE / fmax)
    width = 2 * max_lag
    starts = range(0, len(audio) - width - max_lag, hop)
    out = np.zeros(len(range(0, len(audio), hop)))
    for i, start in enumerate(starts):
        x = audio[start : start + width + max_lag].astype(np.float64)
        frame = x[:width]
        energy = np.cumsum(np.concatenate([[0.0], x**2]))
        lags = np.arange(1, max_lag + 1)
        # d(lag) = sum frame^2 + sum shifted^2 - 2 * sum frame * shifted
        cross = np.correlate(x[: width + max_lag], frame, mode="valid")[1 : max_lag + 1]
        diff = energy[width] + (energy[lags + width] - energy[lags]) - 2.0 * cross
        cmnd = diff * lags / np.maximum(np.cumsum(diff), 1e-12)
        below = np.flatnonzero(cmnd[min_lag - 1 :] < threshold)
        if below.size:
            lag = int(below[0]) + min_lag - 1
            while lag + 1 < max_lag and cmnd[lag + 1] < cmnd[lag]:
                lag += 1
            out[i] = SAMPLE_RATE / (lag + 1)
    return out


# --- the table ------------------------------------------------------------------------------


def match_family(package: str, path: str) -> tuple[Family, str] | None:
    """The family of `path` in `package` and the clip's speaker, or None. A path matching two
    families is a bug in the rules."""
    hits = [(f, m) for f in FAMILIES if f.package == package and (m := f.regex.fullmatch(path))]
    if len(hits) > 1:
        raise DatasetError(f"{package}: {path} matches {len(hits)} families")
    if not hits:
        return None
    family, match = hits[0]
    speaker = match.groupdict().get("speaker") or family.speaker
    return family, f"{package}/{speaker}"


def clip_id(package: str, path: str) -> str:
    stem = Path(path.rpartition("!")[2]).stem
    return f"{package}-{stem}-{hashlib.sha256(path.encode()).hexdigest()[:8]}"


def label_package(package: Package, root: Path) -> list[TableRow]:
    """Table rows of every file of the unpacked `package` that a family claims."""
    rows = []
    for path, read in package_files(root):
        matched = match_family(package.name, path)
        if matched is None:
            continue
        family, speaker = matched
        data = read()
        audio = decode(data, f"{package.name}:{path}")
        rms_dbfs, pitch_hz = loudness_and_pitch(audio)
        rows.append(
            TableRow(
                clip_id=clip_id(package.name, path),
                package=package.name,
                version=package.version,
                path=path,
                sound_class=family.sound_class,
                valence=family.valence,
                emotion=family.emotion,
                speaker=speaker,
                duration_s=round(len(audio) / SAMPLE_RATE, 3),
                licence=package.licence,
                sha256=hashlib.sha256(data).hexdigest(),
                rms_dbfs=round(rms_dbfs, 1),
                pitch_hz=round(pitch_hz, 1),
            )
        )
    return rows


def write_table(rows: Sequence[TableRow], path: Path = TABLE_PATH) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=TABLE_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in sorted(rows, key=lambda r: (r.package, r.path)):
            writer.writerow({k: str(v) for k, v in asdict(row).items()})


def read_table(path: Path = TABLE_PATH) -> list[TableRow]:
    """The clip table; every bad row is reported with its line number."""
    if not path.is_file():
        raise DatasetError(f"clip table not found: {path}")
    rows = []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = set(TABLE_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise DatasetError(f"{path}: missing columns {sorted(missing)}")
        for line, raw in enumerate(reader, start=2):
            try:
                row = TableRow(
                    clip_id=raw["clip_id"],
                    package=raw["package"],
                    version=raw["version"],
                    path=raw["path"],
                    sound_class=SoundClass(raw["sound_class"]),
                    valence=Valence(raw["valence"]),
                    emotion=raw["emotion"],
                    speaker=raw["speaker"],
                    duration_s=float(raw["duration_s"]),
                    licence=raw["licence"],
                    sha256=raw["sha256"],
                    rms_dbfs=float(raw["rms_dbfs"]),
                    pitch_hz=float(raw["pitch_hz"]),
                )
            except (KeyError, ValueError) as exc:
                raise DatasetError(f"{path}:{line}: bad row: {exc}") from None
            if row.package not in PACKAGES:
                raise DatasetError(f"{path}:{line}: package {row.package!r} is not allowed")
            rows.append(row)
    if not rows:
        raise DatasetError(f"{path}: no clips")
    return rows


def relabel(debs: Path, work: Path, packages: Sequence[str] | None = None) -> list[TableRow]:
    """Rows of the table made afresh from the rules over the packages' .deb files in `debs`
    (fetched when missing), each unpacked whole under `work` and removed once labelled."""
    rows: list[TableRow] = []
    for package in _selected(packages):
        root = unpack(fetch_package(package, debs), work / package.name)
        found = label_package(package, root)
        shutil.rmtree(root)
        log.info("%s: %d clips", package.name, len(found))
        rows += found
    return rows


# --- building the corpus -------------------------------------------------------------------


@dataclass(frozen=True)
class BuildReport:
    records: list[ClipRecord]
    changed: list[str]  # clips whose bytes differ from the table (skipped)


def build_corpus(
    out: Path,
    debs: Path,
    table: Sequence[TableRow] | None = None,
    packages: Sequence[str] | None = None,
    keep_unpacked: bool = False,
) -> BuildReport:
    """Write the table's clips as 16 kHz mono WAV under `out/clips/PACKAGE/` and
    `out/manifest.csv`. Clips whose bytes differ from the table's sha256 are skipped and listed."""
    rows = read_table() if table is None else list(table)
    records: list[ClipRecord] = []
    changed: list[str] = []
    for package in _selected(packages):
        own = [r for r in rows if r.package == package.name]
        if not own:
            continue
        deb = fetch_package(package, debs)
        root = out / ".unpacked" / package.name
        unpack(deb, root, [r.path.partition("!")[0] for r in own])
        for row in own:
            data = read_packaged(root, row.path)
            if hashlib.sha256(data).hexdigest() != row.sha256:
                changed.append(f"{row.package}:{row.path}")
                continue
            audio = decode(data, f"{row.package}:{row.path}")
            audio = audio[: round(MAX_CLIP_SECONDS * SAMPLE_RATE)]
            wav = out / "clips" / row.package / f"{row.clip_id}.wav"
            wav.parent.mkdir(parents=True, exist_ok=True)
            soundfile.write(str(wav), audio, SAMPLE_RATE, subtype="PCM_16")
            records.append(to_record(row, wav))
        if not keep_unpacked:
            shutil.rmtree(root)
        log.info("%s: %d clips", package.name, len(own))
    if not keep_unpacked and (out / ".unpacked").is_dir():
        shutil.rmtree(out / ".unpacked")
    if not records:
        raise DatasetError("no clips were written")
    write_manifest(out / MANIFEST_NAME, records)
    return BuildReport(records, changed)


def to_record(row: TableRow, wav: Path) -> ClipRecord:
    return ClipRecord(
        clip_id=row.clip_id,
        path=wav,
        dataset=DATASET,
        speaker=row.speaker,
        emotion=f"{row.sound_class.value}:{row.emotion}",
        valence=row.valence,
        is_scream=row.is_scream,
        sample_rate=SAMPLE_RATE,
        source=row.package,
    )


def load_real(path: Path) -> list[ClipRecord]:
    """Records of a corpus written by `build_corpus` (the folder or its manifest)."""
    records = read_manifest(path / MANIFEST_NAME if path.is_dir() else path)
    bad = [r.clip_id for r in records if r.dataset != DATASET or not r.source]
    if bad:
        raise DatasetError(f"{path}: not a real-audio corpus manifest ({bad[0]} has no package)")
    return records


def sound_class_of(record: ClipRecord) -> SoundClass:
    """The corpus class of a real clip (kept in its emotion as `class:family`)."""
    return SoundClass(record.emotion.partition(":")[0])


def _selected(names: Sequence[str] | None) -> list[Package]:
    if names is None:
        return list(PACKAGES.values())
    unknown = sorted(set(names) - set(PACKAGES))
    if unknown:
        raise DatasetError(
            f"unknown packages {unknown}; the corpus uses only: {', '.join(PACKAGES)}"
        )
    return [PACKAGES[n] for n in names]


def recorded_clips(path: Path, packages: Sequence[str] | None = None) -> RecordedClips:
    """The corpus's cries, speech lines and laughs (of `packages`, default all) as the clips a
    scene may play (scenes.RecordedClips), each trimmed to where it is audible."""
    records = [r for r in load_real(path) if packages is None or r.source in packages]
    if packages is not None and not records:
        raise DatasetError(f"{path}: no clips of the packages {', '.join(packages)}")
    kinds: dict[str, list[Audio]] = {kind: [] for kind in RECORDED_KINDS}
    for record in records:
        kind = _recorded_kind(record)
        if kind is not None:
            kinds[kind].append(load_audible(record, DEFAULT_FEATURE_CONFIG))
    return RecordedClips({kind: tuple(clips) for kind, clips in kinds.items()})


def _recorded_kind(record: ClipRecord) -> str | None:
    sound_class = sound_class_of(record)
    if sound_class is SoundClass.SCREAM:
        return "recorded-scream"
    if sound_class is SoundClass.SPEECH:
        return "recorded-speech"
    if sound_class is SoundClass.VOCALISATION and record.valence is Valence.POSITIVE:
        return "recorded-laugh"
    return None
