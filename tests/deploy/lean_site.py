"""A site-packages folder holding only the distributions an image's requirement file lists, as
symbolic links into this environment's, so a probe can run with exactly the image's packages."""

from __future__ import annotations

import re
from collections import defaultdict
from importlib.metadata import distribution, distributions
from pathlib import Path

ALWAYS = ("pip", "setuptools")  # what `python -m venv` puts in every image's environment


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def listed(requirements: Path) -> set[str]:
    names = {canonical(name) for name in ALWAYS}
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(canonical(line.partition("==")[0]))
    return names


def build_site(requirements: Path, dest: Path, extra: tuple[str, ...] = ()) -> set[str]:
    """Link the files of the listed distributions (and `extra`) into `dest`; return their names.

    A top-level folder that only listed distributions own is linked whole; one shared with an
    unlisted distribution (a namespace such as `google/`) file by file.
    """
    wanted = listed(requirements) | {canonical(name) for name in extra}
    owners: dict[str, set[str]] = defaultdict(set)
    files: dict[str, list[Path]] = defaultdict(list)
    root = Path(str(distribution("pip").locate_file("")))
    for dist in distributions():
        name = canonical(dist.metadata["Name"])
        for file in dist.files or ():
            parts = Path(file).parts
            if not parts or parts[0] == "..":  # console scripts, outside site-packages
                continue
            owners[parts[0]].add(name)
            files[name].append(Path(file))
    dest.mkdir(parents=True, exist_ok=True)
    for top, names in owners.items():
        if not names & wanted:
            continue
        if names <= wanted:
            (dest / top).symlink_to(root / top)
            continue
        for name in names & wanted:
            for path in files[name]:
                if path.parts[0] == top and (root / path).exists():
                    (dest / path).parent.mkdir(parents=True, exist_ok=True)
                    if not (dest / path).exists():
                        (dest / path).symlink_to(root / path)
    return wanted
