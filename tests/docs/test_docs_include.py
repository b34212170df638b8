"""Generated tables included in hand-written pages hold their files as they are now."""

from __future__ import annotations

from pathlib import Path

import pytest

from nser_cli import docs_include


def test_every_included_table_is_current() -> None:
    assert docs_include.stale() == [], "run: .venv/bin/python -m nser_cli.docs_include"


def test_a_block_holds_its_file_and_a_missing_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "table.md").write_text("| a |\n|---|\n| 1 |\n")
    page = tmp_path / "page.md"
    page.write_text("Intro.\n<!-- include: table.md -->\nold\n<!-- /include -->\nEnd.\n")
    assert docs_include.render(page) == (
        "Intro.\n<!-- include: table.md -->\n| a |\n|---|\n| 1 |\n<!-- /include -->\nEnd.\n"
    )
    page.write_text("<!-- include: gone.md -->\n<!-- /include -->\n")
    with pytest.raises(ValueError, match=r"gone\.md does not exist"):
        docs_include.render(page)
