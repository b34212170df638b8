"""TS 29.520 / 29.571 data types shared by both Nnwdaf APIs (the subset this NWDAF uses).

Attributes are snake_case in Python and camelCase on the wire, exactly as 3GPP spells them.
Unknown attributes are ignored, as 3GPP asks of receivers for forward compatibility.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

NR_CELL_ID_PATTERN = r"^[A-Fa-f0-9]{9}$"
MAX_ITEMS = 1000  # on any list a client sends

# TS 29.571 Supi: "imsi-...", "nai-...", ... or, for forward compatibility, any string. The
# simulated devices have no IMSI; their device ids are used as SUPIs.
Supi = Annotated[str, Field(min_length=1, max_length=256)]


class ApiModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True, extra="ignore"
    )


class PlmnId(ApiModel):
    mcc: str = Field(pattern=r"^\d{3}$", examples=["001"])
    mnc: str = Field(pattern=r"^\d{2,3}$", examples=["01"])


class Ncgi(ApiModel):
    """NR cell global identity."""

    plmn_id: PlmnId
    nr_cell_id: str = Field(pattern=NR_CELL_ID_PATTERN, examples=["00066c001"])


class NetworkAreaInfo(ApiModel):
    """An area of the network; this NWDAF knows cells, so only `ncgis` are understood."""

    ncgis: list[Ncgi] | None = Field(default=None, min_length=1, max_length=MAX_ITEMS)


class TargetUeInformation(ApiModel):
    any_ue: bool | None = None
    supis: list[Supi] | None = Field(default=None, min_length=1, max_length=MAX_ITEMS)


class EventFilter(ApiModel):
    """The `event-filter` query parameter of the analytics GET (the attributes used here)."""

    network_area: NetworkAreaInfo | None = None


class EventReportingRequirement(ApiModel):
    """The `ana-req` query parameter: the time window of the statistics and output limits.

    `offsetPeriod` (seconds, negative: the past) sets the window's start relative to now when
    `startTs` is absent; positive offsets and future `endTs` ask for predictions, which this
    NWDAF does not make.
    """

    start_ts: datetime | None = None
    end_ts: datetime | None = None
    offset_period: int | None = Field(default=None, ge=-(10**9), le=10**9)
    max_object_nbr: int | None = Field(default=None, ge=1, le=10**9)
    max_supi_nbr: int | None = Field(default=None, ge=1, le=10**9)


class InvalidParam(ApiModel):
    param: str
    reason: str | None = None


class ProblemDetails(ApiModel):
    """TS 29.571 ProblemDetails: every error this service answers has this body."""

    type: str | None = None
    title: str | None = None
    status: int | None = None
    detail: str | None = None
    instance: str | None = None
    cause: str | None = None
    invalid_params: list[InvalidParam] | None = None


def unix_seconds(value: datetime) -> float:
    """`value` in unix seconds (a time without a zone is UTC); ValueError if out of range."""
    try:
        return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).timestamp()
    except (OverflowError, OSError) as exc:
        raise ValueError(f"{value.isoformat()} is out of range") from exc
