"""One entry point for every labelled clip source: `kind:PATH` specs such as `vivae:data/VIVAE`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from nser_models.data.asvp_esd import balance_detection, load_asvp_esd
from nser_models.data.clips import ClipRecord, read_manifest
from nser_models.data.real_corpus import load_real
from nser_models.data.vivae import load_vivae
from nser_shared.errors import DatasetError


def _load_synthetic(path: Path) -> list[ClipRecord]:
    return read_manifest(path / "manifest.csv" if path.is_dir() else path)


def _load_asvp_esd(path: Path) -> list[ClipRecord]:
    """The paper's detection set: every scream and as many randomly chosen non-screams."""
    return balance_detection(load_asvp_esd(path))


# Kind -> loader of the path. The kinds are the `ClipRecord.dataset` names.
_LOADERS: dict[str, Callable[[Path], list[ClipRecord]]] = {
    "synthetic": _load_synthetic,
    "asvp-esd": _load_asvp_esd,
    "vivae": load_vivae,
    "real": load_real,
}
SOURCE_KINDS: tuple[str, ...] = tuple(_LOADERS)


def load_source(spec: str) -> list[ClipRecord]:
    """Records of the source `spec`, `kind:PATH` with kind one of `SOURCE_KINDS`.

    `synthetic:PATH` and `real:PATH` (data/real_corpus.py) read the corpus folder's
    `manifest.csv` (or PATH if it is the manifest);
    `asvp-esd:PATH` is the paper's balanced detection set (default scream rule, then
    `balance_detection`); `vivae:PATH` the full VIVAE set. Raises DatasetError for a malformed
    spec, an unknown kind or a missing path.
    """
    kind, sep, raw_path = spec.partition(":")
    kinds = ", ".join(SOURCE_KINDS)
    if not sep or not raw_path:
        raise DatasetError(f"data source {spec!r} is not KIND:PATH (kinds: {kinds})")
    loader = _LOADERS.get(kind)
    if loader is None:
        raise DatasetError(f"unknown data source kind {kind!r} in {spec!r}; valid kinds: {kinds}")
    path = Path(raw_path).expanduser()
    if not path.exists():
        raise DatasetError(f"data source path does not exist: {path} (from {spec!r})")
    return loader(path)
