"""Fixed-point current-injection method (OpenDSS's "normal" solution).

``y`` holds every linear element and each load's nominal admittance; each iteration
injects the difference between the nominal and the true element currents and solves
``y v = i`` with the LU factors of ``y``, which are computed once per compiled network
and kept while it lives. A network derived by a tap or capacitor change
(:meth:`~feederos.powerflow.compiled.CompiledNetwork.with_state`) solves with its root's
factors and a low-rank update. Converges linearly, fast on distribution feeders whose
loads are small against the short-circuit admittance.
"""

from __future__ import annotations

import weakref

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from feederos.powerflow.compiled import CompiledNetwork
from feederos.powerflow.methods.blas import single_threaded_blas
from feederos.powerflow.methods.common import (
    MethodOutcome,
    compensation_currents,
    outcome,
    source_currents,
    voltage_scale_v,
)
from feederos.powerflow.methods.lu import MAX_UPDATE_NODES, LuFactors, UpdatedFactors

__all__ = ["ANDERSON_DEPTH", "energized_factor", "no_load_voltages", "solve_fixed_point"]

ComplexArray = npt.NDArray[np.complex128]
FloatArray = npt.NDArray[np.float64]

ANDERSON_DEPTH = 6
"""Past steps Anderson mixing combines: on IEEE 8500, 6 takes 11 % fewer iterations
than 4, and 8 no fewer than 6; the smaller feeders converge alike with all three."""

Factors = LuFactors | UpdatedFactors
_FACTORS: weakref.WeakKeyDictionary[CompiledNetwork, Factors] = weakref.WeakKeyDictionary()


def energized_factor(compiled: CompiledNetwork) -> Factors:
    """Factors of ``y`` on the energised nodes, cached for the compiled network's life.

    A network derived from another by :meth:`~CompiledNetwork.with_state` updates the
    root's factors when the change touches at most
    :data:`~feederos.powerflow.methods.lu.MAX_UPDATE_NODES` nodes.
    """
    lu = _FACTORS.get(compiled)
    if lu is not None:
        return lu
    root, change = compiled.root, compiled.y_change
    if root is not compiled and change is not None and np.array_equal(root.energized,
                                                                      compiled.energized):
        delta = _energized_part(change, compiled.energized)
        if delta.nnz == 0:
            lu = energized_factor(root)
        elif np.unique(delta.row).size <= MAX_UPDATE_NODES:
            base = energized_factor(root)
            assert isinstance(base, LuFactors)
            try:
                lu = UpdatedFactors.build(base, delta)
            except ValueError:  # a layout change: factorise below
                lu = None
    if lu is None:
        e = np.flatnonzero(compiled.energized)
        lu = LuFactors.factorize(compiled.y[e][:, e])
    _FACTORS[compiled] = lu
    return lu


def _energized_part(m: sp.spmatrix, energized: npt.NDArray[np.bool_]) -> sp.coo_matrix:
    """The rows and columns of ``m`` at energised nodes, numbered among those."""
    coo = sp.coo_matrix(m)
    keep = energized[coo.row] & energized[coo.col]
    at = np.cumsum(energized) - 1
    n = int(energized.sum())
    return sp.coo_matrix((coo.data[keep], (at[coo.row[keep]], at[coo.col[keep]])), shape=(n, n))


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
    of the node's base, is below ``tolerance_pu``.
    """
    with single_threaded_blas():
        return _iterate(compiled, tolerance_pu, max_iterations, initial, anderson_depth)


def _iterate(compiled: CompiledNetwork, tolerance_pu: float, max_iterations: int,
             initial: ComplexArray | None, anderson_depth: int) -> MethodOutcome:
    i_src = source_currents(compiled)
    lu = energized_factor(compiled)
    e = _live(compiled)
    v = no_load_voltages(compiled) if initial is None else initial.astype(np.complex128)
    inv_scale = 1.0 / voltage_scale_v(compiled)
    accel = _Anderson(depth=anderson_depth)
    g = np.zeros_like(v)
    for it in range(1, max_iterations + 1):
        rhs = i_src + compensation_currents(compiled, v)
        g[e] = lu.solve(rhs[e])
        change = float(np.max(np.abs(g - v) * inv_scale, initial=0.0))
        if change < tolerance_pu:
            g[e] = lu.refine(g[e], rhs[e])
            return outcome(compiled, g, converged=True, iterations=it)
        # De-energised nodes stay 0 in both vectors, so mixing them changes nothing.
        v = accel.step(v, g).copy()
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
        self.count = 0  # steps taken
        self.x_prev = np.zeros(0)
        self.f_prev = np.zeros(0)
        self.dx = np.zeros((depth, 0))
        self.df = np.zeros((depth, 0))
        self.gram = np.zeros((depth, depth))
        self._regularise = 1.0 + 1e-12 * np.eye(depth)

    def step(self, x: ComplexArray, gx: ComplexArray) -> ComplexArray:
        if self.depth == 0:
            return gx
        # The map is real-linear only (loads depend on |v|): mix in real coordinates.
        xr, gr = x.view(np.float64), gx.view(np.float64)
        if self.count == 0:
            self.x_prev, self.f_prev = xr.copy(), gr - xr
            self.dx = np.zeros((self.depth, xr.size))
            self.df = np.zeros((self.depth, xr.size))
            self.count = 1
            return gx
        slot = (self.count - 1) % self.depth
        m = min(self.count, self.depth)
        f = gr - xr
        np.subtract(xr, self.x_prev, out=self.dx[slot])
        np.subtract(f, self.f_prev, out=self.df[slot])
        self.x_prev[:] = xr
        self.f_prev = f
        self.count += 1
        df, dx = self.df[:m], self.dx[:m]
        row = df @ self.df[slot]
        self.gram[slot, :m] = row
        self.gram[:m, slot] = row
        gram = self.gram[:m, :m] * self._regularise[:m, :m]  # keeps it invertible
        try:
            gamma = np.linalg.solve(gram, df @ f)
        except np.linalg.LinAlgError:
            return gx
        out = gr - gamma @ dx
        out -= gamma @ df
        return out.view(np.complex128)
