"""`/v1/alerts`: the alert history, one alert, acknowledge / resolve, and the live feed (SSE).
Reading needs the reader role, changing an alert the operator role (nser_shared.http.auth)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from nser_decision.alerts import Alert, AlertPage, AlertStatus
from nser_decision.feed import FeedResponse, events
from nser_decision.runtime import RuntimeDep
from nser_decision.store import AlertFilter
from nser_shared.http import auth as http_auth
from nser_shared.security.tokens import Role


class ErrorBody(BaseModel):
    detail: str


router = APIRouter(prefix="/v1/alerts", tags=["alerts"])
ERROR = {"model": ErrorBody}
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "malformed filter, time range or cursor"},
    404: {"description": "no such alert"},
    409: {"description": "the alert's status does not allow this change"},
    503: {"description": "Redis unavailable"},
}
READ_ERRORS = {**ERRORS, **http_auth.responses(Role.READER, ERROR)}
OPERATE_ERRORS = {**ERRORS, **http_auth.responses(Role.OPERATOR, ERROR)}
AlertId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$")]
Reader = http_auth.require(Role.READER)
Operator = http_auth.require(Role.OPERATOR)


@router.get(
    "",
    response_model=AlertPage,
    responses=READ_ERRORS,
    dependencies=[Reader],
    summary="List alerts, newest first",
)
async def list_alerts(
    rt: RuntimeDep,
    device_id: Annotated[str | None, Query(max_length=128)] = None,
    nr_cell_id: Annotated[str | None, Query(pattern=r"^[0-9a-f]{9}$")] = None,
    status: AlertStatus | None = None,
    responder: Annotated[str | None, Query(max_length=64)] = None,
    # allow_inf_nan=False: `since=nan` is a bad request (422), not a value to send to Redis.
    since: Annotated[
        float | None, Query(description="created at or after (unix s)", allow_inf_nan=False)
    ] = None,
    until: Annotated[
        float | None, Query(description="created before (unix s)", allow_inf_nan=False)
    ] = None,
    cursor: Annotated[str | None, Query(max_length=256)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AlertPage:
    where = AlertFilter(device_id, nr_cell_id, status, responder, since, until)
    return await rt.store.page(where, cursor, limit)


@router.get(
    "/feed",
    summary="Live feed of alert changes (Server-Sent Events, `event: alert`, data: the alert)",
    response_class=StreamingResponse,
    dependencies=[Reader],
    responses={
        200: {"content": {"text/event-stream": {}}},
        **http_auth.responses(Role.READER, ERROR),
        503: {**ERROR, "description": "as many feed clients as allowed are connected"},
    },
)
async def feed(rt: RuntimeDep) -> FeedResponse:
    release = rt.feed_clients.admit()
    queue_size = rt.settings.feed_queue_events
    return FeedResponse(events(rt.redis, queue_size, rt.metrics), release, rt.metrics)


@router.get(
    "/{alert_id}",
    response_model=Alert,
    responses=READ_ERRORS,
    dependencies=[Reader],
    summary="One alert",
)
async def get_alert(alert_id: AlertId, rt: RuntimeDep) -> Alert:
    return await rt.store.get(alert_id)


@router.post(
    "/{alert_id}/acknowledge",
    response_model=Alert,
    responses=OPERATE_ERRORS,
    dependencies=[Operator],
    summary="open -> acknowledged (operator)",
)
async def acknowledge(alert_id: AlertId, rt: RuntimeDep) -> Alert:
    return await rt.store.transition(alert_id, AlertStatus.ACKNOWLEDGED)


@router.post(
    "/{alert_id}/resolve",
    response_model=Alert,
    responses=OPERATE_ERRORS,
    dependencies=[Operator],
    summary="open or acknowledged -> resolved (operator)",
)
async def resolve(alert_id: AlertId, rt: RuntimeDep) -> Alert:
    return await rt.store.transition(alert_id, AlertStatus.RESOLVED)
