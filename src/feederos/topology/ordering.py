"""Feeder order: buses breadth-first from the sources, with parents and depths.

The order is a breadth-first search over closed branches started from every source
bus at once: the energy sources' buses, or in an island with none, its grid-forming
inverters' buses. Each bus hangs under the neighbour that reached it first, so a
parent always comes before its children; ties go to the source and neighbour first
in document order. In a radial network this is *the* feeding tree. In a meshed one
it is still well defined (each bus under a neighbour on one of its shortest paths,
counted in branches, to a source) but the choice among equal paths is by document
order, not by electrical reasoning. Buses not energised are left out.

Examples
--------
>>> from feederos.topology._examples import example_network
>>> net = example_network()
>>> feeder_order(net)
['src', 'a', 'b', 'c', 'd']
>>> parents(net)["d"], depths(net)["d"]
('c', 3)
"""

from __future__ import annotations

from feederos.model import Network
from feederos.topology._forest import feeding_forest
from feederos.topology.arrays import TopologyArrays, topology_arrays

__all__ = ["depths", "feeder_order", "parents"]


def feeder_order(network: Network | TopologyArrays) -> list[str]:
    """Energised buses in breadth-first order from the sources, parents before children.

    Parameters
    ----------
    network
        A network, or its :func:`~feederos.topology.topology_arrays`.

    Returns
    -------
    list[str]
        Every energised bus once; source buses first (in document order).

    Examples
    --------
    >>> from feederos.topology._examples import example_network
    >>> feeder_order(example_network())
    ['src', 'a', 'b', 'c', 'd']
    """
    arrays = topology_arrays(network)
    order = feeding_forest(arrays).order
    return [str(b) for b in arrays.bus_names[order].tolist()]


def parents(network: Network | TopologyArrays) -> dict[str, str | None]:
    """The bus each energised bus is fed from; None for a source bus.

    Parameters
    ----------
    network
        A network, or its :func:`~feederos.topology.topology_arrays`.

    Returns
    -------
    dict[str, str | None]
        Keys in :func:`feeder_order`.

    Examples
    --------
    >>> from feederos.topology._examples import example_network
    >>> parents(example_network())
    {'src': None, 'a': 'src', 'b': 'a', 'c': 'a', 'd': 'c'}
    """
    arrays = topology_arrays(network)
    forest = feeding_forest(arrays)
    names = arrays.bus_names.tolist()
    parent = forest.parent.tolist()
    return {
        names[v]: (names[parent[v]] if parent[v] >= 0 else None) for v in forest.order.tolist()
    }


def depths(network: Network | TopologyArrays) -> dict[str, int]:
    """Number of branches between each energised bus and its source bus.

    Parameters
    ----------
    network
        A network, or its :func:`~feederos.topology.topology_arrays`.

    Returns
    -------
    dict[str, int]
        Keys in :func:`feeder_order`; 0 at source buses.

    Examples
    --------
    >>> from feederos.topology._examples import example_network
    >>> depths(example_network())
    {'src': 0, 'a': 1, 'b': 2, 'c': 2, 'd': 3}
    """
    arrays = topology_arrays(network)
    forest = feeding_forest(arrays)
    names = arrays.bus_names.tolist()
    depth = forest.depth.tolist()
    return {names[v]: depth[v] for v in forest.order.tolist()}
