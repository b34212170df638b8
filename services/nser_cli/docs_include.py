"""Generated tables inside hand-written pages: every block

    <!-- include: loadtest/peer/summary.md -->
    ...
    <!-- /include -->

in README.md and docs/**/*.md holds exactly the file it names (relative to the page), which a
benchmark command wrote. So a page can show a measured table without retyping a number, and it
cannot go stale: tests/docs/test_docs_include.py runs the check.

    .venv/bin/python -m nser_cli.docs_include          # refresh every block
    .venv/bin/python -m nser_cli.docs_include --check  # exit 1 if a block is out of date
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from nser_shared.provenance import REPO_ROOT

BLOCK = re.compile(r"(<!-- include: (?P<path>\S+) -->\n)(?P<body>.*?)(<!-- /include -->)", re.S)


def pages() -> list[Path]:
    return [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").rglob("*.md"))]


def render(page: Path) -> str:
    """The page with every include block holding its file now; ValueError for a missing one."""

    def fill(match: re.Match[str]) -> str:
        source = page.parent / match["path"]
        if not source.is_file():
            raise ValueError(f"{page}: the included {match['path']} does not exist")
        return f"{match[1]}{source.read_text().rstrip()}\n{match[4]}"

    return BLOCK.sub(fill, page.read_text())


def stale() -> list[Path]:
    """The pages with a block that does not hold its file."""
    return [page for page in pages() if render(page) != page.read_text()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a block is stale")
    args = parser.parse_args()
    try:
        out_of_date = stale()
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.check:
        for page in out_of_date:
            print(f"{page} is out of date: run python -m nser_cli.docs_include", file=sys.stderr)
        return 1 if out_of_date else 0
    for page in out_of_date:
        page.write_text(render(page))
        print(f"wrote {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
