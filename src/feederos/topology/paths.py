"""Paths to the source and what lies downstream of a bus or branch.

Paths follow the feeding tree of :mod:`feederos.topology.ordering`: in a radial
network the one path to the source, in a meshed one a path with the fewest branches
(ties by document order). *Downstream* needs no tree: the buses downstream of a bus
or branch are those that would lose every source of their island if it were taken
out, so the answer is the same in radial and meshed networks (in a radial one, the
subtree below it).

Branches are named ``(collection, name)``, e.g. ``("lines", "l1")``; queries also
take ``'kind.name'`` references such as ``'line.l1'`` or ``'transformers.t1'``.

Examples
--------
>>> from feederos.topology._examples import example_network
>>> net = example_network()
>>> path_to_source(net, "d")
['d', 'c', 'a', 'src']
>>> sorted(downstream_buses(net, "line.l3"))
['c', 'd']
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csgraph

from feederos.model import Network
from feederos.topology._forest import feeding_forest, require_energized
from feederos.topology.arrays import (
    BoolArray,
    ElementId,
    TopologyArrays,
    topology_arrays,
)

__all__ = ["downstream_buses", "path_elements", "path_to_source", "upstream_element"]


def path_to_source(network: Network | TopologyArrays, bus: str) -> list[str]:
    """Buses from ``bus`` up to the bus of the source feeding it.

    Parameters
    ----------
    network
        A network, or its :func:`~feederos.topology.topology_arrays`.
    bus
        An energised bus.

    Returns
    -------
    list[str]
        ``bus`` first, the source bus last (just ``[bus]`` at a source bus).

    Raises
    ------
    TopologyError
        If ``bus`` is not in the network or not energised.

    Examples
    --------
    >>> from feederos.topology._examples import example_network
    >>> path_to_source(example_network(), "b")
    ['b', 'a', 'src']
    """
    arrays = topology_arrays(network)
    names = arrays.bus_names
    return [str(b) for b in names[_climb(arrays, bus)].tolist()]


def path_elements(network: Network | TopologyArrays, bus: str) -> list[ElementId]:
    """The branches on :func:`path_to_source`, from ``bus`` towards the source.

    Parameters
    ----------
    network
        A network, or its :func:`~feederos.topology.topology_arrays`.
    bus
        An energised bus.

    Returns
    -------
    list[tuple[str, str]]
        ``(collection, name)`` of each branch; one fewer than the buses on the path.
        Of parallel branches the first in document order is named.

    Raises
    ------
    TopologyError
        If ``bus`` is not in the network or not energised.

    Examples
    --------
    >>> from feederos.topology._examples import example_network
    >>> path_elements(example_network(), "d")
    [('transformers', 't1'), ('lines', 'l3'), ('lines', 'l1')]
    """
    arrays = topology_arrays(network)
    edges = feeding_forest(arrays).parent_edge[_climb(arrays, bus)[:-1]]
    return list(zip(arrays.edge_collection[edges].tolist(),
                    arrays.edge_element[edges].tolist(), strict=True))


def upstream_element(network: Network | TopologyArrays, bus: str) -> ElementId | None:
    """The branch that feeds ``bus``: the first of :func:`path_elements`.

    Parameters
    ----------
    network
        A network, or its :func:`~feederos.topology.topology_arrays`.
    bus
        An energised bus.

    Returns
    -------
    tuple[str, str] | None
        ``(collection, name)`` of the branch, or None at a source bus. In a meshed
        network, the branch on the feeding tree (see the module notes).

    Raises
    ------
    TopologyError
        If ``bus`` is not in the network or not energised.

    Examples
    --------
    >>> from feederos.topology._examples import example_network
    >>> net = example_network()
    >>> upstream_element(net, "d"), upstream_element(net, "src")
    (('transformers', 't1'), None)
    """
    arrays = topology_arrays(network)
    i = require_energized(arrays, bus)
    e = int(feeding_forest(arrays).parent_edge[i])
    if e < 0:
        return None
    return (str(arrays.edge_collection[e]), str(arrays.edge_element[e]))


def downstream_buses(
    network: Network | TopologyArrays, bus_or_element: str | ElementId
) -> frozenset[str]:
    """Everything fed through a bus or a branch, looking away from the source.

    Parameters
    ----------
    network
        A network, or its :func:`~feederos.topology.topology_arrays`.
    bus_or_element
        A bus name; or a branch as ``(collection, name)`` or ``'kind.name'`` (bus
        names hold no dots, so a dotted string is always a branch).

    Returns
    -------
    frozenset[str]
        For a bus, the bus itself and every bus that would lose all sources of its
        island without it. For a branch, the buses that would lose all sources if it
        were opened: empty for an open branch or one in a de-energised island, or
        one on a loop.

    Raises
    ------
    TopologyError
        If the bus or branch is not in the network, or the bus is not energised.

    Examples
    --------
    >>> from feederos.topology._examples import example_network
    >>> net = example_network()
    >>> sorted(downstream_buses(net, "a"))
    ['a', 'b', 'c', 'd']
    >>> sorted(downstream_buses(net, ("transformers", "t1")))
    ['d']
    >>> net.switches[0].open = False    # close the tie: b and c are fed two ways
    >>> sorted(downstream_buses(net, "line.l3"))
    []
    """
    arrays = topology_arrays(network)
    if isinstance(bus_or_element, str) and "." not in bus_or_element:
        i = require_energized(arrays, bus_or_element)
        removed = (arrays.edge_bus1 == i) | (arrays.edge_bus2 == i)
        roots = arrays.root_buses[arrays.root_buses != i]
    else:
        removed = np.zeros(arrays.n_edges, dtype=bool)
        removed[list(arrays.edge_ids(bus_or_element))] = True
        if not np.any(removed & arrays.edge_closed):
            return frozenset()
        roots = arrays.root_buses
    lost = arrays.energized & ~_reached(arrays, removed, roots)
    return frozenset(arrays.bus_names[lost].tolist())


# --------------------------------------------------------------------------- helpers


def _climb(arrays: TopologyArrays, bus: str) -> list[int]:
    """Bus indices from ``bus`` to its root along the feeding forest."""
    i = require_energized(arrays, bus)
    parent = feeding_forest(arrays).parent
    path = [i]
    while (i := int(parent[i])) >= 0:
        path.append(i)
    return path


def _reached(arrays: TopologyArrays, removed: BoolArray, roots: np.ndarray) -> BoolArray:
    """Per bus: joined to one of ``roots`` once the ``removed`` edges are taken out."""
    if len(roots) == 0:
        return np.zeros(arrays.n_buses, dtype=bool)
    n_islands, labels = csgraph.connected_components(
        arrays.closed_adjacency_without(removed), directed=False
    )
    live = np.zeros(int(n_islands), dtype=bool)
    live[labels[roots]] = True
    return np.asarray(live[labels], dtype=bool)


