"""The network's connectivity as compact arrays, built once for fast queries.

:class:`TopologyArrays` holds the buses (names and a name → index map), every branch
as an edge between two bus indices with its ``(collection, element)`` identity and
switch state, a symmetric CSR adjacency matrix of the closed branches, and the
sources. Every query in :mod:`feederos.topology` accepts either a
:class:`~feederos.model.Network` (and builds these arrays) or a ready
:class:`TopologyArrays`, so many queries on one large feeder build them only once.

What counts as a branch (an edge):

- a line (``lines``);
- a switch (``switches``), open when ``open`` is set;
- a transformer (``transformers``): one edge from winding 0 to each other winding on
  a different bus (a centre-tapped unit's two secondary windings share one edge);
- a series reactor (``reactors`` with ``bus2``) and a series capacitor
  (``capacitors`` with ``terminal2`` on another bus).

An open :class:`~feederos.model.ProtectiveDevice` opens the branch it names. A branch
whose two ends are the same bus is no edge. The sources are the energy sources and
the enabled grid-forming inverters; they are the roots of the feeding trees (see
:mod:`feederos.topology.ordering`).

Examples
--------
>>> from feederos.topology._examples import example_network
>>> arrays = topology_arrays(example_network())
>>> arrays.n_buses, arrays.n_edges, int(arrays.edge_closed.sum())
(6, 6, 4)
>>> arrays.edge_ids(("switches", "tie"))
(3,)
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Final

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse import csgraph

from feederos.errors import TopologyError
from feederos.model import Network, Terminal
from feederos.model.branches import branches

__all__ = ["BRANCH_COLLECTIONS", "ElementId", "TopologyArrays", "topology_arrays"]

ElementId = tuple[str, str]
"""An element named by its collection and name, e.g. ``("lines", "l1")``."""

BRANCH_COLLECTIONS: Final = ("lines", "switches", "transformers", "reactors", "capacitors")
"""Collections whose elements may join two buses, in the order their edges are numbered."""

_REFERENCE_KINDS: Final[dict[str, tuple[str, ...]]] = {
    "line": ("lines", "switches"),
    "switch": ("switches",),
    "transformer": ("transformers",),
    "reactor": ("reactors",),
    "capacitor": ("capacitors",),
    **{c: (c,) for c in BRANCH_COLLECTIONS},
}
"""OpenDSS class names and collection names a ``'kind.name'`` reference may use."""

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class TopologyArrays:
    """The connectivity of a network as arrays (immutable; build with :func:`topology_arrays`).

    Attributes
    ----------
    bus_names
        Bus names in document order; a bus's index is its position here.
    bus_index
        Bus name → index.
    edge_bus1, edge_bus2
        Bus index at each end of each edge.
    edge_collection, edge_element
        The collection and name of the element each edge belongs to.
    edge_length_km
        Line length of each edge, NaN for other elements [km].
    edge_phases
        Bit mask of the phase nodes (1, 2, 3 → bits 1, 2, 3) each edge carries at its
        first end; used to tell a bank of single-phase units from a loop.
    edge_open
        Whether the branch is open now (open switch or open protective device).
    edge_closed
        Whether the edge is in :attr:`adjacency`: not open, or every edge when the
        arrays were built with ``respect_switches=False``.
    adjacency
        Symmetric ``n_buses × n_buses`` CSR matrix; entry ``(i, j)`` counts the closed
        edges between buses ``i`` and ``j``.
    source_ids
        ``(collection, name)`` of each source: energy sources, then enabled
        grid-forming inverters.
    source_bus
        Bus index of each source.
    source_is_grid
        True for an energy source, False for a grid-forming inverter.
    respect_switches
        Whether open branches were left out of :attr:`adjacency`.
    """

    bus_names: npt.NDArray[np.object_]
    bus_index: Mapping[str, int]
    edge_bus1: IntArray
    edge_bus2: IntArray
    edge_collection: npt.NDArray[np.object_]
    edge_element: npt.NDArray[np.object_]
    edge_length_km: npt.NDArray[np.float64]
    edge_phases: IntArray
    edge_open: BoolArray
    edge_closed: BoolArray
    adjacency: sp.csr_matrix
    source_ids: tuple[ElementId, ...]
    source_bus: IntArray
    source_is_grid: BoolArray
    respect_switches: bool = True
    _element_edges: Mapping[ElementId, tuple[int, ...]] = field(default_factory=dict, repr=False)

    @property
    def n_buses(self) -> int:
        """Number of buses."""
        return len(self.bus_names)

    @property
    def n_edges(self) -> int:
        """Number of edges, open ones included."""
        return len(self.edge_bus1)

    def index_of(self, bus: str) -> int:
        """Index of ``bus``; raises :class:`~feederos.errors.TopologyError` if unknown.

        Examples
        --------
        >>> from feederos.topology._examples import example_network
        >>> topology_arrays(example_network()).index_of("c")
        3
        """
        try:
            return self.bus_index[bus]
        except KeyError:
            raise TopologyError(f"bus {bus!r} is not in the network") from None

    def edge_ids(self, element: ElementId | str) -> tuple[int, ...]:
        """Edge indices of a branch element, open or closed.

        Parameters
        ----------
        element
            ``(collection, name)`` such as ``("lines", "l1")``, or a ``'kind.name'``
            reference using a collection name or an OpenDSS class (``'line.l1'``,
            ``'transformer.t1'``; ``line`` also finds switches, as in OpenDSS).

        Raises
        ------
        TopologyError
            If no branch of that name exists.

        Examples
        --------
        >>> from feederos.topology._examples import example_network
        >>> arrays = topology_arrays(example_network())
        >>> arrays.edge_ids("line.l3"), arrays.edge_ids("transformer.t1")
        ((2,), (5,))
        """
        return self._element_edges[self.resolve(element)]

    def resolve(self, element: ElementId | str) -> ElementId:
        """The ``(collection, name)`` of a branch element given either way.

        Examples
        --------
        >>> from feederos.topology._examples import example_network
        >>> topology_arrays(example_network()).resolve("line.tie")
        ('switches', 'tie')
        """
        if isinstance(element, tuple):
            if element in self._element_edges:
                return element
            raise TopologyError(
                f"{element[0]}.{element[1]} is not a branch of the network"
                f" (branches are in {', '.join(BRANCH_COLLECTIONS)})"
            )
        kind, dot, name = element.partition(".")
        collections = _REFERENCE_KINDS.get(kind.lower())
        if not dot or collections is None:
            raise TopologyError(
                f"{element!r} is not a branch reference; use 'kind.name' with kind one of "
                f"{', '.join(_REFERENCE_KINDS)}, or a (collection, name) pair"
            )
        for collection in collections:
            if (collection, name) in self._element_edges:
                return (collection, name)
        raise TopologyError(f"branch {element!r} is not in the network")

    def closed_adjacency_without(self, edges: BoolArray) -> sp.csr_matrix:
        """The adjacency matrix with the edges flagged in ``edges`` removed."""
        keep = self.edge_closed & ~edges
        return _adjacency(self.n_buses, self.edge_bus1[keep], self.edge_bus2[keep])

    @cached_property
    def components(self) -> tuple[int, IntArray]:
        """Number of islands and the island label of each bus (closed branches only)."""
        n, labels = csgraph.connected_components(self.adjacency, directed=False)
        return int(n), np.asarray(labels, dtype=np.int64)

    @cached_property
    def root_buses(self) -> IntArray:
        """Sorted bus indices that feed their island.

        In an island with an energy source, the energy sources' buses; in an island
        fed only by grid-forming inverters, those inverters' buses.
        """
        n_islands, labels = self.components
        if len(self.source_bus) == 0:
            return np.zeros(0, dtype=np.int64)
        has_grid = np.zeros(n_islands, dtype=bool)
        has_grid[labels[self.source_bus[self.source_is_grid]]] = True
        chosen = self.source_is_grid | ~has_grid[labels[self.source_bus]]
        return np.unique(self.source_bus[chosen])

    @cached_property
    def energized(self) -> BoolArray:
        """Per bus: connected through closed branches to a source."""
        n_islands, labels = self.components
        live = np.zeros(n_islands, dtype=bool)
        live[labels[self.source_bus]] = True
        return live[labels]

    @cached_property
    def closed_edge_keys(self) -> tuple[IntArray, IntArray]:
        """Sorted keys ``min(i, j)·n + max(i, j)`` of the closed edges and their edge ids.

        Equal keys (parallel branches) keep document order, so a search finds the
        first such branch.
        """
        ids = np.flatnonzero(self.edge_closed).astype(np.int64)
        keys = _pair_keys(self.n_buses, self.edge_bus1[ids], self.edge_bus2[ids])
        order = np.argsort(keys, kind="stable")
        return keys[order], ids[order]

    def edge_between(self, a: IntArray, b: IntArray) -> IntArray:
        """For each pair of buses ``(a[k], b[k])``, the first closed edge joining them."""
        keys, ids = self.closed_edge_keys
        wanted = _pair_keys(self.n_buses, a, b)
        pos = np.searchsorted(keys, wanted)
        if len(wanted) == 0:
            return np.zeros(0, dtype=np.int64)
        found = (pos < len(keys)) & (keys[np.minimum(pos, len(keys) - 1)] == wanted)
        if not found.all():
            k = int(np.argmin(found))
            raise TopologyError(
                f"no closed branch joins buses {self.bus_names[a[k]]!r} and "
                f"{self.bus_names[b[k]]!r}"
            )
        return ids[pos]


def topology_arrays(network: Network | TopologyArrays, *, respect_switches: bool = True
                    ) -> TopologyArrays:
    """Build the array form of a network's connectivity.

    Parameters
    ----------
    network
        The network (not modified). A :class:`TopologyArrays` is returned as it is.
    respect_switches
        Leave open switches and branches opened by open protective devices out of the
        adjacency (the default); False treats every branch as closed.

    Returns
    -------
    TopologyArrays
        Arrays in document order; time and memory linear in the network's size.

    Raises
    ------
    TopologyError
        If bus names repeat, or a branch or source names a bus not in ``network.buses``.

    Examples
    --------
    >>> from feederos.topology._examples import example_network
    >>> arrays = topology_arrays(example_network(), respect_switches=False)
    >>> int(arrays.adjacency.nnz) // 2
    6
    """
    if isinstance(network, TopologyArrays):
        return network
    names = [b.name for b in network.buses]
    index = {name: i for i, name in enumerate(names)}
    if len(index) != len(names):
        dup = next(n for n, k in Counter(names).items() if k > 1)
        raise TopologyError(f"bus {dup!r} appears more than once in the network's buses")

    def bus_of(collection: str, name: str, where: str, terminal: Terminal) -> int:
        try:
            return index[terminal.bus]
        except KeyError:
            raise TopologyError(
                f"{collection}.{name} {where}: bus {terminal.bus!r} is not in the network's buses"
            ) from None

    bus1: list[int] = []
    bus2: list[int] = []
    coll: list[str] = []
    elem: list[str] = []
    length: list[float] = []
    phases: list[int] = []
    is_open: list[bool] = []
    element_edges: dict[ElementId, list[int]] = {}
    for br in branches(network):
        collection, name, t1, t2 = br.collection, br.element.name, br.end1, br.end2
        i = bus_of(collection, name, br.field1, t1)
        j = bus_of(collection, name, br.field2, t2)
        edges = element_edges.setdefault((collection, name), [])
        if i == j:
            continue
        edges.append(len(bus1))
        bus1.append(i)
        bus2.append(j)
        coll.append(collection)
        elem.append(name)
        length.append(br.element.length_km if collection == "lines" else math.nan)
        phases.append(_phase_mask(t1))
        is_open.append(br.open)
    for key in _opened_by_protection(network, element_edges):
        for k in element_edges[key]:
            is_open[k] = True

    source_ids: list[ElementId] = []
    source_bus: list[int] = []
    source_is_grid: list[bool] = []
    for s in network.sources:
        source_ids.append(("sources", s.name))
        source_bus.append(bus_of("sources", s.name, "terminal", s.terminal))
        source_is_grid.append(True)
    for inv in network.inverters:
        if inv.grid_forming and inv.enabled:
            source_ids.append(("inverters", inv.name))
            source_bus.append(bus_of("inverters", inv.name, "terminal", inv.terminal))
            source_is_grid.append(False)

    e1 = np.asarray(bus1, dtype=np.int64)
    e2 = np.asarray(bus2, dtype=np.int64)
    edge_open = np.asarray(is_open, dtype=bool)
    closed = ~edge_open if respect_switches else np.ones(len(e1), dtype=bool)
    return TopologyArrays(
        bus_names=np.asarray(names, dtype=object),
        bus_index=index,
        edge_bus1=e1,
        edge_bus2=e2,
        edge_collection=np.asarray(coll, dtype=object),
        edge_element=np.asarray(elem, dtype=object),
        edge_length_km=np.asarray(length, dtype=np.float64),
        edge_phases=np.asarray(phases, dtype=np.int64),
        edge_open=edge_open,
        edge_closed=closed,
        adjacency=_adjacency(len(names), e1[closed], e2[closed]),
        source_ids=tuple(source_ids),
        source_bus=np.asarray(source_bus, dtype=np.int64),
        source_is_grid=np.asarray(source_is_grid, dtype=bool),
        respect_switches=respect_switches,
        _element_edges={k: tuple(v) for k, v in element_edges.items()},
    )


# --------------------------------------------------------------------------- helpers


_ALL_PHASES = 0b1110


def _phase_mask(terminal: Terminal) -> int:
    """Bits 1–3 set for the phase nodes a terminal uses; all three if it names none."""
    mask = 0
    for node in terminal.nodes:
        if 1 <= node <= 3:
            mask |= 1 << node
    return mask or _ALL_PHASES


def _opened_by_protection(
    network: Network, branches: Mapping[ElementId, object]
) -> Iterator[ElementId]:
    """Branches named by an open protective device.

    Unknown references are ignored here; :func:`feederos.model.validate` reports them.
    """
    for d in network.protective_devices:
        if not d.open:
            continue
        kind, _, name = d.element.partition(".")
        for collection in _REFERENCE_KINDS.get(kind.lower(), ()):
            if (collection, name) in branches:
                yield (collection, name)
                break


def _adjacency(n: int, a: IntArray, b: IntArray) -> sp.csr_matrix:
    rows = np.concatenate([a, b])
    cols = np.concatenate([b, a])
    data = np.ones(len(rows), dtype=np.int64)
    m = sp.csr_matrix((data, (rows, cols)), shape=(n, n))
    m.sum_duplicates()
    m.sort_indices()
    return m


def _pair_keys(n: int, a: IntArray, b: IntArray) -> IntArray:
    lo = np.minimum(a, b).astype(np.int64)
    hi = np.maximum(a, b).astype(np.int64)
    return lo * np.int64(n) + hi
