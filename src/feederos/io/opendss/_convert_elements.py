"""OpenDSS sources, shunts, DER, protection, meters and shapes to the model.

Loads are in :mod:`feederos.io.opendss._convert_loads`.

Examples
--------
>>> from feederos.io.opendss._script import parse_script
>>> s = parse_script("New Circuit.c\\nNew Capacitor.c1 bus1=x.1 phases=1 kv=2.4 kvar=50 xl=2")
>>> cap = convert_capacitor(s.objects["capacitor", "c1"], Context())
>>> cap.r_ohm, cap.terminal
(0.002, Terminal(bus='x', nodes=(1,)))
"""

from __future__ import annotations

import math
from typing import Any

from feederos.io.opendss._convert_base import (
    Context,
    as_array,
    as_bool,
    as_count,
    as_float,
    as_float_array,
    as_int,
    fail,
    parse_terminal,
)
from feederos.io.opendss._script import DssObject
from feederos.model import (
    CapacitorControl,
    CapacitorControlMode,
    Connection,
    Curve,
    EnergySource,
    LinearShuntCompensator,
    LoadShape,
    Meter,
    MeterKind,
    ProtectiveDevice,
    ProtectiveDeviceKind,
    Reactor,
    Terminal,
)

__all__ = [
    "DEFAULT_LOADSHAPE",
    "convert_capacitor",
    "convert_capcontrol",
    "convert_loadshape",
    "convert_meter",
    "convert_protective",
    "convert_reactor",
    "convert_vsource",
    "convert_xycurve",
    "default_v_kv",
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
    # OpenDSS gives 1- and 2-phase delta elements phases + 1 conductors (2-phase is an
    # open delta); a 3-phase delta has 3.
    return parse_terminal(bus, n_conductors=min(phases + 1, 3), n_phases=phases)


def default_v_kv(phases: int) -> float:
    """Rated voltage of a load, generator or inverter whose voltage base was never set [kV].

    OpenDSS starts these elements at 12.47 kV but with a hard-coded ``VBase`` of 7200 V,
    recomputed only when kV or conn (for loads and PV systems also phases) is set. The
    model derives the base from ``v_kv`` (÷√3 for 2 and 3 phases), so this value gives
    exactly 7200 V.

    Examples
    --------
    >>> round(default_v_kv(3) * 1000 / math.sqrt(3), 9), default_v_kv(1)
    (7200.0, 7.2)
    """
    return 7.2 * math.sqrt(3.0) if phases in (2, 3) else 7.2


def _series_terminal(bus: str, phases: int, conn: Connection) -> Terminal:
    """A capacitor's or reactor's terminal: as a load's when delta, else one per phase."""
    if conn is Connection.DELTA:
        return _shunt_terminal(bus, phases, conn)
    return parse_terminal(bus, n_conductors=phases, n_phases=phases)


def _name(text: str) -> str:
    return text.strip().lower()


class _VsourceState:
    """A Vsource's stored values, updated edit by edit as OpenDSS's ``TVsourceObj`` does.

    OpenDSS recomputes the derived quantities (R1, X1, R0, X0 or the short-circuit
    levels) at the end of every command that edits the source (``RecalcElementData``),
    so which values a later command finds depends on the edits before it.
    """

    def __init__(self) -> None:
        self.phases = 3
        self.kv, self.pu, self.angle, self.base_mva = 115.0, 1.0, 0.0, 100.0
        self.mva3, self.mva1, self.x1r1, self.x0r0 = 2000.0, 2100.0, 4.0, 3.0
        self.isc3, self.isc1 = 10000.0, 10540.0
        self.r1, self.x1, self.r0, self.x0 = 1.65, 6.6, 1.9, 5.7
        self.puz1 = self.puz0 = 0j
        self.z0_given = self.puz1_given = self.puz0_given = False
        self.spec = 1
        self.recalc()

    def recalc(self) -> None:
        factor = 1.0 if self.phases == 1 else math.sqrt(3.0)
        kv = self.kv
        if self.spec in (1, 2):
            if self.spec == 2:
                self.mva3 = math.sqrt(3.0) * kv * self.isc3 / 1000.0
                self.mva1 = factor * kv * self.isc1 / 1000.0
            self.x1 = kv**2 / self.mva3 / math.sqrt(1.0 + 1.0 / self.x1r1**2)
            self.r1 = self.x1 / self.x1r1
            if self.spec == 1:
                self.isc3 = self.mva3 * 1000.0 / (math.sqrt(3.0) * kv)
                self.isc1 = self.mva1 * 1000.0 / (factor * kv)
            a = 1.0 + self.x0r0**2
            b = 4.0 * (self.r1 + self.x1 * self.x0r0)
            c = 4.0 * (self.r1**2 + self.x1**2) - (3.0 * kv * 1000.0 / factor / self.isc1) ** 2
            self.r0 = (-b + math.sqrt(max(b * b - 4.0 * a * c, 0.0))) / (2.0 * a)
            self.x0 = self.r0 * self.x0r0
            return
        if self.puz1_given:
            zbase = kv**2 / self.base_mva
            self.r1, self.x1 = self.puz1.real * zbase, self.puz1.imag * zbase
            self.r0, self.x0 = self.puz0.real * zbase, self.puz0.imag * zbase
        if self.phases == 1:
            self.r0, self.x0 = self.r1, self.x1
        rs, xs = (2.0 * self.r1 + self.r0) / 3.0, (2.0 * self.x1 + self.x0) / 3.0
        self.isc3 = kv * 1000.0 / math.sqrt(3.0) / abs(complex(self.r1, self.x1))
        self.isc1 = kv * 1000.0 / factor / abs(complex(rs, xs))
        self.mva3 = math.sqrt(3.0) * kv * self.isc3 / 1000.0
        self.mva1 = factor * kv * self.isc1 / 1000.0


def _complex(obj: DssObject, prop: Any) -> complex:
    values = as_float_array(prop)
    if len(values) != 2:
        raise fail(obj, "expected [real, imaginary]", prop)
    return complex(values[0], values[1])


def convert_vsource(obj: DssObject, ctx: Context) -> EnergySource:
    """Convert a ``Vsource`` (or the circuit's source) with OpenDSS's defaults.

    The impedance follows the last way it was given (short-circuit MVA, short-circuit
    currents, ohms or per unit), recomputed after each editing command as OpenDSS does;
    ``Z1`` alone also sets Z0 = Z1, and a single-phase source given in ohms has Z0 = Z1.
    """
    st = _VsourceState()
    bus1 = "sourcebus"
    bus2: str | None = None
    frequency: float | None = None
    last_where = None
    for prop in obj.properties:
        if last_where is not None and prop.where != last_where:
            st.recalc()  # a new command: OpenDSS ran RecalcElementData after the last one
        last_where = prop.where
        name = prop.name
        if name == "bus1":
            bus1 = prop.value
        elif name == "bus2":
            bus2 = prop.value
        elif name == "phases":
            st.phases = as_int(prop)
        elif name == "basekv":
            st.kv = as_float(prop)
        elif name == "pu":
            st.pu = as_float(prop)
        elif name == "angle":
            st.angle = as_float(prop)
        elif name == "basemva":
            st.base_mva = as_float(prop)
        elif name in ("mvasc3", "mvasc1", "x1r1", "x0r0"):
            value = as_float(prop)
            if name == "mvasc3":
                st.mva3 = value
            elif name == "mvasc1":
                st.mva1 = value
            elif name == "x1r1":
                st.x1r1 = value
            else:
                st.x0r0 = value
            if name.startswith("mva"):
                st.spec = 1
        elif name in ("isc3", "isc1"):
            if name == "isc3":
                st.isc3 = as_float(prop)
            else:
                st.isc1 = as_float(prop)
            st.spec = 2
        elif name in ("r1", "x1", "r0", "x0"):
            setattr(st, name, as_float(prop))
            st.spec = 3
        elif name == "z1":
            z = _complex(obj, prop)
            st.r1, st.x1 = z.real, z.imag
            if not st.z0_given:
                st.r0, st.x0 = st.r1, st.x1
            st.spec = 3
        elif name == "z0":
            z = _complex(obj, prop)
            st.r0, st.x0 = z.real, z.imag
            st.z0_given, st.spec = True, 3
        elif name == "puz1":
            st.puz1 = _complex(obj, prop)
            if not st.puz0_given:
                st.puz0 = st.puz1
            st.puz1_given, st.spec = True, 3
        elif name == "puz0":
            st.puz0 = _complex(obj, prop)
            st.puz0_given, st.spec = True, 3
        elif name == "frequency":
            frequency = as_float(prop)
        else:
            ctx.skip(obj, prop)
    st.recalc()
    if st.r0 < 0.0 or st.x0 < 0.0:  # OpenDSS keeps them; the model cannot
        ctx.unsupported[f"vsource.{obj.name}: negative Z0 (MVAsc1 too high) set to 0"] += 1
        st.r0, st.x0 = max(st.r0, 0.0), max(st.x0, 0.0)
    phases = st.phases
    term = parse_terminal(bus1, n_conductors=phases, n_phases=phases)
    term2 = None if bus2 is None else parse_terminal(bus2, n_conductors=phases, n_phases=phases)
    if term2 is not None and set(term2.nodes) == {0}:
        term2 = None  # bus2=x.0.0.0 is the grounded-wye default
    return EnergySource(
        name=obj.name, terminal=term, terminal2=term2, phases=phases, v_kv=st.kv,
        v_pu=st.pu, angle_deg=st.angle, frequency_hz=frequency,
        r1_ohm=st.r1, x1_ohm=st.x1, r0_ohm=st.r0, x0_ohm=st.x0,
        mva_sc3=st.mva3 if st.spec != 3 else None, mva_sc1=st.mva1 if st.spec != 3 else None,
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
        elif name == "kvar":  # fills the present steps; extra values are ignored
            kvar = (as_float_array(prop) + [0.0] * len(kvar))[: len(kvar)]
        elif name == "numsteps":
            n = as_count(obj, prop)
            if len(kvar) == 1:  # one bank becomes n equal steps, all in
                kvar, states = [kvar[0] / n] * n, [1] * n
            else:
                kvar = (kvar + [0.0] * n)[:n]
                states = ((states or [1] * len(kvar)) + [1] * n)[:n]
        elif name == "states":
            given = [as_int_text(obj, s, prop) for s in as_array(prop)]
            states = (given + [0] * len(kvar))[: len(kvar)]
        elif name == "r":
            r = as_float_array(prop)[0]
        elif name == "xl":
            x = as_float_array(prop)[0]
            if x != 0.0 and r == 0.0:
                r = abs(x) / 1000.0  # OpenDSS: "put in something so it doesn't fail"
        else:
            ctx.skip(obj, prop)
    if bus1 is None:
        raise fail(obj, "needs bus1")
    term = _series_terminal(bus1, phases, conn)
    term2 = None if bus2 is None else _series_terminal(bus2, phases, conn)
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
    """Convert a ``CapControl``; returns the capacitor name and the control.

    Without ``type`` the control senses current, OpenDSS's default.
    """
    v: dict[str, Any] = {"mode": CapacitorControlMode.CURRENT, "on_setting": 300.0,
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
        name=obj.name, bus1=_series_terminal(bus1, phases, conn),
        bus2=None if bus2 is None else _series_terminal(bus2, phases, conn),
        phases=phases, connection=conn, r_ohm=r or 0.0, x_ohm=x, rp_ohm=rp,
    )


def convert_xycurve(obj: DssObject, ctx: Context) -> Curve:
    """Convert an ``XYCurve``."""
    x: list[float] = []
    y: list[float] = []
    npts: int | None = None
    for prop in obj.properties:
        name = prop.name
        if name == "npts":
            npts = as_int(prop)
            if not 0 <= npts <= MAX_SHAPE_POINTS:
                raise fail(obj, f"npts must be 0 to {MAX_SHAPE_POINTS:,}, got {npts}", prop)
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
            ctx.skip(obj, prop)  # no effect in OpenDSS: use state= or action= instead
        elif name in ("state", "action"):
            v["open"] = prop.value.strip().lower().startswith(("o", "t"))
        elif name == "normal":
            v["normal_open"] = prop.value.strip().lower().startswith(("o", "t"))
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


MAX_SHAPE_POINTS = 31_622_400
"""Most points a load shape may have: a leap year at 1 s."""


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
            if not 0 <= npts <= MAX_SHAPE_POINTS:
                # A typo such as npts=87600000000 would otherwise allocate until the
                # process is killed (a service must answer, not die).
                raise fail(
                    obj, f"npts must be 0 to {MAX_SHAPE_POINTS:,} (a year at 1 s), got {npts}", prop
                )
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
    if npts is not None:  # OpenDSS sizes every array to npts, padding with zeros
        mult = (mult + [0.0] * npts)[:npts]
        qmult = None if qmult is None else (qmult + [0.0] * npts)[:npts]
        hours = None if hours is None else (hours + [0.0] * npts)[:npts]
    if interval is not None and interval <= 0.0:
        interval = None
    if interval is not None:
        hours = None
    return LoadShape(name=obj.name, p_mult=mult, q_mult=qmult, interval_h=interval,
                     hours=hours, use_actual=use_actual)
