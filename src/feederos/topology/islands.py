"""Islands: the parts of a network joined by closed branches, and which are energised.

An island is energised when it holds a source: an
:class:`~feederos.model.EnergySource` or an enabled grid-forming
:class:`~feederos.model.PowerElectronicsConnection`.

Examples
--------
>>> from feederos.topology._examples import example_network
>>> [sorted(i.buses) for i in islands(example_network())]
[['a', 'b', 'c', 'd', 'src'], ['e']]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from feederos.model import Network
from feederos.topology.arrays import ElementId, TopologyArrays, topology_arrays

__all__ = ["Island", "energized_buses", "islands"]


@dataclass(frozen=True)
class Island:
    """A set of buses joined by closed branches.

    Attributes
    ----------
    buses
        Names of the island's buses.
    sources
        ``(collection, name)`` of each source in the island: energy sources, then
        grid-forming inverters, each in document order.
    energized
        Whether the island holds a source.
    """

    buses: frozenset[str]
    sources: tuple[ElementId, ...]
    energized: bool


def islands(network: Network | TopologyArrays) -> list[Island]:
    """Split a network into islands through its closed branches.

    Parameters
    ----------
    network
        A network, or its :func:`~feederos.topology.topology_arrays` (build those once
        to run many queries on a large feeder).

    Returns
    -------
    list[Island]
        Every island, a bus without branches being one by itself, in the order of
        each island's first bus in ``network.buses``.

    Examples
    --------
    >>> from feederos.topology._examples import example_network
    >>> net = example_network()
    >>> [(len(i.buses), i.sources, i.energized) for i in islands(net)]
    [(5, (('sources', 'grid'),), True), (1, (), False)]
    >>> net.switches[1].open = False    # close sw2: bus e joins the feeder
    >>> len(islands(net))
    1
    """
    arrays = topology_arrays(network)
    n_islands, labels = arrays.components
    if arrays.n_buses == 0:
        return []
    _, first_bus = np.unique(labels, return_index=True)
    rank = np.empty(n_islands, dtype=np.int64)
    rank[np.argsort(first_bus, kind="stable")] = np.arange(n_islands)
    island_of = rank[labels]
    order = np.argsort(island_of, kind="stable")
    bounds = np.searchsorted(island_of[order], np.arange(n_islands + 1))
    names = arrays.bus_names[order].tolist()
    sources: list[list[ElementId]] = [[] for _ in range(n_islands)]
    for sid, bus in zip(arrays.source_ids, arrays.source_bus.tolist(), strict=True):
        sources[int(island_of[bus])].append(sid)
    return [
        Island(
            buses=frozenset(names[bounds[k]:bounds[k + 1]]),
            sources=tuple(sources[k]),
            energized=bool(sources[k]),
        )
        for k in range(n_islands)
    ]


def energized_buses(network: Network | TopologyArrays) -> frozenset[str]:
    """Names of the buses joined through closed branches to a source.

    Parameters
    ----------
    network
        A network, or its :func:`~feederos.topology.topology_arrays`.

    Returns
    -------
    frozenset[str]
        The buses of every energised island.

    Examples
    --------
    >>> from feederos.topology._examples import example_network
    >>> sorted(energized_buses(example_network()))
    ['a', 'b', 'c', 'd', 'src']
    """
    arrays = topology_arrays(network)
    return frozenset(arrays.bus_names[arrays.energized].tolist())
