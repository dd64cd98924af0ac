"""The LU factors and their refactorisation: exact solves, refused input, shared pattern."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from feederos.powerflow.methods.lu import LuFactors, refactor_columns


def _feeder_like(n: int, seed: int) -> sp.csc_matrix:
    """A random tree of series admittances plus shunts: the shape of a feeder's ``y``."""
    rng = np.random.default_rng(seed)
    parent = np.array([rng.integers(0, i) for i in range(1, n)])
    y_series = rng.uniform(1, 50, n - 1) * np.exp(-1j * rng.uniform(0.3, 1.3, n - 1))
    rows = np.concatenate([parent, np.arange(1, n), parent, np.arange(1, n)])
    cols = np.concatenate([parent, np.arange(1, n), np.arange(1, n), parent])
    vals = np.concatenate([y_series, y_series, -y_series, -y_series])
    y = sp.coo_matrix((vals, (rows, cols)), shape=(n, n)).tocsc()
    return sp.csc_matrix(y + sp.diags(rng.uniform(0.01, 0.1, n) + 100.0 * (np.arange(n) == 0)))


def _change(a: sp.csc_matrix, nodes: list[int], seed: int) -> sp.coo_matrix:
    """A change of ``a`` on the entries it already has among ``nodes``."""
    rng = np.random.default_rng(seed)
    sub = sp.coo_matrix(a[nodes][:, nodes])
    vals = sub.data * rng.uniform(-0.05, 0.05, sub.nnz)
    idx = np.asarray(nodes)
    return sp.coo_matrix((vals, (idx[sub.row], idx[sub.col])), shape=a.shape)


def _values(a: sp.spmatrix, lu: LuFactors) -> np.ndarray:
    """``a``'s values on the factors' CSR pattern (``a`` has that pattern)."""
    csr = sp.csr_matrix(a, dtype=complex)
    csr.sort_indices()
    assert np.array_equal(csr.indices, lu.a_idx) and np.array_equal(csr.indptr, lu.a_ptr)
    return csr.data


def test_refactor_solves_the_changed_matrix_exactly() -> None:
    a = _feeder_like(400, seed=1)
    base = LuFactors.factorize(a)
    b = np.random.default_rng(2).normal(size=400) + 1j
    for seed, nodes in enumerate(([5, 17, 17 + 1], [3, 200, 399, 250, 251])):
        changed = sp.csc_matrix(a + _change(a, nodes, seed))
        moved = base.refactor(_values(changed, base))
        x = moved.solve(b)
        exact = sp.linalg.spsolve(changed, b)
        assert np.abs(x - exact).max() <= 1e-10 * np.abs(exact).max()
        refined = moved.refine(x, b)
        assert np.abs(changed @ refined - b).max() <= 1e-12 * np.abs(b).max()
        assert moved.pattern is base.pattern  # made once per factorisation


def test_refactor_of_the_same_values_is_the_same_factorisation() -> None:
    a = _feeder_like(200, seed=6)
    base = LuFactors.factorize(a)
    again = base.refactor(base.a_val)
    b = np.random.default_rng(7).normal(size=(200, 3)) + 0j
    assert np.abs(again.solve(b) - base.solve(b)).max() <= 1e-12 * np.abs(base.solve(b)).max()
    # the pattern counts explicit zeros: a value that appears later has its place
    assert again.l_idx.size >= base.l_idx.size


def test_refactoring_only_the_changed_columns_is_refactoring_all() -> None:
    a = _feeder_like(300, seed=8)
    base = LuFactors.factorize(a)
    p = base.pattern
    full = base.refactor(base.a_val)
    changed = sp.csc_matrix(a + _change(a, [17, 18, 140], seed=9))
    a_val = _values(changed, base)
    whole = base.refactor(a_val)
    l_val, u_val, d = full.l_val.copy(), full.u_val.copy(), full.u_diag_inv.copy()
    columns = np.zeros(300, dtype=bool)
    moved = np.flatnonzero(a_val != base.a_val)
    columns[base.perm_c[base.a_idx[moved]]] = True
    assert columns.sum() < 10
    assert refactor_columns(p, a_val, l_val, u_val, d, columns)
    assert not columns.any()  # cleared for the next change
    assert np.array_equal(l_val, whole.l_val) and np.array_equal(u_val, whole.u_val)
    assert np.array_equal(d, whole.u_diag_inv)


def test_refactor_refuses_a_zero_pivot_and_other_sizes() -> None:
    a = sp.csc_matrix(np.array([[1, 1], [1, 1 + 1e-3]], dtype=complex))
    base = LuFactors.factorize(a)
    with pytest.raises(ValueError, match="zero pivot"):
        base.refactor(np.array([1, 1, 1, 1], dtype=complex))
    with pytest.raises(ValueError, match="3 values"):
        base.refactor(np.ones(3, dtype=complex))


def test_right_hand_side_of_the_wrong_length_is_refused() -> None:
    base = LuFactors.factorize(_feeder_like(20, seed=5))
    with pytest.raises(ValueError, match=r"expected \(20,\)"):
        base.solve(np.ones(21, dtype=complex))
