"""Fixed-point current-injection method (OpenDSS's "normal" solution).

``y`` holds every linear element and each load's nominal admittance; each iteration
injects the difference between the nominal and the true element currents and solves
``y v = i`` with the LU factors of ``y``, which are computed once per compiled network
and kept while it lives. A network derived by a tap or capacitor change
(:meth:`~feederos.powerflow.compiled.CompiledNetwork.with_state`) refactorises its
root's factors numerically (:meth:`~feederos.powerflow.methods.lu.LuFactors.refactor`).
Converges linearly, fast on distribution feeders whose loads are small against the
short-circuit admittance; Anderson mixing (:mod:`~feederos.powerflow.methods.anderson`)
speeds it up.

The iteration is compiled (:func:`fixed_point_iterations`): a network whose injections
are all loads iterates there from end to end, others call it once per iteration with the
other injection sets' currents taken in Python.
"""

from __future__ import annotations

import weakref

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from numba import njit

from feederos.powerflow.compiled import CompiledNetwork
from feederos.powerflow.injections.loads import (
    LoadArrays,
    LoadSet,
    add_load_compensation,
    pack_loads,
)
from feederos.powerflow.methods.anderson import (
    ANDERSON_DEPTH,
    AndersonHistory,
    anderson_history,
    anderson_mix,
)
from feederos.powerflow.methods.blas import single_threaded_blas
from feederos.powerflow.methods.common import (
    MethodOutcome,
    compensation_currents,
    outcome,
    source_currents,
    voltage_scale_v,
)
from feederos.powerflow.methods.lu import LuArrays, LuFactors, _lu_solve_into, lu_refine

__all__ = [
    "ANDERSON_DEPTH",
    "energized_factor",
    "fixed_point_iterations",
    "load_nodes",
    "no_load_voltages",
    "packed_loads",
    "solve_fixed_point",
    "y_positions_of_a",
]

ComplexArray = npt.NDArray[np.complex128]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_FACTORS: weakref.WeakKeyDictionary[CompiledNetwork, LuFactors] = weakref.WeakKeyDictionary()
_A_FROM_Y: weakref.WeakKeyDictionary[CompiledNetwork, IntArray] = weakref.WeakKeyDictionary()
_LOADS: weakref.WeakKeyDictionary[CompiledNetwork, LoadArrays] = weakref.WeakKeyDictionary()


def energized_factor(compiled: CompiledNetwork) -> LuFactors:
    """Factors of ``y`` on the energised nodes, cached for the compiled network's life.

    A network derived from another by :meth:`~CompiledNetwork.with_state` (same
    energised nodes, same pattern of ``y``) refactorises its root's factors.
    """
    lu = _FACTORS.get(compiled)
    if lu is not None:
        return lu
    root, change = compiled.root, compiled.y_change
    if root is not compiled and change is not None and np.array_equal(root.energized,
                                                                      compiled.energized):
        base = energized_factor(root)
        if change.nnz == 0:
            lu = base
        else:
            try:
                lu = base.refactor(compiled.y.data[y_positions_of_a(root)])
            except ValueError:  # a zero pivot in the root's order: factorise below
                lu = None
    if lu is None:
        e = np.flatnonzero(compiled.energized)
        lu = LuFactors.factorize(compiled.y[e][:, e])
    _FACTORS[compiled] = lu
    return lu


def y_positions_of_a(root: CompiledNetwork) -> IntArray:
    """For each entry of the energised part of ``y`` as its factors keep it
    (:attr:`LuFactors.a_val`, CSR), its index in ``root.y.data``.

    Networks derived by ``with_state`` keep ``y``'s pattern, so their values on the
    factors' pattern are ``y.data[y_positions_of_a(root)]``.
    """
    out = _A_FROM_Y.get(root)
    if out is None:
        e = np.flatnonzero(root.energized)
        tagged = sp.csc_matrix((np.arange(1, root.y.nnz + 1, dtype=np.float64),
                                root.y.indices, root.y.indptr), shape=root.y.shape)
        a = sp.csr_matrix(tagged[e][:, e])
        a.sort_indices()
        out = np.ascontiguousarray(a.data.astype(np.int64) - 1)
        if out.size != energized_factor(root).a_val.size:  # pragma: no cover - a bug
            raise AssertionError("the factors' pattern is not y's")
        _A_FROM_Y[root] = out
    return out


def _live(compiled: CompiledNetwork) -> slice | npt.NDArray[np.int64]:
    """Index of the energised nodes: a slice when all are (indexing then copies nothing)."""
    e = compiled.energized
    return slice(None) if e.all() else np.flatnonzero(e)


def _solve(compiled: CompiledNetwork, rhs: ComplexArray) -> ComplexArray:
    e = _live(compiled)
    v = np.zeros(compiled.nodes.n_nodes, dtype=np.complex128)
    v[e] = energized_factor(compiled).solve(rhs[e])
    return v


def no_load_voltages(compiled: CompiledNetwork) -> ComplexArray:
    """Voltages with the loads as their nominal admittances: OpenDSS's starting point."""
    return _solve(compiled, source_currents(compiled))


def solve_fixed_point(
    compiled: CompiledNetwork,
    *,
    tolerance_pu: float,
    max_iterations: int,
    initial: ComplexArray | None = None,
    anderson_depth: int = ANDERSON_DEPTH,
) -> MethodOutcome:
    """Iterate ``v ← y⁻¹ (i_source + i_compensation(v))`` until the update is small.

    The iteration is accelerated by Anderson mixing of the last ``anderson_depth``
    steps (0 = plain fixed point, OpenDSS's iteration).

    Converged when the largest change of any node voltage in an iteration, in per unit
    of the node's base, is below ``tolerance_pu``; the converged iterate then takes one
    step of iterative refinement (:meth:`~feederos.powerflow.methods.lu.LuFactors.refine`).

    Examples
    --------
    >>> from feederos.feeders import load_feeder
    >>> from feederos.powerflow import compile_network
    >>> out = solve_fixed_point(compile_network(load_feeder("ieee13")), tolerance_pu=1e-9,
    ...                         max_iterations=50)
    >>> out.converged, out.iterations < 20
    (True, True)
    """
    i_src = source_currents(compiled)
    f = energized_factor(compiled).arrays
    live = np.flatnonzero(compiled.energized).astype(np.int64)
    v = no_load_voltages(compiled) if initial is None else initial.astype(np.complex128)
    inv_scale = 1.0 / voltage_scale_v(compiled)
    loads = packed_loads(compiled)
    only_loads = all(isinstance(s, LoadSet) for s in compiled.injections)
    mixed = load_nodes(loads) if only_loads else np.arange(v.size, dtype=np.int64)
    history = anderson_history(mixed.size, anderson_depth)
    ones = np.ones((loads.params.shape[0], 1))
    g = np.zeros_like(v)
    work = np.empty((3, live.size), dtype=np.complex128)
    inv_scale_sq = inv_scale * inv_scale
    if only_loads:
        ok, it, _ = fixed_point_iterations(f, loads, ones, ones, i_src, live, inv_scale_sq, v,
                                           g, tolerance_pu, max_iterations, history, work,
                                           mixed)
        return outcome(compiled, v, converged=ok, iterations=it)
    # Other injections' currents are taken in Python, one iteration per call.
    with single_threaded_blas():
        for it in range(1, max_iterations + 1):
            i_base = i_src + compensation_currents(compiled, v, loads=False)
            if fixed_point_iterations(f, loads, ones, ones, i_base, live, inv_scale_sq, v, g,
                                      tolerance_pu, 1, history, work, mixed)[0]:
                return outcome(compiled, v, converged=True, iterations=it)
    return outcome(compiled, v, converged=False, iterations=max_iterations)


def packed_loads(compiled: CompiledNetwork) -> LoadArrays:
    """The network's load sets as :class:`LoadArrays`, with the nominal admittances of
    ``y`` (packed once per compiled network)."""
    loads = _LOADS.get(compiled)
    if loads is None:
        pairs = [(s, b) for s, b in zip(compiled.injections, compiled.nominal_blocks,
                                          strict=True) if isinstance(s, LoadSet)]
        loads = pack_loads([s for s, _ in pairs], [b for _, b in pairs])
        _LOADS[compiled] = loads
    return loads


def load_nodes(loads: LoadArrays) -> IntArray:
    """The nodes the loads read their voltages at (sorted): the only ones whose voltage
    the fixed-point map depends on, so the only ones worth mixing.

    Examples
    --------
    >>> from feederos.feeders import load_feeder
    >>> from feederos.powerflow import compile_network
    >>> c = compile_network(load_feeder("ieee13"))
    >>> int(load_nodes(packed_loads(c)).size) < c.nodes.n_nodes
    True
    """
    nodes = loads.conductors[loads.conductors >= 0]
    return np.unique(nodes).astype(np.int64)


@njit(cache=True, nogil=True)
def fixed_point_iterations(
    f: LuArrays, loads: LoadArrays, p_scale: FloatArray, q_scale: FloatArray,
    i_base: ComplexArray, live: IntArray, inv_scale_sq: FloatArray, v: ComplexArray,
    g: ComplexArray, tolerance_pu: float, max_iterations: int, history: AndersonHistory,
    work: ComplexArray, mixed: IntArray, loose_pu: float = 0.0, refine: bool = True,
) -> tuple[bool, int, bool]:  # pragma: no cover - compiled
    """Iterate from ``v`` until converged, at most ``max_iterations`` times, in place.

    Each iteration solves ``g = y⁻¹ (i_base + i_compensation(v))`` on the energised nodes
    ``live`` (``g`` is 0 elsewhere) with the loads' compensation currents, their powers
    scaled by ``p_scale``/``q_scale`` ``(M, 1)``, and ``i_base`` the other injections
    (the sources') [A]. If no node moved by ``tolerance_pu`` [pu of its scale,
    ``inv_scale_sq`` being ``1/scale²`` per node], ``v`` becomes ``g`` refined (unless
    ``refine`` is ``False``) and the call returns ``(True, iterations, True)``; otherwise
    ``v`` becomes ``g``, but at the nodes ``mixed`` the Anderson mix of ``v`` and ``g``
    (``history``, sized for them, which the caller restarts per solution), and the loop
    goes on. ``mixed`` must hold
    every node an injection in ``i_base``'s place or a load reads: on a network of loads,
    their nodes (:func:`load_nodes`; the map depends on nothing else, and mixing a third
    of the vector costs a third), else every node. De-energised nodes stay 0 in both
    vectors, so mixing them changes nothing. ``work`` is ``(3, live nodes)`` scratch.

    With ``loose_pu`` above ``tolerance_pu`` it stops early, unrefined, once no node moved
    by ``loose_pu``, and returns ``(True, iterations, False)``: a caller that needs the
    solution only roughly (a control loop about to move a tap) stops there, and calls
    again with ``v`` and the history as they are to go on to ``tolerance_pu``.
    ``(False, max_iterations, False)``: not converged.

    The fields of ``f`` are read once here: each read of a tuple's array inside the loop
    would cost two atomic reference-count updates.
    """
    perm_r, perm_c, _, l_idx, l_val, _, u_idx, u_val, u_diag_inv, _, _, _, l_col, u_col = f
    b, y, x = work[0], work[1], work[2]
    n = v.size
    rhs = np.empty(n, dtype=np.complex128)
    rhs_column, v_column = rhs.reshape((n, 1)), v.reshape((n, 1))
    x_mix = np.empty(mixed.size, dtype=np.complex128)
    g_mix = np.empty(mixed.size, dtype=np.complex128)
    for it in range(1, max_iterations + 1):
        rhs[:] = 0j
        add_load_compensation(rhs_column, loads, p_scale, q_scale, v_column)
        for q in range(live.size):
            node = live[q]
            b[q] = i_base[node] + rhs[node]
        _lu_solve_into(perm_r, perm_c, l_col, l_idx, l_val, u_col, u_idx, u_val, u_diag_inv, b,
                       y, x)
        for q in range(live.size):
            g[live[q]] = x[q]
        # the largest squared change, in four independent chains
        c0 = c1 = c2 = c3 = 0.0
        i = 0
        while i + 4 <= n:
            d0, d1, d2, d3 = g[i] - v[i], g[i + 1] - v[i + 1], g[i + 2] - v[i + 2], g[i + 3] - v[
                i + 3]
            c0 = max(c0, (d0.real * d0.real + d0.imag * d0.imag) * inv_scale_sq[i])
            c1 = max(c1, (d1.real * d1.real + d1.imag * d1.imag) * inv_scale_sq[i + 1])
            c2 = max(c2, (d2.real * d2.real + d2.imag * d2.imag) * inv_scale_sq[i + 2])
            c3 = max(c3, (d3.real * d3.real + d3.imag * d3.imag) * inv_scale_sq[i + 3])
            i += 4
        while i < n:
            d0 = g[i] - v[i]
            c0 = max(c0, (d0.real * d0.real + d0.imag * d0.imag) * inv_scale_sq[i])
            i += 1
        change = max(max(c0, c1), max(c2, c3))
        if change < tolerance_pu * tolerance_pu:
            if refine:
                x = lu_refine(f, x, b)
                for q in range(live.size):
                    g[live[q]] = x[q]
            v[:] = g
            return True, it, True
        for q in range(mixed.size):
            x_mix[q] = v[mixed[q]]
            g_mix[q] = g[mixed[q]]
        anderson_mix(history, x_mix, g_mix)
        v[:] = g
        for q in range(mixed.size):
            v[mixed[q]] = x_mix[q]
        if change < loose_pu * loose_pu:
            return True, it, False
    return False, max_iterations, False
