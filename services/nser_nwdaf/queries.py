"""The analytics GET's JSON-encoded query parameters (`ana-req`, `event-filter`, `tgt-ue`), parsed
and checked: every problem becomes an InvalidQueryError naming the parameter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from nser_nwdaf.errors import InvalidQueryError
from nser_nwdaf.events import NwdafEvent
from nser_nwdaf.schema_common import (
    EventFilter,
    EventReportingRequirement,
    TargetUeInformation,
    unix_seconds,
)
from nser_nwdaf.selection import Plmn, Selection

M = TypeVar("M", bound=BaseModel)

# An endTs this far past the clock is still "now" (client clocks drift); further is a prediction.
FUTURE_TOLERANCE_SECONDS = 5.0


@dataclass(frozen=True)
class AnalyticsQuery:
    event: NwdafEvent
    start: float
    end: float
    selection: Selection


def parse_query(
    event: NwdafEvent,
    ana_req: str | None,
    event_filter: str | None,
    tgt_ue: str | None,
    plmn: Plmn,
    default_window_seconds: int,
    retention_seconds: int,
    now: float,
) -> AnalyticsQuery:
    req = json_param("ana-req", ana_req, EventReportingRequirement)
    filt = json_param("event-filter", event_filter, EventFilter)
    target = json_param("tgt-ue", tgt_ue, TargetUeInformation)
    if filt is not None and filt.network_area is not None and not filt.network_area.ncgis:
        raise InvalidQueryError(
            "event-filter: networkArea needs ncgis (NR cells); other area kinds are not known",
            [("event-filter/networkArea", "only ncgis are supported")],
        )
    start, end = time_range(req, default_window_seconds, retention_seconds, now)
    selection = Selection.of(
        plmn,
        filt.network_area if filt else None,
        target,
        req.max_object_nbr if req else None,
        req.max_supi_nbr if req else None,
    )
    return AnalyticsQuery(event, start, end, selection)


def json_param(name: str, text: str | None, model: type[M]) -> M | None:
    if text is None:
        return None
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        params = [(_pointer(name, err["loc"]), err["msg"]) for err in exc.errors()]
        detail = "; ".join(f"{p}: {reason}" for p, reason in params)
        raise InvalidQueryError(
            f"{name} is not a valid {model.__name__}: {detail}", params
        ) from exc


def time_range(
    req: EventReportingRequirement | None,
    default_window_seconds: int,
    retention_seconds: int,
    now: float,
) -> tuple[float, float]:
    """(start, end) in unix seconds: statistics of the past, within the retention."""
    end, start = now, None
    if req is not None:
        if req.end_ts is not None:
            end = _timestamp(req.end_ts, "endTs")
        if req.start_ts is not None:
            start = _timestamp(req.start_ts, "startTs")
        elif req.offset_period is not None:
            if req.offset_period >= 0:
                raise _bad("offsetPeriod", "must be negative: this NWDAF makes no predictions")
            start = end + req.offset_period
    if start is None:
        start = end - default_window_seconds
    if end > now + FUTURE_TOLERANCE_SECONDS:
        raise _bad("endTs", "is in the future: this NWDAF gives statistics, not predictions")
    if start >= end:
        raise _bad("startTs", "must be before endTs")
    if start < now - retention_seconds:
        raise _bad("startTs", f"is older than the {retention_seconds} s of analytics kept")
    return start, end


def _timestamp(value: datetime, name: str) -> float:
    try:
        return unix_seconds(value)
    except ValueError as exc:
        raise _bad(name, f"is not a usable time ({exc})") from exc


def _bad(attribute: str, reason: str) -> InvalidQueryError:
    return InvalidQueryError(f"ana-req: {attribute} {reason}", [(f"ana-req/{attribute}", reason)])


def _pointer(name: str, loc: tuple[int | str, ...]) -> str:
    return "/".join([name, *(str(part) for part in loc)])
