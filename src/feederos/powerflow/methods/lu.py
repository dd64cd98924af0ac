"""Sparse LU factors of the admittance matrix with a compiled triangular solve.

SciPy's SuperLU factorises well but its ``solve`` costs about a millisecond on a
10k-node feeder, mostly overhead; the fixed-point method solves with the same factors
tens of times per snapshot. :class:`LuFactors` keeps SuperLU's factors (minimum-degree
ordering on ``A + Aᵀ``, which keeps fill low on feeders) and solves with a Numba kernel
over the CSC arrays.

A tap or capacitor-step change alters ``A`` only at the few nodes of the element that
moved. :class:`UpdatedFactors` solves with ``A + ΔA`` from the factors of ``A`` by the
Woodbury identity instead of factorising again, so a control loop or a time series
factorises once.

Examples
--------
>>> import numpy as np, scipy.sparse as sp
>>> a = sp.csc_matrix(np.array([[4, 1, 0], [1, 4, 1], [0, 1, 4]], dtype=complex))
>>> f = LuFactors.factorize(a)
>>> np.allclose(a @ f.solve(np.array([1, 2, 3], dtype=complex)), [1, 2, 3])
True
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from numba import njit
from scipy.sparse.linalg import splu

__all__ = ["MAX_UPDATE_NODES", "LuFactors", "UpdatedFactors"]

IntArray = npt.NDArray[np.int64]
ComplexArray = npt.NDArray[np.complex128]

MAX_UPDATE_NODES = 64
"""Most nodes a change may touch to be solved as an update; beyond it, factorise again.

An update costs one solve per touched node (once per factorisation, then kept), a
factorisation about fifty on feeders.
"""


@njit(cache=True, nogil=True)
def _lu_solve(
    perm_r: IntArray, perm_c: IntArray,
    l_ptr: IntArray, l_idx: IntArray, l_val: ComplexArray,
    u_ptr: IntArray, u_idx: IntArray, u_val: ComplexArray, u_diag_inv: ComplexArray,
    b: ComplexArray,
) -> ComplexArray:  # pragma: no cover - compiled
    n = b.shape[0]
    y = np.empty(n, dtype=np.complex128)
    for i in range(n):
        y[perm_r[i]] = b[i]
    for j in range(n):  # unit lower triangle, by columns
        yj = y[j]
        if yj != 0:
            for p in range(l_ptr[j], l_ptr[j + 1]):
                y[l_idx[p]] -= l_val[p] * yj
    for j in range(n - 1, -1, -1):  # upper triangle, by columns
        yj = y[j] * u_diag_inv[j]
        y[j] = yj
        if yj != 0:
            for p in range(u_ptr[j], u_ptr[j + 1]):
                y[u_idx[p]] -= u_val[p] * yj
    x = np.empty(n, dtype=np.complex128)
    for i in range(n):
        x[i] = y[perm_c[i]]
    return x


@njit(cache=True, nogil=True)
def _lu_solve_many(
    perm_r: IntArray, perm_c: IntArray,
    l_ptr: IntArray, l_idx: IntArray, l_val: ComplexArray,
    u_ptr: IntArray, u_idx: IntArray, u_val: ComplexArray, u_diag_inv: ComplexArray,
    b: ComplexArray,
) -> ComplexArray:  # pragma: no cover - compiled
    # ``_lu_solve`` on the columns of a row-major ``(n, K)`` block: each factor entry is
    # read once for all K right-hand sides, which run contiguous in memory.
    n, k = b.shape
    y = np.empty((n, k), dtype=np.complex128)
    for i in range(n):
        y[perm_r[i], :] = b[i, :]
    for j in range(n):
        for p in range(l_ptr[j], l_ptr[j + 1]):
            r, lv = l_idx[p], l_val[p]
            for c in range(k):
                y[r, c] -= lv * y[j, c]
    for j in range(n - 1, -1, -1):
        d = u_diag_inv[j]
        for c in range(k):
            y[j, c] *= d
        for p in range(u_ptr[j], u_ptr[j + 1]):
            r, uv = u_idx[p], u_val[p]
            for c in range(k):
                y[r, c] -= uv * y[j, c]
    x = np.empty((n, k), dtype=np.complex128)
    for i in range(n):
        x[i, :] = y[perm_c[i], :]
    return x


@njit(cache=True, nogil=True)
def _woodbury(
    y: ComplexArray, z: ComplexArray, gain: ComplexArray, nodes: IntArray
) -> None:  # pragma: no cover - compiled
    """``y −= z (gain y[nodes])`` in place, for each column of ``y`` ``(n, K)``."""
    n, k = y.shape
    w = np.zeros((gain.shape[0], k), dtype=np.complex128)
    for a in range(gain.shape[0]):
        for b in range(gain.shape[1]):
            g = gain[a, b]
            if g != 0:
                for c in range(k):
                    w[a, c] += g * y[nodes[b], c]
    for a in range(w.shape[0]):  # z is column-major
        used = False
        for c in range(k):
            used = used or w[a, c] != 0
        if not used:  # z keeps columns for other changes too
            continue
        for i in range(n):
            za = z[i, a]
            for c in range(k):
                y[i, c] -= za * w[a, c]


@njit(cache=True, inline="always")
def _two_sum(a: float, b: float) -> tuple[float, float]:  # pragma: no cover - compiled
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


@njit(cache=True, inline="always")
def _two_prod(a: float, b: float) -> tuple[float, float]:  # pragma: no cover - compiled
    p = a * b
    c = 134217729.0 * a  # Dekker's split: 2^27 + 1
    ah = c - (c - a)
    al = a - ah
    c = 134217729.0 * b
    bh = c - (c - b)
    bl = b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


@njit(cache=True, inline="always")
def _acc(hi: float, lo: float, a: float, b: float) -> tuple[float, float]:  # pragma: no cover
    p, e = _two_prod(a, b)
    hi, e2 = _two_sum(hi, p)
    return hi, lo + e + e2


@njit(cache=True)
def _residual(
    indptr: IntArray, indices: IntArray, data: ComplexArray, x: ComplexArray, b: ComplexArray
) -> ComplexArray:  # pragma: no cover - compiled
    """``b − A x`` (A in CSR) with each row summed in double-double arithmetic."""
    n = b.size
    r = np.empty(n, dtype=np.complex128)
    for i in range(n):
        rh, rl = b[i].real, 0.0
        ih, il = b[i].imag, 0.0
        for q in range(indptr[i], indptr[i + 1]):
            y = data[q]
            v = x[indices[q]]
            rh, rl = _acc(rh, rl, -y.real, v.real)
            rh, rl = _acc(rh, rl, y.imag, v.imag)
            ih, il = _acc(ih, il, -y.real, v.imag)
            ih, il = _acc(ih, il, -y.imag, v.real)
        r[i] = complex(rh + rl, ih + il)
    return r


def _split(m: sp.spmatrix) -> tuple[IntArray, IntArray, ComplexArray, ComplexArray]:
    """CSC arrays of the off-diagonal entries of a triangular ``m`` and its diagonal.

    Within a column the entries keep SuperLU's order: a column sweep does not need them
    sorted.
    """
    m = sp.csc_matrix(m)
    n = m.shape[0]
    col = np.repeat(np.arange(n), np.diff(m.indptr))
    off = m.indices != col
    diag = np.zeros(n, dtype=np.complex128)
    diag[col[~off]] = m.data[~off]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(col[off], minlength=n))])
    return (indptr.astype(np.int64), m.indices[off].astype(np.int64),
            m.data[off].astype(np.complex128), diag)


def _refined(
    solve: Callable[[ComplexArray], ComplexArray], a_ptr: IntArray, a_idx: IntArray,
    a_val: ComplexArray, x: ComplexArray, b: ComplexArray,
) -> ComplexArray:
    """``x`` plus the solve of its double-double residual ``b − A x`` (A in CSR)."""
    r = _residual(a_ptr, a_idx, a_val, x, np.ascontiguousarray(b, dtype=np.complex128))
    return x + solve(r)


@dataclass(frozen=True, eq=False)
class LuFactors:
    """``P_r A P_c = L U`` of a square complex sparse matrix, ready to solve.

    ``U`` is kept as its strict upper triangle and the reciprocals of its diagonal
    (a multiplication is several times cheaper than a complex division).
    """

    perm_r: IntArray
    perm_c: IntArray
    l_ptr: IntArray
    l_idx: IntArray
    l_val: ComplexArray
    u_ptr: IntArray
    u_idx: IntArray
    u_val: ComplexArray
    u_diag_inv: ComplexArray
    a_ptr: IntArray
    a_idx: IntArray
    a_val: ComplexArray
    _columns: _InverseColumns = field(default_factory=lambda: _InverseColumns(), repr=False)

    @classmethod
    def factorize(cls, a: sp.spmatrix) -> LuFactors:
        """Factorise ``a`` (minimum degree on ``A + Aᵀ``, diagonal pivots preferred)."""
        lu = splu(sp.csc_matrix(a, dtype=np.complex128), permc_spec="MMD_AT_PLUS_A",
                  diag_pivot_thresh=0.0, options={"SymmetricMode": True})
        l_ptr, l_idx, l_val, _ = _split(lu.L)
        u_ptr, u_idx, u_val, u_diag = _split(lu.U)
        a_csr = sp.csr_matrix(a, dtype=np.complex128)
        a_csr.sort_indices()
        return cls(lu.perm_r.astype(np.int64), lu.perm_c.astype(np.int64),
                   l_ptr, l_idx, l_val, u_ptr, u_idx, u_val, 1.0 / u_diag,
                   a_csr.indptr.astype(np.int64), a_csr.indices.astype(np.int64),
                   a_csr.data.astype(np.complex128))

    def solve(self, b: ComplexArray) -> ComplexArray:
        """``x`` with ``A x = b``; ``b`` is one vector ``(n,)`` or one per column ``(n, K)``.

        Raises
        ------
        ValueError
            If ``b`` does not have one row per row of ``A``.
        """
        if b.shape[:1] != self.perm_r.shape or b.ndim > 2:  # the kernels do not check bounds
            raise ValueError(f"right-hand side of shape {b.shape}; expected {self.perm_r.shape} "
                             "or that many rows")
        kernel = _lu_solve if b.ndim == 1 else _lu_solve_many
        out: ComplexArray = kernel(
            self.perm_r, self.perm_c, self.l_ptr, self.l_idx, self.l_val,
            self.u_ptr, self.u_idx, self.u_val, self.u_diag_inv, np.ascontiguousarray(b,
            dtype=np.complex128),
        )
        return out

    def refine(self, x: ComplexArray, b: ComplexArray) -> ComplexArray:
        """One step of iterative refinement of ``A x = b`` with an exact residual.

        The residual is summed in double-double arithmetic: nodes held only by a tiny
        admittance (a conductor coupled through a switch's capacitance) are fixed by
        ``y`` to far less than double precision would resolve in a plain residual.
        """
        return _refined(self.solve, self.a_ptr, self.a_idx, self.a_val, x, b)

    def inverse_columns(self, nodes: IntArray) -> tuple[ComplexArray, IntArray]:
        """Columns of ``A⁻¹`` including ``nodes``, each solved once and kept.

        Returns the kept columns ``(n, K)`` and the place of each of ``nodes`` among
        them; thread-safe, and the array returned is never written to afterwards.
        """
        return self._columns.get(self, nodes)

    @cached_property
    def _keys(self) -> IntArray:
        """``row·n + column`` of each entry of ``a_val``, ascending (sorted CSR)."""
        n = self.perm_r.size
        keys: IntArray = np.repeat(np.arange(n), np.diff(self.a_ptr)) * n + self.a_idx
        return keys

    def position(self, rows: IntArray, cols: IntArray) -> IntArray:
        """Index into ``a_val`` of the entries ``(rows, cols)`` of ``A``; ``-1`` if absent."""
        key = self._keys
        want = rows * self.perm_r.size + cols
        at = np.minimum(np.searchsorted(key, want), max(key.size - 1, 0))
        return np.where(key[at] == want, at, -1) if key.size else np.full(len(rows), -1)


class _InverseColumns:
    """The columns of ``A⁻¹`` solved so far, grown by copy so readers never see a change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._z: ComplexArray | None = None
        self._where: dict[int, int] = {}

    def get(self, lu: LuFactors, nodes: IntArray) -> tuple[ComplexArray, IntArray]:
        with self._lock:
            new = [int(j) for j in dict.fromkeys(nodes.tolist()) if int(j) not in self._where]
            if new or self._z is None:
                n = lu.perm_r.size
                cols = np.zeros((n, len(new)), dtype=np.complex128)
                for q, j in enumerate(new):
                    e = np.zeros(n, dtype=np.complex128)
                    e[j] = 1.0
                    cols[:, q] = lu.solve(e)
                    self._where[j] = len(self._where)
                # column-major: x − Z w reads each column once
                self._z = np.asfortranarray(cols if self._z is None else np.hstack([self._z, cols]))
            return self._z, np.array([self._where[int(j)] for j in nodes], dtype=np.int64)


@dataclass(frozen=True, eq=False)
class UpdatedFactors:
    """Solves ``(A + ΔA) x = b`` with the factors of ``A``, where ``ΔA`` is non-zero only
    on the rows and columns of a few nodes (Woodbury identity).

    With ``P`` the columns of the identity at those nodes, ``ΔA = P D Pᵀ`` and
    ``Z = A⁻¹ P``: ``x = y − Z w`` with ``y = A⁻¹ b`` and ``(I + D Pᵀ Z) w = D Pᵀ y``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> a = sp.csc_matrix(np.array([[4, 1, 0], [1, 4, 1], [0, 1, 4]], dtype=complex))
    >>> d = sp.coo_matrix(([2.0, -1.0], ([1, 1], [1, 2])), shape=(3, 3))
    >>> f = UpdatedFactors.build(LuFactors.factorize(a), d)
    >>> b = np.array([1, 2, 3], dtype=complex)
    >>> np.allclose((a + d) @ f.solve(b), b)
    True
    """

    base: LuFactors
    nodes: IntArray
    gain: ComplexArray
    z: ComplexArray
    a_val: ComplexArray

    @classmethod
    def build(cls, base: LuFactors, delta: sp.spmatrix) -> UpdatedFactors:
        """Prepare to solve with ``A + delta`` (``delta`` sparse, same shape as ``A``).

        Raises
        ------
        ValueError
            If ``delta`` has an entry where ``A`` has none (a change of layout, which
            needs a new factorisation).
        """
        coo = sp.coo_matrix(delta)
        rows, cols = coo.row.astype(np.int64), coo.col.astype(np.int64)
        nodes = np.unique(np.concatenate([rows, cols]))
        k = nodes.size
        d = np.zeros((k, k), dtype=np.complex128)
        np.add.at(d, (np.searchsorted(nodes, rows), np.searchsorted(nodes, cols)), coo.data)
        pos = base.position(rows, cols)
        if np.any(pos < 0):
            raise ValueError("the change adds entries the factorised matrix does not have")
        a_val = base.a_val.copy()
        np.add.at(a_val, pos, coo.data)
        z, where = base.inverse_columns(nodes)
        # w = (I + D Pᵀ Z)⁻¹ D Pᵀ y, spread over all kept columns so x = y − Z w needs no
        # copy of Z's columns
        gain = np.zeros((z.shape[1], k), dtype=np.complex128)
        gain[where] = np.linalg.solve(np.eye(k, dtype=np.complex128) + d @ z[nodes][:, where], d)
        return cls(base, nodes, gain, z, a_val)

    def solve(self, b: ComplexArray) -> ComplexArray:
        """``x`` with ``(A + ΔA) x = b``; ``b`` is ``(n,)`` or ``(n, K)``."""
        y = self.base.solve(b)
        # Compiled, not BLAS: these products are tiny, and a threaded BLAS waiting for a
        # core another process holds took milliseconds over each (seen: 8 ms, 278×18).
        _woodbury(y.reshape(y.shape[0], -1), self.z, self.gain, self.nodes)
        return y

    def refine(self, x: ComplexArray, b: ComplexArray) -> ComplexArray:
        """One step of iterative refinement with an exact residual (:meth:`LuFactors.refine`)."""
        return _refined(self.solve, self.base.a_ptr, self.base.a_idx, self.a_val, x, b)
