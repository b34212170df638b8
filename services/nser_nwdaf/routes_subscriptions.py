"""Nnwdaf_EventsSubscription: create, read, replace and delete subscriptions (and, as an
extension, list them)."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from nser_nwdaf.problems import PROBLEM_CONTENT
from nser_nwdaf.runtime import Runtime, RuntimeDep
from nser_nwdaf.schema_common import ApiModel
from nser_nwdaf.schema_subscription import NnwdafEventsSubscription, check_subscription
from nser_nwdaf.subscriptions import StoredSubscription
from nser_shared.http import auth as http_auth
from nser_shared.security.tokens import Role

router = APIRouter(prefix="/nnwdaf-eventssubscription/v1", tags=["Nnwdaf_EventsSubscription"])
READER = http_auth.require(Role.READER)
OPERATOR = http_auth.require(Role.OPERATOR)
READ_ERRORS = http_auth.responses(Role.READER, PROBLEM_CONTENT)
OPERATE_ERRORS = http_auth.responses(Role.OPERATOR, PROBLEM_CONTENT)
FULL_OR_TOO_LOW = (
    "the token's role is too low (needs operator), or the most subscriptions this NWDAF keeps "
    "exist already"
)

SubscriptionId = Annotated[str, Path(alias="subscriptionId", max_length=256)]
LOCATION = {
    "Location": {
        "description": "{apiRoot}/nnwdaf-eventssubscription/v1/subscriptions/{subscriptionId}",
        "schema": {"type": "string"},
    }
}


class SubscriptionEntry(ApiModel):
    """An entry of the subscription list (an extension: TS 29.520 has no list operation)."""

    subscription_id: str
    subscription: NnwdafEventsSubscription


async def _with_immediate_reports(
    rt: Runtime, stored: StoredSubscription
) -> NnwdafEventsSubscription:
    sub = stored.subscription
    if sub.evt_req is None or not sub.evt_req.imm_rep:
        return sub
    notes = await rt.notifier.immediate(sub, time.time())
    return sub.model_copy(update={"event_notifications": notes})


@router.post(
    "/subscriptions",
    status_code=201,
    response_model=NnwdafEventsSubscription,
    response_model_exclude_none=True,
    responses={
        201: {"headers": LOCATION},
        **OPERATE_ERRORS,
        403: {**PROBLEM_CONTENT, "description": FULL_OR_TOO_LOW},
    },
    summary="Subscribe to analytics notifications (operator)",
    dependencies=[OPERATOR],
)
async def create_subscription(
    body: NnwdafEventsSubscription, request: Request, response: Response, rt: RuntimeDep
) -> NnwdafEventsSubscription:
    check_subscription(body, time.time(), rt.settings.notify_allowed_hosts)
    stored = await rt.store.create(body.model_copy(update={"event_notifications": None}))
    url = request.url_for("get_subscription", subscriptionId=stored.id)
    response.headers["Location"] = str(url)
    return await _with_immediate_reports(rt, stored)


@router.get(
    "/subscriptions",
    response_model=list[SubscriptionEntry],
    response_model_exclude_none=True,
    responses=READ_ERRORS,
    summary="List the subscriptions (extension)",
    dependencies=[READER],
)
async def list_subscriptions(rt: RuntimeDep) -> list[SubscriptionEntry]:
    return [
        SubscriptionEntry(subscription_id=s.id, subscription=s.subscription)
        for s in await rt.store.all()
    ]


@router.get(
    "/subscriptions/{subscriptionId}",
    name="get_subscription",
    response_model=NnwdafEventsSubscription,
    response_model_exclude_none=True,
    responses=READ_ERRORS,
    summary="Read a subscription",
    dependencies=[READER],
)
async def get_subscription(
    subscription_id: SubscriptionId, rt: RuntimeDep
) -> NnwdafEventsSubscription:
    return (await rt.store.get(subscription_id)).subscription


@router.put(
    "/subscriptions/{subscriptionId}",
    response_model=NnwdafEventsSubscription,
    response_model_exclude_none=True,
    responses=OPERATE_ERRORS,
    summary="Replace a subscription (its reporting starts afresh; operator)",
    dependencies=[OPERATOR],
)
async def replace_subscription(
    subscription_id: SubscriptionId, body: NnwdafEventsSubscription, rt: RuntimeDep
) -> NnwdafEventsSubscription:
    check_subscription(body, time.time(), rt.settings.notify_allowed_hosts)
    update = body.model_copy(update={"event_notifications": None})
    return await _with_immediate_reports(rt, await rt.store.replace(subscription_id, update))


@router.delete(
    "/subscriptions/{subscriptionId}",
    status_code=204,
    response_class=Response,
    responses=OPERATE_ERRORS,
    summary="Unsubscribe (operator)",
    dependencies=[OPERATOR],
)
async def delete_subscription(subscription_id: SubscriptionId, rt: RuntimeDep) -> Response:
    await rt.store.delete(subscription_id)
    return Response(status_code=204)
