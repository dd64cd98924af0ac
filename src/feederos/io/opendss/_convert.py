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
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import ValidationError

from feederos.errors import NetworkImportError
from feederos.io.opendss._convert_base import (
    Context,
    DssImportWarning,
    as_float,
    as_int,
    element_errors,
    fail,
)
from feederos.io.opendss._convert_der import convert_der, convert_generator, convert_invcontrol
from feederos.io.opendss._convert_elements import (
    DEFAULT_LOADSHAPE,
    convert_capacitor,
    convert_capcontrol,
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
from feederos.io.opendss._convert_loads import convert_load
from feederos.io.opendss._convert_transformers import (
    convert_regcontrol,
    convert_transformer,
    convert_xfmrcode,
    read_xfmrcode,
)
from feederos.io.opendss._script import DssObject, DssProperty, DssScript, SourceLocation
from feederos.model import (
    ACLineSegment,
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
from feederos.model.branches import branches

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
    capcontrols: list[tuple[DssObject, str, Any]] = []
    geometry_phases: dict[str, int] = {}
    shapes: dict[str, LoadShape] = {}  # converted first: loads read UseActual shapes
    for (cls, _), obj in script.objects.items():
        if cls == "loadshape":
            with element_errors(obj):
                shapes[obj.name] = convert_loadshape(obj, ctx)
    for (cls, _), obj in script.objects.items():
        with element_errors(obj):
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
                collection = "lines" if isinstance(element, ACLineSegment) else "switches"
                net[collection].append(element)
            elif cls == "xfmrcode":
                state = read_xfmrcode(obj, ctx, xfcodes)
                net["transformer_codes"].append(convert_xfmrcode(obj, state))
                xfcodes[obj.name] = state
            elif cls == "transformer":
                net["transformers"].append(convert_transformer(obj, ctx, xfcodes))
            elif cls == "regcontrol":
                net["regulators"].append(convert_regcontrol(obj, ctx))
            elif cls == "capacitor":
                net["capacitors"].append(convert_capacitor(obj, ctx))
            elif cls == "capcontrol":
                capcontrols.append((obj, *convert_capcontrol(obj, ctx)))
            elif cls == "reactor":
                net["reactors"].append(convert_reactor(obj, ctx, freq))
            elif cls == "load":
                net["loads"].append(convert_load(obj, ctx, shapes))
            elif cls == "generator":
                net["generators"].append(convert_generator(obj, ctx))
            elif cls in ("pvsystem", "storage"):
                net["inverters"].append(convert_der(obj, ctx))
            elif cls == "invcontrol":
                control = convert_invcontrol(obj, ctx)
                if control is None:  # OpenDSS's default mode: no control at all
                    ctx.unsupported["invcontrol without mode (no control, left out)"] += 1
                else:
                    net["inverter_controls"].append(control)
            elif cls == "xycurve":
                net["curves"].append(convert_xycurve(obj, ctx))
            elif cls in ("fuse", "recloser", "relay"):
                net["protective_devices"].append(convert_protective(obj, ctx))
            elif cls in ("energymeter", "monitor"):
                net["meters"].append(convert_meter(obj, ctx))
            elif cls == "loadshape":
                net["load_shapes"].append(shapes[obj.name])
            elif cls in _IGNORED_CLASSES and not obj.properties:
                continue
            else:
                ctx.skip_class(cls)
    if not any(s.name == "default" for s in net["load_shapes"]):
        net["load_shapes"].insert(0, LoadShape(name="default", p_mult=list(DEFAULT_LOADSHAPE)))
    caps = {c.name: i for i, c in enumerate(net["capacitors"])}
    for obj, cap_name, control in capcontrols:
        if cap_name not in caps:
            prop = obj.get_property("capacitor")
            raise fail(obj, f"no capacitor {cap_name!r}", prop)
        i = caps[cap_name]
        if net["capacitors"][i].control is not None:
            ctx.unsupported["capcontrol (second control of one capacitor)"] += 1
            continue
        net["capacitors"][i] = net["capacitors"][i].model_copy(update={"control": control})
    settings = _settings(script, ctx)
    with _option_errors(script, "voltagebases"):
        bases = script.voltage_bases_kv
        if not all(0.0 < b < math.inf for b in bases):
            raise ValueError("every voltage base must be a positive number [kV]")
    network = Network(
        name=name or script.circuit_name or "opendss",
        base_frequency_hz=freq,
        voltage_bases_kv=list(bases),
        settings=settings,
        buses=_buses(script, net),
        **net,
    )
    if bases:
        _set_voltage_bases(network)
    if ctx.unsupported:
        listing = ", ".join(f"{k} ×{n}" for k, n in sorted(ctx.unsupported.items()))
        warnings.warn(
            f"OpenDSS import of {network.name!r}: not mapped to the model: {listing}",
            DssImportWarning,
            stacklevel=3,
        )
    return network


def _master_file(script: DssScript) -> str:
    return script.files_read[0] if script.files_read else "<script>"


@contextmanager
def _option_errors(script: DssScript, key: str) -> Iterator[None]:
    """Report a bad ``Set key=value`` as a NetworkImportError naming the option.

    The script keeps no line for ``Set`` options, so the error names the master file.
    """
    text = f"Set {key}={script.options.get(key, '')!r}"
    try:
        yield
    except NetworkImportError as exc:
        message = exc.message.split(": ", 1)[-1] if exc.file == _OPTION_FILE else exc.message
        raise NetworkImportError(f"{text}: {message}", file=_master_file(script)) from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise NetworkImportError(f"{text}: {problems}", file=_master_file(script)) from exc
    except (ValueError, ArithmeticError, LookupError) as exc:
        raise NetworkImportError(f"{text}: {exc}", file=_master_file(script)) from exc


_OPTION_FILE = "<set>"


def _option(script: DssScript, key: str) -> DssProperty:
    return DssProperty(key, script.options[key], SourceLocation(_OPTION_FILE, 0))


def _base_frequency(script: DssScript) -> float:
    if "defaultbasefrequency" not in script.options:
        return 60.0
    with _option_errors(script, "defaultbasefrequency"):
        freq = as_float(_option(script, "defaultbasefrequency"))
        if not 0.0 < freq < math.inf:
            raise ValueError("the base frequency must be a positive number [Hz]")
    return freq


def _duration_s(text: str) -> float:
    word = text.strip().lower()
    factor = 1.0
    if word and word[-1] in "hms":
        factor = {"h": 3600.0, "m": 60.0, "s": 1.0}[word[-1]]
        word = word[:-1]
    try:
        return float(word) * factor
    except ValueError:
        raise ValueError("expected a duration such as 900, 15m, 0.25h or 900s") from None


#: ``Set`` option -> StudySettings field it gives.
_SETTING_FIELDS = {"mode": "mode", "number": "number", "stepsize": "step_s",
                   "tolerance": "tolerance_pu", "maxiterations": "max_iterations",
                   "maxcontroliter": "max_control_iterations", "controlmode": "control_mode",
                   "loadmult": "load_multiplier", "earthmodel": "earth_model"}
_SETTING_KEYS = (*_SETTING_FIELDS, "defaultbasefrequency", "voltagebases")
_SOLVE_MODES = {"s": SolveMode.SNAPSHOT, "da": SolveMode.DAILY, "y": SolveMode.YEARLY,
                "du": SolveMode.DUTY}


def _setting(script: DssScript, key: str, ctx: Context) -> Any:
    """The StudySettings value of ``Set key=...``, or None if it has no place there."""
    text = script.options[key]
    word = text.strip().lower()
    if key == "mode":
        found = [m for k, m in _SOLVE_MODES.items() if word.startswith(k)]
        if not found:
            ctx.unsupported[f"set mode={word}"] += 1
            return None
        return found[0]
    if key == "stepsize":
        return _duration_s(text)
    if key == "controlmode":
        found_modes = [m for m in ControlMode if m.value.startswith(word[:3])]
        return found_modes[-1] if found_modes else None
    if key == "earthmodel":
        return word
    if key in ("number", "maxiterations", "maxcontroliter"):
        return as_int(_option(script, key))
    return as_float(_option(script, key))


def _settings(script: DssScript, ctx: Context) -> StudySettings:
    v: dict[str, Any] = {}
    for key in script.options:
        field_name = _SETTING_FIELDS.get(key)
        if field_name is None:
            continue
        with _option_errors(script, key):
            value = _setting(script, key, ctx)
            if value is not None:  # validate here to name the option on error
                v[field_name] = getattr(StudySettings(**{field_name: value}), field_name)
    extra = {k: val for k, val in script.options.items() if k not in _SETTING_KEYS}
    return StudySettings(extra=extra, snapshot_first=script.snapshot_solved, **v)


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

    def link(a: str, b: str, v_a: float = 1.0, v_b: float = 1.0) -> None:
        # both ratios by division of positive voltages: never a division by zero, and an
        # absurd ratio (1e308 kV to 1e-308 kV) gives inf or 0 rather than an error
        adjacency.setdefault(a, []).append((b, v_b / v_a))
        adjacency.setdefault(b, []).append((a, v_a / v_b))

    for br in branches(network):
        if br.open:
            continue
        if br.winding is None:
            link(br.end1.bus, br.end2.bus)
        else:
            link(br.end1.bus, br.end2.bus, _winding_ln_kv(br.element, 0),
                 _winding_ln_kv(br.element, br.winding))
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
