"""Many solutions of one network at once: the fixed point over a block of load states.

A batch of scenarios, or the time steps of a series between two control actions, share
``y`` and its factors and differ only in how much each load draws. Solving them side by
side, each iteration reads the factors once for all of them (a multi-column triangular
solve) and evaluates every load of every scenario in one compiled pass, instead of
paying Python's and the factors' cost once per scenario.

Each column iterates on its own (its own Anderson history if mixing is on, its own
convergence test) and stops when it converges; the others go on without it. A column
therefore ends, within the tolerance, where a one-at-a-time solve
(:func:`~feederos.powerflow.methods.fixed_point.solve_fixed_point`) from the same start
ends.

Examples
--------
Two load levels of IEEE 13 in one call, each as the single solve gives it:

>>> import numpy as np
>>> from feederos.feeders import load_feeder
>>> from feederos.powerflow import compile_network
>>> from feederos.powerflow.methods.fixed_point import solve_fixed_point
>>> c = compile_network(load_feeder("ieee13"))
>>> scale = [np.full((len(s.names), 2), [0.5, 1.0]) for s in c.injections]
>>> out = solve_fixed_point_many(c, scale, tolerance_pu=1e-10, max_iterations=100)
>>> bool(out.converged.all())
True
>>> alone = solve_fixed_point(c, tolerance_pu=1e-10, max_iterations=100)
>>> float(np.abs(out.v[:, 1] - alone.v).max() / 2401.8) < 1e-8  # pu of 4.16 kV
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit

from feederos.powerflow.compiled import CompiledNetwork
from feederos.powerflow.injections.loads import LoadSet
from feederos.powerflow.methods.common import source_currents, voltage_scale_v
from feederos.powerflow.methods.fixed_point import (
    energized_factor,
    no_load_voltages,
)
from feederos.powerflow.nodes import node_voltages
from feederos.powerflow.result import shunt_elements

__all__ = [
    "ManyOutcome",
    "ManyTotals",
    "compensation_currents_many",
    "solve_fixed_point_many",
    "totals_many",
]

ComplexArray = npt.NDArray[np.complex128]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ManyOutcome:
    """Node voltages of many solutions, one column each.

    Attributes
    ----------
    v
        Node voltages ``(n_nodes, K)`` [V]; 0 on de-energised nodes.
    converged, iterations
        Per column ``(K,)``.
    """

    v: ComplexArray
    converged: BoolArray
    iterations: IntArray


def compensation_currents_many(
    compiled: CompiledNetwork, v: ComplexArray,
    p_scale: Sequence[FloatArray | None], q_scale: Sequence[FloatArray | None] | None = None,
) -> ComplexArray:
    """:func:`~feederos.powerflow.methods.common.compensation_currents` of each column
    of ``v`` ``(n, K)`` [V], each load set's powers scaled per column.

    ``p_scale[s]`` (and ``q_scale[s]``, default the same) is ``(m_s, K)`` for a load
    set, or ``None`` to keep set ``s`` as compiled. Sets other than loads must be
    ``None`` (they are evaluated column by column).
    """
    q_scale = p_scale if q_scale is None else q_scale
    n, k = v.shape
    out = np.zeros((n, k), dtype=np.complex128)
    for s, nominal, ps, qs in zip(compiled.injections, compiled.nominal_blocks, p_scale, q_scale,
                                  strict=True):
        if isinstance(s, LoadSet):
            ones = np.ones((len(s.names), k))
            s.add_compensation_many(out, nominal, v, ones if ps is None else ps,
                                    ones if qs is None else qs)
            continue
        if ps is not None or qs is not None:
            raise ValueError(f"only loads can be scaled per scenario, not {s.kind}")
        for c in range(k):  # no batch kernel for these yet: one column at a time
            v_cond = nominal.voltages(v[:, c])
            i = nominal.currents(v[:, c]) - s.currents(v_cond)
            keep = s.conductors >= 0
            np.add.at(out[:, c], s.conductors[keep], i[keep])
    return out


def solve_fixed_point_many(
    compiled: CompiledNetwork,
    p_scale: Sequence[FloatArray | None],
    q_scale: Sequence[FloatArray | None] | None = None,
    *,
    tolerance_pu: float,
    max_iterations: int,
    initial: ComplexArray | None = None,
) -> ManyOutcome:
    """Solve ``K`` load states of ``compiled`` together (see the module docstring).

    The plain fixed point, without Anderson mixing: from the warm starts a batch has it
    needs hardly more iterations (10k-bus synthetic feeder: 9 against 8), and each is
    several times cheaper. Every column iterates until all have converged; a column
    that converged earlier only comes closer, and reports the iteration it first met
    the tolerance.

    Parameters
    ----------
    compiled
        The network; its taps and capacitor states hold for every column.
    p_scale, q_scale
        Per injection set, the loads' power multipliers ``(m_s, K)`` or ``None``
        (:func:`compensation_currents_many`).
    tolerance_pu, max_iterations
        As for the single solve, per column.
    initial
        Starting voltages ``(n,)`` for every column or ``(n, K)``; default OpenDSS's
        no-load solution.
    """
    k = _columns(p_scale, q_scale)
    n = compiled.nodes.n_nodes
    if initial is None:
        initial = no_load_voltages(compiled)
    v = np.empty((n, k), dtype=np.complex128)
    v[:] = initial if initial.ndim == 2 else initial[:, None]
    i_src = source_currents(compiled)[:, None]
    lu = energized_factor(compiled)
    e = np.flatnonzero(compiled.energized).astype(np.int64)
    all_live = e.size == n
    inv_scale = 1.0 / voltage_scale_v(compiled)
    iterations = np.full(k, max_iterations + 1, dtype=np.int64)
    for it in range(1, max_iterations + 1):
        rhs = compensation_currents_many(compiled, v, p_scale, q_scale)
        rhs += i_src
        new = lu.solve(rhs if all_live else rhs[e])
        change = _update(v, new, e, inv_scale)
        met = change < tolerance_pu
        iterations[met & (iterations > max_iterations)] = it
        if met.all():
            break
    converged = iterations <= max_iterations
    return ManyOutcome(v=v, converged=converged, iterations=np.minimum(iterations,
                                                                       max_iterations))


@njit(cache=True, nogil=True)
def _update(
    v: ComplexArray, new: ComplexArray, rows: IntArray, inv_scale: FloatArray
) -> FloatArray:  # pragma: no cover - compiled
    """``v[rows] = new`` in place; returns each column's largest change [pu]."""
    k = v.shape[1]
    change = np.zeros(k)
    for i in range(rows.size):
        r = rows[i]
        s = inv_scale[r]
        for c in range(k):
            d = abs(new[i, c] - v[r, c]) * s
            if d > change[c]:
                change[c] = d
            v[r, c] = new[i, c]
    return change


def _columns(p_scale: Sequence[FloatArray | None],
             q_scale: Sequence[FloatArray | None] | None) -> int:
    widths = {a.shape[1] for a in (*p_scale, *(q_scale or ())) if a is not None}
    if len(widths) != 1:
        raise ValueError("give at least one load set's scales, all with the same number of "
                         f"columns (got {sorted(widths) or 'none'})")
    return int(widths.pop())


@dataclass(frozen=True)
class ManyTotals:
    """Totals of many solutions, one entry per column.

    Attributes
    ----------
    source_va
        Power all sources deliver into the network [VA].
    losses_va
        Losses of the power-delivery elements, shunt capacitors and reactors left out
        as OpenDSS's ``Losses`` does [VA].
    v_min_pu, v_max_pu
        Extreme voltage of an energised phase node with a base [pu]
        (:attr:`~feederos.powerflow.result.PowerFlowResult.v_min_pu`).
    """

    source_va: ComplexArray
    losses_va: ComplexArray
    v_min_pu: FloatArray
    v_max_pu: FloatArray


def totals_many(compiled: CompiledNetwork, v: ComplexArray) -> ManyTotals:
    """Source power, losses and voltage extremes of each column of ``v`` ``(n, K)`` [V].

    The same quantities as :func:`~feederos.powerflow.result.build_result` reports for
    one solution, with the source power taken the same way (by Kirchhoff's law, from
    what the other elements draw at the source's nodes).
    """
    k = v.shape[1]
    src = np.unique(compiled.source_block.conductors)
    src = src[src >= 0]
    slot = np.full(compiled.nodes.n_nodes, -1, dtype=np.int64)
    slot[src] = np.arange(src.size)
    losses = np.zeros(k, dtype=np.complex128)
    drawn = np.zeros((src.size, k), dtype=np.complex128)
    v = np.ascontiguousarray(v)
    for block in compiled.pd_blocks:
        _pd_powers(block.y_s, block.conductors, ~shunt_elements(block, compiled.nodes.bus), v,
                   slot, losses, drawn)
    for s in compiled.injections:
        on = s.conductors >= 0
        if (slot[s.conductors[on]] < 0).all():
            continue
        for c in range(k):  # an element right at the source: rare, one column at a time
            i_c = s.currents(node_voltages(v[:, c], s.conductors))
            for (e, a), node in np.ndenumerate(s.conductors):
                if node >= 0 and slot[node] >= 0:
                    drawn[slot[node], c] += i_c[e, a]
    source = np.einsum("sc,sc->c", v[src], np.conj(drawn))
    nodes = compiled.nodes
    base = nodes.v_base_ln_v
    service = (compiled.energized & (nodes.node >= 1) & (nodes.node <= 3) & np.isfinite(base)
               & (base > 0))  # as PowerFlowResult.v_min_pu
    v_pu = np.abs(v[service]) / base[service, None]
    empty = np.full(k, np.nan)
    return ManyTotals(
        source_va=source, losses_va=losses,
        v_min_pu=v_pu.min(axis=0) if v_pu.size else empty,
        v_max_pu=v_pu.max(axis=0) if v_pu.size else empty,
    )


@njit(cache=True, nogil=True)
def _pd_powers(
    y_s: ComplexArray, conductors: IntArray, counts: BoolArray, v: ComplexArray,
    slot: IntArray, losses: ComplexArray, drawn: ComplexArray,
) -> None:  # pragma: no cover - compiled
    """Add each column's power into the elements that ``counts`` (losses) and the
    currents they draw at the source's nodes (``slot[node] ≥ 0``) into ``drawn``."""
    m, k = conductors.shape
    n_cols = v.shape[1]
    vc = np.zeros((k, n_cols), dtype=np.complex128)
    for e in range(m):
        for a in range(k):
            node = conductors[e, a]
            for c in range(n_cols):
                vc[a, c] = v[node, c] if node >= 0 else 0j
        for a in range(k):
            node = conductors[e, a]
            at = slot[node] if node >= 0 else -1
            for c in range(n_cols):
                i = 0j
                for b in range(k):
                    i += y_s[e, a, b] * vc[b, c]
                if counts[e]:
                    losses[c] += vc[a, c] * i.conjugate()
                if at >= 0:
                    drawn[at, c] += i
