"""Fixed-point current-injection method (OpenDSS's "normal" solution).

``y`` holds every linear element and each load's nominal admittance; each iteration
injects the difference between the nominal and the true element currents and solves
``y v = i`` with the LU factors of ``y``, which are computed once per compiled network
and kept while it lives (taps and switches unchanged). Converges linearly, fast on
distribution feeders whose loads are small against the short-circuit admittance.
"""

from __future__ import annotations

import weakref

import numpy as np
import numpy.typing as npt

from feederos.powerflow.compiled import CompiledNetwork
from feederos.powerflow.methods.common import (
    MethodOutcome,
    compensation_currents,
    outcome,
    source_currents,
    voltage_scale_v,
)
from feederos.powerflow.methods.lu import LuFactors

__all__ = ["energized_factor", "no_load_voltages", "solve_fixed_point"]

ComplexArray = npt.NDArray[np.complex128]
FloatArray = npt.NDArray[np.float64]

_FACTORS: weakref.WeakKeyDictionary[CompiledNetwork, LuFactors] = weakref.WeakKeyDictionary()


def energized_factor(compiled: CompiledNetwork) -> LuFactors:
    """LU factors of ``y`` on the energised nodes, cached for the compiled network's life."""
    lu = _FACTORS.get(compiled)
    if lu is None:
        e = np.flatnonzero(compiled.energized)
        lu = LuFactors.factorize(compiled.y[e][:, e])
        _FACTORS[compiled] = lu
    return lu


def _solve(compiled: CompiledNetwork, rhs: ComplexArray) -> ComplexArray:
    v = np.zeros(compiled.nodes.n_nodes, dtype=np.complex128)
    v[compiled.energized] = energized_factor(compiled).solve(rhs[compiled.energized])
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
    anderson_depth: int = 4,
) -> MethodOutcome:
    """Iterate ``v ← y⁻¹ (i_source + i_compensation(v))`` until the update is small.

    The iteration is accelerated by Anderson mixing of the last ``anderson_depth``
    steps (0 = plain fixed point, OpenDSS's iteration).

    Converged when the largest change of any node voltage in an iteration, in per unit
    of the node's base, is below ``tolerance_pu``.
    """
    i_src = source_currents(compiled)
    v = no_load_voltages(compiled) if initial is None else initial.astype(np.complex128)
    scale = voltage_scale_v(compiled)
    e = compiled.energized
    accel = _Anderson(depth=anderson_depth)
    for it in range(1, max_iterations + 1):
        rhs = i_src + compensation_currents(compiled, v)
        g = _solve(compiled, rhs)
        change = float(np.max(np.abs(g - v) / scale, initial=0.0))
        if change < tolerance_pu:
            g[e] = energized_factor(compiled).refine(g[e], rhs[e])
            return outcome(compiled, g, converged=True, iterations=it)
        v = v.copy()
        v[e] = accel.step(v[e], g[e])
    return outcome(compiled, v, converged=False, iterations=max_iterations)


class _Anderson:
    """Anderson acceleration of a fixed-point map ``x ← G(x)`` (type II, windowed).

    Keeps the last ``depth`` differences of iterates and residuals ``f = G(x) − x`` and
    takes the combination of past steps that best cancels the residual in the least
    squares sense (Walker & Ni, SIAM J. Numer. Anal. 49(4), 2011). With ``depth=0`` it
    is the plain iteration. It cuts the iterations of constant-power feeders by about
    half at the cost of one small least-squares problem per iteration.
    """

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.x_prev: FloatArray | None = None
        self.f_prev: FloatArray | None = None
        self.dx: list[FloatArray] = []
        self.df: list[FloatArray] = []

    def step(self, x: ComplexArray, gx: ComplexArray) -> ComplexArray:
        if self.depth == 0:
            return gx
        # The map is real-linear only (loads depend on |v|): mix in real coordinates.
        xr = x.view(np.float64)
        f = gx.view(np.float64) - xr
        if self.x_prev is not None and self.f_prev is not None:
            self.dx.append(xr - self.x_prev)
            self.df.append(f - self.f_prev)
            if len(self.df) > self.depth:
                self.dx.pop(0)
                self.df.pop(0)
        self.x_prev, self.f_prev = xr.copy(), f
        if not self.df:
            return gx
        df = np.array(self.df)  # (m, 2n)
        gram = df @ df.T
        gram[np.diag_indices_from(gram)] *= 1 + 1e-12  # keep it invertible
        try:
            gamma = np.linalg.solve(gram, df @ f)
        except np.linalg.LinAlgError:
            return gx
        out = gx.view(np.float64) - gamma @ (np.array(self.dx) + df)
        return out.view(np.complex128)
