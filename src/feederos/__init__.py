"""feederos: software-defined electricity distribution.

The public entry points are re-exported here; nothing runs at import time (the power
flow, which loads SciPy and Numba, is imported on first use of :func:`solve`).
"""

from __future__ import annotations

from typing import Any

from feederos.errors import FeederosError

__all__ = ["FeederosError", "__version__", "solve"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "solve":
        from feederos.powerflow import solve

        return solve
    raise AttributeError(f"module 'feederos' has no attribute {name!r}")
