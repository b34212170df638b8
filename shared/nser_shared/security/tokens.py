"""API tokens for the nser REST services: roles, the server-side token table, dev credentials.

A token is an opaque `secrets.token_urlsafe(32)` string sent as `Authorization: Bearer <token>`.
Servers never hold plaintext tokens: `api-tokens.json` lists `{name, role, sha256, expires}`
entries (`expires`: ISO 8601 with a time zone, e.g. "2027-01-05T06:00:00Z"; optional), and a
token is looked up by the SHA-256 of what the client sent, compared with `hmac.compare_digest`
against every entry. Roles: `reader` (read alerts, the live feed, analytics, subscriptions) and
`operator` (also acknowledge/resolve alerts and manage subscriptions); operator implies reader.

`write_dev_tokens(dir)` (used by `nser credentials`) makes one token per role, valid for
`TOKEN_VALIDITY`: `api-tokens.json` for the services, `reader.token` and `operator.token`
(plaintext, mode 0600) for clients. With `rotate_after_s`, the entries already in the table are
kept until then (at most), so clients holding them have time to switch; the services reload the
table when the file changes (nser_shared.http.auth.TokenFile), with no restart.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from nser_shared.errors import ConfigurationError

TOKENS_FILE = "api-tokens.json"
TOKEN_VALIDITY = timedelta(days=30)  # as the development certificates (dev_pki.py)


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
    expires_at: float | None = None  # unix seconds; None: no expiry

    def __repr__(self) -> str:
        return f"TokenEntry(name={self.name!r}, role={self.role.value})"

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def expires_text(self) -> str:
        if self.expires_at is None:
            return "never"
        return datetime.fromtimestamp(self.expires_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
        out = []
        for e in self.entries:
            item = {"name": e.name, "role": e.role.value, "sha256": e.sha256}
            if e.expires_at is not None:
                item["expires"] = e.expires_text()
            out.append(item)
        return out


def _expiry(value: Any, where: str) -> float:
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise ConfigurationError(
            f"{where}: expires {value!r} is not an ISO 8601 time with a time zone "
            "(e.g. 2027-01-05T06:00:00Z)"
        )
    return when.timestamp()


def _entry(item: Any, where: str) -> TokenEntry:
    keys = {"name", "role", "sha256"}
    if not isinstance(item, dict) or not keys <= set(item) <= keys | {"expires"}:
        raise ConfigurationError(
            f"{where}: must be an object with name, role and sha256, and optionally expires"
        )
    name, role, sha = item["name"], item["role"], item["sha256"]
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError(f"{where}: name must be a non-empty string")
    if role not in tuple(Role):
        raise ConfigurationError(f"{where} ({name}): role {role!r} is not one of {', '.join(Role)}")
    if not isinstance(sha, str) or len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise ConfigurationError(f"{where} ({name}): sha256 must be 64 lowercase hex digits")
    expires = _expiry(item["expires"], f"{where} ({name})") if "expires" in item else None
    return TokenEntry(name=name, role=Role(role), sha256=sha, expires_at=expires)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable by its owner only (mode 0600, even if it existed)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(text)


def write_dev_tokens(
    out_dir: Path, rotate_after_s: float | None = None, now: float | None = None
) -> dict[Role, str]:
    """Fresh tokens, one per role, valid for TOKEN_VALIDITY: `api-tokens.json` (digests only)
    for the services and `<role>.token` (plaintext, 0600) for clients, in `out_dir`. Without
    `rotate_after_s` the table holds only the new tokens; with it, the entries already there
    stay valid for at most `rotate_after_s` more seconds (a rotation). Returns the tokens."""
    out_dir.mkdir(parents=True, exist_ok=True)
    now = time.time() if now is None else now
    expires = now + TOKEN_VALIDITY.total_seconds()
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%S")
    tokens = {role: new_token() for role in Role}
    fresh = [  # named by issue time, and apart from another rotation within the same second
        TokenEntry(f"dev-{role}-{stamp}-{secrets.token_hex(3)}", role, digest(token), expires)
        for role, token in tokens.items()
    ]
    kept: list[TokenEntry] = []
    path = out_dir / TOKENS_FILE
    if rotate_after_s is not None and path.exists():
        until = now + rotate_after_s
        for entry in TokenTable.load(path).entries:
            if not entry.expired(now):
                ends = until if entry.expires_at is None else min(entry.expires_at, until)
                kept.append(replace(entry, expires_at=ends))
    table = TokenTable(tuple(kept + fresh))
    for role, token in tokens.items():
        write_private(out_dir / token_file_name(role), token + "\n")
    partial = path.with_suffix(".json.new")  # replaced in one step: readers never see half
    partial.write_text(json.dumps(table.to_json(), indent=2) + "\n")
    partial.replace(path)
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
