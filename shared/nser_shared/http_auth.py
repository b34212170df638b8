"""Bearer-token access control for the nser REST services (FastAPI).

`require(Role.READER)` / `require(Role.OPERATOR)` are route dependencies: they read
`Authorization: Bearer <token>`, look the token up in the app's `TokenTable` and raise
`AccessDeniedError` (401: no or unknown token; 403: the token's role is too low). Each service maps
`AccessDeniedError` to its own error body; the `WWW-Authenticate` header follows RFC 6750.
The dependency also declares the bearer scheme and per-operation security in the OpenAPI
document. A token is never logged nor echoed: denials name the route and, for 403, the token's
holder (its `name` in the table).

Auth is on exactly when the service has a tokens file; without one the service starts only with
`insecure` (and says so in a warning): `access_table`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.security import HTTPBearer

from nser_shared.auth import Role, TokenEntry, TokenTable
from nser_shared.errors import ConfigurationError, NserError

log = logging.getLogger(__name__)

SCHEME_NAME = "bearer"
REALM = "nser"
SCHEME_DESCRIPTION = (
    "An API token (`nser credentials` writes reader.token and operator.token). Roles: reader "
    "(read alerts, the live feed, analytics and subscriptions), operator (also acknowledge and "
    "resolve alerts, create, replace and delete subscriptions)."
)


class AccessDeniedError(NserError):
    """A request without a valid token (401) or with a token whose role is too low (403)."""

    def __init__(self, status: int, detail: str, error: str | None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        challenge = f'Bearer realm="{REALM}"'
        if error is not None:
            challenge += f', error="{error}"'
        self.headers = {"WWW-Authenticate": challenge}


class _BearerScheme(HTTPBearer):
    """Declares the scheme in the OpenAPI document; the token check is `require`'s."""

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


BEARER = _BearerScheme(scheme_name=SCHEME_NAME, description=SCHEME_DESCRIPTION, auto_error=False)
BearerDeclared = Annotated[None, Depends(BEARER)]


def access_table(tokens_file: str, insecure: bool, service: str) -> TokenTable | None:
    """The service's token table; None (no auth, with a warning) only when `insecure` and no
    tokens file is set; ConfigurationError when neither is set or the file is unusable."""
    if tokens_file:
        return TokenTable.load(Path(tokens_file))
    if not insecure:
        env = f"NSER_{service.upper()}"
        raise ConfigurationError(
            f"the {service} API needs API tokens: set --tokens-file / {env}_TOKENS_FILE to the "
            f"api-tokens.json that `nser credentials` writes, or run with --insecure / "
            f"{env}_INSECURE=true to serve it without authentication"
        )
    log.warning("INSECURE: the %s API accepts every request without a token", service)
    return None


def install(app: FastAPI, table: TokenTable | None) -> None:
    app.state.tokens = table


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None if absent or another scheme."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def check(request: Request, needed: Role) -> TokenEntry | None:
    """The caller's entry (None when auth is off); AccessDeniedError if it may not do `needed`."""
    table: TokenTable | None = request.app.state.tokens
    if table is None:
        return None
    what = f"{request.method} {request.url.path}"
    token = bearer_token(request)
    if token is None:
        log.info("401 %s: no bearer token", what)
        given = "another scheme" if "authorization" in request.headers else "no such header"
        raise AccessDeniedError(
            401,
            f"this API needs an API token: send 'Authorization: Bearer <token>' (got {given}); "
            "`nser credentials` writes reader.token and operator.token",
            None,
        )
    entry = table.lookup(token)
    if entry is None:
        log.info("401 %s: unknown token", what)
        raise AccessDeniedError(
            401, "the bearer token is not one this service knows", "invalid_token"
        )
    if not entry.role.grants(needed):
        log.info("403 %s: %s has role %s, needs %s", what, entry.name, entry.role, needed)
        raise AccessDeniedError(
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
