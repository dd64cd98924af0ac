"""The contract of voltage-dependent elements (loads, generators, inverters).

An *injection set* is a group of elements of one kind with ``k`` conductors each. The
solvers treat it in two parts, as OpenDSS does: a linear admittance placed in the system
matrix (:meth:`InjectionSet.nominal_block`), and the element's true current at the
present voltages (:meth:`InjectionSet.currents`); the difference is injected as a
compensation current each iteration, so the converged solution does not depend on the
linear part, only the convergence rate does.

Examples
--------
>>> import numpy as np
>>> def linear(v):  # a 1-conductor element drawing i = 0.5·v
...     return 0.5 * v
>>> numeric_jacobian(linear, np.array([[1 + 1j]]))[0].round(6).tolist()
[[0.5, 0.0], [0.0, 0.5]]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
import numpy.typing as npt

from feederos.powerflow.primitives.block import PrimitiveBlock

__all__ = ["InjectionSet", "numeric_jacobian"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]


class InjectionSet(Protocol):
    """``m`` voltage-dependent elements of one kind with ``k`` conductors each."""

    @property
    def kind(self) -> str:
        """Network collection of the elements (``"loads"``, ``"generators"``...)."""
        ...

    @property
    def names(self) -> tuple[str, ...]:
        """Element names, length ``m``."""
        ...

    @property
    def conductors(self) -> IntArray:
        """Node index per conductor, ``(m, k)``; ``-1`` is ground."""
        ...

    def nominal_block(self) -> PrimitiveBlock:
        """The linear admittance of these elements that goes into the system matrix."""
        ...

    def currents(self, v_cond: ComplexArray) -> ComplexArray:
        """Currents into each element at each conductor at voltages ``v_cond`` ``(m, k)`` [A]."""
        ...

    def jacobian(self, v_cond: ComplexArray) -> FloatArray:
        """``∂(Re I, Im I)/∂(Re V, Im V)`` per element, shape ``(m, 2k, 2k)`` [S].

        Rows and columns are ordered ``Re 0..k-1`` then ``Im 0..k-1``.
        """
        ...


def numeric_jacobian(
    currents: Callable[[ComplexArray], ComplexArray],
    v_cond: ComplexArray,
    *,
    rel_step: float = 1e-6,
) -> FloatArray:
    """Central-difference :meth:`InjectionSet.jacobian` of any ``currents`` function.

    Good to about 1e-9 relative for smooth models, which is all Newton's method needs;
    elements with an analytic Jacobian should provide their own.
    """
    m, k = v_cond.shape
    h = rel_step * np.maximum(np.abs(v_cond).max(axis=1, initial=0.0), 1.0)  # (m,)
    jac = np.empty((m, 2 * k, 2 * k))
    for col in range(2 * k):
        step = np.zeros((m, k), dtype=np.complex128)
        step[:, col % k] = h * (1.0 if col < k else 1j)
        d = (currents(v_cond + step) - currents(v_cond - step)) / (2 * h)[:, None]
        jac[:, :k, col] = d.real
        jac[:, k:, col] = d.imag
    return jac
