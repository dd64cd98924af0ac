"""The nodes (conductors) present at each bus.

A bus has node *k* when some element's terminal lands a conductor on it; node 0 is
ground and never listed. Disabled elements (``enabled=False``) do not count and open
switches do, as in OpenDSS, so :func:`bus_nodes` matches what OpenDSS reports for
each bus (``Bus.Nodes``), sorted.

Examples
--------
>>> from feederos.topology._examples import example_network
>>> bus_nodes(example_network())["e"]
(1, 2, 3)
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from functools import cache
from itertools import chain
from operator import attrgetter

import numpy as np
from pydantic import BaseModel

from feederos.errors import TopologyError
from feederos.model import COLLECTIONS, Network, Terminal

__all__ = ["bus_nodes"]


def bus_nodes(network: Network) -> dict[str, tuple[int, ...]]:
    """For each bus, the sorted node numbers (ground excluded) that terminals land on.

    Parameters
    ----------
    network
        The network; not modified.

    Returns
    -------
    dict[str, tuple[int, ...]]
        Every bus of ``network.buses`` in document order; empty for a bus no element
        reaches.

    Raises
    ------
    TopologyError
        If an element's terminal names a bus not in ``network.buses``.

    Examples
    --------
    >>> from feederos.model import Bus, EnergyConsumer, Network, Terminal
    >>> net = Network(name="n", buses=[Bus(name="x")], loads=[EnergyConsumer(
    ...     name="ld", terminal=Terminal(bus="x", nodes=(2, 4)), phases=1, v_kv=0.24,
    ...     p_kw=1.0, q_kvar=0.0)])
    >>> bus_nodes(net)
    {'x': (2, 4)}
    """
    # 100,000 result tuples and no cyclic garbage: without the pause the cyclic
    # collector runs ~140 times and sweeps the whole (freshly built) network model.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _bus_nodes(network)
    finally:
        if was_enabled:
            gc.enable()


def _bus_nodes(network: Network) -> dict[str, tuple[int, ...]]:
    names = [b.name for b in network.buses]
    index = {name: i for i, name in enumerate(names)}
    # A 100,000-bus feeder has ~350,000 terminals, many of them shared objects: read
    # them with C-level maps and let NumPy sort and merge (bus, node) pairs.
    # Growing a set per bus instead allocated enough containers to make the cyclic
    # collector sweep the whole network model several times (seconds at that size).
    terminals = _terminal_objects(network)
    nodes_of = list(map(attrgetter("nodes"), terminals))
    try:
        bus_at = list(map(index.__getitem__, map(attrgetter("bus"), terminals)))
    except KeyError:
        raise _unknown_bus(network, index) from None
    b = np.repeat(np.asarray(bus_at, dtype=np.int64), list(map(len, nodes_of)))
    node_of = list(chain.from_iterable(nodes_of))
    k = np.asarray(node_of, dtype=np.int64)
    keep = k != 0
    b, k = b[keep], k[keep]
    span = int(k.max()) + 1 if k.size else 1
    key = np.unique(b * span + k)  # sorted by bus, then node
    per_bus = np.bincount(key // span, minlength=len(names))
    ends = np.cumsum(per_bus).tolist()
    flat = (key % span).tolist()
    starts = [0, *ends[:-1]]
    return {name: tuple(flat[a:z]) for name, a, z in zip(names, starts, ends, strict=True)}


def _terminal_objects(network: Network) -> list[Terminal]:
    """Every enabled element's terminals (a leaner :func:`_terminals`)."""
    out: list[Terminal] = []
    for collection, cls in COLLECTIONS.items():
        fields = _terminal_fields(cls)
        elements = network.collection(collection)
        if "enabled" in cls.model_fields:
            elements = [e for e in elements if e.enabled]
        if collection == "transformers":
            out.extend(w.terminal for e in elements for w in e.windings)
            continue
        for field in fields:
            out.extend(t for t in map(attrgetter(field), elements) if t is not None)
    return out


def _unknown_bus(network: Network, index: dict[str, int]) -> TopologyError:
    """The error naming the first terminal, in document order, on a bus not in ``index``."""
    for collection, name, field, terminal in _terminals(network):
        if terminal.bus not in index:
            return TopologyError(
                f"{collection}.{name} {field}: bus {terminal.bus!r} is not in the network's "
                "buses"
            )
    raise AssertionError("unreachable: some terminal names an unknown bus")


def _terminals(network: Network) -> Iterator[tuple[str, str, str, Terminal]]:
    """Yield (collection, name, field, terminal) of every enabled element's terminals."""
    for collection, cls in COLLECTIONS.items():
        fields = _terminal_fields(cls)
        has_enabled = "enabled" in cls.model_fields
        if not fields and collection != "transformers":
            continue
        for element in network.collection(collection):
            if has_enabled and not element.enabled:
                continue
            if collection == "transformers":
                for i, w in enumerate(element.windings):
                    yield collection, element.name, f"windings[{i}].terminal", w.terminal
                continue
            for field in fields:
                t = getattr(element, field)
                if t is not None:
                    yield collection, element.name, field, t


@cache
def _terminal_fields(cls: type[BaseModel]) -> tuple[str, ...]:
    """Names of a model class's fields holding a :class:`Terminal` (or None)."""
    return tuple(
        name for name, info in cls.model_fields.items()
        if info.annotation is Terminal or info.annotation == Terminal | None
    )
