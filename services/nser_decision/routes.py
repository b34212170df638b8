"""`/v1/alerts`: the alert history, one alert, acknowledge / resolve, and the live feed (SSE)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse

from nser_decision.alerts import Alert, AlertPage, AlertStatus
from nser_decision.runtime import Runtime, RuntimeDep
from nser_decision.store import FEED, AlertFilter

router = APIRouter(prefix="/v1/alerts", tags=["alerts"])
KEEPALIVE_S = 15.0
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "malformed filter, time range or cursor"},
    404: {"description": "no such alert"},
    409: {"description": "the alert's status does not allow this change"},
    503: {"description": "Redis unavailable"},
}
AlertId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$")]


@router.get("", response_model=AlertPage, responses=ERRORS, summary="List alerts, newest first")
async def list_alerts(
    rt: RuntimeDep,
    device_id: Annotated[str | None, Query(max_length=128)] = None,
    nr_cell_id: Annotated[str | None, Query(pattern=r"^[0-9a-f]{9}$")] = None,
    status: AlertStatus | None = None,
    responder: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[float | None, Query(description="created at or after (unix s)")] = None,
    until: Annotated[float | None, Query(description="created before (unix s)")] = None,
    cursor: Annotated[str | None, Query(max_length=256)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AlertPage:
    where = AlertFilter(device_id, nr_cell_id, status, responder, since, until)
    return await rt.store.page(where, cursor, limit)


async def _feed(request: Request, rt: Runtime) -> AsyncIterator[str]:
    pubsub = rt.redis.pubsub()
    await pubsub.subscribe(FEED)
    try:
        yield ": connected\n\n"
        while not await request.is_disconnected():
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=KEEPALIVE_S)
            if message is None:
                yield ": keep-alive\n\n"
                continue
            data = message["data"]
            yield f"event: alert\ndata: {data.decode() if isinstance(data, bytes) else data}\n\n"
            await asyncio.sleep(0)
    finally:
        await pubsub.unsubscribe(FEED)
        await pubsub.aclose()  # type: ignore[no-untyped-call]


@router.get(
    "/feed",
    summary="Live feed of alert changes (Server-Sent Events, `event: alert`, data: the alert)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def feed(request: Request, rt: RuntimeDep) -> StreamingResponse:
    return StreamingResponse(_feed(request, rt), media_type="text/event-stream")


@router.get("/{alert_id}", response_model=Alert, responses=ERRORS, summary="One alert")
async def get_alert(alert_id: AlertId, rt: RuntimeDep) -> Alert:
    return await rt.store.get(alert_id)


@router.post(
    "/{alert_id}/acknowledge",
    response_model=Alert,
    responses=ERRORS,
    summary="open -> acknowledged",
)
async def acknowledge(alert_id: AlertId, rt: RuntimeDep) -> Alert:
    return await rt.store.transition(alert_id, AlertStatus.ACKNOWLEDGED)


@router.post(
    "/{alert_id}/resolve",
    response_model=Alert,
    responses=ERRORS,
    summary="open or acknowledged -> resolved",
)
async def resolve(alert_id: AlertId, rt: RuntimeDep) -> Alert:
    return await rt.store.transition(alert_id, AlertStatus.RESOLVED)
