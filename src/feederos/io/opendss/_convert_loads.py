"""OpenDSS loads to the model, with OpenDSS's rules for how their power is specified.

A Load's kW and kvar come from whichever specification was given last: kW and PF,
kW and kvar, kVA and PF, a service transformer's kVA times an allocation factor
(``xfkVA``/``allocationfactor``) or billed energy (``kWh``/``kWhdays``/``Cfactor``).
OpenDSS applies each property's side effect as it is set and recomputes the derived
quantities at the end of every command (``TLoadObj.RecalcElementData``), so the
converter replays the edits the same way (OpenDSS Load.pas).

Examples
--------
>>> from feederos.io.opendss._script import parse_script
>>> s = parse_script("New Circuit.c\\nNew Load.a bus1=x xfkva=50 allocationfactor=0.6 pf=0.9")
>>> load = convert_load(s.objects["load", "a"], Context())
>>> round(load.p_kw, 6), round(load.q_kvar, 4)  # kW at the PF then in force (0.88)
(26.4, 12.7861)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import Enum
from typing import Any

from feederos.io.opendss._convert_base import (
    Context,
    as_float,
    as_float_array,
    as_int,
    fail,
)
from feederos.io.opendss._convert_elements import (
    _conn,
    _name,
    _shunt_terminal,
    default_v_kv,
)
from feederos.io.opendss._script import DssObject, DssProperty
from feederos.model import (
    Connection,
    EnergyConsumer,
    LoadClass,
    LoadModel,
    LoadShape,
    LoadStatus,
)

__all__ = ["convert_load"]

_LOAD_CLASS = {1: LoadClass.RESIDENTIAL, 2: LoadClass.COMMERCIAL, 3: LoadClass.INDUSTRIAL,
               4: LoadClass.AGRICULTURAL}


class _Spec(Enum):
    """OpenDSS ``TLoadSpec``: which quantities define the load."""

    KW_PF = 0
    KW_KVAR = 1
    KVA_PF = 2
    CONNECTED_KVA_PF = 3
    KWH_PF = 4


def _q_of(p_kw: float, pf: float) -> float:
    """Reactive power of ``p_kw`` at power factor ``pf`` (negative pf: opposite sign)."""
    if pf == 0.0:
        return 0.0  # OpenDSS divides by zero here; no model value fits
    q = p_kw * math.sqrt(max(1.0 / (pf * pf) - 1.0, 0.0))
    return -q if pf < 0.0 else q


class _LoadState:
    """A Load's power values as OpenDSS's ``TLoadObj`` holds them, edit by edit."""

    def __init__(self) -> None:
        self.kw, self.kvar, self.pf = 10.0, 5.0, 0.88
        self.kva = self.kw / self.pf
        self.spec = _Spec.KW_PF
        self.xfkva, self.allocation = 0.0, 0.5
        self.kwh, self.kwh_days, self.cfactor = 0.0, 30.0, 4.0
        self.pf_changed = False
        self.pf_given = False  # OpenDSS PFSpecified: pf set since the last kvar
        self.recalc()  # as the OpenDSS constructor does: kvar follows kW and PF

    def set(self, name: str, value: float) -> bool:
        """Apply one property with its side effect; False if it is not a power property."""
        if name == "kw":
            self.kw, self.spec = value, _Spec.KW_PF
        elif name == "kvar":
            self.kvar, self.spec, self.pf_given = value, _Spec.KW_KVAR, False
        elif name == "kva":
            self.kva, self.spec = value, _Spec.KVA_PF
        elif name == "pf":
            self.pf, self.pf_changed, self.pf_given = value, True, True
        elif name in ("xfkva", "allocationfactor"):
            if name == "xfkva":
                self.xfkva = value
            else:
                self.allocation = value
            self.spec = _Spec.CONNECTED_KVA_PF
            self.allocate()
        elif name in ("kwh", "kwhdays", "cfactor"):
            if name == "kwh":
                self.kwh = value
            elif name == "kwhdays":
                self.kwh_days = value
            else:
                self.cfactor = value
            self.spec = _Spec.KWH_PF
            self.allocate()
        else:
            return False
        return True

    def allocate(self) -> None:
        """OpenDSS ``ComputeAllocatedLoad``: kW from connected kVA or billed energy."""
        if self.spec is _Spec.CONNECTED_KVA_PF:
            if self.xfkva > 0.0:
                self.kw = self.xfkva * self.allocation * abs(self.pf)
                self.kvar = _q_of(self.kw, self.pf)
        elif self.spec is _Spec.KWH_PF:
            if self.kwh_days == 0.0:
                raise ValueError("kWhdays must not be 0 (the load's kW would be infinite)")
            self.kw = self.kwh / (self.kwh_days * 24.0) * self.cfactor
            self.kvar = _q_of(self.kw, self.pf)

    def recalc(self) -> None:
        """OpenDSS ``RecalcElementData``, run at the end of every editing command."""
        if self.spec is _Spec.KW_PF:
            self.kvar = _q_of(self.kw, self.pf)
            self.kva = math.hypot(self.kw, self.kvar)
        elif self.spec is _Spec.KW_KVAR:
            self.kva = math.hypot(self.kw, self.kvar)
            if self.kva > 0.0:
                self.pf = self.kw / self.kva
                if self.kvar != 0.0:
                    self.pf *= math.copysign(1.0, self.kw * self.kvar)
        elif self.spec is _Spec.KVA_PF:
            self.kw = self.kva * abs(self.pf)
            self.kvar = _q_of(self.kw, self.pf)
        elif self.pf_changed:
            self.kvar = _q_of(self.kw, self.pf)
        self.pf_changed = False

    def use_actual(self, shape: LoadShape) -> None:
        """A ``UseActual`` shape sets kW/kvar to its peaks (OpenDSS ``SetkWkvar``)."""
        self.kw = max(shape.p_mult)
        self.kvar = max(shape.q_mult) if shape.q_mult else 0.0
        self.spec = _Spec.KW_PF if self.pf_given else _Spec.KW_KVAR


def convert_load(
    obj: DssObject, ctx: Context, shapes: Mapping[str, LoadShape] | None = None
) -> EnergyConsumer:
    """Convert a ``Load``: its power as OpenDSS resolves it, command by command.

    Parameters
    ----------
    obj
        The Load's properties in the order given.
    ctx
        Collects unmapped properties.
    shapes
        The load shapes by name: a ``UseActual`` shape given as ``yearly``, ``daily``
        or ``duty`` sets the load's kW and kvar to its peaks, as in OpenDSS.
    """
    phases, conn, kv = 3, Connection.WYE, 12.47
    base_edited = False  # OpenDSS's VBase stays 7200 V until kV, phases or conn is set
    st = _LoadState()
    bus = None
    v: dict[str, Any] = {}
    last_where = None
    for prop in obj.properties:
        if last_where is not None and prop.where != last_where:
            st.recalc()  # a new command: OpenDSS ran RecalcElementData after the last one
        last_where = prop.where
        name = prop.name
        if name in ("kw", "kvar", "kva", "pf", "xfkva", "allocationfactor", "kwh",
                    "kwhdays", "cfactor"):
            st.set(name, as_float(prop))
        elif name == "bus1":
            bus = prop.value
        elif name == "phases":
            phases, base_edited = as_int(prop), True
        elif name == "conn":
            conn, base_edited = _conn(prop.value), True
        elif name == "kv":
            kv, base_edited = as_float(prop), True
        elif not _other_property(obj, prop, v, st, shapes):
            ctx.skip(obj, prop)
    st.recalc()
    if bus is None:
        raise fail(obj, "needs bus1")
    return EnergyConsumer(
        name=obj.name, terminal=_shunt_terminal(bus, phases, conn), phases=phases,
        connection=conn, v_kv=kv if base_edited else default_v_kv(phases),
        p_kw=st.kw, q_kvar=st.kvar, **v,
    )


def _other_property(
    obj: DssObject,
    prop: DssProperty,
    v: dict[str, Any],
    st: _LoadState,
    shapes: Mapping[str, LoadShape] | None,
) -> bool:
    """Apply a Load property other than bus, base voltage and power; False if unknown."""
    name = prop.name
    if name == "model":
        v["model"] = LoadModel(as_int(prop))
    elif name == "zipv":
        values = as_float_array(prop)
        if len(values) != 7:
            raise fail(obj, "ZIPV needs 7 values", prop)
        v["zip_coefficients"] = tuple(values)
    elif name in ("vminpu", "vmaxpu", "vlowpu"):
        v["v_" + name[1:4] + "_pu"] = as_float(prop)
    elif name in ("cvrwatts", "cvrvars"):
        v["cvr_" + name[3:]] = as_float(prop)
    elif name in ("yearly", "daily", "duty"):
        _set_shape(v, name, prop.value)
        shape = (shapes or {}).get(_name(prop.value))
        if shape is not None and shape.use_actual:
            st.use_actual(shape)
    elif name == "status":
        word = prop.value.strip().lower()
        v["status"] = (LoadStatus.FIXED if word.startswith("f") else
                       LoadStatus.EXEMPT if word.startswith("e") else LoadStatus.VARIABLE)
    elif name == "class":
        v["load_class"] = _LOAD_CLASS.get(as_int(prop), LoadClass.OTHER)
    elif name == "numcust":
        v["n_customers"] = as_int(prop)
    else:
        return False
    return True


def _set_shape(v: dict[str, Any], name: str, value: str) -> None:
    """Set a shape; OpenDSS makes a ``daily`` shape the yearly one too if none is set."""
    v[name + "_shape"] = _name(value)
    if name == "daily" and v.get("yearly_shape") is None:
        v["yearly_shape"] = v[name + "_shape"]
