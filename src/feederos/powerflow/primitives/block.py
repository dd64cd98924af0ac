"""Primitive admittance blocks: many elements of one kind, stacked as arrays.

An element's primitive admittance matrix ``Yprim`` relates the currents flowing *into*
the element at each of its conductors to the conductor voltages (to ground):
``I = Yprim @ V``. Conductors are ordered as OpenDSS orders them: terminal 1's
conductors, then terminal 2's, and so on. A :class:`PrimitiveBlock` holds ``m`` such
matrices of equal size ``k × k`` with the node index of every conductor, so the system
admittance matrix is a scatter-add of blocks and element currents are one batched
product.

Examples
--------
>>> import numpy as np
>>> b = PrimitiveBlock(kind="lines", names=("a",), conductors=np.array([[0, 1]]),
...                    y_s=np.array([[[1 - 1j, -1 + 1j], [-1 + 1j, 1 - 1j]]]), n_terminals=2)
>>> b.currents(np.array([1.0 + 0j, 0.9 + 0j])).round(3).tolist()
[[(0.1-0.1j), (-0.1+0.1j)]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from feederos.powerflow.nodes import node_voltages

__all__ = ["PrimitiveBlock"]

IntArray = npt.NDArray[np.int64]
ComplexArray = npt.NDArray[np.complex128]


@dataclass(frozen=True, eq=False)
class PrimitiveBlock:
    """Primitive admittances of ``m`` elements with ``k`` conductors each.

    Attributes
    ----------
    kind
        Network collection the elements come from (``"lines"``, ``"transformers"``...).
    names
        Element names, length ``m``.
    conductors
        Node index of every conductor, shape ``(m, k)``; ``-1`` is ground.
    y_s
        Primitive admittance matrices, shape ``(m, k, k)`` [S].
    n_terminals
        Terminals per element; ``k`` is a multiple of it.
    """

    kind: str
    names: tuple[str, ...]
    conductors: IntArray
    y_s: ComplexArray
    n_terminals: int

    def __post_init__(self) -> None:
        m, k = self.conductors.shape
        if self.y_s.shape != (m, k, k) or len(self.names) != m or k % self.n_terminals:
            raise ValueError(
                f"{self.kind} block: names {len(self.names)}, conductors "
                f"{self.conductors.shape}, y_s {self.y_s.shape}, terminals {self.n_terminals}"
            )

    @property
    def n_elements(self) -> int:
        """Number of elements ``m``."""
        return len(self.names)

    @property
    def conductors_per_terminal(self) -> int:
        """Conductors of one terminal."""
        return int(self.conductors.shape[1]) // self.n_terminals

    def voltages(self, v: ComplexArray) -> ComplexArray:
        """Conductor voltages ``(m, k)`` from node voltages ``v`` (ground is 0) [V]."""
        return node_voltages(v, self.conductors)

    def currents(self, v: ComplexArray) -> ComplexArray:
        """Currents into each element at each conductor, shape ``(m, k)`` [A]."""
        out: ComplexArray = np.einsum("mij,mj->mi", self.y_s, self.voltages(v))
        return out

    def terminal_currents(self, v: ComplexArray, m: int, terminal: int) -> ComplexArray:
        """Currents into element ``m`` at the conductors of ``terminal`` (1-based) [A]."""
        c = self.conductors_per_terminal
        i: ComplexArray = self.y_s[m] @ node_voltages(v, self.conductors[m])
        return i[(terminal - 1) * c : terminal * c]
