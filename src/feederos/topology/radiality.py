"""Radiality: whether the closed branches form trees, and the loops where they do not.

A network is radial when no closed branches form a loop in an energised island. Two
parallel branches between the same two buses are a loop. A tree fed from two
sources (say an energy source and a grid-forming inverter) is radial by this
definition: it is a statement about the graph, not about where power comes from.
De-energised islands carry no power and are left out unless asked for.

Examples
--------
>>> from feederos.topology._examples import example_network
>>> net = example_network()
>>> is_radial(net)
True
>>> net.switches[0].open = False    # close the tie between b and c
>>> is_radial(net), loops(net)
(False, [['b', 'a', 'c']])
"""

from __future__ import annotations

import numpy as np

from feederos.model import Network
from feederos.topology._forest import spanning_forest
from feederos.topology.arrays import BoolArray, TopologyArrays, topology_arrays

__all__ = ["is_radial", "loops"]


def is_radial(network: Network | TopologyArrays, *, include_deenergized: bool = False) -> bool:
    """Whether every energised island's closed branches form a tree.

    Parameters
    ----------
    network
        A network, or its :func:`~feederos.topology.topology_arrays`.
    include_deenergized
        Also require de-energised islands to be trees.

    Returns
    -------
    bool
        True when each considered island of *n* buses has *n* − 1 closed branches
        (edges; a transformer with three windings on three buses counts two).

    Examples
    --------
    >>> from feederos.topology._examples import example_network
    >>> from feederos.model import ACLineSegment, LineImpedance, Terminal
    >>> net = example_network()
    >>> net.lines.append(ACLineSegment(name="l1b", bus1=Terminal(bus="src"),
    ...     bus2=Terminal(bus="a"), length_km=0.5,
    ...     impedance=LineImpedance(r1_ohm_per_km=0.2, x1_ohm_per_km=0.4)))
    >>> is_radial(net)    # l1 and l1b in parallel form a loop
    False
    """
    arrays = topology_arrays(network)
    n_islands, labels = arrays.components
    closed = arrays.edge_closed
    edges_per = np.bincount(labels[arrays.edge_bus1[closed]], minlength=n_islands)
    buses_per = np.bincount(labels, minlength=n_islands)
    selected = _selected_islands(arrays, include_deenergized)
    return bool(np.all(edges_per[selected] == buses_per[selected] - 1))


def loops(
    network: Network | TopologyArrays, *, include_deenergized: bool = False
) -> list[list[str]]:
    """A cycle basis of the closed branches in the energised islands, as bus names.

    Parameters
    ----------
    network
        A network, or its :func:`~feederos.topology.topology_arrays`.
    include_deenergized
        Also report loops in de-energised islands.

    Returns
    -------
    list[list[str]]
        One loop per closed branch outside a breadth-first spanning tree (rooted at
        each island's first source bus), in the order of those branches: the loop
        runs from the branch's first end up the tree and down to its second end, so
        consecutive buses are joined by a branch and so are the last and the first.
        Parallel branches give two-bus loops. Empty when the network is radial.

    Examples
    --------
    >>> from feederos.topology._examples import example_network
    >>> net = example_network()
    >>> loops(net)
    []
    >>> net.switches[0].open = False
    >>> loops(net)
    [['b', 'a', 'c']]
    """
    arrays = topology_arrays(network)
    _, labels = arrays.components
    forest = spanning_forest(arrays, include_deenergized=include_deenergized)
    in_tree = np.zeros(arrays.n_edges, dtype=bool)
    in_tree[forest.parent_edge[forest.parent_edge >= 0]] = True
    selected = _selected_islands(arrays, include_deenergized)
    chords = np.flatnonzero(
        arrays.edge_closed & ~in_tree & selected[labels[arrays.edge_bus1]]
    )
    parent = forest.parent.tolist()
    depth = forest.depth.tolist()
    names = arrays.bus_names.tolist()
    out: list[list[str]] = []
    for e in chords.tolist():
        u, v = int(arrays.edge_bus1[e]), int(arrays.edge_bus2[e])
        up: list[int] = [u]
        down: list[int] = [v]
        while depth[u] > depth[v]:
            u = parent[u]
            up.append(u)
        while depth[v] > depth[u]:
            v = parent[v]
            down.append(v)
        while u != v:
            u, v = parent[u], parent[v]
            up.append(u)
            down.append(v)
        down.pop()  # the common ancestor is already the last of ``up``
        out.append([names[b] for b in (*up, *reversed(down))])
    return out


def _selected_islands(arrays: TopologyArrays, include_deenergized: bool) -> BoolArray:
    n_islands, labels = arrays.components
    if include_deenergized:
        return np.ones(n_islands, dtype=bool)
    live = np.zeros(n_islands, dtype=bool)
    live[labels[arrays.source_bus]] = True
    return live
