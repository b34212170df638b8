"""Which cells and devices an analytics request or subscription is about."""

from __future__ import annotations

from dataclasses import dataclass

from nser_nwdaf.schema_common import (
    Ncgi,
    NetworkAreaInfo,
    PlmnId,
    TargetUeInformation,
)


@dataclass(frozen=True)
class Plmn:
    mcc: str
    mnc: str

    def ncgi(self, cell: str) -> Ncgi:
        return Ncgi(plmn_id=PlmnId(mcc=self.mcc, mnc=self.mnc), nr_cell_id=cell)

    def area(self, cell: str) -> NetworkAreaInfo:
        return NetworkAreaInfo(ncgis=[self.ncgi(cell)])


@dataclass(frozen=True)
class Selection:
    cells: frozenset[str] | None = None  # None: every cell with results; named: even silent
    devices: frozenset[str] | None = None  # devices named by SUPI
    any_device: bool = False  # every device (seen in `cells`, when they are given)
    models: frozenset[str] | None = None  # served models (NF_LOAD); None: every one with results
    max_objects: int | None = None  # entries per payload array
    max_supis: int | None = None  # device entries

    @property
    def wants_devices(self) -> bool:
        return self.devices is not None or self.any_device

    @classmethod
    def of(
        cls,
        plmn: Plmn,
        area: NetworkAreaInfo | None = None,
        target: TargetUeInformation | None = None,
        max_objects: int | None = None,
        max_supis: int | None = None,
    ) -> Selection:
        cells = None
        if area is not None and area.ncgis:
            # Cells of another PLMN are not this NWDAF's: they match nothing.
            cells = frozenset(
                n.nr_cell_id.lower()
                for n in area.ncgis
                if (n.plmn_id.mcc, n.plmn_id.mnc) == (plmn.mcc, plmn.mnc)
            )
        devices = None
        any_device = False
        if target is not None:
            any_device = bool(target.any_ue)
            if target.supis and not any_device:
                devices = frozenset(target.supis)
        return cls(cells, devices, any_device, None, max_objects, max_supis)

    @classmethod
    def scope(cls, scope: str) -> Selection:
        """Exactly one scope, named as thresholds name them: cell:<id>, ue:<supi>, nf:<model>."""
        kind, _, ident = scope.partition(":")
        one = frozenset({ident})
        return cls(
            cells=one if kind == "cell" else frozenset(),
            devices=one if kind == "ue" else None,
            models=one if kind == "nf" else None,
        )
