"""Readers for the deployment files, for checking them without Docker: docker-compose.yml (with
compose's `${VAR:-default}` interpolation), docker/Dockerfile (stages, what each inherits),
its .dockerignore, and .env.example."""

from __future__ import annotations

import fnmatch
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}")
# ${VAR:?message}: compose refuses to run without VAR (a secret with no safe default).
REQUIRED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*):\?[^}]*\}")


def load_compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return document


def interpolated(text: str) -> dict[str, str | None]:
    """Variables compose interpolates into `text`, with their defaults (None: no default; "":
    required, compose refuses to run without it)."""
    found: dict[str, str | None] = {m.group(1): m.group(2) for m in INTERPOLATION.finditer(text)}
    found.update({m.group(1): "" for m in REQUIRED.finditer(text)})
    return found


def required(text: str) -> set[str]:
    """Variables `text` requires (${VAR:?message})."""
    return {m.group(1) for m in REQUIRED.finditer(text)}


def with_defaults(value: Any) -> str:
    """`value` as compose would interpolate it with no variable set."""

    def default(match: re.Match[str]) -> str:
        if match.group(2) is None:
            raise AssertionError(f"{match.group(0)} has no default: compose would need it set")
        return match.group(2)

    # A required variable (a secret) stands as <VAR>, the value the user must set.
    return REQUIRED.sub(lambda m: f"<{m.group(1)}>", INTERPOLATION.sub(default, str(value)))


def environment(service: dict[str, Any]) -> dict[str, str | None]:
    """A compose service's environment; None marks a variable passed through from the shell."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = [item.partition("=") for item in env]
        return {name: (value if sep else None) for name, sep, value in pairs}
    return {name: None if value is None else with_defaults(value) for name, value in env.items()}


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return shlex.split(value)
    return [with_defaults(item) for item in value]


# --- Dockerfile ---------------------------------------------------------------------------


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for key, args in self.instructions if key == keyword]


def parse_dockerfile(path: Path) -> dict[str, Stage]:
    """Stages by name (in order), each with its instructions (continuations joined)."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # comments and blank lines end nothing, even inside a continuation
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = args.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else str(len(stages))
            current = stages[name] = Stage(name, words[0])
        elif current is not None:
            current.instructions.append((keyword, args.strip()))
    return stages


def lineage(stages: dict[str, Stage], name: str) -> list[Stage]:
    """`name` and the stages it is built FROM, the base first."""
    chain = [stages[name]]
    while chain[-1].base in stages:
        chain.append(stages[chain[-1].base])
    return chain[::-1]


def copy_from(args: str) -> tuple[str | None, list[str], str]:
    """(--from stage or None, sources, destination) of a COPY."""
    words = shlex.split(args)
    source_stage = None
    while words and words[0].startswith("--"):
        flag = words.pop(0)
        if flag.startswith("--from="):
            source_stage = flag.removeprefix("--from=")
    return source_stage, words[:-1], words[-1]


def needs(stages: dict[str, Stage], name: str) -> list[str]:
    """Every stage `name` is built from or copies from, itself included."""
    seen: list[str] = []
    todo = [name]
    while todo:
        stage = todo.pop()
        if stage in seen or stage not in stages:
            continue
        seen.append(stage)
        todo.append(stages[stage].base)
        todo += [src for src, _, _ in map(copy_from, stages[stage].all("COPY")) if src]
    return seen


def stage_env(stages: dict[str, Stage], name: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for stage in lineage(stages, name):
        for args in stage.all("ENV"):
            for word in shlex.split(args):
                key, _, value = word.partition("=")
                env[key] = value
    return env


def last(stages: dict[str, Stage], name: str, keyword: str) -> tuple[str, str] | None:
    """(stage, args) of the last `keyword` instruction `name` has or inherits."""
    found = None
    for stage in lineage(stages, name):
        for key, args in stage.instructions:
            if key == keyword:
                found = (stage.name, args)
    return found


def exec_form(args: str) -> list[str]:
    words: list[str] = yaml.safe_load(args)  # a JSON array is also a YAML flow sequence
    assert isinstance(words, list), f"not exec form: {args}"
    return words


def image_argv(stages: dict[str, Stage], name: str) -> tuple[list[str], list[str]]:
    """(ENTRYPOINT, CMD) of a target; a CMD set before the ENTRYPOINT's stage does not count."""
    entry = last(stages, name, "ENTRYPOINT")
    cmd = last(stages, name, "CMD")
    order = [stage.name for stage in lineage(stages, name)]
    entrypoint = exec_form(entry[1]) if entry else []
    if cmd is None or (entry is not None and order.index(cmd[0]) < order.index(entry[0])):
        return entrypoint, []
    return entrypoint, exec_form(cmd[1])


# --- .dockerignore ------------------------------------------------------------------------


def _pattern_matches(pattern: str, path: str) -> bool:
    """Docker's rule: a pattern matches a path or any folder above it."""
    regex = re.compile(
        "^"
        + re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*")
        .replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        + "$"
    )  # fmt: skip
    parts = path.split("/")
    return any(regex.match("/".join(parts[: i + 1])) for i in range(len(parts)))


def ignored(patterns: list[str], path: str) -> bool:
    """Whether the build context leaves out `path` (relative, '/'-separated): the last matching
    pattern decides, `!` patterns include."""
    result = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        if _pattern_matches(pattern.removeprefix("!").strip("/"), path):
            result = not negated
    return result


def dockerignore(dockerfile: Path, context: Path) -> list[str]:
    for candidate in (dockerfile.with_name(dockerfile.name + ".dockerignore"),
                      context / ".dockerignore"):  # fmt: skip
        if candidate.is_file():
            lines = candidate.read_text().splitlines()
            return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]
    return []


def context_files(context: Path, source: str) -> list[str]:
    """Files a COPY source names, relative to the context (skipping bytecode caches)."""
    matches = (
        sorted(context.glob(source)) if any(c in source for c in "*?[") else [context / source]
    )
    files = []
    for path in matches:
        found = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        files += [
            p.relative_to(context).as_posix()
            for p in found
            if "__pycache__" not in p.parts and not fnmatch.fnmatch(p.name, "*.pyc")
        ]
    return files


# --- .env.example -------------------------------------------------------------------------

ENV_LINE = re.compile(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")


@dataclass(frozen=True)
class EnvExample:
    active: dict[str, str]  # NAME=value lines: compose's own variables
    commented: dict[str, str]  # "# NAME=value" lines: service settings, default shown
    undocumented: list[str]  # variables without a comment line just above


def read_env_example(path: Path = ENV_EXAMPLE) -> EnvExample:
    active: dict[str, str] = {}
    commented: dict[str, str] = {}
    undocumented = []
    previous_is_comment = False
    for line in path.read_text().splitlines():
        match = ENV_LINE.match(line.strip())
        if match:
            value = match.group(3).strip()
            if len(value) >= 2 and value[0] == value[-1] == "'":
                value = value[1:-1]
            (commented if match.group(1) else active)[match.group(2)] = value
            if not previous_is_comment:
                undocumented.append(match.group(2))
            previous_is_comment = False
        else:
            previous_is_comment = line.startswith("#") and not line.startswith("# ---")
    return EnvExample(active, commented, undocumented)
