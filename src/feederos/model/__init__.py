"""The feederos network model: one validated description of a feeder or microgrid.

Names follow IEC CIM where natural (EnergySource, ACLineSegment, PowerTransformer,
RatioTapChanger, LinearShuntCompensator, EnergyConsumer, Switch,
PowerElectronicsConnection); units are in field names and the conventions are stated
once in :mod:`feederos.model._base` and ``docs/nomenclature.md``.

This package imports nothing else of feederos except the error hierarchy.
"""

from __future__ import annotations

from feederos.model._base import Connection, Element, ReliabilityData, Terminal
from feederos.model.branches import Branch, branches
from feederos.model.buses import Bus
from feederos.model.conductors import CNData, LineGeometry, LineSpacing, TSData, WireData
from feederos.model.der import (
    BatteryDispatch,
    BatteryState,
    DerKind,
    EVCharger,
    Generator,
    InverterControl,
    InverterControlMode,
    PowerElectronicsConnection,
    ReactivePowerMode,
)
from feederos.model.diff import ElementChange, ElementKey, NetworkDiff, diff_networks
from feederos.model.lines import ACLineSegment, LineCode, LineImpedance
from feederos.model.loads import EnergyConsumer, LoadClass, LoadModel, LoadStatus
from feederos.model.metering import Meter, MeterKind
from feederos.model.network import COLLECTIONS, SCHEMA_VERSION, Network
from feederos.model.profiles import Curve, LoadShape
from feederos.model.settings import ControlMode, SolveMode, StudySettings
from feederos.model.shunts import (
    CapacitorControl,
    CapacitorControlMode,
    LinearShuntCompensator,
    Reactor,
)
from feederos.model.sources import EnergySource
from feederos.model.switches import ProtectiveDevice, ProtectiveDeviceKind, Switch, SwitchKind
from feederos.model.transformers import (
    PhaseShift,
    PowerTransformer,
    RatioTapChanger,
    TapChangerPhase,
    TransformerCode,
    TransformerWinding,
    WindingRating,
)
from feederos.model.validation import Problem, Severity, validate

__all__ = [
    "COLLECTIONS",
    "SCHEMA_VERSION",
    "ACLineSegment",
    "BatteryDispatch",
    "BatteryState",
    "Branch",
    "Bus",
    "CNData",
    "CapacitorControl",
    "CapacitorControlMode",
    "Connection",
    "ControlMode",
    "Curve",
    "DerKind",
    "EVCharger",
    "Element",
    "ElementChange",
    "ElementKey",
    "EnergyConsumer",
    "EnergySource",
    "Generator",
    "InverterControl",
    "InverterControlMode",
    "LineCode",
    "LineGeometry",
    "LineImpedance",
    "LineSpacing",
    "LinearShuntCompensator",
    "LoadClass",
    "LoadModel",
    "LoadShape",
    "LoadStatus",
    "Meter",
    "MeterKind",
    "Network",
    "NetworkDiff",
    "PhaseShift",
    "PowerElectronicsConnection",
    "PowerTransformer",
    "Problem",
    "ProtectiveDevice",
    "ProtectiveDeviceKind",
    "RatioTapChanger",
    "ReactivePowerMode",
    "Reactor",
    "ReliabilityData",
    "Severity",
    "SolveMode",
    "StudySettings",
    "Switch",
    "SwitchKind",
    "TSData",
    "TapChangerPhase",
    "Terminal",
    "TransformerCode",
    "TransformerWinding",
    "WindingRating",
    "WireData",
    "branches",
    "diff_networks",
    "validate",
]
