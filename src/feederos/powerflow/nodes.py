"""The unknowns of a power flow: one node per (bus, conductor) that is not ground.

A node is what OpenDSS calls a node: bus ``632`` conductor ``2`` is node ``632.2``. Node
0 of every bus is ground, the reference; it is never an unknown and is written ``-1``
(:data:`GROUND`) wherever an array holds node indices. Nodes are numbered bus by bus in
the order of ``network.buses``, each bus's nodes in ascending node number, so the index
is stable for a given network.

Examples
--------
>>> from feederos.feeders import load_feeder
>>> idx = node_index(load_feeder("ieee13"))
>>> idx.n_nodes, idx.label(0)
(41, 'sourcebus.1')
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from numba import njit

from feederos.errors import TopologyError
from feederos.model import Network, Terminal
from feederos.topology import bus_nodes

__all__ = ["GROUND", "NodeIndex", "node_index", "node_voltages", "scatter"]

GROUND = -1
"""Index standing for node 0 (ground) in arrays of node indices."""

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]


def node_voltages(v: ComplexArray, idx: IntArray) -> ComplexArray:
    """Voltages of the nodes ``idx`` (any shape), ground (:data:`GROUND`) reading 0 [V].

    Examples
    --------
    >>> node_voltages(np.array([5 + 0j, 7j]), np.array([[1, GROUND]])).tolist()
    [[7j, 0j]]
    """
    flat = np.ascontiguousarray(idx, dtype=np.int64).reshape(-1)
    out: ComplexArray = _gather(np.ascontiguousarray(v, dtype=np.complex128), flat)
    return out.reshape(np.shape(idx))


@njit(cache=True, nogil=True)
def _gather(v: ComplexArray, idx: IntArray) -> ComplexArray:  # pragma: no cover - compiled
    out = np.zeros(idx.size, dtype=np.complex128)
    for i in range(idx.size):
        j = idx[i]
        if j >= v.size:
            raise IndexError("node index out of range")
        if j >= 0:
            out[i] = v[j]
    return out


def scatter(n: int, conductors: IntArray, values: ComplexArray) -> ComplexArray:
    """Sum ``values`` (shaped like ``conductors``) into a length-``n`` node vector.

    Ground conductors (``-1``) are dropped.

    Examples
    --------
    >>> scatter(2, np.array([[0, -1], [0, 1]]), np.array([[1j, 5], [2, 3]])).tolist()
    [(2+1j), (3+0j)]
    """
    idx = conductors.ravel()
    keep = idx >= 0
    vals = values.ravel()[keep]
    out = np.bincount(idx[keep], weights=vals.real, minlength=n).astype(np.complex128)
    out.imag = np.bincount(idx[keep], weights=vals.imag, minlength=n)
    return out



@dataclass(frozen=True, eq=False)
class NodeIndex:
    """Numbering of a network's nodes.

    Attributes
    ----------
    buses
        Bus names in network order.
    bus
        Position in ``buses`` of each node's bus, shape ``(n_nodes,)``.
    node
        OpenDSS node number of each node (1, 2, 3 = phases A, B, C; 4+ as defined).
    v_base_ln_v
        Line-to-neutral base voltage of each node's bus [V]; NaN where the bus has no
        base voltage.
    """

    buses: tuple[str, ...]
    bus: IntArray
    node: IntArray
    v_base_ln_v: FloatArray
    _position: dict[tuple[str, int], int] = field(repr=False)

    @property
    def n_nodes(self) -> int:
        """Number of nodes (unknown complex voltages)."""
        return int(self.bus.shape[0])

    def label(self, i: int) -> str:
        """OpenDSS-style name ``bus.node`` of node ``i``."""
        return f"{self.buses[self.bus[i]]}.{self.node[i]}"

    def of(self, bus: str, node: int) -> int:
        """Index of node ``node`` of ``bus``; :data:`GROUND` for node 0.

        Raises
        ------
        TopologyError
            If the bus has no such node.
        """
        if node == 0:
            return GROUND
        try:
            return self._position[(bus, node)]
        except KeyError:
            raise TopologyError(f"bus {bus!r} has no node {node}") from None

    def conductors(self, terminal: Terminal, n_conductors: int) -> IntArray:
        """Node index of each of a terminal's ``n_conductors`` conductors.

        Conductors beyond those ``terminal.nodes`` lists are grounded (OpenDSS's default
        for an unnamed neutral).

        Examples
        --------
        >>> from feederos.feeders import load_feeder
        >>> idx = node_index(load_feeder("ieee13"))
        >>> idx.conductors(Terminal(bus="611", nodes=(3,)), 2).tolist()
        [33, -1]
        """
        out = np.full(n_conductors, GROUND, dtype=np.int64)
        for k, n in enumerate(terminal.nodes[:n_conductors]):
            out[k] = self.of(terminal.bus, n)
        return out


def node_index(network: Network) -> NodeIndex:
    """Number the nodes of ``network`` (see the module docstring for the order).

    Raises
    ------
    TopologyError
        If an element's terminal names a bus that is not in the network.
    """
    nodes = bus_nodes(network)
    buses = tuple(b.name for b in network.buses)
    bus_pos: list[int] = []
    node_no: list[int] = []
    v_base: list[float] = []
    for i, b in enumerate(network.buses):
        base = b.v_base_kv * 1000 / math.sqrt(3) if b.v_base_kv is not None else math.nan
        for n in nodes[b.name]:
            bus_pos.append(i)
            node_no.append(n)
            v_base.append(base)
    position = {(buses[b], n): k for k, (b, n) in enumerate(zip(bus_pos, node_no, strict=True))}
    return NodeIndex(
        buses=buses,
        bus=np.asarray(bus_pos, dtype=np.int64),
        node=np.asarray(node_no, dtype=np.int64),
        v_base_ln_v=np.asarray(v_base, dtype=np.float64),
        _position=position,
    )
