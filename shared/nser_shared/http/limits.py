"""Request size limits for the nser REST services: an ASGI middleware.

A query string over `MAX_QUERY_BYTES` is answered 414. A request whose `Content-Length` exceeds
the body limit is answered 413 before any of its body is read; a body without a length (chunked)
is counted as it streams, and the read that crosses the limit raises a 413 `HTTPException`,
which the app's own handler turns into its error body. The service supplies
`reject(status, detail) -> Response` so every path answers in the service's own error shape.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY_BYTES = 64 * 1024
MAX_QUERY_BYTES = 32 * 1024  # as sent, percent-encoded


def too_large_detail(limit: int) -> str:
    return f"the request body is larger than this service accepts ({limit} bytes)"


class RequestSizeLimit:
    def __init__(self, app: ASGIApp, max_body_bytes: int, reject: Callable[[int, str], Response]):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.reject = reject

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(scope.get("query_string", b"")) > MAX_QUERY_BYTES:
            detail = f"the query string is longer than this service accepts ({MAX_QUERY_BYTES} B)"
            await self.reject(414, detail)(scope, receive, send)
            return
        limit = self.max_body_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            response = self.reject(413, too_large_detail(limit))
            response.headers["Connection"] = "close"  # the unread body is not worth draining
            await response(scope, receive, send)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, too_large_detail(limit))
            return message

        await self.app(scope, counting_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the HTTP server refuses a malformed length itself
    return None
