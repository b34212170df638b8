"""API tokens for the nser REST services: roles, the server-side token table, dev credentials.

A token is an opaque `secrets.token_urlsafe(32)` string sent as `Authorization: Bearer <token>`.
Servers never hold plaintext tokens: `api-tokens.json` lists `{name, role, sha256}` entries, and
a token is looked up by the SHA-256 of what the client sent, compared with `hmac.compare_digest`
against every entry. Roles: `reader` (read alerts, the live feed, analytics, subscriptions) and
`operator` (also acknowledge/resolve alerts and manage subscriptions); operator implies reader.

`write_dev_tokens(dir)` (used by `nser credentials`) makes one token per role: `api-tokens.json`
for the services, `reader.token` and `operator.token` (plaintext, mode 0600) for clients.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from nser_shared.errors import ConfigurationError

TOKENS_FILE = "api-tokens.json"


class Role(StrEnum):
    READER = "reader"
    OPERATOR = "operator"

    def grants(self, needed: Role) -> bool:
        """Whether a holder of this role may do what `needed` allows (operator implies reader)."""
        return _RANK[self] >= _RANK[needed]


_RANK: dict[Role, int] = {Role.READER: 1, Role.OPERATOR: 2}


def token_file_name(role: Role) -> str:
    return f"{role.value}.token"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenEntry:
    name: str  # who holds the token (logged on use; never the token itself)
    role: Role
    sha256: str  # hex digest of the token

    def __repr__(self) -> str:
        return f"TokenEntry(name={self.name!r}, role={self.role.value})"


@dataclass(frozen=True)
class TokenTable:
    entries: tuple[TokenEntry, ...]

    @classmethod
    def load(cls, path: Path) -> TokenTable:
        """The table in `path`; ConfigurationError naming the file and the fault otherwise."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigurationError(
                f"tokens file {path} does not exist (make one with `nser credentials`)"
            ) from None
        except OSError as exc:
            raise ConfigurationError(f"tokens file {path}: cannot read: {exc}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"tokens file {path}: not JSON: {exc}") from None
        return cls.from_json(raw, str(path))

    @classmethod
    def from_json(cls, raw: Any, source: str) -> TokenTable:
        if not isinstance(raw, list) or not raw:
            raise ConfigurationError(
                f"tokens file {source}: must be a non-empty JSON list of "
                '{"name", "role", "sha256"} objects'
            )
        entries = [_entry(item, f"tokens file {source}: entry {i}") for i, item in enumerate(raw)]
        names = [e.name for e in entries]
        duplicate = next((n for n in names if names.count(n) > 1), None)
        if duplicate is not None:
            raise ConfigurationError(f"tokens file {source}: name {duplicate!r} appears twice")
        return cls(tuple(entries))

    def lookup(self, token: str) -> TokenEntry | None:
        """The entry whose digest matches `token`, comparing every entry in constant time."""
        wanted = digest(token).encode()
        found: TokenEntry | None = None
        for entry in self.entries:
            if hmac.compare_digest(wanted, entry.sha256.encode()):
                found = entry
        return found

    def to_json(self) -> list[dict[str, str]]:
        return [{"name": e.name, "role": e.role.value, "sha256": e.sha256} for e in self.entries]


def _entry(item: Any, where: str) -> TokenEntry:
    if not isinstance(item, dict) or set(item) != {"name", "role", "sha256"}:
        raise ConfigurationError(f"{where}: must be an object with exactly name, role and sha256")
    name, role, sha = item["name"], item["role"], item["sha256"]
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError(f"{where}: name must be a non-empty string")
    if role not in tuple(Role):
        raise ConfigurationError(f"{where} ({name}): role {role!r} is not one of {', '.join(Role)}")
    if not isinstance(sha, str) or len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise ConfigurationError(f"{where} ({name}): sha256 must be 64 lowercase hex digits")
    return TokenEntry(name=name, role=Role(role), sha256=sha)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable by its owner only (mode 0600, even if it existed)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(text)


def write_dev_tokens(out_dir: Path) -> dict[Role, str]:
    """Fresh tokens, one per role: `api-tokens.json` (digests only) for the services and
    `<role>.token` (plaintext, 0600) for clients, in `out_dir`. Returns the tokens."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tokens = {role: new_token() for role in Role}
    entries = (TokenEntry(f"dev-{role}", role, digest(token)) for role, token in tokens.items())
    table = TokenTable(tuple(entries))
    for role, token in tokens.items():
        write_private(out_dir / token_file_name(role), token + "\n")
    (out_dir / TOKENS_FILE).write_text(json.dumps(table.to_json(), indent=2) + "\n")
    return tokens


def read_token(path: Path) -> str:
    """A client token from a `<role>.token` file (surrounding whitespace stripped)."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigurationError(f"token file {path}: cannot read: {exc}") from None
    if not token:
        raise ConfigurationError(f"token file {path} is empty")
    return token
