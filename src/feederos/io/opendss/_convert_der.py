"""OpenDSS generators, PV systems, batteries and inverter controls to the model.

Examples
--------
>>> from feederos.io.opendss._script import parse_script
>>> s = parse_script("New Circuit.c\\nNew Storage.s bus1=x kwrated=100 kwhrated=400")
>>> bat = convert_der(s.objects["storage", "s"], Context())
>>> bat.s_kva, bat.kvar_max  # kWrated sets the kVA rating, not the kvar limits
(100.0, 25.0)
"""

from __future__ import annotations

import math
from typing import Any

from feederos.io.opendss._convert_base import (
    Context,
    as_array,
    as_bool,
    as_float,
    as_int,
    fail,
)
from feederos.io.opendss._convert_elements import (
    _conn,
    _name,
    _shunt_terminal,
    default_v_kv,
)
from feederos.io.opendss._script import DssObject
from feederos.model import (
    BatteryDispatch,
    BatteryState,
    Connection,
    DerKind,
    Generator,
    InverterControl,
    InverterControlMode,
    PowerElectronicsConnection,
)

__all__ = ["convert_der", "convert_generator", "convert_invcontrol"]


def _shunt_common(obj: DssObject, prop: Any, v: dict[str, Any]) -> bool:
    """Bus, phases, connection, kV, shapes and enabled; ``v["_base"]`` marks a set base.

    OpenDSS recomputes these elements' voltage base when kV or conn is set (PV systems
    also on phases, which the caller handles); see :func:`default_v_kv`.
    """
    name = prop.name
    if name == "bus1":
        v["bus"] = prop.value
    elif name == "phases":
        v["phases"] = as_int(prop)
    elif name == "conn":
        v["connection"], v["_base"] = _conn(prop.value), True
    elif name == "kv":
        v["v_kv"], v["_base"] = as_float(prop), True
    elif name in ("yearly", "daily", "duty"):  # unlike a Load's, daily is not yearly too
        v[name + "_shape"] = _name(prop.value)
    elif name == "enabled":
        v["enabled"] = as_bool(prop)
    else:
        return False
    return True


def _shunt_terminal_of(v: dict[str, Any], obj: DssObject) -> dict[str, Any]:
    bus = v.pop("bus", None)
    if bus is None:
        raise fail(obj, "needs bus1")
    if not v.pop("_base", False):
        v["v_kv"] = default_v_kv(v["phases"])
    v["terminal"] = _shunt_terminal(bus, v["phases"], v["connection"])
    return v


def convert_generator(obj: DssObject, ctx: Context) -> Generator:
    """Convert a ``Generator``.

    As OpenDSS's ``SyncUpPowerQuantities``: setting kW or PF recomputes kvar from the
    power factor; setting kvar recomputes the power factor; kVA is 1.2·kW until given.
    """
    v: dict[str, Any] = {"phases": 3, "connection": Connection.WYE, "v_kv": 12.47}
    kw, pf, kvar, kva_given = 1000.0, 0.88, 60.0, False  # OpenDSS's defaults (not in sync)
    v["s_kva"] = 1200.0

    def sync() -> None:
        nonlocal kvar
        if pf != 0.0:
            kvar = math.copysign(kw * math.sqrt(1.0 / (pf * pf) - 1.0), pf)
            if not kva_given:
                v["s_kva"] = 1.2 * kw

    for prop in obj.properties:
        name = prop.name
        if _shunt_common(obj, prop, v):
            continue
        if name in ("kw", "pf"):
            if name == "kw":
                kw = as_float(prop)
            else:
                pf = as_float(prop)
            sync()
        elif name == "kvar":
            kvar = as_float(prop)
            s = math.hypot(kw, kvar)
            pf = 1.0 if s == 0.0 else math.copysign(kw / s, kvar if kvar != 0.0 else 1.0)
        elif name == "kva":
            v["s_kva"], kva_given = as_float(prop), True
        elif name == "model":
            v["model"] = as_int(prop)
        elif name in ("vminpu", "vmaxpu"):
            v["v_" + name[1:4] + "_pu"] = as_float(prop)
        else:
            ctx.skip(obj, prop)
    return Generator(name=obj.name, p_kw=kw, q_kvar=kvar, **_shunt_terminal_of(v, obj))


class _KvarLimits:
    """An inverter's kVA rating and kvar limits as OpenDSS's PVSystem/Storage keep them.

    ``kVA`` resets the limits not given yet; ``kvarMax`` also sets ``kvarMaxAbs`` until
    that is given; a battery's ``kWrated`` sets the kVA rating (until kVA is given)
    but leaves the limits alone, so they stay 25 kvar.
    """

    def __init__(self, kva: float) -> None:
        self.kva = self.limit = self.limit_abs = kva
        self.kva_set = self.limit_set = self.limit_abs_set = False

    def set(self, name: str, value: float) -> None:
        """Apply ``kva``, ``kvarmax``, ``kvarmaxabs`` or ``kwrated`` with its side effect."""
        if name == "kva":
            self.kva, self.kva_set = value, True
            if not self.limit_set:
                self.limit = value
                if not self.limit_abs_set:
                    self.limit_abs = value
        elif name == "kvarmax":
            self.limit, self.limit_set = value, True
            if not self.limit_abs_set:
                self.limit_abs = abs(value)
        elif name == "kvarmaxabs":
            self.limit_abs, self.limit_abs_set = value, True
        elif name == "kwrated" and not self.kva_set:
            self.kva = value

    def fields(self) -> dict[str, Any]:
        """``s_kva`` and the limits, each None where the model's default gives it."""
        return {"s_kva": self.kva,
                "kvar_max": None if self.limit == self.kva else self.limit,
                "kvar_max_abs": None if self.limit_abs == self.limit else self.limit_abs}


_INVERTER_FLOATS = {"%cutin": "cut_in_pct", "%cutout": "cut_out_pct", "vminpu": "v_min_pu",
                    "vmaxpu": "v_max_pu"}


def convert_der(obj: DssObject, ctx: Context) -> PowerElectronicsConnection:
    """Convert a ``PVSystem`` or ``Storage`` to a :class:`PowerElectronicsConnection`.

    A PV system without ``Pmpp`` has OpenDSS's 500 kW. A battery's ``p_kw`` is what
    OpenDSS dispatches for its final state: ``%discharge`` of kWrated when discharging,
    ``-%charge`` when charging, ``-%idlingkW`` when idle; ``kw=`` sets the state and
    percentage; a full battery cannot charge and one at its reserve cannot discharge.
    A battery follows its shape (its power is the shape × kWrated) only under
    ``dispmode=follow``; by default it holds its state, and the other dispatch modes
    (triggers, load level, price) are reported as unsupported.
    """
    pv = obj.cls == "pvsystem"
    kind = DerKind.PV if pv else DerKind.BATTERY
    v: dict[str, Any] = {"phases": 3, "connection": Connection.WYE, "v_kv": 12.47}
    limits = _KvarLimits(500.0 if pv else 25.0)
    pct = {"%charge": 100.0, "%discharge": 100.0, "%idlingkw": 1.0}
    state = BatteryState.IDLE
    kw_rated = 25.0
    follows = False  # dispmode=follow: the battery's shape is its power
    if pv:
        v["p_rated_kw"] = 500.0
    else:
        v.update(energy_kwh=50.0, soc_pct=100.0, p_rated_kw=kw_rated)
    for prop in obj.properties:
        name = prop.name
        if _shunt_common(obj, prop, v):
            if pv and name == "phases":
                v["_base"] = True  # a PVSystem's base follows its phases too
            continue
        if name in ("kva", "kvarmax", "kvarmaxabs") or (name == "kwrated" and not pv):
            value = as_float(prop)
            limits.set(name, value)
            if name == "kwrated":
                v["p_rated_kw"] = kw_rated = value
        elif name == "pmpp" and pv:
            v["p_rated_kw"] = as_float(prop)
        elif name == "%pmpp" and pv:
            v["p_max_pct"] = as_float(prop)
        elif name in _INVERTER_FLOATS:
            v[_INVERTER_FLOATS[name]] = as_float(prop)
        elif name == "pf":
            v["pf"] = as_float(prop)
            v["q_mode"] = "power_factor"
        elif name in ("%effcharge", "%effdischarge"):
            v["efficiency_" + name[4:] + "_pct"] = as_float(prop)
        elif name == "kvar":
            v["q_kvar"] = as_float(prop)
            v["q_mode"] = "constant_q"
        elif name == "irradiance":
            v["irradiance_kw_m2"] = as_float(prop)
        elif name == "kwhrated":
            v["energy_kwh"] = as_float(prop)
        elif name == "%stored":
            v["soc_pct"] = as_float(prop)
        elif name == "%reserve":
            v["reserve_pct"] = as_float(prop)
        elif name in pct and not pv:
            pct[name] = as_float(prop)
        elif name == "kw" and not pv:
            kw = as_float(prop)
            if kw > 0.0:
                state, pct["%discharge"] = BatteryState.DISCHARGING, kw / kw_rated * 100.0
            elif kw < 0.0:
                state, pct["%charge"] = BatteryState.CHARGING, -kw / kw_rated * 100.0
            else:
                state = BatteryState.IDLE
        elif name == "dispmode" and not pv:
            word = prop.value.strip().lower()
            follows = word.startswith("fol")
            if not (follows or word.startswith("def")):
                ctx.skip(obj, prop)
        elif name == "state":
            word = prop.value.strip().lower()
            state = (BatteryState.CHARGING if word.startswith("c") else
                     BatteryState.DISCHARGING if word.startswith("d") else
                     BatteryState.IDLE)
        else:
            ctx.skip(obj, prop)
    v.update(limits.fields())
    if not pv:
        soc, reserve = v["soc_pct"], v.get("reserve_pct", 20.0)
        if (state is BatteryState.CHARGING and soc >= 100.0) or (
                state is BatteryState.DISCHARGING and soc <= reserve):
            state = BatteryState.IDLE
        v["state"] = state
        v["idling_pct"] = pct["%idlingkw"]
        v["dispatch"] = BatteryDispatch.FOLLOW if follows else BatteryDispatch.STATE
        v["p_kw"] = kw_rated / 100.0 * (
            pct["%discharge"] if state is BatteryState.DISCHARGING else
            -pct["%charge"] if state is BatteryState.CHARGING else -pct["%idlingkw"])
    return PowerElectronicsConnection(name=obj.name, kind=kind, **_shunt_terminal_of(v, obj))


_INV_MODES = {m.value: m for m in InverterControlMode}


def convert_invcontrol(obj: DssObject, ctx: Context) -> InverterControl | None:
    """Convert an ``InvControl``; settings without a model field are kept as text.

    Returns None for a control given neither ``Mode`` nor ``CombiMode``: OpenDSS's
    default mode is none, so such a control does nothing.
    """
    v: dict[str, Any] = {}
    settings: dict[str, str] = {}
    for prop in obj.properties:
        name = prop.name
        if name == "mode":
            key = prop.value.strip().lower()
            if key not in _INV_MODES:
                raise fail(obj, f"unknown mode; expected one of {', '.join(_INV_MODES)}", prop)
            v["mode"] = _INV_MODES[key]
        elif name == "combimode" and prop.value.strip().lower() == "vv_vw":
            v["mode"] = InverterControlMode.VOLT_VAR_VOLT_WATT
            settings[name] = prop.value
        elif name == "derlist":
            v["der"] = [_name(d) for d in as_array(prop)]
        elif name == "vvc_curve1":
            v["volt_var_curve"] = _name(prop.value)
        elif name == "voltwatt_curve":
            v["volt_watt_curve"] = _name(prop.value)
        else:
            settings[name] = prop.value
    if "mode" not in v:
        return None
    return InverterControl(name=obj.name, settings=settings, **v)
