"""The converter: an OpenDSS script (:class:`DssScript`) to a :class:`~feederos.model.Network`.

Each object is interpreted property by property in the order written, as OpenDSS
does (see the ``_convert_*`` modules per element family). Buses are collected in
first-reference order; their voltage bases follow OpenDSS's ``CalcVoltageBases``: the
source voltage is carried through the transformer ratios and each bus takes the
nearest ``Set voltagebases`` value. Classes and properties that have no place in the
model are counted and reported in one :class:`DssImportWarning`.

Examples
--------
>>> from feederos.io.opendss._script import parse_script
>>> net = convert_script(parse_script('''
... New Circuit.demo basekv=12.47 bus1=src
... New Line.l1 bus1=src bus2=b phases=3 r1=0.1 x1=0.3 length=2 units=km
... Set voltagebases=[12.47]
... '''))
>>> [b.name for b in net.buses], net.buses[1].v_base_kv
(['src', 'b'], 12.47)
"""

from __future__ import annotations

import math
import warnings
from collections import deque
from collections.abc import Iterable
from typing import Any

from feederos.errors import NetworkImportError
from feederos.io.opendss._convert_base import Context, DssImportWarning, as_float, as_int
from feederos.io.opendss._convert_elements import (
    DEFAULT_LOADSHAPE,
    convert_capacitor,
    convert_capcontrol,
    convert_der,
    convert_generator,
    convert_invcontrol,
    convert_load,
    convert_loadshape,
    convert_meter,
    convert_protective,
    convert_reactor,
    convert_vsource,
    convert_xycurve,
)
from feederos.io.opendss._convert_lines import (
    convert_conductor,
    convert_geometry,
    convert_line,
    convert_linecode,
    convert_spacing,
)
from feederos.io.opendss._convert_transformers import (
    convert_regcontrol,
    convert_transformer,
    convert_xfmrcode,
    read_xfmrcode,
)
from feederos.io.opendss._script import DssProperty, DssScript, SourceLocation
from feederos.model import (
    Bus,
    Connection,
    ControlMode,
    LoadShape,
    Network,
    PowerTransformer,
    SolveMode,
    StudySettings,
    Terminal,
)

__all__ = ["DssImportWarning", "convert_script", "dss_class_counts"]

_IGNORED_CLASSES = frozenset({"spectrum", "tcc_curve", "growthshape"})  # library defaults


def convert_script(script: DssScript, *, name: str | None = None) -> Network:
    """Build the network model from a read script; warn once about unmapped parts.

    Parameters
    ----------
    script
        The script, as :func:`~feederos.io.opendss._script.read_script` returns it.
    name
        Network name; the circuit's name by default.

    Returns
    -------
    Network
        The network (not validated further than the model's own field checks).
    """
    ctx = Context()
    freq = _base_frequency(script)
    net: dict[str, list[Any]] = {key: [] for key in (
        "sources", "wire_data", "cn_data", "ts_data", "line_spacings", "line_geometries",
        "line_codes", "lines", "switches", "protective_devices", "transformer_codes",
        "transformers", "regulators", "capacitors", "reactors", "loads", "generators",
        "inverters", "inverter_controls", "load_shapes", "curves", "meters")}
    codes: dict[str, tuple[Any, str, int]] = {}
    xfcodes: dict[str, Any] = {}
    capcontrols: list[tuple[str, Any]] = []
    geometry_phases: dict[str, int] = {}
    for (cls, _), obj in script.objects.items():
        if cls == "vsource":
            net["sources"].append(convert_vsource(obj, ctx))
        elif cls in ("wiredata", "cndata", "tsdata"):
            key = {"wiredata": "wire_data", "cndata": "cn_data", "tsdata": "ts_data"}[cls]
            net[key].append(convert_conductor(obj, ctx))
        elif cls == "linespacing":
            net["line_spacings"].append(convert_spacing(obj, ctx))
            geometry_phases[obj.name] = net["line_spacings"][-1].n_phases
        elif cls == "linegeometry":
            net["line_geometries"].append(convert_geometry(obj, ctx))
            geometry_phases[obj.name] = net["line_geometries"][-1].n_phases
        elif cls == "linecode":
            codes[obj.name] = convert_linecode(obj, ctx, freq)
            net["line_codes"].append(codes[obj.name][0])
        elif cls == "line":
            element = convert_line(obj, ctx, codes, freq, geometry_phases)
            net["lines" if element.__class__.__name__ == "ACLineSegment" else "switches"].append(
                element
            )
        elif cls == "xfmrcode":
            xfcodes[obj.name] = read_xfmrcode(obj, ctx, xfcodes)
            net["transformer_codes"].append(convert_xfmrcode(obj, xfcodes[obj.name]))
        elif cls == "transformer":
            net["transformers"].append(convert_transformer(obj, ctx, xfcodes))
        elif cls == "regcontrol":
            net["regulators"].append(convert_regcontrol(obj, ctx))
        elif cls == "capacitor":
            net["capacitors"].append(convert_capacitor(obj, ctx))
        elif cls == "capcontrol":
            capcontrols.append(convert_capcontrol(obj, ctx))
        elif cls == "reactor":
            net["reactors"].append(convert_reactor(obj, ctx, freq))
        elif cls == "load":
            net["loads"].append(convert_load(obj, ctx))
        elif cls == "generator":
            net["generators"].append(convert_generator(obj, ctx))
        elif cls in ("pvsystem", "storage"):
            net["inverters"].append(convert_der(obj, ctx))
        elif cls == "invcontrol":
            net["inverter_controls"].append(convert_invcontrol(obj, ctx))
        elif cls == "xycurve":
            net["curves"].append(convert_xycurve(obj, ctx))
        elif cls in ("fuse", "recloser", "relay"):
            net["protective_devices"].append(convert_protective(obj, ctx))
        elif cls in ("energymeter", "monitor"):
            net["meters"].append(convert_meter(obj, ctx))
        elif cls == "loadshape":
            net["load_shapes"].append(convert_loadshape(obj, ctx))
        elif cls in _IGNORED_CLASSES and not obj.properties:
            continue
        else:
            ctx.skip_class(cls)
    if not any(s.name == "default" for s in net["load_shapes"]):
        net["load_shapes"].insert(0, LoadShape(name="default", p_mult=list(DEFAULT_LOADSHAPE)))
    caps = {c.name: i for i, c in enumerate(net["capacitors"])}
    for cap_name, control in capcontrols:
        if cap_name not in caps:
            raise NetworkImportError(f"CapControl {control.name!r}: no capacitor {cap_name!r}")
        i = caps[cap_name]
        if net["capacitors"][i].control is not None:
            ctx.unsupported["capcontrol (second control of one capacitor)"] += 1
            continue
        net["capacitors"][i] = net["capacitors"][i].model_copy(update={"control": control})
    settings = _settings(script, ctx)
    buses = _buses(script, net)
    network = Network(
        name=name or script.circuit_name or "opendss",
        base_frequency_hz=freq,
        voltage_bases_kv=list(script.voltage_bases_kv),
        settings=settings,
        buses=buses,
        **net,
    )
    if script.voltage_bases_kv:
        _set_voltage_bases(network)
    if ctx.unsupported:
        listing = ", ".join(f"{k} ×{n}" for k, n in sorted(ctx.unsupported.items()))
        warnings.warn(
            f"OpenDSS import of {network.name!r}: not mapped to the model: {listing}",
            DssImportWarning,
            stacklevel=3,
        )
    return network


def _base_frequency(script: DssScript) -> float:
    text = script.options.get("defaultbasefrequency")
    if text is None:
        return 60.0
    return as_float(DssProperty("defaultbasefrequency", text, SourceLocation("<set>", 0)))


def _duration_s(text: str) -> float:
    word = text.strip().lower()
    factor = 1.0
    if word and word[-1] in "hms":
        factor = {"h": 3600.0, "m": 60.0, "s": 1.0}[word[-1]]
        word = word[:-1]
    return float(word) * factor


_SETTING_KEYS = ("mode", "number", "stepsize", "tolerance", "maxiterations", "maxcontroliter",
                 "controlmode", "loadmult", "earthmodel", "defaultbasefrequency",
                 "voltagebases")


def _settings(script: DssScript, ctx: Context) -> StudySettings:
    opts = script.options
    where = SourceLocation("<set>", 0)
    v: dict[str, Any] = {}

    def num(key: str) -> float:
        return as_float(DssProperty(key, opts[key], where))

    if "mode" in opts:
        word = opts["mode"].strip().lower()
        modes = {"s": SolveMode.SNAPSHOT, "da": SolveMode.DAILY, "y": SolveMode.YEARLY,
                 "du": SolveMode.DUTY}
        found = [m for k, m in modes.items() if word.startswith(k)]
        if found:
            v["mode"] = found[0]
        else:
            ctx.unsupported[f"set mode={word}"] += 1
    if "number" in opts:
        v["number"] = as_int(DssProperty("number", opts["number"], where))
    if "stepsize" in opts:
        v["step_s"] = _duration_s(opts["stepsize"])
    if "tolerance" in opts:
        v["tolerance_pu"] = num("tolerance")
    if "maxiterations" in opts:
        v["max_iterations"] = int(num("maxiterations"))
    if "maxcontroliter" in opts:
        v["max_control_iterations"] = int(num("maxcontroliter"))
    if "controlmode" in opts:
        word = opts["controlmode"].strip().lower()
        for mode in ControlMode:
            if mode.value.startswith(word[:3]):
                v["control_mode"] = mode
    if "loadmult" in opts:
        v["load_multiplier"] = num("loadmult")
    if "earthmodel" in opts:
        v["earth_model"] = opts["earthmodel"].strip().lower()
    extra = {k: val for k, val in opts.items() if k not in _SETTING_KEYS}
    return StudySettings(extra=extra, **v)


def _terminals(collection: str, element: Any) -> Iterable[Terminal]:
    if collection in ("lines", "switches"):
        yield element.bus1
        yield element.bus2
    elif collection == "transformers":
        for w in element.windings:
            yield w.terminal
    elif collection == "reactors":
        yield element.bus1
        if element.bus2 is not None:
            yield element.bus2
    elif collection in ("sources", "capacitors"):
        yield element.terminal
        if element.terminal2 is not None:
            yield element.terminal2
    elif hasattr(element, "terminal") and isinstance(element.terminal, Terminal):
        yield element.terminal


_ORDER = ("sources", "lines", "switches", "transformers", "capacitors", "reactors", "loads",
          "generators", "inverters")


def _buses(script: DssScript, net: dict[str, list[Any]]) -> list[Bus]:
    names: dict[str, None] = {}
    for collection in _ORDER:
        for element in net[collection]:
            for term in _terminals(collection, element):
                names.setdefault(term.bus, None)
    coords = script.bus_coords
    return [
        Bus(name=b, x=coords[b][0] if b in coords else None,
            y=coords[b][1] if b in coords else None)
        for b in names
    ]


def _winding_ln_kv(t: PowerTransformer, i: int) -> float:
    w = t.windings[i]
    if t.phases > 1:
        return w.v_kv / math.sqrt(3.0)
    if w.connection is Connection.DELTA:
        return w.v_kv / math.sqrt(3.0)
    phase_nodes = [n for n in w.terminal.nodes[:2] if n != 0]
    nodes = w.terminal.nodes
    if len(nodes) >= 2 and nodes[0] != 0 and nodes[1] != 0 and len(set(phase_nodes)) == 2:
        both_phases = all(1 <= n <= 3 for n in nodes[:2])
        if both_phases:
            return w.v_kv / math.sqrt(3.0)
    return w.v_kv


def _set_voltage_bases(network: Network) -> None:
    """Carry the source voltage through the network and pick the nearest base (in place)."""
    adjacency: dict[str, list[tuple[str, float]]] = {}

    def link(a: str, b: str, ratio: float) -> None:
        adjacency.setdefault(a, []).append((b, ratio))
        adjacency.setdefault(b, []).append((a, 1.0 / ratio))

    for line in network.lines:
        link(line.bus1.bus, line.bus2.bus, 1.0)
    for sw in network.switches:
        if not sw.open:
            link(sw.bus1.bus, sw.bus2.bus, 1.0)
    for reactor in network.reactors:
        if reactor.bus2 is not None:
            link(reactor.bus1.bus, reactor.bus2.bus, 1.0)
    for t in network.transformers:
        v1 = _winding_ln_kv(t, 0)
        for i in range(1, len(t.windings)):
            link(t.windings[0].terminal.bus, t.windings[i].terminal.bus,
                 _winding_ln_kv(t, i) / v1)
    v_ln: dict[str, float] = {}
    queue: deque[str] = deque()
    for src in network.sources:
        ln = src.v_kv * src.v_pu / (math.sqrt(3.0) if src.phases > 1 else 1.0)
        if src.terminal.bus not in v_ln:
            v_ln[src.terminal.bus] = ln
            queue.append(src.terminal.bus)
    while queue:
        bus = queue.popleft()
        for other, ratio in adjacency.get(bus, []):
            if other not in v_ln:
                v_ln[other] = v_ln[bus] * ratio
                queue.append(other)
    bases = network.voltage_bases_kv
    for i, node in enumerate(network.buses):
        if node.name not in v_ln:
            continue
        kv_ll = v_ln[node.name] * math.sqrt(3.0)
        best = min(bases, key=lambda b: abs(1.0 - kv_ll / b))
        network.buses[i] = node.model_copy(update={"v_base_kv": best})


def dss_class_counts(network: Network) -> dict[str, int]:
    """Count the network's elements by the OpenDSS class they come from.

    Parameters
    ----------
    network
        The network.

    Returns
    -------
    dict
        OpenDSS class name (as OpenDSS spells it) → number of elements.

    Examples
    --------
    >>> dss_class_counts(Network(name="n"))["Line"]
    0
    """
    n = network
    pv = sum(1 for d in n.inverters if d.kind.value == "pv")
    return {
        "Vsource": len(n.sources),
        "Line": len(n.lines) + len(n.switches),
        "Transformer": len(n.transformers),
        "RegControl": len(n.regulators),
        "Capacitor": len(n.capacitors),
        "CapControl": sum(1 for c in n.capacitors if c.control is not None),
        "Reactor": len(n.reactors),
        "Load": len(n.loads),
        "Generator": len(n.generators),
        "PVSystem": pv,
        "Storage": len(n.inverters) - pv,
        "InvControl": len(n.inverter_controls),
        "Fuse": sum(1 for d in n.protective_devices if d.kind.value == "fuse"),
        "Recloser": sum(1 for d in n.protective_devices if d.kind.value == "recloser"),
        "Relay": sum(1 for d in n.protective_devices if d.kind.value == "relay"),
        "EnergyMeter": sum(1 for m in n.meters if m.kind.value == "energymeter"),
        "Monitor": sum(1 for m in n.meters if m.kind.value == "monitor"),
        "LineCode": len(n.line_codes),
        "WireData": len(n.wire_data),
        "CNData": len(n.cn_data),
        "TSData": len(n.ts_data),
        "LineGeometry": len(n.line_geometries),
        "LineSpacing": len(n.line_spacings),
        "XfmrCode": len(n.transformer_codes),
        "LoadShape": len(n.load_shapes),
        "XYCurve": len(n.curves),
    }
