"""Consistency checks over a whole network, collecting every problem.

``validate(network)`` returns a list of :class:`Problem` objects, each naming the
collection, the element, the field and what is wrong; ``strict=True`` raises one
:class:`~feederos.errors.NetworkValidationError` listing all errors instead.
Checks are pure functions over the model and run in time linear in its size.

Examples
--------
>>> from feederos.model import ACLineSegment, Bus, Network, Terminal
>>> net = Network(name="n", buses=[Bus(name="a")], lines=[ACLineSegment(
...     name="l1", bus1=Terminal(bus="a"), bus2=Terminal(bus="b"), length_km=1.0,
...     line_code="nope")])
>>> for p in validate(net): print(p)
error lines.l1 bus2: bus 'b' is not in buses
error lines.l1 line_code: unknown line code 'nope'
error sources.(none) sources: network has no source (EnergySource or grid-forming inverter)
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from feederos.errors import NetworkValidationError
from feederos.model._base import Connection, Terminal
from feederos.model.branches import branches
from feederos.model.network import COLLECTIONS, Network

__all__ = ["Problem", "Severity", "problems_from_pydantic", "validate"]


class Severity(StrEnum):
    """How bad a problem is: errors make a network unusable, warnings are suspicious."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a network: where (collection, element, field) and what."""

    collection: str
    element: str
    field: str
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        where = f"{self.collection}.{self.element} {self.field}"
        return f"{self.severity.value} {where}: {self.message}"


def validate(network: Network, *, strict: bool = False) -> list[Problem]:
    """Check a network for every problem the schema alone cannot catch.

    Parameters
    ----------
    network
        The network to check; it is not modified.
    strict
        Raise :class:`~feederos.errors.NetworkValidationError` if any error is found.

    Returns
    -------
    list[Problem]
        Errors first, then warnings, each in document order.
    """
    problems = [
        *_duplicate_names(network),
        *_unknown_buses(network),
        *_terminal_shapes(network),
        *_references(network),
        *_negative_resistance(network),
        *_phases_at_buses(network),
        *_transformer_voltages(network),
        *_connectivity(network),
    ]
    problems.sort(key=lambda p: p.severity is not Severity.ERROR)
    if strict and any(p.severity is Severity.ERROR for p in problems):
        raise NetworkValidationError([p for p in problems if p.severity is Severity.ERROR])
    return problems


def problems_from_pydantic(error: ValidationError, data: Any) -> list[Problem]:
    """Turn a pydantic error on a network document into problems naming the element.

    ``data`` is the raw document that failed, used to look up element names.

    Examples
    --------
    >>> doc = {"name": "n", "lines": [{"name": "l9", "length_km": -1}]}
    >>> try:
    ...     Network.model_validate(doc)
    ... except ValidationError as e:
    ...     print(problems_from_pydantic(e, doc)[0])
    error lines.l9 bus1: Field required
    """
    out: list[Problem] = []
    for err in error.errors():
        loc = list(err["loc"])
        collection, element, field = "network", "", ".".join(str(p) for p in loc)
        if len(loc) >= 2 and loc[0] in COLLECTIONS and isinstance(loc[1], int):
            collection = str(loc[0])
            element = f"[{loc[1]}]"
            items = data.get(collection) if isinstance(data, dict) else None
            if isinstance(items, list) and loc[1] < len(items) and isinstance(items[loc[1]], dict):
                name = items[loc[1]].get("name")
                if isinstance(name, str) and name:
                    element = name
            field = ".".join(str(p) for p in loc[2:]) or "(element)"
        out.append(Problem(collection, element or "(network)", field, err["msg"]))
    return out


# --------------------------------------------------------------------------- helpers

_BRANCHES = ("sources", "lines", "switches", "transformers", "reactors")
_SHUNTS = ("loads", "capacitors", "generators", "inverters", "ev_chargers")


_TERMINAL_FIELDS: dict[str, tuple[str, ...]] = {
    "sources": ("terminal", "terminal2"),
    "lines": ("bus1", "bus2"),
    "switches": ("bus1", "bus2"),
    "reactors": ("bus1", "bus2"),
    "capacitors": ("terminal", "terminal2"),
    "loads": ("terminal",),
    "generators": ("terminal",),
    "inverters": ("terminal",),
    "ev_chargers": ("terminal",),
}
"""Which fields of an element hold terminals, per collection (transformers aside)."""


def _terminals(collection: str, element: Any) -> Iterator[tuple[str, Terminal]]:
    """Yield (field, terminal) for every terminal an element has."""
    if collection == "transformers":
        for i, w in enumerate(element.windings):
            yield f"windings[{i}].terminal", w.terminal
        return
    for field in _TERMINAL_FIELDS.get(collection, ()):
        t = getattr(element, field)
        if t is not None:
            yield field, t


def _all_terminals(net: Network) -> Iterator[tuple[str, Any, str, Terminal]]:
    """Yield (collection, element, field, terminal) over the whole network."""
    for collection in ("transformers", *_TERMINAL_FIELDS):
        for element in net.collection(collection):
            for field, t in _terminals(collection, element):
                yield collection, element, field, t


def _duplicate_names(net: Network) -> Iterator[Problem]:
    for collection in COLLECTIONS:
        counts = Counter(item.name for item in net.collection(collection))
        for name, n in counts.items():
            if n > 1:
                yield Problem(collection, name, "name", f"name used by {n} elements")


def _unknown_buses(net: Network) -> Iterator[Problem]:
    buses = {b.name for b in net.buses}
    for collection, element, field, t in _all_terminals(net):
        if t.bus not in buses:
            yield Problem(collection, element.name, field, f"bus {t.bus!r} is not in buses")


_CONNECTED = frozenset({"loads", "capacitors", "reactors", "generators", "inverters",
                        "ev_chargers"})
"""Collections whose elements have a wye/delta ``connection``."""


def _terminal_shapes(net: Network) -> Iterator[Problem]:
    for collection, element, field, t in _all_terminals(net):
        phases = element.phases
        # Transformer windings may leave phases implicit; a 1-phase delta element
        # spans two nodes; a wye element may add its neutral as a last node.
        lo = 1 if collection == "transformers" else phases
        hi = phases + 1
        if collection in _CONNECTED and element.connection is Connection.DELTA and phases == 1:
            lo, hi = 1, 2
        if not lo <= len(t.nodes) <= hi:
            span = f"{lo}" + (f" to {hi}" if hi != lo else "")
            yield Problem(collection, element.name, field,
                          f"{len(t.nodes)} nodes given for {phases} phase(s); give {span}")
        if any(n < 0 for n in t.nodes):
            yield Problem(collection, element.name, field, "node numbers must be >= 0")


def _ref(
    net_names: dict[str, set[str]], collection: str, element: str, field: str,
    target: str, value: str | None, label: str,
) -> Iterator[Problem]:
    if value is not None and value not in net_names[target]:
        yield Problem(collection, element, field, f"unknown {label} {value!r}")


def _typed_ref_ok(net_names: dict[str, set[str]], ref: str) -> bool:
    """Whether a 'type.name' reference names an element we have."""
    kind, _, name = ref.partition(".")
    targets = {
        "line": ("lines", "switches"),
        "switch": ("switches",),
        "transformer": ("transformers",),
        "capacitor": ("capacitors",),
        "load": ("loads",),
        "reactor": ("reactors",),
        "vsource": ("sources",),
        "generator": ("generators",),
        "pvsystem": ("inverters",),
        "storage": ("inverters",),
        "evcharger": ("ev_chargers",),
    }.get(kind.lower())
    if targets is None:
        return False
    return any(name in net_names[t] for t in targets)


def _references(net: Network) -> Iterator[Problem]:
    names = {c: {item.name for item in net.collection(c)} for c in COLLECTIONS}
    wires = names["wire_data"] | names["cn_data"] | names["ts_data"]
    for line in net.lines:
        yield from _ref(names, "lines", line.name, "line_code", "line_codes",
                        line.line_code, "line code")
        yield from _ref(names, "lines", line.name, "geometry", "line_geometries",
                        line.geometry, "line geometry")
        yield from _ref(names, "lines", line.name, "spacing", "line_spacings",
                        line.spacing, "line spacing")
        for w in line.wires or []:
            if w not in wires:
                yield Problem("lines", line.name, "wires", f"unknown wire {w!r}")
    for geo in net.line_geometries:
        for w in geo.conductors:
            if w not in wires:
                yield Problem("line_geometries", geo.name, "conductors", f"unknown wire {w!r}")
    for t in net.transformers:
        yield from _ref(names, "transformers", t.name, "code", "transformer_codes",
                        t.code, "transformer code")
    transformers = net.by_name("transformers")
    for r in net.regulators:
        target = transformers.get(r.transformer)
        if target is None:
            yield Problem("regulators", r.name, "transformer",
                          f"unknown transformer {r.transformer!r}")
        elif r.winding > len(target.windings):
            yield Problem("regulators", r.name, "winding",
                          f"transformer {r.transformer!r} has {len(target.windings)} windings")
    for c in net.capacitors:
        if c.control is not None and not _typed_ref_ok(names, c.control.element):
            yield Problem("capacitors", c.name, "control.element",
                          f"unknown monitored element {c.control.element!r}")
    for d in net.protective_devices:
        if not _typed_ref_ok(names, d.element):
            yield Problem("protective_devices", d.name, "element",
                          f"unknown protected element {d.element!r}")
    for m in net.meters:
        if not _typed_ref_ok(names, m.element):
            yield Problem("meters", m.name, "element", f"unknown metered element {m.element!r}",
                          Severity.WARNING)
    for collection in ("loads", "generators", "inverters"):
        for item in net.collection(collection):
            for field in ("yearly_shape", "daily_shape", "duty_shape"):
                yield from _ref(names, collection, item.name, field, "load_shapes",
                                getattr(item, field), "load shape")
    for ev in net.ev_chargers:
        yield from _ref(names, "ev_chargers", ev.name, "schedule_shape", "load_shapes",
                        ev.schedule_shape, "load shape")
    for inv in net.inverters:
        for field in ("volt_var_curve", "volt_watt_curve"):
            yield from _ref(names, "inverters", inv.name, field, "curves",
                            getattr(inv, field), "curve")
    for ic in net.inverter_controls:
        for field in ("volt_var_curve", "volt_watt_curve"):
            yield from _ref(names, "inverter_controls", ic.name, field, "curves",
                            getattr(ic, field), "curve")
        for der in ic.der:
            if not _typed_ref_ok(names, der):
                yield Problem("inverter_controls", ic.name, "der", f"unknown inverter {der!r}")
    codes = net.by_name("line_codes")
    for line in net.lines:
        code = codes.get(line.line_code) if line.line_code else None
        z = code.impedance if code is not None else line.impedance
        if z is not None and z.n_phases is not None:
            n = z.n_phases - (1 if code is not None and code.kron_reduce else 0)
            if n < line.phases:
                yield Problem("lines", line.name, "phases",
                              f"{line.phases} phases but its impedance has {n}")


def _negative_diagonal(matrix: Sequence[Sequence[float]] | None) -> bool:
    return matrix is not None and any(row[i] < 0 for i, row in enumerate(matrix))


def _negative_resistance(net: Network) -> Iterator[Problem]:
    items: Iterable[tuple[str, str, Any]] = [
        *(("line_codes", c.name, c.impedance) for c in net.line_codes),
        *(("lines", x.name, x.impedance) for x in net.lines if x.impedance is not None),
    ]
    for collection, name, z in items:
        prefix = "impedance." if collection in ("line_codes", "lines") else ""
        if _negative_diagonal(z.r_matrix_ohm_per_km):
            yield Problem(collection, name, prefix + "r_matrix_ohm_per_km",
                          "self resistance must not be negative")
        for field in ("r1_ohm_per_km", "r0_ohm_per_km"):
            v = getattr(z, field)
            if v is not None and v < 0:
                yield Problem(collection, name, prefix + field, "resistance must not be negative")
        for field in ("c1_nf_per_km", "c0_nf_per_km"):
            v = getattr(z, field)
            if v is not None and v < 0:
                yield Problem(collection, name, prefix + field, "capacitance must not be negative")


def _phases_at_buses(net: Network) -> Iterator[Problem]:
    supplied: dict[str, set[int]] = defaultdict(set)
    for collection in _BRANCHES:
        for element in net.collection(collection):
            for _, t in _terminals(collection, element):
                supplied[t.bus].update(t.nodes)
    for inverter in net.inverters:
        if inverter.grid_forming:  # it sets the voltage of the nodes it sits on
            supplied[inverter.terminal.bus].update(inverter.terminal.nodes)
    for collection in _SHUNTS:
        for element in net.collection(collection):
            for field, t in _terminals(collection, element):
                n_phase_nodes = element.phases if element.connection is Connection.WYE else (
                    2 if element.phases == 1 else element.phases
                )
                missing = [
                    n for n in t.nodes[:n_phase_nodes] if n != 0 and n not in supplied[t.bus]
                ]
                if missing:
                    yield Problem(
                        collection, element.name, field,
                        f"node(s) {', '.join(map(str, missing))} not present at bus {t.bus!r}"
                        " (no line, transformer or switch brings them there)",
                    )


def _transformer_voltages(net: Network) -> Iterator[Problem]:
    bases = {b.name: b.v_base_kv for b in net.buses}
    for t in net.transformers:
        for i, w in enumerate(t.windings):
            base = bases.get(w.terminal.bus)
            if base is None:
                continue
            ln = base / math.sqrt(3.0)
            # A winding may be rated line-to-line, line-to-neutral, or across a
            # centre-tapped pair (2 x LN); anything else is a likely data error.
            candidates = (base, ln, 2.0 * ln) if t.phases == 1 else (base,)
            if not any(abs(w.v_kv - c) <= 0.1 * c for c in candidates):
                yield Problem(
                    "transformers", t.name, f"windings[{i}].v_kv",
                    f"{w.v_kv:g} kV does not fit bus {w.terminal.bus!r} base {base:g} kV LL",
                    Severity.WARNING,
                )


def _connectivity(net: Network) -> Iterator[Problem]:
    parent: dict[str, str] = {b.name: b.name for b in net.buses}

    def find(x: str) -> str:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    def union(a: str, b: str) -> None:
        parent.setdefault(a, a)
        parent.setdefault(b, b)
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb

    for br in branches(net):
        if not br.open:
            union(br.end1.bus, br.end2.bus)
    energised = {find(s.terminal.bus) for s in net.sources}
    forming = [i for i in net.inverters if i.grid_forming and i.enabled]
    energised |= {find(i.terminal.bus) for i in forming}
    if not net.sources and not forming:
        if net.buses:
            yield Problem("sources", "(none)", "sources",
                          "network has no source (EnergySource or grid-forming inverter)")
        return
    for collection in (*_BRANCHES[1:], *_SHUNTS):
        for element in net.collection(collection):
            for field, t in _terminals(collection, element):
                if find(t.bus) not in energised:
                    yield Problem(collection, element.name, field,
                                  f"dangling: bus {t.bus!r} is not connected to any source",
                                  Severity.WARNING)
                    break
