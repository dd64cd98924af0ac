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

from collections.abc import Iterator
from functools import cache

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
    found: dict[str, set[int]] = {b.name: set() for b in network.buses}
    for collection, name, field, terminal in _terminals(network):
        nodes = found.get(terminal.bus)
        if nodes is None:
            raise TopologyError(
                f"{collection}.{name} {field}: bus {terminal.bus!r} is not in the network's buses"
            )
        nodes.update(terminal.nodes)
    return {bus: tuple(sorted(n for n in nodes if n != 0)) for bus, nodes in found.items()}


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
