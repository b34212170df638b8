"""How every command runs: its parser (each option's help shows its default), logging, and the
exit code, with a `NserError` printed as one line instead of a traceback.

A command is a module with two functions, `add_arguments(parser)` and `run(args) -> exit code`.
The `nser` command (services/nser_cli) finds them by name; a service's `python -m` entry point
passes its own module.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Protocol

from nser_shared.errors import NserError


class CommandModule(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


class ShowDefaults(argparse.HelpFormatter):
    """Each option's help ends with its default, unless it has none or its help names it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if not action.option_strings or "default" in text:
            return text
        if any(action.default is nothing for nothing in (None, False, argparse.SUPPRESS)):
            return text  # a flag, or an option whose absence means "none"
        return text + " (default: %(default)s)"


def command_parser(
    prog: str, command: CommandModule, summary: str | None = None
) -> argparse.ArgumentParser:
    """The parser of `command`; its description is `summary`, else the first paragraph of the
    module's docstring."""
    if summary is None:
        summary = (getattr(command, "__doc__", None) or "").split("\n\n")[0].strip()
    parser = argparse.ArgumentParser(prog=prog, description=summary, formatter_class=ShowDefaults)
    command.add_arguments(parser)
    return parser


def run_command(
    prog: str,
    command: CommandModule,
    argv: Sequence[str] | None = None,
    summary: str | None = None,
) -> int:
    """Parse `argv` (default: the process's arguments) for `command` and run it."""
    args = command_parser(prog, command, summary).parse_args(
        sys.argv[1:] if argv is None else list(argv)
    )
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    try:
        return command.run(args)
    except NserError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
