"""A first capital-cost (CapEx) estimate: the network's equipment quantities × unit costs.

:func:`equipment_quantities` counts what a network holds, in the unit each item is
priced in; :func:`capex` multiplies each quantity by its rate in a :class:`UnitCosts`
table and adds them up. It is a screening estimate of the equipment the model
describes — no labour factors, land, permitting or escalation — for comparing
alternatives of one feeder, not a budget.

========================  ===========  ==============================================
item                      priced per   quantity
========================  ===========  ==============================================
``overhead_line``         km           route length of the overhead lines [km]
``underground_cable``     km           route length of the cables [km]
``transformer``           kVA          winding-1 rating of each transformer that is
                                       not a regulator's [kVA]
``regulator``             each         transformers a regulator control acts on
``capacitor``             kvar         all steps of every capacitor bank [kvar]
``switch``, ``breaker``,  each         switches by kind, and protective devices
``fuse``, ``recloser``,                (fuse, recloser, relay) on branches
``sectionalizer``,
``relay``
``pv``                    kW           PV array rating (``p_rated_kw``, else kVA) [kW]
``battery_energy``        kWh          battery capacity [kWh]
``battery_inverter``      kW           battery rating (``p_rated_kw``, else kVA) [kW]
``ev_charger``            kW           charger rating ``p_max_kw`` [kW]
========================  ===========  ==============================================

Generators, loads, reactors, meters and the source are not priced. A line's length is
counted once whatever its number of phases.

Overhead or underground
-----------------------
The model has no "construction" field, so :func:`line_class` reads it from the data:

- a line built from a geometry or a spacing is underground when a conductor is a
  concentric-neutral or tape-shielded cable (``cn_data``, ``ts_data``) or sits below
  ground (negative height);
- a line given by a line code or an inline impedance is underground when its shunt
  capacitance per phase — the mean of the capacitance matrix's diagonal, or ``c1`` —
  is at least :data:`CABLE_MIN_C_NF_PER_KM`. Shielded cables have about
  100–400 nF/km, ten or more times an overhead line's 5–15 nF/km (IEEE 13's cable
  codes 606/607: 239 and 147 nF/km; its overhead codes: 1.7; IEEE 123's cable code 12:
  111; StreetGrid's aerial triplex: 42). A code without capacitance is overhead.

Default unit costs
------------------
:func:`default_unit_costs` reads ``feederos/analysis/data/unit_costs.json``, which names
a source per figure. The line costs are the mid-points of the suburban ranges of new
distribution construction in EEI, *Out of Sight, Out of Mind 2012* (K. L. Hall, Edison
Electric Institute, January 2013), Table 6.2, in 2012 US dollars: overhead
$110,800–$908,000 per mile, underground $528,000–$2,300,000 per mile. The transformer
cost per kVA is the mean capital cost of new-transformer capacity projects, $87/kVA, in
P. J. Balducci et al., "An Examination of the Costs and Critical Characteristics of
Electric Utility Distribution System Capacity Enhancement Projects", IEEE PES T&D
Conference, 2006. **Every other default (regulators, capacitors, switchgear, PV,
batteries, EV chargers) is an illustrative order-of-magnitude figure, not a quotation,**
and the figures mix price years: replace the table with the utility's own.

Examples
--------
>>> from feederos.model import ACLineSegment, Bus, LineCode, LineImpedance, Network, Terminal
>>> code = LineCode(name="oh", impedance=LineImpedance(r1_ohm_per_km=0.3, x1_ohm_per_km=0.4))
>>> net = Network(name="n", buses=[Bus(name="a"), Bus(name="b")], line_codes=[code],
...               lines=[ACLineSegment(name="l1", bus1=Terminal(bus="a"),
...                                    bus2=Terminal(bus="b"), length_km=2.0, line_code="oh")])
>>> costs = default_unit_costs().model_copy(update={"overhead_line_per_km": 100_000.0})
>>> estimate = capex(net, costs)
>>> [(r.item, r.quantity, r.unit, r.subtotal) for r in estimate.rows]
[('overhead_line', 2.0, 'km', 200000.0)]
>>> estimate.total, estimate.currency
(200000.0, 'USD')
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from feederos.errors import FeederosError
from feederos.model import (
    ACLineSegment,
    DerKind,
    LineCode,
    LineGeometry,
    LineImpedance,
    LineSpacing,
    Network,
)

__all__ = [
    "CABLE_MIN_C_NF_PER_KM",
    "CostEstimate",
    "CostRow",
    "CostTableError",
    "EquipmentQuantity",
    "LineClass",
    "UnitCosts",
    "capex",
    "default_unit_costs",
    "equipment_quantities",
    "line_class",
    "read_unit_costs",
    "shunt_c_nf_per_km",
]

CABLE_MIN_C_NF_PER_KM: Final = 75.0
"""Shunt capacitance per phase from which a line code is taken for a cable [nF/km]."""

_DEFAULTS_FILE = "data/unit_costs.json"


class CostTableError(FeederosError, ValueError):
    """A unit-cost table cannot be read; the message names the file and each bad entry."""


class LineClass(StrEnum):
    """How a line is built."""

    OVERHEAD = "overhead"
    UNDERGROUND = "underground"


class UnitCosts(BaseModel):
    """Unit costs of equipment, in ``currency``; every field name ends in its unit."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False)

    currency: str = Field(default="USD", min_length=1, description="ISO 4217 code.")
    overhead_line_per_km: float = Field(ge=0, description="Overhead line [currency/km].")
    underground_cable_per_km: float = Field(ge=0, description="Cable [currency/km].")
    transformer_per_kva: float = Field(ge=0, description="Transformer [currency/kVA].")
    regulator_each: float = Field(ge=0, description="Voltage regulator [currency each].")
    capacitor_per_kvar: float = Field(ge=0, description="Capacitor bank [currency/kvar].")
    switch_each: float = Field(ge=0, description="Switch [currency each].")
    breaker_each: float = Field(ge=0, description="Breaker [currency each].")
    fuse_each: float = Field(ge=0, description="Fuse [currency each].")
    recloser_each: float = Field(ge=0, description="Recloser [currency each].")
    sectionalizer_each: float = Field(ge=0, description="Sectionaliser [currency each].")
    relay_each: float = Field(ge=0, description="Protection relay [currency each].")
    pv_per_kw: float = Field(ge=0, description="PV system [currency/kW].")
    battery_per_kwh: float = Field(ge=0, description="Battery energy [currency/kWh].")
    battery_inverter_per_kw: float = Field(
        ge=0, description="Battery inverter and balance of system [currency/kW]."
    )
    ev_charger_per_kw: float = Field(ge=0, description="EV charger [currency/kW].")


@dataclass(frozen=True, slots=True)
class EquipmentQuantity:
    """How much of one priced item a network holds: elements and quantity in ``unit``."""

    item: str
    count: int
    quantity: float
    unit: str


@dataclass(frozen=True, slots=True)
class CostRow:
    """One line of an estimate: ``subtotal = quantity × unit_cost`` [currency]."""

    item: str
    count: int
    quantity: float
    unit: str
    unit_cost: float
    subtotal: float

    def to_dict(self) -> dict[str, Any]:
        """The row as a JSON-ready dict."""
        return {
            "item": self.item,
            "count": self.count,
            "quantity": self.quantity,
            "unit": self.unit,
            "unit_cost": self.unit_cost,
            "subtotal": self.subtotal,
        }


@dataclass(frozen=True, slots=True)
class CostEstimate:
    """A CapEx estimate: one row per priced item present, in the table order."""

    rows: tuple[CostRow, ...]
    currency: str
    notes: tuple[str, ...] = ()

    @property
    def total(self) -> float:
        """Sum of the subtotals [currency]."""
        return float(sum(r.subtotal for r in self.rows))

    def row(self, item: str) -> CostRow | None:
        """The row of ``item``, ``None`` if the network has none of it."""
        return next((r for r in self.rows if r.item == item), None)

    def to_dict(self) -> dict[str, Any]:
        """The estimate as a JSON-ready dict: currency, rows, total and notes."""
        return {
            "currency": self.currency,
            "rows": [r.to_dict() for r in self.rows],
            "total": self.total,
            "notes": list(self.notes),
        }


# item -> (UnitCosts field, unit), in the order rows are reported.
_ITEMS: Final[dict[str, tuple[str, str]]] = {
    "overhead_line": ("overhead_line_per_km", "km"),
    "underground_cable": ("underground_cable_per_km", "km"),
    "transformer": ("transformer_per_kva", "kVA"),
    "regulator": ("regulator_each", "each"),
    "capacitor": ("capacitor_per_kvar", "kvar"),
    "switch": ("switch_each", "each"),
    "breaker": ("breaker_each", "each"),
    "fuse": ("fuse_each", "each"),
    "recloser": ("recloser_each", "each"),
    "sectionalizer": ("sectionalizer_each", "each"),
    "relay": ("relay_each", "each"),
    "pv": ("pv_per_kw", "kW"),
    "battery_energy": ("battery_per_kwh", "kWh"),
    "battery_inverter": ("battery_inverter_per_kw", "kW"),
    "ev_charger": ("ev_charger_per_kw", "kW"),
}

_NOTES: Final = (
    "Screening estimate of the equipment in the model: no labour factors, land, "
    "permitting or escalation.",
    "Lines given by a line code are taken for cables when their shunt capacitance is "
    f"at least {CABLE_MIN_C_NF_PER_KM:g} nF/km per phase (the model has no construction "
    "field).",
)


def line_class(network: Network, line: ACLineSegment) -> LineClass:
    """Whether ``line`` is overhead or underground (see the module docstring).

    A reference the network lacks (a line code, geometry or spacing) reads as overhead;
    validation reports it.

    Examples
    --------
    >>> from feederos.feeders import load_feeder
    >>> net = load_feeder("ieee13")
    >>> [ln.name for ln in net.lines if line_class(net, ln) is LineClass.UNDERGROUND]
    ['692675', '684652']
    """
    return _LineData.of(network).line_class(line)


@dataclass(frozen=True, slots=True)
class _LineData:
    """The libraries a line's construction is read from, looked up by name once."""

    codes: dict[str, LineCode]
    geometries: dict[str, LineGeometry]
    spacings: dict[str, LineSpacing]
    cables: frozenset[str]

    @classmethod
    def of(cls, network: Network) -> _LineData:
        return cls(
            codes={c.name: c for c in network.line_codes},
            geometries={g.name: g for g in network.line_geometries},
            spacings={s.name: s for s in network.line_spacings},
            cables=frozenset(c.name for c in (*network.cn_data, *network.ts_data)),
        )

    def line_class(self, line: ACLineSegment) -> LineClass:
        if line.geometry is not None:
            geometry = self.geometries.get(line.geometry)
            if geometry is None:
                return LineClass.OVERHEAD
            heights = geometry.h_m
            if heights is None and geometry.spacing is not None:
                spacing = self.spacings.get(geometry.spacing)
                heights = None if spacing is None else spacing.h_m
            cable = any(k in ("cn", "ts") for k in geometry.conductor_kinds) or any(
                c in self.cables for c in geometry.conductors
            )
            return _class(cable or _buried(heights))
        if line.spacing is not None:
            spacing = self.spacings.get(line.spacing)
            heights = None if spacing is None else spacing.h_m
            return _class(any(w in self.cables for w in line.wires or ()) or _buried(heights))
        impedance = line.impedance
        if line.line_code is not None:
            code = self.codes.get(line.line_code)
            impedance = None if code is None else code.impedance
        c_nf_per_km = None if impedance is None else shunt_c_nf_per_km(impedance)
        return _class(c_nf_per_km is not None and c_nf_per_km >= CABLE_MIN_C_NF_PER_KM)


def shunt_c_nf_per_km(impedance: LineImpedance) -> float | None:
    """Shunt capacitance per phase: the mean of the C matrix's diagonal, else ``c1``
    [nF/km]; ``None`` if the impedance gives none.

    >>> shunt_c_nf_per_km(LineImpedance(r1_ohm_per_km=0.1, x1_ohm_per_km=0.1,
    ...                                 c1_nf_per_km=250.0))
    250.0
    """
    c = impedance.c_matrix_nf_per_km
    if c is not None and c:
        return sum(c[i][i] for i in range(len(c))) / len(c)
    return impedance.c1_nf_per_km


def _buried(heights: Sequence[float] | None) -> bool:
    return heights is not None and any(h < 0 for h in heights)


def _class(underground: bool) -> LineClass:
    return LineClass.UNDERGROUND if underground else LineClass.OVERHEAD


def equipment_quantities(network: Network) -> list[EquipmentQuantity]:
    """How much of each priced item ``network`` holds; items it lacks are left out.

    Returns
    -------
    list[EquipmentQuantity]
        In the order of the module docstring's table.

    Examples
    --------
    >>> from feederos.feeders import load_feeder
    >>> [(q.item, q.count, round(q.quantity, 4))
    ...  for q in equipment_quantities(load_feeder("ieee13"))][:3]
    [('overhead_line', 9, 2.1031), ('underground_cable', 2, 0.3962), ('transformer', 2, 5500.0)]
    """
    found: dict[str, tuple[int, float]] = {}

    def add(item: str, quantity: float) -> None:
        count, total = found.get(item, (0, 0.0))
        found[item] = (count + 1, total + quantity)

    lines = _LineData.of(network)
    for line in network.lines:
        kind = lines.line_class(line)
        add("overhead_line" if kind is LineClass.OVERHEAD else "underground_cable", line.length_km)
    regulated = {r.transformer for r in network.regulators}
    for t in network.transformers:
        if t.name not in regulated:
            add("transformer", t.windings[0].s_kva)
    # One regulator per regulated transformer (unit), whatever its number of phases.
    for _ in regulated & {t.name for t in network.transformers}:
        add("regulator", 1.0)
    for cap in network.capacitors:
        add("capacitor", sum(cap.q_kvar))
    for sw in network.switches:
        add(sw.kind.value, 1.0)
    for dev in network.protective_devices:
        add(dev.kind.value, 1.0)
    for inv in network.inverters:
        rating_kw = inv.p_rated_kw if inv.p_rated_kw is not None else inv.s_kva
        if inv.kind is DerKind.PV:
            add("pv", rating_kw)
        else:
            add("battery_energy", inv.energy_kwh or 0.0)
            add("battery_inverter", rating_kw)
    for ev in network.ev_chargers:
        add("ev_charger", ev.p_max_kw)
    return [
        EquipmentQuantity(item, found[item][0], found[item][1], unit)
        for item, (_, unit) in _ITEMS.items()
        if item in found
    ]


def capex(network: Network, costs: UnitCosts | None = None) -> CostEstimate:
    """The equipment CapEx of ``network``: each quantity × its unit cost.

    Parameters
    ----------
    network
        The feeder.
    costs
        The unit-cost table; :func:`default_unit_costs` if not given (see the module
        docstring for what its figures are worth).

    Returns
    -------
    CostEstimate
        One row per item present, the total in ``costs.currency``, and notes on the
        method.
    """
    table = costs if costs is not None else default_unit_costs()
    rows = []
    for q in equipment_quantities(network):
        rate = float(getattr(table, _ITEMS[q.item][0]))
        rows.append(CostRow(q.item, q.count, q.quantity, q.unit, rate, q.quantity * rate))
    return CostEstimate(tuple(rows), table.currency, _NOTES)


def read_unit_costs(path: str | os.PathLike[str]) -> UnitCosts:
    """Read a unit-cost table: a JSON object of :class:`UnitCosts` fields, or a document
    holding one under ``"unit_costs"`` (as the packaged default does).

    Raises
    ------
    CostTableError
        The file is unreadable, not JSON, or a field is missing, unknown or invalid;
        the message names the file and every bad field.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CostTableError(f"{path}: cannot read: {exc}") from None
    return _unit_costs_from_text(text, source=str(path))


@cache
def default_unit_costs() -> UnitCosts:
    """The packaged default table (``feederos/analysis/data/unit_costs.json``).

    >>> default_unit_costs().currency
    'USD'
    """
    text = resources.files("feederos.analysis").joinpath(_DEFAULTS_FILE).read_text("utf-8")
    return _unit_costs_from_text(text, source=f"feederos/analysis/{_DEFAULTS_FILE}")


def _unit_costs_from_text(text: str, *, source: str) -> UnitCosts:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CostTableError(f"{source}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    if isinstance(data, dict) and isinstance(data.get("unit_costs"), dict):
        data = data["unit_costs"]
    if not isinstance(data, dict):
        raise CostTableError(f"{source}: a unit-cost table must be a JSON object")
    try:
        return UnitCosts.model_validate(data)
    except ValidationError as exc:
        listing = "\n".join(
            f"  - {'.'.join(str(p) for p in e['loc']) or '<table>'}: {e['msg']}"
            for e in exc.errors()
        )
        raise CostTableError(
            f"{source}: {exc.error_count()} problem(s) in the unit-cost table:\n{listing}"
        ) from None
