"""OpenDSS sources, loads, shunts, DER, protection, meters and shapes to the model.

Examples
--------
>>> from feederos.io.opendss._script import parse_script
>>> s = parse_script("New Circuit.c\\nNew Load.a bus1=x.1 phases=1 kv=0.24 kw=5 pf=0.9")
>>> load = convert_load(s.objects["load", "a"], Context())
>>> round(load.q_kvar, 4), load.terminal
(2.4216, Terminal(bus='x', nodes=(1,)))
"""

from __future__ import annotations

import math
from typing import Any

from feederos.io.opendss._convert_base import (
    Context,
    as_array,
    as_bool,
    as_float,
    as_float_array,
    as_int,
    fail,
    parse_terminal,
)
from feederos.io.opendss._script import DssObject
from feederos.model import (
    BatteryState,
    CapacitorControl,
    CapacitorControlMode,
    Connection,
    Curve,
    DerKind,
    EnergyConsumer,
    EnergySource,
    Generator,
    InverterControl,
    InverterControlMode,
    LinearShuntCompensator,
    LoadClass,
    LoadModel,
    LoadShape,
    LoadStatus,
    Meter,
    MeterKind,
    PowerElectronicsConnection,
    ProtectiveDevice,
    ProtectiveDeviceKind,
    Reactor,
    Terminal,
)

__all__ = [
    "DEFAULT_LOADSHAPE",
    "convert_capacitor",
    "convert_capcontrol",
    "convert_der",
    "convert_generator",
    "convert_invcontrol",
    "convert_load",
    "convert_loadshape",
    "convert_meter",
    "convert_protective",
    "convert_reactor",
    "convert_vsource",
    "convert_xycurve",
]

DEFAULT_LOADSHAPE = [0.677, 0.6256, 0.6087, 0.5833, 0.58028, 0.6025, 0.657, 0.7477, 0.832,
                     0.88, 0.94, 0.989, 0.985, 0.98, 0.9898, 0.999, 1.0, 0.958, 0.936, 0.913,
                     0.876, 0.876, 0.828, 0.756]
"""OpenDSS's built-in ``LoadShape.default`` (24 hourly multipliers) [pu]."""


def _conn(text: str) -> Connection:
    return Connection.DELTA if text.strip().lower().startswith(("d", "ll")) else Connection.WYE


def _shunt_terminal(bus: str, phases: int, conn: Connection) -> Terminal:
    if conn is Connection.WYE:
        return parse_terminal(bus, n_conductors=phases + 1, n_phases=phases, wye_neutral=True)
    return parse_terminal(bus, n_conductors=2 if phases == 1 else phases, n_phases=phases)


def _name(text: str) -> str:
    return text.strip().lower()


def convert_vsource(obj: DssObject, ctx: Context) -> EnergySource:
    """Convert a ``Vsource`` (or the circuit's source) with OpenDSS's defaults."""
    v: dict[str, Any] = {"basekv": 115.0, "pu": 1.0, "angle": 0.0, "phases": 3,
                         "mvasc3": 2000.0, "mvasc1": 2100.0, "x1r1": 4.0, "x0r0": 3.0,
                         "isc3": None, "isc1": None, "basemva": 100.0}
    z: dict[str, float] = {}
    spec = "mva"
    bus1 = "sourcebus"
    bus2: str | None = None
    frequency: float | None = None
    for prop in obj.properties:
        name = prop.name
        if name == "bus1":
            bus1 = prop.value
        elif name == "bus2":
            bus2 = prop.value
        elif name == "phases":
            v["phases"] = as_int(prop)
        elif name in ("basekv", "pu", "angle", "x1r1", "x0r0", "basemva"):
            v[name] = as_float(prop)
        elif name in ("mvasc3", "mvasc1"):
            v[name] = as_float(prop)
            spec = "mva"
        elif name in ("isc3", "isc1"):
            v[name] = as_float(prop)
            spec = "isc"
        elif name in ("r1", "x1", "r0", "x0"):
            z[name] = as_float(prop)
            spec = "z"
        elif name in ("z1", "z0"):
            values = as_float_array(prop)
            z["r" + name[1]], z["x" + name[1]] = values[0], values[1]
            spec = "z"
        elif name in ("puz1", "puz0"):
            values = as_float_array(prop)
            z["pu" + name[3] + "r"], z["pu" + name[3] + "x"] = values[0], values[1]
            spec = "puz"
        elif name == "frequency":
            frequency = as_float(prop)
        else:
            ctx.skip(obj, prop)
    phases = v["phases"]
    kv = v["basekv"]
    term = parse_terminal(bus1, n_conductors=phases, n_phases=phases)
    term2 = None if bus2 is None else parse_terminal(bus2, n_conductors=phases, n_phases=phases)
    common = {"name": obj.name, "terminal": term, "v_kv": kv, "v_pu": v["pu"],
              "angle_deg": v["angle"], "phases": phases}
    if spec in ("mva", "isc"):
        mva3, mva1 = v["mvasc3"], v["mvasc1"]
        if spec == "isc":
            if v["isc3"] is not None:
                mva3 = math.sqrt(3.0) * kv * v["isc3"] / 1000.0
            if v["isc1"] is not None:
                mva1 = kv / math.sqrt(3.0) * v["isc1"] / 1000.0 * (3.0 if phases == 1 else 1.0)
                if phases == 1:
                    mva1 = kv * v["isc1"] / 1000.0
        src = EnergySource.from_short_circuit(
            mva_sc3=mva3, mva_sc1=mva1, x1_r1=v["x1r1"], x0_r0=v["x0r0"], **common
        )
        if term2 is not None or frequency is not None:
            src = src.model_copy(update={"terminal2": term2, "frequency_hz": frequency})
        return src
    if spec == "puz":
        zbase = kv**2 / v["basemva"]
        z = {"r1": z.get("pu1r", 0.0) * zbase, "x1": z.get("pu1x", 0.0) * zbase,
             "r0": z.get("pu0r", 0.0) * zbase, "x0": z.get("pu0x", 0.0) * zbase}
    r1, x1 = z.get("r1", 1.65), z.get("x1", 6.6)
    return EnergySource(
        r1_ohm=r1, x1_ohm=x1, r0_ohm=z.get("r0", 1.9), x0_ohm=z.get("x0", 5.7),
        terminal2=term2, frequency_hz=frequency, **common,
    )


_LOAD_CLASS = {1: LoadClass.RESIDENTIAL, 2: LoadClass.COMMERCIAL, 3: LoadClass.INDUSTRIAL,
               4: LoadClass.AGRICULTURAL}


def convert_load(obj: DssObject, ctx: Context) -> EnergyConsumer:
    """Convert a ``Load``: kW/kvar/kVA/PF as OpenDSS resolves them (last spec wins)."""
    phases, conn, kv = 3, Connection.WYE, 12.47
    kw, kvar, kva, pf = 10.0, 0.0, 0.0, 0.88
    spec = "kw_pf"
    bus = None
    v: dict[str, Any] = {}
    for prop in obj.properties:
        name = prop.name
        if name == "bus1":
            bus = prop.value
        elif name == "phases":
            phases = as_int(prop)
        elif name == "conn":
            conn = _conn(prop.value)
        elif name == "kv":
            kv = as_float(prop)
        elif name == "kw":
            kw, spec = as_float(prop), "kw_pf"
        elif name == "kvar":
            kvar, spec = as_float(prop), "kw_kvar"
        elif name == "kva":
            kva, spec = as_float(prop), "kva_pf"
        elif name == "pf":
            pf = as_float(prop)
        elif name == "model":
            v["model"] = LoadModel(as_int(prop))
        elif name == "zipv":
            values = as_float_array(prop)
            if len(values) != 7:
                raise fail(obj, "ZIPV needs 7 values", prop)
            v["zip_coefficients"] = tuple(values)
        elif name in ("vminpu", "vmaxpu"):
            v["v_" + name[1:4] + "_pu"] = as_float(prop)
        elif name in ("cvrwatts", "cvrvars"):
            v["cvr_" + name[3:]] = as_float(prop)
        elif name in ("yearly", "daily", "duty"):
            v[name + "_shape"] = _name(prop.value)
        elif name == "status":
            word = prop.value.strip().lower()
            v["status"] = (LoadStatus.FIXED if word.startswith("f") else
                           LoadStatus.EXEMPT if word.startswith("e") else LoadStatus.VARIABLE)
        elif name == "class":
            v["load_class"] = _LOAD_CLASS.get(as_int(prop), LoadClass.OTHER)
        elif name == "numcust":
            v["n_customers"] = as_int(prop)
        else:
            ctx.skip(obj, prop)
    if bus is None:
        raise fail(obj, "needs bus1")

    def q_of(p: float) -> float:
        if pf == 0.0:
            return 0.0
        q = p * math.sqrt(1.0 / (pf * pf) - 1.0)
        return q if pf > 0 else -q

    if spec == "kw_pf":
        kvar = q_of(kw)
    elif spec == "kva_pf":
        kw = kva * abs(pf)
        kvar = q_of(kw)
    return EnergyConsumer(
        name=obj.name, terminal=_shunt_terminal(bus, phases, conn), phases=phases,
        connection=conn, v_kv=kv, p_kw=kw, q_kvar=kvar, **v,
    )


def convert_capacitor(obj: DssObject, ctx: Context) -> LinearShuntCompensator:
    """Convert a ``Capacitor`` (one kvar per step)."""
    phases, conn, kv = 3, Connection.WYE, 12.47
    kvar = [1200.0]
    states: list[int] = []
    bus1 = None
    bus2: str | None = None
    r = x = 0.0
    for prop in obj.properties:
        name = prop.name
        if name == "bus1":
            bus1 = prop.value
        elif name == "bus2":
            bus2 = prop.value
        elif name == "phases":
            phases = as_int(prop)
        elif name == "conn":
            conn = _conn(prop.value)
        elif name == "kv":
            kv = as_float(prop)
        elif name == "kvar":
            kvar = as_float_array(prop)
        elif name == "numsteps":
            n = as_int(prop)
            kvar = (kvar + [kvar[-1]] * n)[:n]
        elif name == "states":
            states = [as_int_text(obj, s, prop) for s in as_array(prop)]
        elif name == "r":
            r = as_float_array(prop)[0]
        elif name == "xl":
            x = as_float_array(prop)[0]
        else:
            ctx.skip(obj, prop)
    if bus1 is None:
        raise fail(obj, "needs bus1")
    term = parse_terminal(bus1, n_conductors=phases, n_phases=phases)
    term2 = None if bus2 is None else parse_terminal(bus2, n_conductors=phases, n_phases=phases)
    if states and len(states) != len(kvar):
        states = (states + [1] * len(kvar))[: len(kvar)]
    return LinearShuntCompensator(
        name=obj.name, terminal=term, terminal2=term2, phases=phases, connection=conn,
        v_kv=kv, q_kvar=kvar, states=states, r_ohm=r, x_ohm=x,
    )


def as_int_text(obj: DssObject, text: str, prop: Any) -> int:
    """An integer element of an array property."""
    try:
        return round(float(text))
    except ValueError:
        raise fail(obj, f"expected an integer, got {text!r}", prop) from None


_CAP_MODES = {"v": CapacitorControlMode.VOLTAGE, "k": CapacitorControlMode.KVAR,
              "c": CapacitorControlMode.CURRENT, "p": CapacitorControlMode.PF,
              "t": CapacitorControlMode.TIME}


def convert_capcontrol(obj: DssObject, ctx: Context) -> tuple[str, CapacitorControl]:
    """Convert a ``CapControl``; returns the capacitor name and the control."""
    v: dict[str, Any] = {"mode": CapacitorControlMode.VOLTAGE, "on_setting": 300.0,
                         "off_setting": 200.0, "v_min_v": 115.0, "v_max_v": 126.0}
    capacitor = element = None
    floats = {"onsetting": "on_setting", "offsetting": "off_setting", "ptratio": "pt_ratio",
              "ctratio": "ct_ratio", "delay": "delay_s", "delayoff": "delay_off_s",
              "deadtime": "dead_time_s", "vmin": "v_min_v", "vmax": "v_max_v"}
    for prop in obj.properties:
        name = prop.name
        if name == "capacitor":
            capacitor = _name(prop.value)
        elif name == "element":
            element = _name(prop.value)
        elif name == "terminal":
            v["terminal"] = as_int(prop)
        elif name == "type":
            key = prop.value.strip().lower()[:1]
            if key not in _CAP_MODES:
                raise fail(obj, "type must be voltage, kvar, current, pf or time", prop)
            v["mode"] = _CAP_MODES[key]
        elif name in floats:
            v[floats[name]] = as_float(prop)
        elif name == "ptphase":
            v["pt_phase"] = prop.value.strip().lower()
        elif name == "voltoverride":
            v["voltage_override"] = as_bool(prop)
        elif name == "enabled":
            v["enabled"] = as_bool(prop)
        else:
            ctx.skip(obj, prop)
    if capacitor is None or element is None:
        raise fail(obj, "needs capacitor= and element=")
    return capacitor, CapacitorControl(name=obj.name, element=element, **v)


def convert_reactor(obj: DssObject, ctx: Context, base_frequency_hz: float) -> Reactor:
    """Convert a ``Reactor`` (series with ``bus2``, else shunt)."""
    phases, conn, kv, kvar = 3, Connection.WYE, 12.47, 100.0
    bus1 = None
    bus2: str | None = None
    r: float | None = None
    x: float | None = None
    rp: float | None = None
    for prop in obj.properties:
        name = prop.name
        if name == "bus1":
            bus1 = prop.value
        elif name == "bus2":
            bus2 = prop.value
        elif name == "phases":
            phases = as_int(prop)
        elif name == "conn":
            conn = _conn(prop.value)
        elif name == "kv":
            kv = as_float(prop)
        elif name == "kvar":
            kvar, x = as_float(prop), None
        elif name == "r":
            r = as_float(prop)
        elif name == "x":
            x = as_float(prop)
        elif name == "rp":
            rp = as_float(prop)
        elif name == "lmh":
            x = as_float(prop) * 1e-3 * 2.0 * math.pi * base_frequency_hz
        elif name == "z":
            values = as_float_array(prop)
            r, x = values[0], values[1]
        else:
            ctx.skip(obj, prop)
    if bus1 is None:
        raise fail(obj, "needs bus1")
    if x is None:
        per_phase_kv = kv / math.sqrt(3.0) if phases > 1 and conn is Connection.WYE else kv
        x = per_phase_kv**2 * 1000.0 / (kvar / phases)
    return Reactor(
        name=obj.name, bus1=parse_terminal(bus1, n_conductors=phases, n_phases=phases),
        bus2=None if bus2 is None else parse_terminal(bus2, n_conductors=phases,
                                                       n_phases=phases),
        phases=phases, connection=conn, r_ohm=r or 0.0, x_ohm=x, rp_ohm=rp,
    )


def _shunt_common(obj: DssObject, prop: Any, v: dict[str, Any]) -> bool:
    name = prop.name
    if name == "bus1":
        v["bus"] = prop.value
    elif name == "phases":
        v["phases"] = as_int(prop)
    elif name == "conn":
        v["connection"] = _conn(prop.value)
    elif name == "kv":
        v["v_kv"] = as_float(prop)
    elif name in ("yearly", "daily", "duty"):
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
    v["terminal"] = _shunt_terminal(bus, v["phases"], v["connection"])
    return v


def convert_generator(obj: DssObject, ctx: Context) -> Generator:
    """Convert a ``Generator``."""
    v: dict[str, Any] = {"phases": 3, "connection": Connection.WYE, "v_kv": 12.47}
    kw, pf, kvar, spec = 1000.0, 0.88, None, "pf"
    for prop in obj.properties:
        name = prop.name
        if _shunt_common(obj, prop, v):
            continue
        if name == "kw":
            kw = as_float(prop)
        elif name == "pf":
            pf, spec = as_float(prop), "pf"
        elif name == "kvar":
            kvar, spec = as_float(prop), "kvar"
        elif name == "kva":
            v["s_kva"] = as_float(prop)
        elif name == "model":
            v["model"] = as_int(prop)
        elif name in ("vminpu", "vmaxpu"):
            v["v_" + name[1:4] + "_pu"] = as_float(prop)
        else:
            ctx.skip(obj, prop)
    if spec == "pf" or kvar is None:
        kvar = kw * math.sqrt(1.0 / (pf * pf) - 1.0) * (1 if pf > 0 else -1) if pf else 0.0
    return Generator(name=obj.name, p_kw=kw, q_kvar=kvar, **_shunt_terminal_of(v, obj))


def convert_der(obj: DssObject, ctx: Context) -> PowerElectronicsConnection:
    """Convert a ``PVSystem`` or ``Storage`` to a :class:`PowerElectronicsConnection`."""
    kind = DerKind.PV if obj.cls == "pvsystem" else DerKind.BATTERY
    v: dict[str, Any] = {"phases": 3, "connection": Connection.WYE, "v_kv": 12.47,
                         "s_kva": 500.0 if kind is DerKind.PV else 25.0}
    if kind is DerKind.BATTERY:
        v.update(energy_kwh=50.0, soc_pct=100.0)
    for prop in obj.properties:
        name = prop.name
        if _shunt_common(obj, prop, v):
            continue
        if name == "kva":
            v["s_kva"] = as_float(prop)
        elif name in ("pmpp", "kwrated"):
            v["p_rated_kw"] = as_float(prop)
        elif name == "pf":
            v["pf"] = as_float(prop)
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
        elif name == "kw":
            v["p_kw"] = as_float(prop)
        elif name == "state":
            word = prop.value.strip().lower()
            v["state"] = (BatteryState.CHARGING if word.startswith("c") else
                          BatteryState.DISCHARGING if word.startswith("d") else
                          BatteryState.IDLE)
        else:
            ctx.skip(obj, prop)
    return PowerElectronicsConnection(name=obj.name, kind=kind, **_shunt_terminal_of(v, obj))


_INV_MODES = {m.value: m for m in InverterControlMode}


def convert_invcontrol(obj: DssObject, ctx: Context) -> InverterControl:
    """Convert an ``InvControl``; settings without a model field are kept as text."""
    v: dict[str, Any] = {"mode": InverterControlMode.VOLT_VAR}
    settings: dict[str, str] = {}
    for prop in obj.properties:
        name = prop.name
        if name == "mode":
            key = prop.value.strip().lower()
            if key not in _INV_MODES:
                raise fail(obj, f"unknown mode; expected one of {', '.join(_INV_MODES)}", prop)
            v["mode"] = _INV_MODES[key]
        elif name == "derlist":
            v["der"] = [_name(d) for d in as_array(prop)]
        elif name == "vvc_curve1":
            v["volt_var_curve"] = _name(prop.value)
        elif name == "voltwatt_curve":
            v["volt_watt_curve"] = _name(prop.value)
        else:
            settings[name] = prop.value
    return InverterControl(name=obj.name, settings=settings, **v)


def convert_xycurve(obj: DssObject, ctx: Context) -> Curve:
    """Convert an ``XYCurve``."""
    x: list[float] = []
    y: list[float] = []
    npts: int | None = None
    for prop in obj.properties:
        name = prop.name
        if name == "npts":
            npts = as_int(prop)
        elif name == "xarray":
            x = as_float_array(prop)
        elif name == "yarray":
            y = as_float_array(prop)
        elif name == "points":
            values = as_float_array(prop)
            x, y = values[0::2], values[1::2]
        else:
            ctx.skip(obj, prop)
    if npts is not None:
        x, y = x[:npts], y[:npts]
    return Curve(name=obj.name, x=x, y=y)


_PROTECTIVE = {"fuse": ProtectiveDeviceKind.FUSE, "recloser": ProtectiveDeviceKind.RECLOSER,
               "relay": ProtectiveDeviceKind.RELAY}


def convert_protective(obj: DssObject, ctx: Context) -> ProtectiveDevice:
    """Convert a ``Fuse``, ``Recloser`` or ``Relay``; other settings kept as text."""
    v: dict[str, Any] = {}
    settings: dict[str, str] = {}
    element = None
    for prop in obj.properties:
        name = prop.name
        if name == "monitoredobj":
            element = _name(prop.value)
        elif name == "monitoredterm":
            v["terminal"] = as_int(prop)
        elif name == "ratedcurrent":
            v["rated_current_a"] = as_float(prop)
        elif name in ("fusecurve", "phasetrip", "phasecurve"):
            v["curve"] = _name(prop.value)
        elif name in ("__open__", "__close__"):
            v["open"] = v["normal_open"] = name == "__open__"
        else:
            settings[name] = prop.value
    if element is None:
        raise fail(obj, "needs MonitoredObj=")
    return ProtectiveDevice(name=obj.name, kind=_PROTECTIVE[obj.cls], element=element,
                            settings=settings, **v)


def convert_meter(obj: DssObject, ctx: Context) -> Meter:
    """Convert an ``EnergyMeter`` or ``Monitor``; other settings kept as text."""
    kind = MeterKind.ENERGY_METER if obj.cls == "energymeter" else MeterKind.MONITOR
    settings: dict[str, str] = {}
    element = None
    terminal = 1
    for prop in obj.properties:
        if prop.name == "element":
            element = _name(prop.value)
        elif prop.name == "terminal":
            terminal = as_int(prop)
        else:
            settings[prop.name] = prop.value
    if element is None:
        raise fail(obj, "needs element=")
    return Meter(name=obj.name, kind=kind, element=element, terminal=terminal,
                 settings=settings)


def convert_loadshape(obj: DssObject, ctx: Context) -> LoadShape:
    """Convert a ``LoadShape`` (interval in h, min or s; mult/qmult/hour arrays)."""
    npts: int | None = None
    interval: float | None = 1.0
    mult: list[float] | None = None
    qmult: list[float] | None = None
    hours: list[float] | None = None
    use_actual = False
    if obj.name == "default":
        mult = list(DEFAULT_LOADSHAPE)
    for prop in obj.properties:
        name = prop.name
        if name == "npts":
            npts = as_int(prop)
        elif name == "interval":
            interval = as_float(prop)
        elif name == "minterval":
            interval = as_float(prop) / 60.0
        elif name == "sinterval":
            interval = as_float(prop) / 3600.0
        elif name in ("mult", "pmult"):
            mult = as_float_array(prop)
        elif name == "qmult":
            qmult = as_float_array(prop)
        elif name == "hour":
            hours = as_float_array(prop)
        elif name == "useactual":
            use_actual = as_bool(prop)
        else:
            ctx.skip(obj, prop)
    if mult is None:
        mult = [1.0]
    if npts is not None:
        mult = mult[:npts]
        qmult = None if qmult is None else qmult[:npts]
        hours = None if hours is None else hours[:npts]
    if interval is not None and interval <= 0.0:
        interval = None
    if interval is not None:
        hours = None
    return LoadShape(name=obj.name, p_mult=mult, q_mult=qmult, interval_h=interval,
                     hours=hours, use_actual=use_actual)
