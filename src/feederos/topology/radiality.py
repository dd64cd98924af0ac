"""Radiality: whether the closed branches form trees, and the loops where they do not.

A network is radial when no closed branches form a loop in an energised island. Two
parallel branches between the same two buses are a loop when they share a phase;
single-phase units on different phases between the same buses (a regulator or
transformer bank, as in IEEE 13) act as one three-phase branch and are not. A tree fed from two
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
import numpy.typing as npt

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
    bank = _bank_of(arrays)
    # A bank counts once: keep only its first member in the count.
    first_of_bank = np.ones(arrays.n_edges, dtype=bool)
    in_bank = np.flatnonzero(bank >= 0)
    _, first = np.unique(bank[in_bank], return_index=True)
    first_of_bank[in_bank] = False
    first_of_bank[in_bank[first]] = True
    closed = arrays.edge_closed & first_of_bank
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
    is_chord = arrays.edge_closed & ~in_tree & selected[labels[arrays.edge_bus1]]
    bank = _bank_of(arrays)
    # A bank acts as one branch: drop its chords if a member is in the tree, else keep one.
    for b in np.unique(bank[bank >= 0]).tolist():
        members = np.flatnonzero(bank == b)
        member_chords = members[is_chord[members]]
        keep = 0 if member_chords.size == members.size else -1
        if keep == 0:
            is_chord[member_chords[1:]] = False
        else:
            is_chord[member_chords] = False
    chords = np.flatnonzero(is_chord)
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


def _bank_of(arrays: TopologyArrays) -> npt.NDArray[np.int64]:
    """Bank id of each closed edge in a group of parallel edges on disjoint phases, else -1.

    Edges between the same two buses whose phase masks do not overlap (e.g. three
    single-phase regulators) form a bank that behaves as one branch.
    """
    out = np.full(arrays.n_edges, -1, dtype=np.int64)
    closed = np.flatnonzero(arrays.edge_closed)
    if closed.size < 2:
        return out
    lo = np.minimum(arrays.edge_bus1[closed], arrays.edge_bus2[closed])
    hi = np.maximum(arrays.edge_bus1[closed], arrays.edge_bus2[closed])
    key = lo * arrays.n_buses + hi
    order = np.argsort(key, kind="stable")
    key_sorted = key[order]
    starts = np.flatnonzero(np.r_[True, key_sorted[1:] != key_sorted[:-1]])
    sizes = np.diff(np.r_[starts, key_sorted.size])
    masks = arrays.edge_phases[closed][order]
    union = np.bitwise_or.reduceat(masks, starts)
    total = np.add.reduceat(np.bitwise_count(masks.astype(np.uint64)).astype(np.int64), starts)
    disjoint = (sizes > 1) & (np.bitwise_count(union.astype(np.uint64)).astype(np.int64) == total)
    group = np.repeat(np.arange(starts.size), sizes)
    member = disjoint[group]
    out[closed[order][member]] = group[member]
    return out


def _selected_islands(arrays: TopologyArrays, include_deenergized: bool) -> BoolArray:
    n_islands, labels = arrays.components
    if include_deenergized:
        return np.ones(n_islands, dtype=bool)
    live = np.zeros(n_islands, dtype=bool)
    live[labels[arrays.source_bus]] = True
    return live
