"""Sparse LU factors of the admittance matrix with a compiled triangular solve.

SciPy's SuperLU factorises well but its ``solve`` costs about a millisecond on a
10k-node feeder, mostly overhead; the fixed-point method solves with the same factors
tens of times per snapshot. :class:`LuFactors` keeps SuperLU's factors (minimum-degree
ordering on ``A + Aᵀ``, which keeps fill low on feeders) and solves with a Numba kernel
over the CSC arrays.

A tap or capacitor-step change alters the values of ``A`` at the few nodes of the element
that moved, never its pattern. :meth:`LuFactors.refactor` factorises the new values again
on the first factorisation's pivot order and fill pattern (a numeric refactorisation, as
KLU's ``klu_refactor``), in compiled code: on IEEE 8500 it costs about what three
solves do, where a Woodbury update of the first factors would add a dense ``n × k``
product (``k`` the touched nodes) to every solve, and SuperLU sixty. So a control loop or
a time series factorises once.

Examples
--------
>>> import numpy as np, scipy.sparse as sp
>>> a = sp.csc_matrix(np.array([[4, 1, 0], [1, 4, 1], [0, 1, 4]], dtype=complex))
>>> f = LuFactors.factorize(a)
>>> np.allclose(a @ f.solve(np.array([1, 2, 3], dtype=complex)), [1, 2, 3])
True
>>> moved = f.refactor(f.a_val * 2)  # same pattern, other values
>>> np.allclose(2 * a @ moved.solve(np.array([1, 2, 3], dtype=complex)), [1, 2, 3])
True
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic
from scipy.sparse.linalg import splu

__all__ = [
    "LuArrays",
    "LuFactors",
    "RefactorPattern",
    "lu_refine",
    "lu_solve",
    "lu_solve_into",
    "lu_solve_many",
    "refactor_columns",
    "refactor_pattern",
    "refactor_values",
]

IntArray = npt.NDArray[np.int64]
ComplexArray = npt.NDArray[np.complex128]
BoolArray = npt.NDArray[np.bool_]


@njit(cache=True, nogil=True)
def _lu_solve(
    perm_r: IntArray, perm_c: IntArray,
    l_col: IntArray, l_idx: IntArray, l_val: ComplexArray,
    u_col: IntArray, u_idx: IntArray, u_val: ComplexArray, u_diag_inv: ComplexArray,
    b: ComplexArray,
) -> ComplexArray:  # pragma: no cover - compiled
    n = b.shape[0]
    x = np.empty(n, dtype=np.complex128)
    _lu_solve_into(perm_r, perm_c, l_col, l_idx, l_val, u_col, u_idx, u_val, u_diag_inv, b,
                   np.empty(n, dtype=np.complex128), x)
    return x


@njit(cache=True, nogil=True)
def _lu_solve_into(
    perm_r: IntArray, perm_c: IntArray,
    l_col: IntArray, l_idx: IntArray, l_val: ComplexArray,
    u_col: IntArray, u_idx: IntArray, u_val: ComplexArray, u_diag_inv: ComplexArray,
    b: ComplexArray, y: ComplexArray, x: ComplexArray,
) -> None:  # pragma: no cover - compiled
    """``x`` with ``A x = b``, ``y`` a work vector (``x`` must not be ``b``).

    The triangles are swept entry by entry in column order (``l_col``, ``u_col``: each
    entry's column), not column by column: a feeder's columns hold one to three
    entries, and so short an inner loop mispredicts its exit at every column.
    """
    n = b.shape[0]
    for i in range(n):
        y[perm_r[i]] = b[i]
    for p in range(l_idx.size):  # unit lower triangle: y[j] is final when column j comes
        y[l_idx[p]] -= l_val[p] * y[l_col[p]]
    j = n - 1
    for p in range(u_idx.size - 1, -1, -1):  # upper triangle, columns descending
        c = u_col[p]
        while j >= c:  # columns reached: their value is final, divide by the pivot
            y[j] *= u_diag_inv[j]
            j -= 1
        y[u_idx[p]] -= u_val[p] * y[c]
    while j >= 0:
        y[j] *= u_diag_inv[j]
        j -= 1
    for i in range(n):
        x[i] = y[perm_c[i]]


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


@njit(cache=True, inline="always")
def _two_sum(a: float, b: float) -> tuple[float, float]:  # pragma: no cover - compiled
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


@intrinsic
def _fma(typingctx: object, a: types.Type, b: types.Type,
         c: types.Type) -> tuple[object, object]:  # pragma: no cover - compiled
    """``a·b + c`` rounded once (LLVM's ``llvm.fma``: one instruction where the CPU has
    it, a correctly rounded library call where not)."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context: object, builder: object, signature: object,
                args: object) -> object:
        d = ir.DoubleType()
        fn = builder.module.declare_intrinsic(  # type: ignore[attr-defined]
            "llvm.fma", [d], ir.FunctionType(d, [d, d, d]))
        return builder.call(fn, args)  # type: ignore[attr-defined]

    return sig, codegen


@njit(cache=True, inline="always")
def _two_prod(a: float, b: float) -> tuple[float, float]:  # pragma: no cover - compiled
    # the product and its exact rounding error (an FMA computes it in one step)
    p = a * b
    return p, _fma(a, b, -p)  # type: ignore[call-arg, arg-type]


@njit(cache=True, inline="always")
def _acc(hi: float, lo: float, a: float, b: float) -> tuple[float, float]:  # pragma: no cover
    p, e = _two_prod(a, b)
    hi, e2 = _two_sum(hi, p)
    return hi, lo + e + e2


@njit(cache=True, nogil=True)
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



class LuArrays(NamedTuple):
    """The arrays of :class:`LuFactors`, as the compiled loops take them.

    ``L`` (strict lower, unit diagonal) and ``U`` (strict upper, diagonal inverted) are
    in CSC, with the column of each entry (``l_col``, ``u_col``) besides the pointers;
    ``A`` is kept in CSR (``a_ptr``, ``a_idx``, ``a_val``, sorted) for the refinement's
    residual.
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
    l_col: IntArray
    u_col: IntArray


@njit(cache=True, nogil=True, inline="always")
def lu_solve(f: LuArrays, b: ComplexArray) -> ComplexArray:  # pragma: no cover - compiled
    """``x`` with ``A x = b`` for one right-hand side (compiled callers)."""
    return _lu_solve(f.perm_r, f.perm_c, f.l_col, f.l_idx, f.l_val, f.u_col, f.u_idx, f.u_val,
                     f.u_diag_inv, b)


@njit(cache=True, nogil=True, inline="always")
def lu_solve_into(f: LuArrays, b: ComplexArray, y: ComplexArray,
                  x: ComplexArray) -> None:  # pragma: no cover - compiled
    """``x`` with ``A x = b`` for one right-hand side, ``y`` a work vector."""
    _lu_solve_into(f.perm_r, f.perm_c, f.l_col, f.l_idx, f.l_val, f.u_col, f.u_idx, f.u_val,
                   f.u_diag_inv, b, y, x)


@njit(cache=True, nogil=True, inline="always")
def lu_solve_many(f: LuArrays, b: ComplexArray) -> ComplexArray:  # pragma: no cover - compiled
    """``X`` with ``A X = B`` for the columns of a row-major ``(n, K)`` block."""
    return _lu_solve_many(f.perm_r, f.perm_c, f.l_ptr, f.l_idx, f.l_val, f.u_ptr, f.u_idx,
                          f.u_val, f.u_diag_inv, b)


@njit(cache=True, nogil=True)
def lu_refine(f: LuArrays, x: ComplexArray, b: ComplexArray) -> ComplexArray:  # pragma: no cover
    """``x`` plus the solve of its double-double residual ``b − A x`` (:meth:`LuFactors.refine`)."""
    return x + lu_solve(f, _residual(f.a_ptr, f.a_idx, f.a_val, x, b))


class RefactorPattern(NamedTuple):
    """Where a refactorisation puts each entry: ``B = P_r A P_c`` and its ``L``, ``U``.

    ``B`` is in CSC (``b_ptr``, ``b_idx``) with ``b_from_a`` the entry of ``a_val`` each
    of its entries is; ``L`` (strict lower) and ``U`` (strict upper) are in CSC with rows
    ascending, their pattern the symbolic fill of ``B`` eliminated in order.
    """

    b_ptr: IntArray
    b_idx: IntArray
    b_from_a: IntArray
    l_ptr: IntArray
    l_idx: IntArray
    u_ptr: IntArray
    u_idx: IntArray
    l_col: IntArray
    u_col: IntArray


@njit(cache=True, nogil=True)
def _symbolic(
    b_ptr: IntArray, b_idx: IntArray
) -> tuple[IntArray, IntArray, IntArray, IntArray]:  # pragma: no cover - compiled
    """Patterns of ``L`` and ``U`` of ``B`` factorised without pivoting.

    Column ``j``'s entries are the rows reachable from ``B[:, j]``'s through the columns
    of ``L`` left of ``j`` (Gilbert & Peierls, SIAM J. Sci. Stat. Comput. 9(5), 1988);
    explicit zeros of ``B`` count, so any values on its pattern factorise on this one.
    """
    n = b_ptr.size - 1
    mark = np.full(n, -1, dtype=np.int64)
    stack = np.empty(n, dtype=np.int64)
    reach = np.empty(n, dtype=np.int64)
    l_ptr = np.zeros(n + 1, dtype=np.int64)
    u_ptr = np.zeros(n + 1, dtype=np.int64)
    l_idx = np.empty(4 * n + 16, dtype=np.int64)
    u_idx = np.empty(4 * n + 16, dtype=np.int64)
    n_l = n_u = 0
    for j in range(n):
        top = 0
        for p in range(b_ptr[j], b_ptr[j + 1]):
            i = b_idx[p]
            if mark[i] == j:
                continue
            mark[i] = j
            reach[top] = i
            top += 1
            depth = 0
            stack[0] = i
            while depth >= 0:
                k = stack[depth]
                depth -= 1
                if k >= j:
                    continue
                for q in range(l_ptr[k], l_ptr[k + 1]):
                    r = l_idx[q]
                    if mark[r] != j:
                        mark[r] = j
                        reach[top] = r
                        top += 1
                        depth += 1
                        stack[depth] = r
        rows = np.sort(reach[:top])
        if n_l + top > l_idx.size:
            l_idx = np.concatenate((l_idx, np.empty(l_idx.size + top, dtype=np.int64)))
        if n_u + top > u_idx.size:
            u_idx = np.concatenate((u_idx, np.empty(u_idx.size + top, dtype=np.int64)))
        for r in rows:
            if r < j:
                u_idx[n_u] = r
                n_u += 1
            elif r > j:
                l_idx[n_l] = r
                n_l += 1
        l_ptr[j + 1] = n_l
        u_ptr[j + 1] = n_u
    return l_ptr, l_idx[:n_l].copy(), u_ptr, u_idx[:n_u].copy()


def refactor_pattern(perm_r: IntArray, perm_c: IntArray, a_ptr: IntArray,
                     a_idx: IntArray) -> RefactorPattern:
    """The :class:`RefactorPattern` of ``A`` (CSR pattern) under SuperLU's permutations.

    SuperLU's ``P_r A P_c`` has ``A[i, k]`` at ``(perm_r[i], perm_c[k])``.
    """
    n = perm_r.size
    rows = perm_r[np.repeat(np.arange(n), np.diff(a_ptr))]
    cols = perm_c[a_idx]
    order = np.lexsort((rows, cols)).astype(np.int64)
    b_ptr = np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=n))]).astype(np.int64)
    b_idx = np.ascontiguousarray(rows[order], dtype=np.int64)
    l_ptr, l_idx, u_ptr, u_idx = _symbolic(b_ptr, b_idx)
    return RefactorPattern(b_ptr, b_idx, order, l_ptr, l_idx, u_ptr, u_idx, _columns(l_ptr),
                           _columns(u_ptr))


def _columns(ptr: IntArray) -> IntArray:
    """The column of each entry of a CSC matrix with column pointers ``ptr``."""
    return np.repeat(np.arange(ptr.size - 1), np.diff(ptr)).astype(np.int64)


@njit(cache=True, nogil=True)
def refactor_values(
    p: RefactorPattern, a_val: ComplexArray, l_val: ComplexArray, u_val: ComplexArray,
    u_diag_inv: ComplexArray,
) -> bool:  # pragma: no cover - compiled
    """Factorise the matrix with values ``a_val`` on ``p``'s pattern into ``l_val``,
    ``u_val``, ``u_diag_inv`` (left-looking, the pivots of the first factorisation).

    Returns ``False`` on a zero or non-finite pivot (factorise afresh then).
    """
    return refactor_columns(p, a_val, l_val, u_val, u_diag_inv,
                            np.ones(p.b_ptr.size - 1, dtype=np.bool_))


@njit(cache=True, nogil=True)
def refactor_columns(
    p: RefactorPattern, a_val: ComplexArray, l_val: ComplexArray, u_val: ComplexArray,
    u_diag_inv: ComplexArray, changed: BoolArray,
) -> bool:  # pragma: no cover - compiled
    """:func:`refactor_values` of a matrix that differs from the one ``l_val``, ``u_val``,
    ``u_diag_inv`` hold only in the columns of ``B`` marked in ``changed`` (cleared).

    Column ``j`` of the factors depends on ``B[:, j]`` and on the columns of ``L`` its
    ``U`` column reaches, so only the changed columns and those that reach one are
    redone: a tap change touches a few nodes, whose columns and their ancestors are a
    small part of a feeder's factors.
    """
    n = p.b_ptr.size - 1
    x = np.zeros(n, dtype=np.complex128)
    ok = True
    for j in range(n):
        redo = changed[j]
        q = p.u_ptr[j]
        while not redo and q < p.u_ptr[j + 1]:
            redo = changed[p.u_idx[q]]
            q += 1
        if not redo:
            continue
        changed[j] = True  # columns to its right that reach it are redone too
        for q in range(p.b_ptr[j], p.b_ptr[j + 1]):
            x[p.b_idx[q]] = a_val[p.b_from_a[q]]
        for q in range(p.u_ptr[j], p.u_ptr[j + 1]):  # rows ascending: a topological order
            k = p.u_idx[q]
            xk = x[k]
            u_val[q] = xk
            x[k] = 0j
            if xk != 0:
                for r in range(p.l_ptr[k], p.l_ptr[k + 1]):
                    x[p.l_idx[r]] -= l_val[r] * xk
        d = x[j]
        x[j] = 0j
        if d == 0 or not (np.isfinite(d.real) and np.isfinite(d.imag)):
            ok = False
            d = 1.0  # finish the sweep, so ``x`` is left clean; the result is refused
        inv = 1.0 / d
        u_diag_inv[j] = inv
        for r in range(p.l_ptr[j], p.l_ptr[j + 1]):
            i = p.l_idx[r]
            l_val[r] = x[i] * inv
            x[i] = 0j
    changed[:] = False
    return ok


class _SharedPattern:
    """The refactorisation pattern, made on first use and shared by every refactorisation
    of one factorisation (same permutations, same pattern of ``A``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pattern: RefactorPattern | None = None

    def get(self, lu: LuFactors) -> RefactorPattern:
        with self._lock:
            if self._pattern is None:
                self._pattern = refactor_pattern(lu.perm_r, lu.perm_c, lu.a_ptr, lu.a_idx)
            return self._pattern


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
    l_col: IntArray
    u_col: IntArray
    _pattern: _SharedPattern = field(default_factory=_SharedPattern, repr=False)

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
                   a_csr.data.astype(np.complex128), _columns(l_ptr), _columns(u_ptr))

    @cached_property
    def arrays(self) -> LuArrays:
        """The factors as :class:`LuArrays` (for compiled loops)."""
        return LuArrays(self.perm_r, self.perm_c, self.l_ptr, self.l_idx, self.l_val,
                        self.u_ptr, self.u_idx, self.u_val, self.u_diag_inv, self.a_ptr,
                        self.a_idx, self.a_val, self.l_col, self.u_col)

    @property
    def pattern(self) -> RefactorPattern:
        """Where :meth:`refactor` puts each entry (made once, shared by refactorisations)."""
        return self._pattern.get(self)

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
        b = np.ascontiguousarray(b, dtype=np.complex128)
        if b.ndim == 1:
            out: ComplexArray = _lu_solve(self.perm_r, self.perm_c, self.l_col, self.l_idx,
                                          self.l_val, self.u_col, self.u_idx, self.u_val,
                                          self.u_diag_inv, b)
        else:
            out = _lu_solve_many(self.perm_r, self.perm_c, self.l_ptr, self.l_idx, self.l_val,
                                 self.u_ptr, self.u_idx, self.u_val, self.u_diag_inv, b)
        return out

    def refine(self, x: ComplexArray, b: ComplexArray) -> ComplexArray:
        """One step of iterative refinement of ``A x = b`` with an exact residual.

        The residual is summed in double-double arithmetic: nodes held only by a tiny
        admittance (a conductor coupled through a switch's capacitance) are fixed by
        ``y`` to far less than double precision would resolve in a plain residual.
        """
        out: ComplexArray = lu_refine(self.arrays, np.ascontiguousarray(x, dtype=np.complex128),
                                      np.ascontiguousarray(b, dtype=np.complex128))
        return out

    def refactor(self, a_val: ComplexArray) -> LuFactors:
        """The factors of the matrix with ``A``'s pattern and the values ``a_val``
        (ordered as :attr:`a_val`), with this factorisation's pivot order.

        A tap or capacitor change moves values of ``A``, never its pattern (``y`` keeps
        explicit zeros): a numeric refactorisation costs about as much as one
        solve on feeders, a fresh factorisation tens.

        Raises
        ------
        ValueError
            If ``a_val`` does not fit the pattern, or a pivot comes out zero (factorise
            afresh then).
        """
        if a_val.shape != self.a_val.shape:
            raise ValueError(f"{a_val.shape[0]} values for a pattern of {self.a_val.size}")
        p = self.pattern
        l_val = np.empty(p.l_idx.size, dtype=np.complex128)
        u_val = np.empty(p.u_idx.size, dtype=np.complex128)
        u_diag_inv = np.empty(self.perm_r.size, dtype=np.complex128)
        a_val = np.ascontiguousarray(a_val, dtype=np.complex128)
        if not refactor_values(p, a_val, l_val, u_val, u_diag_inv):
            raise ValueError("a zero pivot in the refactorisation")
        return LuFactors(self.perm_r, self.perm_c, p.l_ptr, p.l_idx, l_val, p.u_ptr, p.u_idx,
                         u_val, u_diag_inv, self.a_ptr, self.a_idx, a_val, p.l_col, p.u_col,
                         self._pattern)
