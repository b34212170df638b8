"""docs/settings.md is what the settings tables say, and every setting is declared once."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import pytest

from nser_cli.settings_docs import DOC, SECTIONS, render
from nser_shared.settings import markdown_table, parse_bool, resolve, setting, table


def test_docs_settings_page_is_generated_from_the_tables() -> None:
    assert DOC.read_text() == render(), "run: .venv/bin/python -m nser_cli.settings_docs"


def test_every_setting_of_every_service_is_on_the_page() -> None:
    text = DOC.read_text()
    for _, _, cls in SECTIONS:
        for name, s in table(cls).items():
            assert f"| `{s.env}` | `--{name.replace('_', '-')}` |" in text


@dataclass(frozen=True)
class Example:
    port: int = setting("EXAMPLE_PORT", "a port | with a pipe", 8080, parse=int)
    debug: bool = setting("EXAMPLE_DEBUG", "say more", False, parse=parse_bool)
    password: str = setting("EXAMPLE_PASSWORD", "a secret", "hunter2", secret=True)


def test_a_setting_is_read_from_option_then_environment_then_default() -> None:
    args = argparse.Namespace(port=None, debug=True, password=None)
    got = resolve(Example, args, {"EXAMPLE_PORT": "9000"})
    assert (got.port, got.debug, got.password) == (9000, True, "hunter2")
    assert "hunter2" not in repr(got)


def test_the_markdown_table_hides_secrets_and_escapes_pipes() -> None:
    text = markdown_table(Example)
    assert "| `EXAMPLE_PORT` | `--port` | `8080` | a port \\| with a pipe |" in text
    assert "| `EXAMPLE_PASSWORD` | `--password` | - | a secret |" in text


def test_a_field_that_is_not_a_setting_is_refused() -> None:
    @dataclass(frozen=True)
    class Loose:
        port: int = 1

    with pytest.raises(TypeError, match=r"Loose\.port is not declared with setting"):
        table(Loose)
