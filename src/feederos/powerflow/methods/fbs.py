"""Forward-backward sweep for radial feeders, carrying Norton equivalents.

The feeder is a tree of buses rooted at its one source. The sweep solves the same
equations as the fixed-point method (:mod:`~feederos.powerflow.methods.fixed_point`),
``y v = i_source + i_compensation(v)`` on the energised nodes, with the tree's structure
in place of a sparse LU factorisation:

* Reduction, once per compiled network, leaves first: each bus ``b`` with parent ``p``
  is replaced by its Norton equivalent. ``A_b`` is the admittance at ``b``'s nodes —
  its diagonal block of ``y`` (the branch's end, shunts, the loads' nominal
  admittances) plus what its children reduced onto it — and the parent gets
  ``A_p −= Y_pb A_b⁻¹ Y_bp``.
* Backward sweep, each iteration, leaves first: ``w_b = A_b⁻¹ j_b`` and
  ``j_p −= Y_pb w_b``, ``j`` starting as the source and compensation currents.
* Forward sweep, root first: ``v_b = w_b − A_b⁻¹ Y_bp v_p``.

Kersting's ladder (*Distribution System Modeling and Analysis*, ch. 10) instead carries
the currents drawn below a bus and evaluates every shunt at the previous iteration's
voltages, so its iteration gain on a mode is the shunt admittance below a branch over
the branch's own admittance to ground in that mode. Behind a delta winding only
OpenDSS's 1 ppm anti-floating reactance ties the zero sequence to ground: on IEEE 37
(delta-delta substation transformer, open-delta regulators) the ladder's zero-sequence
error grows 8·10³-fold per sweep. Carrying the linear part as admittances makes each
sweep exact for every linear element; the iteration only corrects the loads'
non-linearity, converges as the fixed point does, and to the same solution.

Accuracy. Every ``A_b⁻¹`` is applied through the LU factors of ``A_b``, never as an
explicit inverse: behind a delta-delta transformer ``A_b`` has a condition number of
10⁸ and an explicit inverse cost 5·10⁻⁶ pu on IEEE 37. And across a series element
with little shunt at its ends (a 3-phase switch, 700 S in series, feeding a phase that
has nothing else but the switch's 10⁻¹⁰ S capacitance) the reduction forms those shunts
by exact subtractions (see :func:`_reduce`): a node held only by capacitive coupling
gets the voltage ``y`` implies to 10⁻⁸ pu, where a general elimination order (sparse
LU) is off by 2·10⁻⁴ of the node's voltage.

The tree has no fill-in: the reduction and a sweep cost ``O(Σ n_bus²)``, as Numba loops.

Examples
--------
>>> from feederos.feeders import load_feeder
>>> from feederos.powerflow.compiled import compile_network
>>> out = solve_fbs(compile_network(load_feeder("ieee13")), tolerance_pu=1e-9,
...                 max_iterations=50)
>>> out.converged, out.max_mismatch_a < 1e-3
(True, True)
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from numba import njit
from scipy.sparse import csgraph

from feederos.errors import PowerFlowError
from feederos.powerflow.compiled import CompiledNetwork
from feederos.powerflow.methods.anderson import ANDERSON_DEPTH, anderson_history, anderson_mix
from feederos.powerflow.methods.common import (
    MethodOutcome,
    compensation_currents,
    outcome,
    source_currents,
    voltage_scale_v,
)

__all__ = ["solve_fbs"]

IntArray = npt.NDArray[np.int64]
ComplexArray = npt.NDArray[np.complex128]


@dataclass(frozen=True, eq=False)
class _Topology:
    """The bus tree. *Positions* number the energised nodes bus by bus, root bus first.

    Attributes
    ----------
    nodes
        Node index at each position.
    bus_ptr
        Positions of tree bus ``b``: ``bus_ptr[b]:bus_ptr[b + 1]``; buses are in
        breadth-first order from the source bus, so a parent precedes its children.
    parent
        Parent tree bus of each tree bus; ``-1`` at the root.
    node_bus
        Tree bus of each position.
    """

    nodes: IntArray
    bus_ptr: IntArray
    parent: IntArray
    node_bus: IntArray


@dataclass(frozen=True, eq=False)
class _Factors:
    """The reduced tree (see the module docstring), blocks stored flat, row-major.

    Attributes
    ----------
    topology
        The tree.
    lu, lu_ptr, pivot
        LU factors of every bus's ``A_b`` (partial pivoting, LAPACK's ``getrf`` layout)
        at ``lu[lu_ptr[b]:lu_ptr[b + 1]]``, row interchanges at the bus's positions of
        ``pivot``.
    g, y_pb, gh_ptr
        ``G_b = A_b⁻¹ Y_bp`` (``n_b × n_p``) and the coupling ``Y_pb`` (``n_p × n_b``)
        of every non-root bus, both at ``[gh_ptr[b]:gh_ptr[b + 1]]``.
    """

    topology: _Topology
    lu: ComplexArray
    lu_ptr: IntArray
    pivot: IntArray
    g: ComplexArray
    y_pb: ComplexArray
    gh_ptr: IntArray


_TOPOLOGY: weakref.WeakKeyDictionary[CompiledNetwork, _Topology] = weakref.WeakKeyDictionary()
_FACTORS: weakref.WeakKeyDictionary[CompiledNetwork, _Factors] = weakref.WeakKeyDictionary()


def _check_elements(compiled: CompiledNetwork) -> int:
    """Refuse what a sweep cannot do; return the source bus."""
    nodes = compiled.nodes
    src = compiled.source_block
    if src.n_elements != 1:
        raise PowerFlowError(
            f"method 'fbs' needs exactly one source, {compiled.name!r} has {src.n_elements};"
            " use method='fixed-point'"
        )
    k1 = src.conductors_per_terminal
    root_cond = src.conductors[0, :k1]
    if np.any(src.conductors[0, k1:] >= 0) or np.any(root_cond < 0):
        raise PowerFlowError("method 'fbs' needs a source between its bus and ground")
    # A three-winding transformer between three buses would show as a loop below;
    # name it for what it is.
    for block in compiled.pd_blocks:
        cond = block.conductors
        live = cond >= 0
        live[live] = compiled.energized[cond[live]]
        bus = np.where(live, nodes.bus[np.maximum(cond, 0)], -1)
        lo = np.where(live, bus, np.iinfo(np.int64).max).min(axis=1, keepdims=True)
        hi = bus.max(axis=1, keepdims=True)
        third = np.flatnonzero((live & (bus != lo) & (bus != hi)).any(axis=1))
        if third.size:
            row = int(third[0])
            n_buses = np.unique(bus[row][live[row]]).size
            raise PowerFlowError(
                f"method 'fbs' cannot sweep {block.kind} {block.names[row]!r}: it joins "
                f"{n_buses} buses; use method='fixed-point'"
            )
    return int(nodes.bus[root_cond[0]])


def _build_topology(compiled: CompiledNetwork) -> _Topology:
    """The bus tree of the energised nodes, from the coupling pattern of ``y``."""
    root_bus = _check_elements(compiled)
    nodes = compiled.nodes
    live = np.flatnonzero(compiled.energized)
    buses, local = np.unique(nodes.bus[live], return_inverse=True)
    local = local.astype(np.int64)
    n_buses = buses.size
    coo = sp.coo_matrix(compiled.y[live][:, live])
    bi, bj = local[coo.row], local[coo.col]
    couples = (bi != bj) & (np.abs(coo.data) > 0)
    lo = np.minimum(bi[couples], bj[couples])
    hi = np.maximum(bi[couples], bj[couples])
    edges = np.unique(lo * n_buses + hi)
    lo, hi = edges // n_buses, edges % n_buses
    graph = sp.csr_matrix((np.ones(edges.size), (lo, hi)), shape=(n_buses, n_buses))
    root = int(np.searchsorted(buses, root_bus))
    order, pred = csgraph.breadth_first_order(
        graph, root, directed=False, return_predecessors=True
    )
    if edges.size != n_buses - 1 or order.size != n_buses:
        in_tree = (pred[hi] == lo) | (pred[lo] == hi)
        extra = np.flatnonzero(~in_tree)
        if extra.size:
            a, b = buses[lo[extra[0]]], buses[hi[extra[0]]]
            raise PowerFlowError(
                f"method 'fbs' needs a radial network; {compiled.name!r} has a loop "
                f"through buses {nodes.buses[a]!r} and {nodes.buses[b]!r}; "
                "use method='fixed-point'"
            )
        raise PowerFlowError(  # pragma: no cover - energised nodes reach the source
            f"method 'fbs': {compiled.name!r} has energised buses the source does not reach"
        )
    rank = np.empty(n_buses, dtype=np.int64)
    rank[order] = np.arange(n_buses)
    node_rank = rank[local]
    perm = np.lexsort((live, node_rank))
    parent = np.full(n_buses, -1, dtype=np.int64)
    parent[1:] = rank[pred[order[1:]]]
    return _Topology(
        nodes=live[perm].astype(np.int64),
        bus_ptr=np.concatenate([[0], np.cumsum(np.bincount(node_rank, minlength=n_buses))]),
        parent=parent,
        node_bus=node_rank[perm],
    )


def _topology(compiled: CompiledNetwork) -> _Topology:
    """The tree, shared along ``with_state`` (taps and capacitor steps keep it)."""
    topo = _TOPOLOGY.get(compiled)
    if topo is None:
        topo = (
            _topology(compiled.parent)
            if compiled.parent is not None and compiled.energized is compiled.parent.energized
            else _build_topology(compiled)
        )
        _TOPOLOGY[compiled] = topo
    return topo


_SERIES_RATIO = 0.5
"""A child node is paired with the parent node it couples to most strongly when its
own admittance cancels that coupling to within this fraction (a line, switch or
regulator phase; not a transformer winding of another voltage): see :func:`_reduce`."""


@njit(cache=True, nogil=True)
def _lu_factor(a: ComplexArray, pivot: IntArray) -> bool:  # pragma: no cover - compiled
    """LU with partial pivoting of the small square ``a``, in place; False if singular."""
    n = a.shape[0]
    for k in range(n):
        best, row = 0.0, k
        for i in range(k, n):
            if abs(a[i, k]) > best:
                best, row = abs(a[i, k]), i
        if best == 0.0:
            return False
        pivot[k] = row
        if row != k:
            for m in range(n):
                a[k, m], a[row, m] = a[row, m], a[k, m]
        for i in range(k + 1, n):
            a[i, k] /= a[k, k]
            for m in range(k + 1, n):
                a[i, m] -= a[i, k] * a[k, m]
    return True


@njit(cache=True, nogil=True)
def _lu_solve(
    lu: ComplexArray, at: int, n: int, pivot: IntArray, pat: int, x: ComplexArray
) -> None:  # pragma: no cover - compiled
    """``x ← A⁻¹ x`` with the factors of ``A`` stored flat at ``lu[at:]``, ``pivot[pat:]``."""
    for k in range(n):
        r = pivot[pat + k]
        if r != k:
            x[k], x[r] = x[r], x[k]
    for i in range(n):
        acc = x[i]
        for m in range(i):
            acc -= lu[at + i * n + m] * x[m]
        x[i] = acc
    for i in range(n - 1, -1, -1):
        acc = x[i]
        for m in range(i + 1, n):
            acc -= lu[at + i * n + m] * x[m]
        x[i] = acc / lu[at + i * n + i]


@njit(cache=True, nogil=True)
def _reduce(
    indptr: IntArray, indices: IntArray, data: ComplexArray,
    bus_ptr: IntArray, parent: IntArray, node_bus: IntArray,
    lu_ptr: IntArray, gh_ptr: IntArray, series_ratio: float,
) -> tuple[ComplexArray, IntArray, ComplexArray, ComplexArray, int]:  # pragma: no cover
    """Reduce the tree leaves first; returns ``lu, pivot, g, y_pb`` and the first bus
    whose ``A_b`` is singular (``-1`` if none)."""
    n_buses = bus_ptr.size - 1
    a = np.zeros(lu_ptr[-1], dtype=np.complex128)
    y_bp = np.zeros(gh_ptr[-1], dtype=np.complex128)
    y_pb = np.zeros(gh_ptr[-1], dtype=np.complex128)
    for b in range(n_buses):
        s = bus_ptr[b]
        n = bus_ptr[b + 1] - s
        p = parent[b]
        for r in range(s, s + n):
            for q in range(indptr[r], indptr[r + 1]):
                col = indices[q]
                cb = node_bus[col]
                if cb == b:
                    a[lu_ptr[b] + (r - s) * n + col - s] += data[q]
                elif cb == p:
                    n_p = bus_ptr[p + 1] - bus_ptr[p]
                    y_bp[gh_ptr[b] + (r - s) * n_p + col - bus_ptr[p]] += data[q]
                elif parent[cb] == b:  # the tree holds every non-zero coupling
                    n_c = bus_ptr[cb + 1] - bus_ptr[cb]
                    y_pb[gh_ptr[cb] + (r - s) * n_c + col - bus_ptr[cb]] += data[q]
    lu = np.zeros_like(a)
    pivot = np.zeros(bus_ptr[-1], dtype=np.int64)
    g = np.zeros_like(y_bp)
    big = 0  # scratch for the largest bus, allocated once
    for b in range(n_buses):
        big = max(big, bus_ptr[b + 1] - bus_ptr[b])
    ab_all = np.empty((big, big), dtype=np.complex128)
    w_all = np.empty((big, big), dtype=np.complex128)
    col = np.empty(big, dtype=np.complex128)
    pair = np.empty(big, dtype=np.int64)
    for b in range(n_buses - 1, -1, -1):
        s = bus_ptr[b]
        n = bus_ptr[b + 1] - s
        ab = ab_all[:n, :n]
        for i in range(n):
            for k in range(n):
                ab[i, k] = a[lu_ptr[b] + i * n + k]
        f = ab.copy()
        if not _lu_factor(f, pivot[s:s + n]):
            return lu, pivot, g, y_pb, b
        for i in range(n):
            for k in range(n):
                lu[lu_ptr[b] + i * n + k] = f[i, k]
        p = parent[b]
        if p < 0:
            continue
        n_p = bus_ptr[p + 1] - bus_ptr[p]
        o = gh_ptr[b]
        for k in range(n_p):  # G = A⁻¹ Y_bp, column by column
            for i in range(n):
                col[i] = y_bp[o + i * n_p + k]
            _lu_solve(lu, lu_ptr[b], n, pivot, s, col)
            for i in range(n):
                g[o + i * n_p + k] = col[i]
        # A_p −= Y_pb A⁻¹ Y_bp is a small difference of large terms across a series
        # element whose ends carry little shunt admittance (a switch: 700 S in series,
        # 1e-10 S to ground). With P pairing each such child node to its parent node, the
        # identity A_p −= Y_pb A⁻¹ Y_bp ⇔ A_p += Y_pb P − Y_pb A⁻¹ (A_b P + Y_bp) forms
        # the shunts at either end, A_p + Y_pb P and A_b P + Y_bp, each by one exact
        # subtraction, and keeps them to full precision.
        pair[:n] = -1
        paired = False
        for i in range(n):
            best, k_best = 0.0, -1
            for k in range(n_p):
                mag = abs(y_bp[o + i * n_p + k])
                if mag > best:
                    best, k_best = mag, k
            if k_best >= 0 and abs(ab[i, i] + y_bp[o + i * n_p + k_best]) < series_ratio * best:
                pair[i] = k_best
                paired = True
        w = w_all[:n, :n_p]  # A⁻¹ (A_b P + Y_bp), or G
        for k in range(n_p):
            for i in range(n):
                col[i] = y_bp[o + i * n_p + k]
            if paired:
                for m in range(n):
                    if pair[m] == k:
                        for i in range(n):
                            col[i] += ab[i, m]
                _lu_solve(lu, lu_ptr[b], n, pivot, s, col)
            else:
                for i in range(n):
                    col[i] = g[o + i * n_p + k]
            for i in range(n):
                w[i, k] = col[i]
        at = lu_ptr[p]
        for i in range(n_p):
            for m in range(n):
                if pair[m] >= 0:
                    a[at + i * n_p + pair[m]] += y_pb[o + i * n + m]
        for i in range(n_p):
            for k in range(n_p):
                acc = 0j
                for m in range(n):
                    acc += y_pb[o + i * n + m] * w[m, k]
                a[at + i * n_p + k] -= acc
    return lu, pivot, g, y_pb, -1


@njit(cache=True, nogil=True)
def _sweep(
    j: ComplexArray, bus_ptr: IntArray, parent: IntArray, lu: ComplexArray,
    lu_ptr: IntArray, pivot: IntArray, g: ComplexArray, y_pb: ComplexArray,
    gh_ptr: IntArray,
) -> ComplexArray:  # pragma: no cover - compiled
    """``v`` with ``y v = j`` (``j`` is overwritten)."""
    n_buses = bus_ptr.size - 1
    # Backward, leaves first: w_b = A_b⁻¹ j_b once j_b holds its children's Norton
    # currents, and j_p −= Y_pb w_b. w overwrites j.
    for b in range(n_buses - 1, -1, -1):
        s, n = bus_ptr[b], bus_ptr[b + 1] - bus_ptr[b]
        w = j[s:s + n].copy()
        _lu_solve(lu, lu_ptr[b], n, pivot, s, w)
        j[s:s + n] = w
        p = parent[b]
        if p < 0:
            continue
        sp_, n_p = bus_ptr[p], bus_ptr[p + 1] - bus_ptr[p]
        o = gh_ptr[b]
        for i in range(n_p):
            acc = 0j
            for k in range(n):
                acc += y_pb[o + i * n + k] * w[k]
            j[sp_ + i] -= acc
    # Forward, root first (the root's w is its voltage): v_b = w_b − G_b v_p.
    for b in range(1, n_buses):
        s, n = bus_ptr[b], bus_ptr[b + 1] - bus_ptr[b]
        p = parent[b]
        sp_, n_p = bus_ptr[p], bus_ptr[p + 1] - bus_ptr[p]
        o = gh_ptr[b]
        for i in range(n):
            acc = j[s + i]
            for k in range(n_p):
                acc -= g[o + i * n_p + k] * j[sp_ + k]
            j[s + i] = acc
    return j


def _factors(compiled: CompiledNetwork) -> _Factors:
    """The reduced tree, computed once per compiled network."""
    f = _FACTORS.get(compiled)
    if f is not None:
        return f
    topo = _topology(compiled)
    y = sp.csr_matrix(compiled.y[topo.nodes][:, topo.nodes])
    size = np.diff(topo.bus_ptr)
    lu_ptr = np.concatenate([[0], np.cumsum(size**2)])
    gh = np.where(topo.parent >= 0, size * size[np.maximum(topo.parent, 0)], 0)
    gh_ptr = np.concatenate([[0], np.cumsum(gh)])
    lu, pivot, g, y_pb, singular = _reduce(
        y.indptr.astype(np.int64), y.indices.astype(np.int64),
        y.data.astype(np.complex128), topo.bus_ptr, topo.parent, topo.node_bus,
        lu_ptr, gh_ptr, _SERIES_RATIO,
    )
    if singular >= 0:
        bus = compiled.nodes.buses[compiled.nodes.bus[topo.nodes[topo.bus_ptr[singular]]]]
        raise PowerFlowError(
            f"method 'fbs': the admittance at bus {bus!r} of {compiled.name!r}, with "
            "everything beyond it, is singular"
        )
    f = _Factors(topo, lu, lu_ptr, pivot, g, y_pb, gh_ptr)
    _FACTORS[compiled] = f
    return f


def _solve(compiled: CompiledNetwork, f: _Factors, rhs: ComplexArray) -> ComplexArray:
    """``v`` with ``y v = rhs`` on the energised nodes, 0 elsewhere."""
    t = f.topology
    v = np.zeros(compiled.nodes.n_nodes, dtype=np.complex128)
    v[t.nodes] = _sweep(
        rhs[t.nodes].astype(np.complex128), t.bus_ptr, t.parent,
        f.lu, f.lu_ptr, f.pivot, f.g, f.y_pb, f.gh_ptr,
    )
    return v


def solve_fbs(
    compiled: CompiledNetwork,
    *,
    tolerance_pu: float,
    max_iterations: int,
    initial: ComplexArray | None = None,
    anderson_depth: int = ANDERSON_DEPTH,
) -> MethodOutcome:
    """Sweep until the largest voltage change is below ``tolerance_pu``.

    Each iteration is one backward and one forward sweep with the loads' compensation
    currents at the present voltages; the iterates are mixed by Anderson acceleration
    of depth ``anderson_depth`` as the fixed point's are (0 = plain sweeps, which do
    not settle inverters with volt-watt curves). Starts from the no-load solution
    (loads as their nominal admittances) unless ``initial`` is given.

    Raises
    ------
    PowerFlowError
        If the network is meshed, has several sources, or an element joins three buses.
    """
    f = _factors(compiled)
    scale = voltage_scale_v(compiled)
    i_src = source_currents(compiled)
    v = _solve(compiled, f, i_src) if initial is None else initial.astype(np.complex128)
    live = f.topology.nodes
    history = anderson_history(live.size, anderson_depth)
    for it in range(1, max_iterations + 1):
        g = _solve(compiled, f, i_src + compensation_currents(compiled, v))
        change = float(np.max(np.abs(g - v) / scale, initial=0.0))
        if change < tolerance_pu:
            return outcome(compiled, g, converged=True, iterations=it)
        v, mixed = v.copy(), v[live]
        anderson_mix(history, mixed, g[live])
        v[live] = mixed
    return outcome(compiled, v, converged=False, iterations=max_iterations)
