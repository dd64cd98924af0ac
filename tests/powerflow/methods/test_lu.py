"""The LU factors and their low-rank update: exact solves, refused input, kept columns."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from feederos.powerflow.methods.lu import LuFactors, UpdatedFactors


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


def test_update_solves_the_changed_matrix_exactly() -> None:
    a = _feeder_like(400, seed=1)
    base = LuFactors.factorize(a)
    b = np.random.default_rng(2).normal(size=400) + 1j
    for seed, nodes in enumerate(([5, 17, 17 + 1], [3, 200, 399, 250, 251])):
        delta = _change(a, nodes, seed)
        upd = UpdatedFactors.build(base, delta)
        x = upd.solve(b)
        exact = sp.linalg.spsolve(sp.csc_matrix(a + delta), b)
        assert np.abs(x - exact).max() <= 1e-10 * np.abs(exact).max()
        refined = upd.refine(x, b)
        assert np.abs((a + delta) @ refined - b).max() <= 1e-12 * np.abs(b).max()


def test_columns_are_solved_once_and_kept() -> None:
    a = _feeder_like(50, seed=3)
    base = LuFactors.factorize(a)
    z1, _ = base.inverse_columns(np.array([4, 9]))
    z2, where2 = base.inverse_columns(np.array([9, 30]))
    assert z1.shape == (50, 2) and z2.shape == (50, 3)
    assert where2.tolist() == [1, 2] and np.array_equal(z2[:, :2], z1)
    e = np.zeros(50, dtype=complex)
    e[30] = 1.0
    assert np.allclose(a @ z2[:, 2], e)


def test_a_change_outside_the_pattern_is_refused() -> None:
    a = _feeder_like(30, seed=4)
    base = LuFactors.factorize(a)
    rows, cols = a.nonzero()
    taken = set(zip(rows.tolist(), cols.tolist(), strict=True))
    r, c = next((i, j) for i in range(30) for j in range(30) if (i, j) not in taken)
    with pytest.raises(ValueError, match="entries the factorised matrix does not have"):
        UpdatedFactors.build(base, sp.coo_matrix(([1.0], ([r], [c])), shape=(30, 30)))


def test_right_hand_side_of_the_wrong_length_is_refused() -> None:
    base = LuFactors.factorize(_feeder_like(20, seed=5))
    with pytest.raises(ValueError, match=r"expected \(20,\)"):
        base.solve(np.ones(21, dtype=complex))
