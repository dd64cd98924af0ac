"""Pieces every solution method shares: injections, mismatch, convergence bookkeeping.

Sign convention: a current *into the network* at a node is positive on the right-hand
side of ``Y v = i``. Element currents (``InjectionSet.currents``, ``PrimitiveBlock``) are
into the element, so they enter the right-hand side with a minus sign.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit

from feederos.powerflow.compiled import CompiledNetwork
from feederos.powerflow.injections.loads import LoadSet
from feederos.powerflow.nodes import scatter

__all__ = [
    "MethodOutcome",
    "compensation_currents",
    "mismatch_a",
    "source_currents",
    "voltage_scale_v",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]


@dataclass(frozen=True)
class MethodOutcome:
    """What a solution method returns.

    Attributes
    ----------
    v
        Node voltages [V]; 0 on de-energised nodes.
    converged
        Whether the voltage update fell below the tolerance.
    iterations
        Iterations done.
    max_mismatch_a
        Largest current mismatch of Kirchhoff's law over the nodes at ``v`` [A].
    worst_node
        Index of the node with that mismatch.
    """

    v: ComplexArray
    converged: bool
    iterations: int
    max_mismatch_a: float
    worst_node: int


def source_currents(compiled: CompiledNetwork) -> ComplexArray:
    """Norton currents of the sources into the network [A]."""
    b = compiled.source_block
    i = np.einsum("mij,mj->mi", b.y_s, compiled.source_emf_v)
    return scatter(compiled.nodes.n_nodes, b.conductors, i)


def compensation_currents(compiled: CompiledNetwork, v: ComplexArray, *,
                          loads: bool = True) -> ComplexArray:
    """Currents into the network that make the linear ``y`` behave like the true elements.

    Each injection set's nominal admittance is in ``y``; the compensation current is
    that admittance's current minus the element's true current at ``v`` (OpenDSS's
    injection-current method). ``loads=False`` leaves the load sets out (a compiled
    loop adds theirs).
    """
    out = np.zeros(compiled.nodes.n_nodes, dtype=np.complex128)
    for s, nominal in zip(compiled.injections, compiled.nominal_blocks, strict=True):
        if not loads and isinstance(s, LoadSet):
            continue
        v_cond = nominal.voltages(v)
        _add_compensation(out, s.conductors, nominal.y_s, v_cond, s.currents(v_cond))
    return out


@njit(cache=True, nogil=True)
def _add_compensation(
    out: ComplexArray, conductors: IntArray, y_s: ComplexArray, v_cond: ComplexArray,
    i_true: ComplexArray,
) -> None:  # pragma: no cover - compiled
    """``out[node] += (y_s v_cond − i_true)`` at each conductor's node, ground dropped."""
    m, k = conductors.shape
    for e in range(m):
        for a in range(k):
            node = conductors[e, a]
            if node < 0:
                continue
            acc = -i_true[e, a]
            for b in range(k):
                acc += y_s[e, a, b] * v_cond[e, b]
            out[node] += acc


def mismatch_a(compiled: CompiledNetwork, v: ComplexArray) -> ComplexArray:
    """Kirchhoff current mismatch ``y v − i_source − i_compensation`` per node [A].

    Zero on de-energised nodes.
    """
    r = compiled.y @ v - source_currents(compiled) - compensation_currents(compiled, v)
    r[~compiled.energized] = 0
    return np.asarray(r, dtype=np.complex128)


def voltage_scale_v(compiled: CompiledNetwork) -> FloatArray:
    """Per-node voltage used to express changes in per unit: the base, else 1 kV."""
    base = compiled.nodes.v_base_ln_v
    return np.where(np.isfinite(base) & (base > 0), base, 1000.0)


def outcome(
    compiled: CompiledNetwork, v: ComplexArray, *, converged: bool, iterations: int
) -> MethodOutcome:
    """Package ``v`` with its mismatch."""
    r = np.abs(mismatch_a(compiled, v))
    worst = int(np.argmax(r)) if r.size else -1
    return MethodOutcome(
        v=v,
        converged=converged,
        iterations=iterations,
        max_mismatch_a=float(r[worst]) if r.size else 0.0,
        worst_node=worst,
    )
