"""Anderson mixing: the fixed point of an affine map in a few steps, plain steps at depth 0,
and the plain step when the least-squares problem is singular."""

from __future__ import annotations

import numpy as np

from feederos.powerflow.methods.anderson import anderson_history, anderson_mix


def _affine(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A contraction ``G(x) = A x + b`` on complex vectors, real-linear (A acts on x̄ too)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(2 * n, 2 * n))
    a *= 0.6 / np.abs(np.linalg.eigvals(a)).max()
    return a, rng.normal(size=2 * n)


def _g(a: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    return (a @ x.view(np.float64) + b).view(np.complex128)


def test_an_affine_map_is_solved_once_the_history_spans_it() -> None:
    n = 2
    a, b = _affine(n, seed=1)
    fixed = np.linalg.solve(np.eye(2 * n) - a, b).view(np.complex128)
    history = anderson_history(n, depth=2 * n)
    x = np.zeros(n, dtype=np.complex128)
    for _ in range(2 * n + 2):
        anderson_mix(history, x, _g(a, b, x))
    assert np.abs(x - fixed).max() < 1e-9
    # a plain iteration (depth 0) contracts by 0.6 per step only
    plain = np.zeros(n, dtype=np.complex128)
    history0 = anderson_history(n, depth=0)
    for _ in range(2 * n + 2):
        anderson_mix(history0, plain, _g(a, b, plain))
    assert np.array_equal(plain, _plain_steps(a, b, 2 * n + 2))
    assert np.abs(plain - fixed).max() > 1e-3


def _plain_steps(a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    x = np.zeros(a.shape[0] // 2, dtype=np.complex128)
    for _ in range(k):
        x = _g(a, b, x)
    return x


def test_a_reset_history_starts_a_new_sequence() -> None:
    a, b = _affine(3, seed=2)
    history = anderson_history(3)
    x = np.ones(3, dtype=np.complex128)
    anderson_mix(history, x, _g(a, b, x))
    anderson_mix(history, x, _g(a, b, x))
    history.steps[0] = 0
    y = np.ones(3, dtype=np.complex128)
    g = _g(a, b, y)
    anderson_mix(history, y, g)  # the first step of a sequence takes G(x) as it is
    assert np.array_equal(y, g)


def test_a_singular_fit_takes_the_plain_step() -> None:
    history = anderson_history(1)
    x = np.array([1.0 + 1.0j])
    anderson_mix(history, x, x.copy())  # first step: G(x) = x
    g = x.copy()
    anderson_mix(history, x, g)  # no change in the residual: the Gram matrix is zero
    assert np.array_equal(x, g)
