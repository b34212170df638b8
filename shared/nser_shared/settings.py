"""Service settings, each declared once: a field of a frozen dataclass made by `setting(...)`
carries its environment variable (the same names in docker compose and in `nser up`), its parser
and its help text, and becomes a command-line option. Precedence: option, then environment
variable, then the dataclass default. `table(cls)` lists them, for the option parser, the error
messages that name a variable, `.env.example` and the docs' settings tables (`markdown_table`).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, field, fields
from typing import Any, NamedTuple, TypeVar

from nser_shared.errors import ConfigurationError

T = TypeVar("T")


class Setting(NamedTuple):
    env: str
    parse: Callable[[str], Any]
    help: str


_METADATA_KEY = "nser_setting"


def setting(
    env: str,
    help: str,
    default: Any = MISSING,
    *,
    parse: Callable[[str], Any] = str,
    default_factory: Callable[[], Any] | Any = MISSING,
    secret: bool = False,
) -> Any:
    """A dataclass field that is a setting: read from option `--name`, then `env`, then the
    default. `secret`: kept out of repr, logs and --help (a password, a key, a URL that may
    hold one)."""
    return field(
        default=default,
        default_factory=default_factory,
        repr=not secret,
        metadata={_METADATA_KEY: Setting(env, parse, help)},
    )


def table(cls: type) -> dict[str, Setting]:
    """Every setting of the dataclass `cls`, by field name, in declaration order."""
    out = {}
    for f in fields(cls):
        if _METADATA_KEY not in f.metadata:
            raise TypeError(f"{cls.__name__}.{f.name} is not declared with setting()")
        out[f.name] = f.metadata[_METADATA_KEY]
    return out


def markdown_table(cls: type) -> str:
    """The settings of `cls` as a Markdown table: variable, option, default, meaning."""
    rows = [
        "| variable | option | default | meaning |",
        "|---|---|---|---|",
    ]
    for f in fields(cls):
        s: Setting = f.metadata[_METADATA_KEY]
        shown = _shown_default(f).removeprefix(" (default: ").removesuffix(")").replace("%%", "%")
        default = f"`{shown}`" if shown else "-"
        option = "--" + f.name.replace("_", "-")
        meaning = s.help.replace("|", "\\|")
        rows.append(f"| `{s.env}` | `{option}` | {default} | {meaning} |")
    return "\n".join(rows) + "\n"


def parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{text!r} is not a boolean (true/false)")


def parse_names(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names:
        raise ValueError("at least one name is needed")
    return names


def parse_name_list(text: str) -> tuple[str, ...]:
    """Comma-separated names, none at all allowed (an empty list)."""
    return tuple(name.strip() for name in text.split(",") if name.strip())


def parse_json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    return value


def add_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    for f in fields(cls):
        setting = f.metadata[_METADATA_KEY]
        option = "--" + f.name.replace("_", "-")
        # A boolean option alone means true (`--insecure`); `--insecure false` still works.
        flag = (
            {"nargs": "?", "const": True, "metavar": "true|false"}
            if setting.parse is parse_bool
            else {}
        )
        parser.add_argument(
            option,
            type=setting.parse,
            default=None,  # unset: the environment, then the default, decide (resolve)
            help=f"{setting.help} [{setting.env}]{_shown_default(f)}",
            **flag,  # type: ignore[arg-type]
        )


def _shown_default(f: Field[Any]) -> str:
    """' (default: X)' for a setting with a plain default worth showing; secrets and
    defaults made per process (a consumer name from the host and pid) are not shown."""
    if f.default is MISSING or not f.repr or f.default in ("", (), {}):
        return ""
    value = ",".join(map(str, f.default)) if isinstance(f.default, tuple) else f.default
    return f" (default: {str(value).replace('%', '%%')})"


def resolve(
    cls: type[T],
    args: argparse.Namespace | None = None,
    environ: Mapping[str, str] = os.environ,
) -> T:
    """An instance of `cls` from `args` (None values unset), then `environ`, then defaults."""
    values: dict[str, Any] = {}
    for name, setting in table(cls).items():
        given = getattr(args, name, None) if args is not None else None
        if given is not None:
            values[name] = given
        elif setting.env in environ:
            try:
                values[name] = setting.parse(environ[setting.env])
            except ValueError as exc:
                raise ConfigurationError(f"{setting.env}={environ[setting.env]!r}: {exc}") from exc
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConfigurationError):
            raise
        raise ConfigurationError(str(exc)) from exc
