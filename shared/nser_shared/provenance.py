"""What a generated report was made from, by content: the sha256 of each input file.

A report's `inputs` maps each input's path, relative to the repository, to its sha256.
`tests/test_generated_docs.py` recomputes them for every report committed under docs/ and
fails when one was made from data that has changed since (a retrained checkpoint, a relabelled
clip table): the report is older than its data and must be regenerated. Inputs outside the
repository (a user's own corpus) are left out, so that no report names an absolute path.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def input_digests(paths: Iterable[Path]) -> dict[str, str]:
    """{path relative to the repository: sha256} of each file inside the repository."""
    out: dict[str, str] = {}
    for path in paths:
        resolved = path.resolve()
        if resolved.is_file() and resolved.is_relative_to(REPO_ROOT):
            out[resolved.relative_to(REPO_ROOT).as_posix()] = sha256_file(resolved)
    return dict(sorted(out.items()))


def checkpoint_digests(directory: Path) -> dict[str, str]:
    """The inputs of a report made with the checkpoints in `directory` (every `.pt` there)."""
    return input_digests(sorted(directory.glob("*.pt")))


def stale_inputs(inputs: Mapping[str, str]) -> list[str]:
    """The recorded inputs whose file is gone or no longer has the recorded content."""
    stale = []
    for relative, digest in inputs.items():
        path = REPO_ROOT / relative
        if not path.is_file() or sha256_file(path) != digest:
            stale.append(relative)
    return stale
