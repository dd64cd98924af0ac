"""Shared types of the control package: array aliases and the terminal key."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = ["BoolArray", "ComplexArray", "FloatArray", "IntArray", "TerminalKey"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ComplexArray = npt.NDArray[np.complex128]


class TerminalKey(NamedTuple):
    """One terminal of one element, as the solver is asked for it.

    Attributes
    ----------
    kind
        Network collection of the element (``"lines"``, ``"switches"``,
        ``"transformers"``, ``"capacitors"``...), the same word as
        :attr:`~feederos.powerflow.PrimitiveBlock.kind`.
    name
        Element name.
    terminal
        1-based terminal (winding for a transformer).
    """

    kind: str
    name: str
    terminal: int
