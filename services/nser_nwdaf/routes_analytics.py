"""Nnwdaf_AnalyticsInfo: `GET /nnwdaf-analyticsinfo/v1/analytics` (statistics on request)."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query

from nser_nwdaf.events import NwdafEvent
from nser_nwdaf.notifier import utc
from nser_nwdaf.problems import PROBLEM_CONTENT
from nser_nwdaf.queries import parse_query
from nser_nwdaf.runtime import RuntimeDep
from nser_nwdaf.schema_analytics import AnalyticsData
from nser_shared.http import auth as http_auth
from nser_shared.security.tokens import Role

router = APIRouter(prefix="/nnwdaf-analyticsinfo/v1", tags=["Nnwdaf_AnalyticsInfo"])
MAX_JSON_PARAM_CHARS = 8192  # each JSON query parameter (1000 SUPIs do not fit: ask per cell)

EventId = Annotated[
    NwdafEvent,
    Query(
        alias="event-id",
        description="ABNORMAL_BEHAVIOUR, NF_LOAD and DN_PERFORMANCE are 3GPP events; "
        "NSER_EMOTION is this NWDAF's own (docs/nwdaf.md)",
    ),
]
AnaReq = Annotated[
    str | None,
    Query(
        alias="ana-req",
        max_length=MAX_JSON_PARAM_CHARS,
        description='JSON EventReportingRequirement, e.g. {"startTs": "2025-01-01T12:00:00Z", '
        '"endTs": "2025-01-01T12:05:00Z"} or {"offsetPeriod": -300}; default: the last '
        "NSER_NWDAF_DEFAULT_WINDOW_SECONDS",
    ),
]
EventFilterParam = Annotated[
    str | None,
    Query(
        alias="event-filter",
        max_length=MAX_JSON_PARAM_CHARS,
        description='JSON EventFilter, e.g. {"networkArea": {"ncgis": [{"plmnId": {"mcc": '
        '"001", "mnc": "01"}, "nrCellId": "00066c001"}]}}; default: every cell',
    ),
]
TgtUe = Annotated[
    str | None,
    Query(
        alias="tgt-ue",
        max_length=MAX_JSON_PARAM_CHARS,
        description='JSON TargetUeInformation: {"supis": ["phone-0001"]} or {"anyUe": true} '
        "adds per-device entries to NSER_EMOTION",
    ),
]


@router.get(
    "/analytics",
    response_model=AnalyticsData,
    response_model_exclude_none=True,
    dependencies=[http_auth.require(Role.READER)],
    responses=http_auth.responses(Role.READER, PROBLEM_CONTENT),
    summary="Statistics of one event over a time window",
)
async def get_analytics(
    rt: RuntimeDep,
    event_id: EventId,
    ana_req: AnaReq = None,
    event_filter: EventFilterParam = None,
    tgt_ue: TgtUe = None,
) -> AnalyticsData:
    s = rt.settings
    now = time.time()
    q = parse_query(event_id, ana_req, event_filter, tgt_ue, rt.analytics.plmn,
                    s.default_window_seconds, s.retention_seconds, now)  # fmt: skip
    payload = await rt.analytics.report(q.event, q.start, q.end, q.selection, now)
    return AnalyticsData.model_validate(
        {**dict(payload), "start": utc(q.start), "expiry": utc(q.end), "time_stamp_gen": utc(now)}
    )
