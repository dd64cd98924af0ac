"""OpenDSS lines, line codes, conductor data, spacings and geometries to the model.

Examples
--------
>>> from feederos.io.opendss._script import parse_script
>>> s = parse_script("New Circuit.c\\nNew LineCode.lc nphases=1 r1=0.3 x1=0.6 units=mi")
>>> code, unit, n = convert_linecode(s.objects["linecode", "lc"], Context(), 60.0)
>>> round(code.impedance.r1_ohm_per_km, 6)
0.186411
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
    as_matrix,
    fail,
    length_unit_of,
    parse_terminal,
)
from feederos.io.opendss._script import DssObject
from feederos.io.opendss._values import LENGTH_UNITS_KM
from feederos.model import (
    ACLineSegment,
    CNData,
    LineCode,
    LineGeometry,
    LineImpedance,
    LineSpacing,
    Switch,
    SwitchKind,
    TSData,
    WireData,
)
from feederos.model.units import to_m, to_per_km

__all__ = [
    "convert_conductor",
    "convert_geometry",
    "convert_line",
    "convert_linecode",
    "convert_spacing",
]

_SEQ = ("r1", "x1", "r0", "x0", "c1", "c0")
# OpenDSS's defaults for sequence data (per unit length; Ω and nF).
_SEQ_DEFAULTS = {"r1": 0.058, "x1": 0.1206, "r0": 0.1784, "x0": 0.4047, "c1": 3.4, "c0": 1.6}


_SEQ_PROPS = (*_SEQ, "b1", "b0")


def _code_sequence(imp: LineImpedance, unit: str) -> dict[str, float]:
    """A sequence-form code's values back in the unit it was given in."""
    per_unit = LENGTH_UNITS_KM[unit]
    values = {"r1": imp.r1_ohm_per_km, "x1": imp.x1_ohm_per_km, "r0": imp.r0_ohm_per_km,
              "x0": imp.x0_ohm_per_km, "c1": imp.c1_nf_per_km, "c0": imp.c0_nf_per_km}
    return {k: (_SEQ_DEFAULTS[k] if v is None else v * per_unit) for k, v in values.items()}


class _ZData:
    """Impedance data of a line code or line as OpenDSS accumulates it.

    ``cap_given`` records whether any capacitance was given (C1, C0, B1, B0, Cmatrix);
    ``seq_changed`` mirrors OpenDSS's ``SymComponentsChanged``: sequence data edited
    since the phase matrices were last rebuilt (see :meth:`default_cap_scale`).
    """

    def __init__(self, n_phases: int) -> None:
        self.n = n_phases
        self.seq: dict[str, float] = dict(_SEQ_DEFAULTS)
        self.r: Any = None
        self.x: Any = None
        self.c: Any = None
        self.form = "sequence"
        self.cap_given = False
        self.seq_changed = False

    def apply(self, obj: DssObject, prop: Any, omega: float) -> bool:
        name = prop.name
        if name in _SEQ:
            self.seq[name] = as_float(prop)
            self.form = "sequence"
            self.seq_changed = True
        elif name in ("b1", "b0"):
            self.seq["c" + name[1]] = as_float(prop) * 1e-6 / omega * 1e9
            self.form = "sequence"
            self.seq_changed = True
        elif name in ("rmatrix", "xmatrix", "cmatrix"):
            setattr(self, name[0], as_matrix(prop, self.n))
            self.form = "matrix"
        else:
            return False
        if name in ("c1", "c0", "b1", "b0", "cmatrix"):
            self.cap_given = True
        return True

    def default_cap_scale(self, unit: str) -> float:
        """Factor OpenDSS applies to a line's default C1/C0 given its length unit.

        OpenDSS's defaults (3.4 and 1.6 nF) are per kft. When a line's sequence data
        was edited but no capacitance given, ``TLineObj.CalcYPrim`` converts them from
        kft to the line's length unit, unless that unit is ``none`` (OpenDSS Line.pas).
        ``unit`` is the line's unit at that point: giving impedances resets it to
        ``none``, so only a ``units=`` after them counts.
        """
        if self.cap_given or not self.seq_changed or self.form != "sequence" or unit == "none":
            return 1.0
        return LENGTH_UNITS_KM[unit] / LENGTH_UNITS_KM["kft"]

    def scale_default_cap(self, unit: str) -> None:
        """Apply :meth:`default_cap_scale` to the sequence capacitances (in place)."""
        scale = self.default_cap_scale(unit)
        self.seq["c1"] *= scale
        self.seq["c0"] *= scale

    def impedance(self, obj: DssObject, unit: str, frequency_hz: float | None) -> LineImpedance:
        def per_km(v: float) -> float:
            return v / LENGTH_UNITS_KM[unit]

        if self.form == "matrix":
            if self.r is None and self.x is None:
                raise fail(obj, "give both rmatrix and xmatrix")
            import numpy as np

            zero = np.zeros((self.n, self.n))
            r = zero if self.r is None else self.r
            x = zero if self.x is None else self.x
            c = self.c
            if c is None:  # OpenDSS keeps the C matrix of its sequence values
                c1, c0 = self.seq["c1"], self.seq["c0"]
                c = np.full((self.n, self.n), (c0 - c1) / 3.0)
                np.fill_diagonal(c, (2.0 * c1 + c0) / 3.0)
            return LineImpedance(
                r_matrix_ohm_per_km=(r / LENGTH_UNITS_KM[unit]).tolist(),
                x_matrix_ohm_per_km=(x / LENGTH_UNITS_KM[unit]).tolist(),
                c_matrix_nf_per_km=None if c is None else (c / LENGTH_UNITS_KM[unit]).tolist(),
                frequency_hz=frequency_hz,
            )
        s = self.seq
        return LineImpedance(
            r1_ohm_per_km=per_km(s["r1"]),
            x1_ohm_per_km=per_km(s["x1"]),
            r0_ohm_per_km=per_km(s["r0"]),
            x0_ohm_per_km=per_km(s["x0"]),
            c1_nf_per_km=per_km(s["c1"]),
            c0_nf_per_km=per_km(s["c0"]),
            frequency_hz=frequency_hz,
        )


def convert_linecode(
    obj: DssObject, ctx: Context, base_frequency_hz: float
) -> tuple[LineCode, str, int]:
    """Convert an OpenDSS ``LineCode`` (values per its ``units``) to Ω/km and nF/km.

    Returns the code, the OpenDSS unit it was given in and its number of phases (lines
    using the code take both).
    """
    z = _ZData(3)
    unit = "none"
    freq = base_frequency_hz
    normal: float | None = None
    emergency: float | None = None
    kron = False
    for prop in obj.properties:
        name = prop.name
        if name == "nphases":
            z.n = as_count(obj, prop)
        elif z.apply(obj, prop, 2.0 * math.pi * freq):
            pass
        elif name == "units":
            unit = length_unit_of(obj, prop)
        elif name == "basefreq":
            freq = as_float(prop)
            if not 0.0 < freq < math.inf:
                raise fail(obj, "basefreq must be a positive frequency [Hz]", prop)
        elif name == "normamps":
            normal = as_float(prop)
        elif name == "emergamps":
            emergency = as_float(prop)
        elif name == "kron":
            kron = as_bool(prop)
        else:
            ctx.skip(obj, prop)
    code = LineCode(
        name=obj.name,
        impedance=z.impedance(obj, unit, freq),
        ampacity_normal_a=normal if normal and normal > 0 else None,
        ampacity_emergency_a=emergency if emergency and emergency > 0 else None,
        kron_reduce=kron,
    )
    return code, unit, z.n


def convert_conductor(obj: DssObject, ctx: Context) -> WireData | CNData | TSData:
    """Convert ``WireData``/``CNData``/``TSData`` to SI units (Ω/km, m)."""
    v: dict[str, Any] = {}
    r_units = gmr_units = rad_units = "none"
    for prop in obj.properties:
        name = prop.name
        if name in ("runits", "gmrunits", "radunits"):
            unit = length_unit_of(obj, prop)
            if name == "runits":
                r_units = unit
            elif name == "gmrunits":
                gmr_units = unit
            else:
                rad_units = unit
        elif name in ("rdc", "rac", "gmrac", "radius", "diam", "normamps", "emergamps",
                      "capradius", "epsr", "inslayer", "diains", "diacable", "k", "diastrand",
                      "gmrstrand", "rstrand", "diashield", "tapelayer", "tapelap"):
            v[name] = as_float(prop)
        else:
            ctx.skip(obj, prop)

    def m(value: float, unit: str) -> float:
        return to_m(value, unit)

    rac = v.get("rac")
    rdc = v.get("rdc")
    if rac is None and rdc is not None:
        rac = 1.02 * rdc
    if rac is None:
        raise fail(obj, "needs Rac or Rdc")
    radius = v.get("radius")
    if radius is None and "diam" in v:
        radius = v["diam"] / 2.0
    gmr = v.get("gmrac")
    radius_m = None if radius is None else m(radius, rad_units)
    gmr_m = None if gmr is None else m(gmr, gmr_units)
    if gmr_m is None and radius_m is not None:
        gmr_m = 0.7788 * radius_m
    if radius_m is None and gmr_m is not None:
        radius_m = gmr_m / 0.7788
    if gmr_m is None or radius_m is None:
        raise fail(obj, "needs GMRac or radius/diam")
    normal = v.get("normamps", 0.0)
    data: dict[str, Any] = {
        "name": obj.name,
        "r_ac_ohm_per_km": to_per_km(rac, r_units),
        "r_dc_ohm_per_km": None if rdc is None else to_per_km(rdc, r_units),
        "gmr_m": gmr_m,
        "radius_m": radius_m,
        "capradius_m": None if "capradius" not in v else m(v["capradius"], rad_units),
        "ampacity_normal_a": max(normal, 0.0),
        "ampacity_emergency_a": v.get("emergamps"),
    }
    if obj.cls == "wiredata":
        return WireData(**data)
    data.update(
        eps_r=v.get("epsr", 2.3),
        insulation_layer_m=m(v.get("inslayer", 0.0), rad_units),
        diameter_insulation_m=m(v.get("diains", 0.0), rad_units),
        diameter_cable_m=m(v.get("diacable", 0.0), rad_units),
    )
    if obj.cls == "cndata":
        strand_d = m(v.get("diastrand", 0.0), rad_units)
        return CNData(
            **data,
            k_strands=int(v.get("k", 2)),
            strand_diameter_m=strand_d,
            strand_gmr_m=None if "gmrstrand" not in v else m(v["gmrstrand"], gmr_units),
            strand_r_ohm_per_km=to_per_km(v.get("rstrand", 0.0), r_units),
        )
    return TSData(
        **data,
        diameter_shield_m=m(v.get("diashield", 0.0), rad_units),
        tape_layer_m=m(v.get("tapelayer", 0.0), rad_units),
        tape_lap_pct=v.get("tapelap", 20.0),
    )


def convert_spacing(obj: DssObject, ctx: Context) -> LineSpacing:
    """Convert a ``LineSpacing`` (positions in its ``units``) to metres."""
    nconds, nphases, unit = 3, 3, "none"
    x: list[float] = []
    h: list[float] = []
    for prop in obj.properties:
        if prop.name == "nconds":
            nconds = as_count(obj, prop)
        elif prop.name == "nphases":
            nphases = as_count(obj, prop)
        elif prop.name == "x":
            x = as_float_array(prop)
        elif prop.name == "h":
            h = as_float_array(prop)
        elif prop.name == "units":
            unit = length_unit_of(obj, prop)
        else:
            ctx.skip(obj, prop)
    return LineSpacing(
        name=obj.name, n_conductors=nconds, n_phases=nphases,
        x_m=[to_m(v, unit) for v in x], h_m=[to_m(v, unit) for v in h],
    )


def convert_geometry(obj: DssObject, ctx: Context) -> LineGeometry:
    """Convert a ``LineGeometry``: conductors by ``cond=``, each with its own ``units``."""
    nconds, nphases = 3, 3
    active = 1
    last_unit = "none"
    x: dict[int, float] = {}
    h: dict[int, float] = {}
    units: dict[int, str] = {}
    conds: dict[int, tuple[str, str]] = {}
    spacing: str | None = None
    reduce = False
    normal: float | None = None
    emergency: float | None = None
    for prop in obj.properties:
        name = prop.name
        if name == "nconds":
            nconds = as_count(obj, prop)
        elif name == "nphases":
            nphases = as_count(obj, prop)
        elif name == "cond":
            active = as_int(prop)
            units.setdefault(active, last_unit)
        elif name in ("wire", "cncable", "tscable"):
            kind = {"wire": "wire", "cncable": "cn", "tscable": "ts"}[name]
            conds[active] = (prop.value.strip().lower(), kind)
        elif name in ("wires", "cncables", "tscables"):
            kind = {"wires": "wire", "cncables": "cn", "tscables": "ts"}[name]
            for i, w in enumerate(as_array(prop), start=1):
                conds[i] = (w.lower(), kind)
        elif name == "x":
            x[active] = as_float(prop)
        elif name == "h":
            h[active] = as_float(prop)
        elif name == "units":
            last_unit = length_unit_of(obj, prop)
            units[active] = last_unit
        elif name == "spacing":
            spacing = prop.value.strip().lower()
        elif name == "reduce":
            reduce = as_bool(prop)
        elif name == "normamps":
            normal = as_float(prop)
        elif name == "emergamps":
            emergency = as_float(prop)
        else:
            ctx.skip(obj, prop)
    idx = range(1, nconds + 1)
    missing = [i for i in idx if i not in conds]
    if missing:
        raise fail(obj, f"no conductor given for position {missing[0]}")
    positions: dict[str, Any] = {}
    if spacing is None:
        positions = {
            "x_m": [to_m(x.get(i, 0.0), units.get(i, last_unit)) for i in idx],
            "h_m": [to_m(h.get(i, 0.0), units.get(i, last_unit)) for i in idx],
        }
    return LineGeometry(
        name=obj.name, n_conductors=nconds, n_phases=nphases, spacing=spacing,
        conductors=[conds[i][0] for i in idx],
        conductor_kinds=[conds[i][1] for i in idx],
        reduce=reduce, ampacity_normal_a=normal, ampacity_emergency_a=emergency,
        **positions,
    )


def convert_line(
    obj: DssObject,
    ctx: Context,
    codes: dict[str, tuple[LineCode, str, int]],
    base_frequency_hz: float,
    geometry_phases: dict[str, int] | None = None,
) -> ACLineSegment | Switch:
    """Convert an OpenDSS ``Line``, in property order; ``switch=y`` makes a Switch.

    A line given sequence impedances but no capacitance gets OpenDSS's default C1/C0
    (3.4/1.6 nF per kft) converted to its length unit (see ``_ZData.default_cap_scale``).

    ``geometry_phases`` gives the phases of each LineGeometry and LineSpacing by name
    (a line using one takes its number of phases, as in OpenDSS).
    """
    geometry_phases = geometry_phases or {}
    phases = 3
    bus1 = bus2 = None
    code: str | None = None
    geometry: str | None = None
    spacing: str | None = None
    wires: list[str] | None = None
    z = _ZData(3)
    inline = True
    length = 1.0
    unit = "none"
    is_switch = False
    normal: float | None = None
    emergency: float | None = None
    rho = 100.0
    open_ = False
    enabled = True
    omega = 2.0 * math.pi * base_frequency_hz
    # OpenDSS's LengthUnits: reset to none by impedance edits (ResetLengthUnits)
    length_unit = "none"
    for prop in obj.properties:
        name = prop.name
        z.n = phases
        if name == "bus1":
            bus1 = prop.value
        elif name == "bus2":
            bus2 = prop.value
        elif name == "phases":
            new_phases = as_count(obj, prop)
            if new_phases != phases and geometry is None and z.form == "sequence":
                # OpenDSS rebuilds the matrices now (RecalcElementData), which for one
                # phase also sets the zero-sequence values to the positive-sequence ones
                z.seq_changed = False
                if new_phases == 1:
                    z.seq.update(r0=z.seq["r1"], x0=z.seq["x1"], c0=z.seq["c1"])
            phases = z.n = new_phases
        elif name == "linecode":
            code = prop.value.strip().lower()
            if code not in codes:
                raise fail(obj, f"no LineCode {code!r}", prop)
            phases = codes[code][2]
            inline = False
            geometry = spacing = None
            z.seq_changed = False
        elif name in _SEQ_PROPS and code is not None and not inline:
            # OpenDSS's line copied the code's sequence values (FetchLineCode); editing
            # one of them makes the line inline data starting from the others
            z = _ZData(phases)
            code_z, code_unit = codes[code][0].impedance, codes[code][1]
            if code_z.form == "sequence":
                z.seq = _code_sequence(code_z, code_unit)
            z.apply(obj, prop, omega)
            inline, code, geometry, spacing = True, None, None, None
            length_unit = "none"
        elif z.apply(obj, prop, omega):
            inline, code, geometry, spacing = True, None, None, None
            length_unit = "none"
        elif name == "length":
            length = as_float(prop)
        elif name == "units":
            unit = length_unit = length_unit_of(obj, prop)
        elif name == "switch":
            if as_bool(prop):
                is_switch = True
                z = _ZData(phases)
                z.seq = {"r1": 1.0, "x1": 1.0, "r0": 1.0, "x0": 1.0, "c1": 1.1, "c0": 1.0}
                z.seq_changed = True
                length, unit, inline, code, geometry, spacing = 1e-3, "none", True, None, None, None
                length_unit = "none"
        elif name == "geometry":
            geometry = prop.value.strip().lower()
            inline, code, spacing = False, None, None
            phases = geometry_phases.get(geometry, phases)
        elif name == "spacing":
            spacing = prop.value.strip().lower()
            inline, code, geometry = False, None, None
            phases = geometry_phases.get(spacing, phases)
        elif name in ("wires", "cncables", "tscables"):
            wires = [w.lower() for w in as_array(prop)]
        elif name == "normamps":
            normal = as_float(prop)
        elif name == "emergamps":
            emergency = as_float(prop)
        elif name == "rho":
            rho = as_float(prop)
        elif name == "enabled":
            enabled = as_bool(prop)
        elif name == "__open__":
            open_ = True
        elif name == "__close__":
            open_ = False
        else:
            ctx.skip(obj, prop)
    if bus1 is None:
        raise fail(obj, "needs bus1")
    t1 = parse_terminal(bus1, n_conductors=phases, n_phases=phases)
    t2 = parse_terminal(bus2 if bus2 is not None else bus1, n_conductors=phases, n_phases=phases)
    z.scale_default_cap(length_unit)
    if is_switch:
        s = z.seq
        return Switch(
            name=obj.name, kind=SwitchKind.SWITCH, bus1=t1, bus2=t2, phases=phases,
            normal_open=open_ or not enabled, open=open_ or not enabled,
            rated_current_a=normal if normal and normal > 0 else None,
            r_ohm=s["r1"] * length, x_ohm=s["x1"] * length,
            r0_ohm=s["r0"] * length, x0_ohm=s["x0"] * length, c_nf=s["c1"] * length,
            c0_nf=s["c0"] * length,
        )
    if not enabled or open_:
        ctx.notes.append(f"line.{obj.name} is {'disabled' if not enabled else 'open'}")
        ctx.unsupported["line.enabled=false/open (kept closed)"] += 1
    if code is not None:
        cu = codes[code][1]
        if cu == "none":
            length_km = length  # no conversion: the code's values are per line unit
        elif unit == "none":
            length_km = length * LENGTH_UNITS_KM[cu]
        else:
            length_km = length * LENGTH_UNITS_KM[unit]
    else:
        length_km = length * LENGTH_UNITS_KM[unit]
    impedance = None
    if inline:
        z.n = phases
        impedance = z.impedance(obj, unit, base_frequency_hz)
    if spacing is not None and not wires:
        raise fail(obj, "a line with a spacing needs wires")
    return ACLineSegment(
        name=obj.name, bus1=t1, bus2=t2, phases=phases, length_km=length_km,
        line_code=code, geometry=geometry, spacing=spacing,
        wires=wires if spacing is not None else None, impedance=impedance,
        ampacity_normal_a=normal if normal and normal > 0 else None,
        ampacity_emergency_a=emergency if emergency and emergency > 0 else None,
        earth_resistivity_ohm_m=rho,
    )
