"""Breadth-first spanning forests over :class:`TopologyArrays` (private).

A forest is grown from a set of root buses at once (a virtual bus joined to every
root), so each reached bus hangs under its nearest root, ties going to the root and
neighbour earlier in document order. Forests are cached per arrays object.
"""

from __future__ import annotations

from dataclasses import dataclass
from weakref import WeakKeyDictionary

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

from feederos.errors import TopologyError
from feederos.topology.arrays import IntArray, TopologyArrays

__all__ = ["Forest", "bfs_forest", "feeding_forest", "require_energized", "spanning_forest"]


@dataclass(frozen=True, eq=False)
class Forest:
    """A breadth-first forest: parent bus and edge and depth per bus, and visit order.

    Unreached buses and roots have parent and parent edge -1; unreached buses have
    depth -1.
    """

    roots: IntArray
    order: IntArray
    parent: IntArray
    parent_edge: IntArray
    depth: IntArray


_FEEDING: WeakKeyDictionary[TopologyArrays, Forest] = WeakKeyDictionary()


def bfs_forest(arrays: TopologyArrays, roots: IntArray) -> Forest:
    """Grow a breadth-first forest over the closed branches from ``roots`` together."""
    n = arrays.n_buses
    adj = arrays.adjacency
    k = len(roots)
    indptr = np.concatenate([adj.indptr.astype(np.int64), [int(adj.indptr[-1]) + k]])
    indices = np.concatenate([adj.indices.astype(np.int64), roots.astype(np.int64)])
    data = np.ones(len(indices), dtype=np.int8)
    augmented = sp.csr_matrix((data, indices, indptr), shape=(n + 1, n + 1))
    order, pred = csgraph.breadth_first_order(
        augmented, n, directed=True, return_predecessors=True
    )
    order = np.asarray(order[1:], dtype=np.int64)
    pred = np.asarray(pred[:n], dtype=np.int64)
    parent = np.where((pred < 0) | (pred == n), -1, pred)

    depth_list = [-1] * n
    parent_list = parent.tolist()
    for v in order.tolist():
        p = parent_list[v]
        depth_list[v] = 0 if p < 0 else depth_list[p] + 1
    depth = np.asarray(depth_list, dtype=np.int64)

    parent_edge = np.full(n, -1, dtype=np.int64)
    child = np.flatnonzero(parent >= 0)
    parent_edge[child] = arrays.edge_between(child, parent[child])
    return Forest(roots=np.asarray(roots, dtype=np.int64), order=order, parent=parent,
                  parent_edge=parent_edge, depth=depth)


def feeding_forest(arrays: TopologyArrays) -> Forest:
    """The forest grown from every source bus (:attr:`TopologyArrays.root_buses`)."""
    forest = _FEEDING.get(arrays)
    if forest is None:
        forest = _FEEDING[arrays] = bfs_forest(arrays, arrays.root_buses)
    return forest


def spanning_forest(arrays: TopologyArrays, *, include_deenergized: bool) -> Forest:
    """A forest with exactly one root per island: its first source bus, else its first bus.

    Only energised islands are spanned unless ``include_deenergized``. With one root
    per island every closed edge outside the forest closes exactly one loop.
    """
    _, labels = arrays.components
    roots = arrays.root_buses
    _, first = np.unique(labels[roots], return_index=True)
    chosen = roots[first]
    if include_deenergized:
        live = np.zeros(int(labels.max(initial=-1)) + 1, dtype=bool)
        live[labels[chosen]] = True
        _, first_bus = np.unique(labels, return_index=True)
        dead_first = first_bus[~live[labels[first_bus]]]
        chosen = np.sort(np.concatenate([chosen, dead_first.astype(np.int64)]))
    return bfs_forest(arrays, chosen)


def require_energized(arrays: TopologyArrays, bus: str) -> int:
    """Index of ``bus``, raising :class:`TopologyError` if unknown or not energised."""
    i = arrays.index_of(bus)
    if not arrays.energized[i]:
        raise TopologyError(
            f"bus {bus!r} is not energised: no closed path joins it to a source"
        )
    return i
