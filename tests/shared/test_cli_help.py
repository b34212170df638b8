"""Every option of every `nser` command says what it does, and what it is when not given."""

import argparse

import pytest

from nser_cli import COMMANDS, command_module
from nser_shared.command import command_parser


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_option_has_a_description_and_shows_its_default(name: str) -> None:
    parser = command_parser(f"nser {name}", command_module(name), COMMANDS[name].summary)
    formatter = parser._get_formatter()
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction) or not action.option_strings:
            continue
        assert action.help, f"nser {name} {action.option_strings[0]} has no description"
        shown = formatter._expand_help(action)
        has_default = not any(action.default is x for x in (None, False, argparse.SUPPRESS))
        if has_default:
            assert "default" in shown, f"nser {name} {action.option_strings[0]}: {shown!r}"
        if action.choices is not None and not isinstance(action.choices, dict):
            usage = parser.format_usage()
            assert all(str(c) in usage + shown for c in action.choices), action.option_strings
