"""Every report committed under docs/ records the inputs it was made from (nser_shared.provenance),
and none is older than them: a retrained checkpoint or a relabelled clip table fails this test
until the reports made from the old ones are regenerated with the command each one names."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nser_shared.provenance import REPO_ROOT, input_digests, sha256_file, stale_inputs

DOCS = REPO_ROOT / "docs"
REPORTS = sorted(p for p in DOCS.rglob("*.json") if "network" not in p.relative_to(DOCS).parts)


def recorded_inputs(node: Any) -> Iterator[dict[str, str]]:
    """Every `inputs` mapping in a report (an evaluation report carries its real-audio run's)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "inputs" and isinstance(value, dict):
                yield value
            else:
                yield from recorded_inputs(value)
    elif isinstance(node, list):
        for item in node:
            yield from recorded_inputs(item)


def test_there_are_reports_to_check() -> None:
    assert len(REPORTS) >= 10


@pytest.mark.parametrize("report", REPORTS, ids=lambda p: str(p.relative_to(DOCS)))
def test_report_is_not_older_than_its_inputs(report: Path) -> None:
    text = report.read_text()
    found = list(recorded_inputs(json.loads(text)))
    assert found, f"{report} records no inputs: regenerate it with the command it names"
    stale = sorted({path for inputs in found for path in stale_inputs(inputs)})
    assert not stale, f"{report} was made from older {stale}: regenerate it with its command"
    assert str(REPO_ROOT) not in text, f"{report} names an absolute path"


def test_stale_inputs_are_the_changed_and_the_missing() -> None:
    readme = REPO_ROOT / "README.md"
    digest = sha256_file(readme)
    assert input_digests([readme]) == {"README.md": digest}
    assert stale_inputs({"README.md": digest}) == []
    assert stale_inputs({"README.md": "0" * 64}) == ["README.md"]
    assert stale_inputs({"docs/no-such-file.json": digest}) == ["docs/no-such-file.json"]


def test_inputs_outside_the_repository_are_not_recorded(tmp_path: Path) -> None:
    outside = tmp_path / "corpus.csv"
    outside.write_text("clip,label\n")
    assert input_digests([outside]) == {}


# docs/ keeps generated reports a reader opens, not raw run dumps: every window's record and
# every sample stay in the run folders (runs/), and these caps keep it that way.
MAX_FILE_BYTES = 256 * 1024
MAX_JSON_BYTES = 512 * 1024


def test_docs_hold_reports_not_run_dumps() -> None:
    too_big = [
        f"{p.relative_to(DOCS)} ({p.stat().st_size // 1024} KiB)"
        for p in DOCS.rglob("*")
        if p.is_file() and p.stat().st_size > MAX_FILE_BYTES
    ]
    assert not too_big, f"over {MAX_FILE_BYTES // 1024} KiB: {too_big}"
    total = sum(p.stat().st_size for p in DOCS.rglob("*.json"))
    assert total <= MAX_JSON_BYTES, f"docs/**/*.json hold {total // 1024} KiB"


REGENERATE = REPO_ROOT / "scripts" / "regenerate_reports.sh"


def report_command(report: Path) -> str:
    """The command a report names: its JSON's `command` (or its config's), else the first
    backquoted `nser ...` of the Markdown beside it."""
    data = json.loads(report.read_text())
    command = data.get("command") or data.get("config", {}).get("command")
    if not command:
        markdown = report.with_suffix(".md").read_text()
        command = markdown.split("`nser ", 1)[1].split("`", 1)[0]
        command = f"nser {command}"
    return " ".join(str(command).split())


def test_every_report_made_from_the_shipped_detection_checkpoints_is_regenerated() -> None:
    """Shipping detection checkpoints makes these reports stale: scripts/regenerate_reports.sh
    must hold each one's command, or the change that ships cannot make the suite green."""
    script = " ".join(
        REGENERATE.read_text().replace("\\\n", " ").replace("$nser ", "nser ").split()
    )
    shipped = [
        report
        for report in REPORTS
        if any(
            path.startswith("models/checkpoints/detection-")
            for inputs in recorded_inputs(json.loads(report.read_text()))
            for path in inputs
        )
    ]
    assert len(shipped) >= 10
    missing = [str(r.relative_to(DOCS)) for r in shipped if report_command(r) not in script]
    assert not missing, f"{REGENERATE.name} does not regenerate {missing}"
