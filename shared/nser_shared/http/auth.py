"""Bearer-token access control for the nser REST services (FastAPI).

`require(Role.READER)` / `require(Role.OPERATOR)` are route dependencies: they read
`Authorization: Bearer <token>`, look the token up in the app's `TokenTable` and raise
`AccessDeniedError` (401: no or unknown token; 403: the token's role is too low). Each service maps
`AccessDeniedError` to its own error body; the `WWW-Authenticate` header follows RFC 6750.
The dependency also declares the bearer scheme and per-operation security in the OpenAPI
document. A token is never logged nor echoed: denials name the route and, for 403, the token's
holder (its `name` in the table).

Auth is on exactly when the service has a tokens file; without one the service starts only with
`insecure` (and says so in a warning): `access_table`. The file is read again when it changes
(`TokenFile`: checked at most once a second), so tokens are added, rotated and revoked without a
restart; a token past its `expires` gets 401.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.security import HTTPBearer

from nser_shared.errors import AccessDeniedError, ConfigurationError
from nser_shared.security.tokens import Role, TokenEntry, TokenTable

log = logging.getLogger(__name__)

SCHEME_NAME = "bearer"
REALM = "nser"
SCHEME_DESCRIPTION = (
    "An API token (`nser credentials` writes reader.token and operator.token). Roles: reader "
    "(read alerts, the live feed, analytics and subscriptions), operator (also acknowledge and "
    "resolve alerts, create, replace and delete subscriptions)."
)


def _denied(status: int, detail: str, error: str | None) -> AccessDeniedError:
    """The error for a refused request, with its RFC 6750 `WWW-Authenticate` challenge."""
    challenge = f'Bearer realm="{REALM}"'
    if error is not None:
        challenge += f', error="{error}"'
    return AccessDeniedError(status, detail, {"WWW-Authenticate": challenge})


class _BearerScheme(HTTPBearer):
    """Declares the scheme in the OpenAPI document; the token check is `require`'s."""

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


BEARER = _BearerScheme(scheme_name=SCHEME_NAME, description=SCHEME_DESCRIPTION, auto_error=False)
BearerDeclared = Annotated[None, Depends(BEARER)]


class TokenFile:
    """The token table of `path`, read again whenever the file changes (its size or mtime),
    checked at most every `check_every_s`. A changed file that does not load keeps the table
    in use (logged): a half-edited file never locks everyone out."""

    def __init__(self, path: Path, check_every_s: float = 1.0) -> None:
        self.path = path
        self.check_every_s = check_every_s
        self.lock = threading.Lock()
        self.signature = self._signature()
        self.current = TokenTable.load(path)  # at start, a bad file is a configuration error
        self.checked_at = time.monotonic()

    def _signature(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def table(self) -> TokenTable:
        now = time.monotonic()
        if now - self.checked_at < self.check_every_s:
            return self.current
        with self.lock:
            self.checked_at = now
            signature = self._signature()
            if signature != self.signature:
                self.signature = signature
                try:
                    self.current = TokenTable.load(self.path)
                    log.info("reloaded %d API tokens from %s", len(self.current.entries), self.path)
                except ConfigurationError as exc:
                    log.error("kept the API tokens in use: %s", exc)
        return self.current


def access_table(tokens_file: str, insecure: bool, service: str) -> TokenFile | None:
    """The service's token file; None (no auth, with a warning) only when `insecure` and no
    tokens file is set; ConfigurationError when neither is set or the file is unusable."""
    if tokens_file:
        return TokenFile(Path(tokens_file))
    if not insecure:
        env = f"NSER_{service.upper()}"
        raise ConfigurationError(
            f"the {service} API needs API tokens: set --tokens-file / {env}_TOKENS_FILE to the "
            f"api-tokens.json that `nser credentials` writes, or run with --insecure / "
            f"{env}_INSECURE=true to serve it without authentication"
        )
    log.warning("INSECURE: the %s API accepts every request without a token", service)
    return None


def install(app: FastAPI, tokens: TokenFile | None) -> None:
    app.state.tokens = tokens


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None if absent or another scheme."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def check(request: Request, needed: Role) -> TokenEntry | None:
    """The caller's entry (None when auth is off); AccessDeniedError if it may not do `needed`."""
    tokens: TokenFile | None = request.app.state.tokens
    if tokens is None:
        return None
    what = f"{request.method} {request.url.path}"
    token = bearer_token(request)
    if token is None:
        log.info("401 %s: no bearer token", what)
        given = "another scheme" if "authorization" in request.headers else "no such header"
        raise _denied(
            401,
            f"this API needs an API token: send 'Authorization: Bearer <token>' (got {given}); "
            "`nser credentials` writes reader.token and operator.token",
            None,
        )
    entry = tokens.table().lookup(token)
    if entry is None:
        log.info("401 %s: unknown token", what)
        raise _denied(401, "the bearer token is not one this service knows", "invalid_token")
    if entry.expired(time.time()):
        log.info("401 %s: the token of %s expired at %s", what, entry.name, entry.expires_text())
        raise _denied(
            401,
            f"the bearer token of {entry.name!r} expired at {entry.expires_text()}; "
            "`nser credentials --rotate-tokens` issues new ones",
            "invalid_token",
        )
    if not entry.role.grants(needed):
        log.info("403 %s: %s has role %s, needs %s", what, entry.name, entry.role, needed)
        raise _denied(
            403,
            f"this operation needs the {needed} role; the token of {entry.name!r} has the "
            f"{entry.role} role",
            "insufficient_scope",
        )
    request.state.principal = entry.name
    return entry


def require(needed: Role) -> Any:
    """A route dependency: the caller must hold `needed` (or a role that implies it)."""

    async def dependency(request: Request, _: BearerDeclared) -> TokenEntry | None:
        return check(request, needed)

    return Depends(dependency)


def responses(needed: Role, error: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI responses `require(needed)` adds to an operation; `error` is the response
    object (description replaced) of the service's error body."""
    out: dict[int | str, dict[str, Any]] = {
        401: {**error, "description": "no bearer token, or one this service does not know"}
    }
    if needed is not Role.READER:
        out[403] = {**error, "description": f"the token's role is too low: needs {needed}"}
    return out
