"""The branches of a network: every element that joins two buses.

One definition shared by validation, topology and importers, so that they agree on
what connects to what: lines, switches, each transformer winding beyond the first
(to the first winding's bus), series reactors, and capacitors whose second terminal
is on another bus. A winding on a bus already joined by the same transformer (the
second half of a centre-tapped secondary) adds no branch.

Examples
--------
>>> from feederos.model import ACLineSegment, LineImpedance, Network, Switch, Terminal
>>> z = LineImpedance(r1_ohm_per_km=0.1, x1_ohm_per_km=0.3)
>>> net = Network(name="n", lines=[ACLineSegment(name="l1", bus1=Terminal(bus="a"),
...     bus2=Terminal(bus="b"), length_km=1.0, impedance=z)],
...     switches=[Switch(name="tie", bus1=Terminal(bus="b"), bus2=Terminal(bus="c"),
...     normal_open=True)])
>>> [(b.collection, b.element.name, b.end2.bus, b.open) for b in branches(net)]
[('lines', 'l1', 'b', False), ('switches', 'tie', 'c', True)]
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from feederos.model._base import Terminal
from feederos.model.network import Network

__all__ = ["Branch", "branches"]


@dataclass(frozen=True)
class Branch:
    """One bus-to-bus connection made by an element.

    ``field1``/``field2`` name the element's fields holding ``end1``/``end2``;
    ``winding`` is the index of the far winding for a transformer, else None;
    ``open`` is True for an open switch (other branches are always closed here).
    """

    collection: str
    element: Any
    field1: str
    end1: Terminal
    field2: str
    end2: Terminal
    open: bool = False
    winding: int | None = None


def branches(network: Network) -> Iterator[Branch]:
    """Yield every branch of ``network`` in document order (see the module docstring)."""
    for line in network.lines:
        yield Branch("lines", line, "bus1", line.bus1, "bus2", line.bus2)
    for sw in network.switches:
        yield Branch("switches", sw, "bus1", sw.bus1, "bus2", sw.bus2, open=sw.open)
    for xf in network.transformers:
        w0 = xf.windings[0].terminal
        done = {w0.bus}
        for k, w in enumerate(xf.windings[1:], start=1):
            if w.terminal.bus in done:
                continue
            done.add(w.terminal.bus)
            yield Branch("transformers", xf, "windings[0].terminal", w0,
                         f"windings[{k}].terminal", w.terminal, winding=k)
    for r in network.reactors:
        if r.bus2 is not None:
            yield Branch("reactors", r, "bus1", r.bus1, "bus2", r.bus2)
    for c in network.capacitors:
        if c.terminal2 is not None and c.terminal2.bus != c.terminal.bus:
            yield Branch("capacitors", c, "terminal", c.terminal, "terminal2", c.terminal2)
