"""The network: one validated description of a feeder or microgrid.

Every importer produces a :class:`Network`; every solver, app, API and screen reads
one. It is plain data: solvers never mutate it and results live elsewhere.

Examples
--------
>>> net = Network(name="tiny", buses=[Bus(name="a"), Bus(name="b")])
>>> net.element_counts()["buses"]
2
>>> Network.model_validate_json(net.model_dump_json()) == net
True
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from pydantic import BaseModel, Field, field_validator

from feederos.model._base import StrictModel
from feederos.model.buses import Bus
from feederos.model.conductors import CNData, LineGeometry, LineSpacing, TSData, WireData
from feederos.model.der import (
    EVCharger,
    Generator,
    InverterControl,
    PowerElectronicsConnection,
)
from feederos.model.lines import ACLineSegment, LineCode
from feederos.model.loads import EnergyConsumer
from feederos.model.metering import Meter
from feederos.model.profiles import Curve, LoadShape
from feederos.model.settings import StudySettings
from feederos.model.shunts import LinearShuntCompensator, Reactor
from feederos.model.sources import EnergySource
from feederos.model.switches import ProtectiveDevice, Switch
from feederos.model.transformers import PowerTransformer, RatioTapChanger, TransformerCode

__all__ = ["COLLECTIONS", "SCHEMA_VERSION", "Network"]

SCHEMA_VERSION: Final = "1.0"
"""Version of the JSON/YAML document format; the major number must match to read."""

COLLECTIONS: Final[dict[str, type[BaseModel]]] = {
    "buses": Bus,
    "sources": EnergySource,
    "wire_data": WireData,
    "cn_data": CNData,
    "ts_data": TSData,
    "line_spacings": LineSpacing,
    "line_geometries": LineGeometry,
    "line_codes": LineCode,
    "lines": ACLineSegment,
    "switches": Switch,
    "protective_devices": ProtectiveDevice,
    "transformer_codes": TransformerCode,
    "transformers": PowerTransformer,
    "regulators": RatioTapChanger,
    "capacitors": LinearShuntCompensator,
    "reactors": Reactor,
    "loads": EnergyConsumer,
    "generators": Generator,
    "inverters": PowerElectronicsConnection,
    "inverter_controls": InverterControl,
    "ev_chargers": EVCharger,
    "load_shapes": LoadShape,
    "curves": Curve,
    "meters": Meter,
}
"""Every element collection of a network and the class of its items, in document order."""


class Network(StrictModel):
    """A feeder or microgrid: buses, equipment, data libraries and study settings."""

    schema_version: str = Field(default=SCHEMA_VERSION, description="Document format version.")
    name: str = Field(min_length=1, description="Network name.")
    base_frequency_hz: float = Field(default=60.0, gt=0, description="System frequency [Hz].")
    voltage_bases_kv: list[float] = Field(
        default_factory=list, description="Line-to-line voltage bases in use [kV]."
    )
    settings: StudySettings = Field(default_factory=StudySettings, description="Study settings.")
    buses: list[Bus] = Field(default_factory=list)
    sources: list[EnergySource] = Field(default_factory=list)
    wire_data: list[WireData] = Field(default_factory=list)
    cn_data: list[CNData] = Field(default_factory=list)
    ts_data: list[TSData] = Field(default_factory=list)
    line_spacings: list[LineSpacing] = Field(default_factory=list)
    line_geometries: list[LineGeometry] = Field(default_factory=list)
    line_codes: list[LineCode] = Field(default_factory=list)
    lines: list[ACLineSegment] = Field(default_factory=list)
    switches: list[Switch] = Field(default_factory=list)
    protective_devices: list[ProtectiveDevice] = Field(default_factory=list)
    transformer_codes: list[TransformerCode] = Field(default_factory=list)
    transformers: list[PowerTransformer] = Field(default_factory=list)
    regulators: list[RatioTapChanger] = Field(default_factory=list)
    capacitors: list[LinearShuntCompensator] = Field(default_factory=list)
    reactors: list[Reactor] = Field(default_factory=list)
    loads: list[EnergyConsumer] = Field(default_factory=list)
    generators: list[Generator] = Field(default_factory=list)
    inverters: list[PowerElectronicsConnection] = Field(default_factory=list)
    inverter_controls: list[InverterControl] = Field(default_factory=list)
    ev_chargers: list[EVCharger] = Field(default_factory=list)
    load_shapes: list[LoadShape] = Field(default_factory=list)
    curves: list[Curve] = Field(default_factory=list)
    meters: list[Meter] = Field(default_factory=list)

    @field_validator("schema_version")
    @classmethod
    def _known_major_version(cls, v: str) -> str:
        if v.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
            raise ValueError(
                f"schema_version {v!r} is not readable by this feederos "
                f"(reads {SCHEMA_VERSION.split('.')[0]}.x)"
            )
        return v

    def collection(self, name: str) -> list[Any]:
        """The list of elements of collection ``name`` (a key of :data:`COLLECTIONS`)."""
        if name not in COLLECTIONS:
            raise KeyError(f"no element collection {name!r}; known: {', '.join(COLLECTIONS)}")
        items: list[Any] = getattr(self, name)
        return items

    def iter_elements(self) -> Iterator[tuple[str, Any]]:
        """Yield ``(collection, element)`` for every element, in document order."""
        for name in COLLECTIONS:
            for item in getattr(self, name):
                yield name, item

    def by_name(self, collection: str) -> dict[str, Any]:
        """Map name → element for one collection (later duplicates win)."""
        return {item.name: item for item in self.collection(collection)}

    def element_counts(self) -> dict[str, int]:
        """Number of elements in each collection (empty ones included)."""
        return {name: len(getattr(self, name)) for name in COLLECTIONS}
