"""Errors -> HTTP answers, here and only here. Every error body is a TS 29.571 ProblemDetails
(`application/problem+json`) whose `cause` is a TS 29.500 application error where one fits.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException

from nser_nwdaf.errors import (
    InvalidQueryError,
    InvalidSubscriptionError,
    NwdafError,
    SubscriptionLimitError,
    SubscriptionNotFoundError,
)
from nser_nwdaf.schema_common import InvalidParam, ProblemDetails
from nser_shared.errors import AccessDeniedError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
# A ProblemDetails body in an OpenAPI response object (the schema is installed by openapi.py).
PROBLEM_CONTENT = {
    "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}
}

# error -> (status, cause)
ERRORS: dict[type[NwdafError], tuple[int, str]] = {
    InvalidQueryError: (400, "INVALID_QUERY_PARAM"),
    InvalidSubscriptionError: (400, "MANDATORY_IE_INCORRECT"),
    SubscriptionNotFoundError: (404, "SUBSCRIPTION_NOT_FOUND"),
    SubscriptionLimitError: (403, "SUBSCRIPTION_LIMIT_REACHED"),  # this NWDAF's own cause
}
# RFC 6750's error codes, as this NWDAF's causes of 401 and 403 for API tokens.
ACCESS_CAUSES = {401: "INVALID_TOKEN", 403: "INSUFFICIENT_SCOPE"}
HTTP_CAUSES = {404: "RESOURCE_URI_STRUCTURE_NOT_FOUND"}


def problem(
    status: int,
    detail: str,
    cause: str | None = None,
    invalid_params: Iterable[tuple[str, str]] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ProblemDetails(
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        cause=cause,
        invalid_params=[InvalidParam(param=p, reason=r) for p, r in invalid_params] or None,
    )
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=dict(headers) if headers else None,
    )


def install(app: FastAPI) -> None:
    async def nwdaf_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, NwdafError)
        status, cause = next(v for k, v in ERRORS.items() if isinstance(exc, k))
        return problem(status, exc.detail, cause, exc.invalid_params)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors: list[dict[str, Any]] = list(exc.errors())
        params = [(_param(e["loc"]), str(e["msg"])) for e in errors]
        detail = "; ".join(f"{p}: {reason}" for p, reason in params) or "invalid request"
        return problem(400, detail, _cause(errors), params)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        status = exc.status_code
        return problem(status, str(exc.detail), HTTP_CAUSES.get(status), headers=exc.headers)

    async def access_denied(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AccessDeniedError)
        return problem(exc.status, exc.detail, ACCESS_CAUSES[exc.status], headers=exc.headers)

    async def store_error(request: Request, exc: Exception) -> JSONResponse:
        log.warning("Redis unavailable: %s", exc)
        return problem(
            503, f"the analytics store (Redis) is unavailable: {exc}", "STORE_UNAVAILABLE"
        )

    async def bug(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem(500, "internal error (logged)", "SYSTEM_FAILURE")

    app.add_exception_handler(NwdafError, nwdaf_error)
    app.add_exception_handler(AccessDeniedError, access_denied)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RedisError, store_error)
    app.add_exception_handler(Exception, bug)


def _param(loc: Iterable[int | str]) -> str:
    """A query or path parameter's name; a body attribute's JSON pointer."""
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        return "/" + "/".join(parts[1:])
    return "/".join(parts[1:]) or "/".join(parts)


def _cause(errors: list[dict[str, Any]]) -> str:
    first = errors[0] if errors else {}
    where = first.get("loc", ("body",))[0]
    kind = first.get("type", "")
    if where == "body":
        if kind == "json_invalid":
            return "INVALID_MSG_FORMAT"
        return "MANDATORY_IE_MISSING" if kind == "missing" else "MANDATORY_IE_INCORRECT"
    return "MANDATORY_QUERY_PARAM_MISSING" if kind == "missing" else "INVALID_QUERY_PARAM"
