"""Newton-Raphson on the current-mismatch equations, in rectangular coordinates.

Unknowns are the real and imaginary parts of the energised node voltages; the residual
is Kirchhoff's current law ``F(v) = y_lin v − i_source + Σ i_element(v)`` with
``y_lin`` the linear network (no nominal load admittances). The Jacobian is the real
form of ``y_lin`` plus each element's current Jacobian. Converges quadratically, so it
is the method for heavily loaded or ill-conditioned cases where the fixed point crawls.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from feederos.powerflow.compiled import CompiledNetwork, assemble_y
from feederos.powerflow.methods.common import (
    MethodOutcome,
    outcome,
    source_currents,
    voltage_scale_v,
)
from feederos.powerflow.methods.fixed_point import no_load_voltages, solve_fixed_point
from feederos.powerflow.nodes import node_voltages, scatter

__all__ = ["POLISH_PU", "solve_newton"]

POLISH_PU = 1e-6
"""Newton step [pu] below which the fixed point takes over to reach the tolerance."""

POLISH_A = 1e-4
"""Kirchhoff mismatch [A] below which the fixed point takes over (a node held only by
capacitive coupling can keep Newton's steps above ``POLISH_PU`` at roundoff level)."""

ComplexArray = npt.NDArray[np.complex128]
IntArray = npt.NDArray[np.int64]


def _real_form(y: sp.spmatrix) -> sp.csc_matrix:
    """``[[G, −B], [B, G]]`` of a complex matrix ``G + jB``."""
    g, b = y.real, y.imag
    return sp.csc_matrix(sp.bmat([[g, -b], [b, g]]))


def _element_jacobian(
    compiled: CompiledNetwork, v: ComplexArray, e_pos: IntArray, n_e: int
) -> sp.csc_matrix:
    """Scatter every injection set's current Jacobian into the ``2n_e`` real system."""
    rows: list[IntArray] = []
    cols: list[IntArray] = []
    vals: list[npt.NDArray[np.float64]] = []
    for s in compiled.injections:
        v_cond = node_voltages(v, s.conductors)
        jac = s.jacobian(v_cond)  # (m, 2k, 2k)
        k = s.conductors.shape[1]
        pos = np.where(s.conductors >= 0, e_pos[np.maximum(s.conductors, 0)], -1)
        idx = np.concatenate([pos, np.where(pos >= 0, pos + n_e, -1)], axis=1)  # (m, 2k)
        r = np.repeat(idx, 2 * k, axis=1).ravel()
        c = np.tile(idx, (1, 2 * k)).ravel()
        keep = (r >= 0) & (c >= 0)
        rows.append(r[keep])
        cols.append(c[keep])
        vals.append(jac.reshape(-1)[keep])
    if not rows:
        return sp.csc_matrix((2 * n_e, 2 * n_e))
    return sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(2 * n_e, 2 * n_e),
    )


def solve_newton(
    compiled: CompiledNetwork,
    *,
    tolerance_pu: float,
    max_iterations: int,
    initial: ComplexArray | None = None,
) -> MethodOutcome:
    """Newton-Raphson iterations until the voltage update is below ``tolerance_pu``."""
    n = compiled.nodes.n_nodes
    e = np.flatnonzero(compiled.energized)
    n_e = e.size
    e_pos = np.full(n, -1, dtype=np.int64)
    e_pos[e] = np.arange(n_e)
    y_lin = assemble_y(n, [*compiled.pd_blocks, compiled.source_block])[e][:, e]
    j_lin = _real_form(y_lin)
    i_src = source_currents(compiled)[e]
    scale = voltage_scale_v(compiled)[e]
    v = no_load_voltages(compiled) if initial is None else initial.astype(np.complex128)
    for it in range(1, max_iterations + 1):
        i_el = np.zeros(n, dtype=np.complex128)
        for s in compiled.injections:
            i_el += scatter(n, s.conductors, s.currents(node_voltages(v, s.conductors)))
        f = y_lin @ v[e] - i_src + i_el[e]
        jac = j_lin + _element_jacobian(compiled, v, e_pos, n_e)
        dx = splu(jac, permc_spec="MMD_AT_PLUS_A").solve(np.concatenate([f.real, f.imag]))
        dv = dx[:n_e] + 1j * dx[n_e:]
        v = v.copy()
        v[e] -= dv
        step = float(np.max(np.abs(dv) / scale, initial=0.0))
        if step < tolerance_pu:
            return outcome(compiled, v, converged=True, iterations=it)
        if step < POLISH_PU or float(np.max(np.abs(f), initial=0.0)) < POLISH_A:
            # Near the solution the real 2n-system's conditioning (regulators are
            # near-ideal, delta systems float) puts a floor under Newton's steps;
            # the fixed point is contractive here and finishes in a few iterations.
            done = solve_fixed_point(compiled, tolerance_pu=tolerance_pu,
                                     max_iterations=max_iterations - it, initial=v)
            return outcome(compiled, done.v, converged=done.converged,
                           iterations=it + done.iterations)
    return outcome(compiled, v, converged=False, iterations=max_iterations)
