"""The floors of the code (docs/architecture.md): no package imports a floor above its own, by
statement or by a module name in a string, and no service imports another service.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from nser_shared.provenance import REPO_ROOT

SERVICES = ("nser_mec", "nser_sensing", "nser_decision", "nser_nwdaf")
TOP = ("nser_up", "nser_loadtest", "nser_cli")
TRAINING = ("nser_models.data", "nser_models.train", "nser_models.train_real")
# The modules (and their submodules) each package may not import.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "nser_shared": ("nser_models", *SERVICES, *TOP),
    "nser_models": (*SERVICES, *TOP),
    **{s: (*(o for o in SERVICES if o != s), *TOP) for s in SERVICES},
}
FORBIDDEN["nser_sensing"] += TRAINING  # a device does not carry the training code
PACKAGES = {
    "nser_shared": REPO_ROOT / "shared" / "nser_shared",
    "nser_models": REPO_ROOT / "models" / "nser_models",
    **{s: REPO_ROOT / "services" / s for s in SERVICES},
}
MODULE_NAME = re.compile(r"^nser_[a-z]+(\.[a-z_]+)*$")


def imported_modules(path: Path) -> Iterator[str]:
    """The nser modules `path` imports, by statement or as a module name in a string."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names = [node.value]
        yield from (name for name in names if MODULE_NAME.match(name))


def upward_imports() -> set[tuple[str, str]]:
    found = set()
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            for imported in imported_modules(path):
                for forbidden in FORBIDDEN[package]:
                    if imported == forbidden or imported.startswith(forbidden + "."):
                        found.add((path.relative_to(REPO_ROOT).as_posix(), forbidden))
    return found


def test_no_package_imports_a_floor_above_its_own() -> None:
    found = sorted(upward_imports())
    assert not found, f"imports a floor above its own or another service: {found}"


def test_the_check_sees_statements_and_strings(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import nser_mec.engine\n"
        "from nser_up import cli\n"
        "from . import sibling\n"
        "COMMAND = ['python', '-m', 'nser_decision']\n"
        "TEXT = 'nser_shared is fine, and so is prose about nser_mec'\n"
        "METRIC = 'nser_decision_http_requests_total'\n"
    )
    assert sorted(imported_modules(module)) == ["nser_decision", "nser_mec.engine", "nser_up"]


def test_errors_are_defined_only_in_errors_modules() -> None:
    """One error hierarchy in one module per floor: an exception class lives in an errors.py."""
    elsewhere = []
    for folder in (*PACKAGES.values(), REPO_ROOT / "services", REPO_ROOT / "loadtest"):
        for path in folder.rglob("*.py"):
            if path.name == "errors.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ClassDef) and node.name.endswith("Error"):
                    elsewhere.append(f"{path.relative_to(REPO_ROOT)}: {node.name}")
    assert not sorted(set(elsewhere)), f"error classes outside errors.py: {sorted(set(elsewhere))}"
