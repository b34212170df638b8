"""No module above 400 lines without a reason: a longer one says in its docstring why it is one
module ("Why one module: ...")."""

from __future__ import annotations

import ast

from nser_shared.provenance import REPO_ROOT

LIMIT = 400
FOLDERS = ("shared", "models/nser_models", "services", "loadtest")


def test_every_long_module_says_why_it_is_one() -> None:
    unexplained = []
    for folder in FOLDERS:
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            text = path.read_text()
            if text.count("\n") <= LIMIT:
                continue
            docstring = ast.get_docstring(ast.parse(text)) or ""
            if "Why one module:" not in docstring:
                unexplained.append(path.relative_to(REPO_ROOT).as_posix())
    assert not unexplained, f"over {LIMIT} lines with no 'Why one module:' reason: {unexplained}"
