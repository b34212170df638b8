"""docs/architecture.md matches the code: every file it names exists, and every function or
class it names beside a file is defined there."""

from __future__ import annotations

import re

from nser_shared.provenance import REPO_ROOT

DOC = REPO_ROOT / "docs" / "architecture.md"
# `path/to/file.py` (`Symbol`, `Other.method`): a file and what the doc says is in it.
NAMED = re.compile(r"`([\w/]+\.py)`(?: \(([^)]*)\))?")
SYMBOL = re.compile(r"`([A-Za-z_][\w.]*)`")


def test_every_file_and_symbol_the_architecture_names_exists() -> None:
    text = DOC.read_text()
    missing = []
    folder = REPO_ROOT
    for match in NAMED.finditer(text):
        name, inside = match.group(1), match.group(2) or ""
        if "/" in name and (REPO_ROOT / name).exists():
            path = REPO_ROOT / name
            folder = path.parent
        elif (folder / name).exists():  # a bare name: beside the file named before it
            path = folder / name
        else:
            found = sorted(REPO_ROOT.glob(f"[!.]*/**/{name}"))
            if not found:
                missing.append(name)
                continue
            path = found[0]
        source = path.read_text()
        for symbol in SYMBOL.findall(inside):
            last = symbol.split(".")[-1]
            if not re.search(rf"^\s*(?:async def|def|class) {last}\b", source, re.M):
                missing.append(f"{name}: {symbol}")
    assert not missing, f"docs/architecture.md names what the code does not have: {missing}"
