"""Totals of solved networks: source power, losses, voltage range — of one or many.

One way to take them, shared by :func:`~feederos.powerflow.result.build_result` (one
solution) and the batch solvers (a column per solution):

- the source power by Kirchhoff's law, from what the other elements draw at the
  source's nodes, not from the source's own Norton form ``Y·(V − E)``: a stiff source
  has a large ``Y`` (IEEE 8500: ~1000 S), so a voltage error of 1e-9 pu would already
  move its current by ~0.1 A;
- the losses of the power-delivery elements, shunt capacitors and reactors left out as
  OpenDSS's ``Losses`` does;
- the voltage range over energised phase nodes with a base;
- the largest thermal loading: terminal-1 phase current over the element's normal
  rating (:attr:`~feederos.powerflow.CompiledNetwork.pd_rating_a`), over every rated
  element, as :attr:`~feederos.powerflow.result.PowerFlowResult.loading` has it.

Examples
--------
>>> import numpy as np
>>> from feederos.feeders import load_feeder
>>> from feederos.powerflow import solve
>>> r = solve(load_feeder("ieee13"))
>>> t = totals_many(r.compiled, r.v[:, None])
>>> bool(np.isclose(t.source_va[0].real / 1e3, r.source_p_kw))
True
>>> bool(np.isclose(t.loading_max_pu[0], r.loading.loading_pct.max() / 100))
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit

from feederos.powerflow.compiled import CompiledNetwork
from feederos.powerflow.nodes import node_voltages
from feederos.powerflow.primitives.block import PrimitiveBlock

__all__ = ["ManyTotals", "inverse_ratings", "max_current_into", "max_current_many",
           "rated_conductors", "shunt_elements", "totals_many"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]
BoolArray = npt.NDArray[np.bool_]


def shunt_elements(block: PrimitiveBlock, node_bus: IntArray) -> npt.NDArray[np.bool_]:
    """Capacitors and reactors connected to one bus only (OpenDSS's ``IsShunt``).

    OpenDSS calls such an element a shunt unless its ``bus2`` names another bus; its
    ``Circuit.Losses`` leaves shunts out, so a capacitor's output is not a "loss".
    """
    m = block.n_elements
    if block.kind not in ("capacitors", "reactors"):
        return np.zeros(m, dtype=np.bool_)
    cond = block.conductors
    bus = np.where(cond >= 0, node_bus[np.maximum(cond, 0)], -1)
    first = bus.max(axis=1, keepdims=True)  # one bus, or -1 if all grounded
    shunt: npt.NDArray[np.bool_] = np.all((bus < 0) | (bus == first), axis=1)
    return shunt


def rated_conductors(block: PrimitiveBlock) -> int:
    """How many of terminal 1's conductors a thermal rating applies to.

    A transformer terminal has its phases plus a neutral conductor; OpenDSS rates only
    the phases (``MaxTerminalOneIMag``). Every other PD kind has phases only.
    """
    cpt = block.conductors_per_terminal
    return cpt - 1 if block.kind == "transformers" and cpt > 1 else cpt


def inverse_ratings(rating_a: FloatArray) -> FloatArray:
    """``1/rating`` of each element [1/A], 0 where it has no rating (NaN or not
    positive), so that its loading counts as 0."""
    ok = np.isfinite(rating_a) & (rating_a > 0)
    return np.where(ok, 1.0 / np.where(ok, rating_a, 1.0), 0.0)


def max_current_many(block: PrimitiveBlock, v: ComplexArray) -> FloatArray:
    """Largest terminal-1 phase current of each element of ``block`` for each column of
    ``v`` ``(n, K)``, shape ``(m, K)`` [A] (OpenDSS ``MaxTerminalOneIMag``; what a
    thermal rating is compared with).

    Examples
    --------
    >>> import numpy as np
    >>> from feederos.feeders import load_feeder
    >>> from feederos.powerflow import solve
    >>> r = solve(load_feeder("ieee13"))
    >>> i = np.concatenate([max_current_many(b, r.v[:, None]) for b in r.compiled.pd_blocks])
    >>> bool(np.allclose(i[:, 0], r.loading.i_max_a))
    True
    """
    out = np.zeros((block.n_elements, v.shape[1]))
    max_current_into(block.y_s, block.conductors, rated_conductors(block),
                     np.ascontiguousarray(v), out)
    return out


@njit(cache=True, nogil=True)
def max_current_into(y_s: ComplexArray, conductors: IntArray, n_rated: int, v: ComplexArray,
                     out: FloatArray) -> None:  # pragma: no cover - compiled
    """:func:`max_current_many` of elements ``y_s`` ``(m, k, k)`` on ``conductors``
    ``(m, k)``, their first ``n_rated`` rows, raised into ``out`` ``(m, K)`` [A]."""
    m, k = conductors.shape
    for e in range(m):
        for a in range(n_rated):
            for c in range(v.shape[1]):
                i = 0j
                for b in range(k):
                    node = conductors[e, b]
                    if node >= 0:
                        i += y_s[e, a, b] * v[node, c]
                mag = abs(i)
                if mag > out[e, c]:
                    out[e, c] = mag


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
    loading_max_pu
        Largest terminal-1 phase current of a rated element over its normal rating
        [pu]; NaN if no element has a rating.
    """

    source_va: ComplexArray
    losses_va: ComplexArray
    v_min_pu: FloatArray
    v_max_pu: FloatArray
    loading_max_pu: FloatArray


def totals_many(compiled: CompiledNetwork, v: ComplexArray) -> ManyTotals:
    """Source power, losses and voltage extremes of each column of ``v`` ``(n, K)`` [V]
    (see the module docstring)."""
    k = v.shape[1]
    src = np.unique(compiled.source_block.conductors)
    src = src[src >= 0]
    slot = np.full(compiled.nodes.n_nodes, -1, dtype=np.int64)
    slot[src] = np.arange(src.size)
    losses = np.zeros(k, dtype=np.complex128)
    drawn = np.zeros((src.size, k), dtype=np.complex128)
    loading = np.zeros(k)
    v = np.ascontiguousarray(v)
    rated = False
    for block, rating_a in zip(compiled.pd_blocks, compiled.pd_rating_a, strict=True):
        inv_rating = inverse_ratings(rating_a)
        rated = rated or bool(inv_rating.any())
        _pd_powers(block.y_s, block.conductors, ~shunt_elements(block, compiled.nodes.bus), v,
                   slot, losses, drawn, rated_conductors(block), inv_rating, loading)
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
        loading_max_pu=np.sqrt(loading) if rated else empty,
    )


@njit(cache=True, nogil=True)
def _pd_powers(
    y_s: ComplexArray, conductors: IntArray, counts: BoolArray, v: ComplexArray,
    slot: IntArray, losses: ComplexArray, drawn: ComplexArray, n_rated: int,
    inv_rating: FloatArray, loading: FloatArray,
) -> None:  # pragma: no cover - compiled
    """Add each column's power into the elements that ``counts`` (losses) and the
    currents they draw at the source's nodes (``slot[node] ≥ 0``) into ``drawn``, and
    raise ``loading`` to the largest square of the first ``n_rated`` conductors'
    currents times ``inv_rating`` (:func:`inverse_ratings`): a root per conductor
    would cost more than the rest of its row."""
    m, k = conductors.shape
    n_cols = v.shape[1]
    vc = np.zeros((k, n_cols), dtype=np.complex128)
    for e in range(m):
        inv_sq = inv_rating[e] * inv_rating[e]  # 0: unrated, never the largest
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
                if a < n_rated:  # squared: the caller takes the root of the largest
                    x = (i.real * i.real + i.imag * i.imag) * inv_sq
                    if x > loading[c]:
                        loading[c] = x
