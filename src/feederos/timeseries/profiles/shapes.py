"""Load shapes evaluated at given hours, as OpenDSS's ``LoadShape.GetMult`` does.

An evenly spaced shape (``interval_h``) is a step function: the multiplier at hour
``h`` is point ``round(h / interval)`` (1-based, wrapping around past the end, point
``n`` at 0). A shape at explicit ``hours`` is interpolated linearly and repeats with
the period of its last hour.

Examples
--------
>>> from feederos.model import LoadShape
>>> day = LoadShape(name="day", interval_h=1.0, p_mult=[0.2, 0.4, 0.6, 0.8])
>>> shape_multipliers(day, [1.0, 2.0, 4.0, 5.0, 0.0]).tolist()
[0.2, 0.4, 0.8, 0.2, 0.8]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from feederos.model import LoadShape

__all__ = ["shape_multipliers"]

FloatArray = npt.NDArray[np.float64]


def shape_multipliers(
    shape: LoadShape, hours: Sequence[float] | FloatArray, *, reactive: bool = False
) -> FloatArray:
    """Multipliers of ``shape`` at ``hours`` [pu]; ``reactive`` reads ``q_mult``.

    Without ``q_mult`` the reactive multiplier is the active one (OpenDSS).

    Raises
    ------
    ValueError
        If ``shape`` holds actual values (``use_actual``), which are not multipliers.
    """
    if shape.use_actual:
        raise ValueError(f"load shape {shape.name!r} holds actual kW (use_actual); "
                         "give multipliers to use it as a load's shape")
    values = np.asarray(shape.q_mult if reactive and shape.q_mult is not None else shape.p_mult,
                        dtype=np.float64)
    h = np.asarray(hours, dtype=np.float64)
    n = values.size
    if shape.hours is None:
        assert shape.interval_h is not None
        # Pascal's Round, like np.rint, takes a half to the even neighbour
        index = np.rint(h / shape.interval_h).astype(np.int64)
        index = np.mod(index - 1, n)  # 1-based, wrapping; 0 is the last point
        out: FloatArray = values[index]
        return out
    at = np.asarray(shape.hours, dtype=np.float64)
    period = at[-1] if at[-1] > 0 else 1.0
    return np.asarray(np.interp(np.mod(h, period) if h.size else h, at, values), dtype=np.float64)
