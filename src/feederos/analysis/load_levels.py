"""The load levels a hosting-capacity study solves at: peak and minimum daytime.

PV is worst for voltage rise and reverse flow when it produces most while the feeder
draws least — the lowest load of the hours around solar noon; an EV charger's load is
worst at the feeder's peak. A level is a multiplier of every load's rated power
(``p_kw``, which by OpenDSS's habit is the load's peak).

The minimum daytime level is read off a year of the feeder's own load shapes: each
load's ``yearly`` shape (else its ``daily`` one, repeated), and for a load with neither
its class's generated shape (:func:`~feederos.timeseries.profiles.class_multipliers`,
without per-customer variation). The aggregate ``Σ p_kw·m(t)`` at its lowest between
10:00 and 15:00 local standard time, over its highest of the year, is the level.

Examples
--------
>>> from feederos.feeders import load_feeder
>>> levels = default_load_levels(load_feeder("ieee13"))
>>> list(levels), levels["peak"]
(['peak', 'min_daytime'], 1.0)
>>> 0.1 < levels["min_daytime"] < 0.9
True
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from feederos.model import Network
from feederos.timeseries.profiles import TimeGrid, class_multipliers, shape_multipliers

__all__ = ["DAYTIME_H", "default_load_levels", "minimum_daytime_multiplier"]

FloatArray = npt.NDArray[np.float64]

DAYTIME_H = (10.0, 15.0)
"""Hours of the day (local standard time) when PV output is near its peak: the window
in which the minimum daytime load is sought."""


def minimum_daytime_multiplier(network: Network, *, year: int = 2023) -> float:
    """Lowest daytime aggregate load of a year over the year's peak [pu] (module
    docstring).

    Raises
    ------
    ValueError
        If the network has no load with power, or a load names a shape it lacks.
    """
    grid = TimeGrid.year(year)
    hours_end = np.arange(1, grid.steps + 1, dtype=np.float64)  # step i ends at i+1 h
    shapes = {s.name: s for s in network.load_shapes}
    classes: dict[str, FloatArray] = {}
    total = np.zeros(grid.steps)
    for load in network.loads:
        if load.p_kw <= 0:
            continue
        name = load.yearly_shape or load.daily_shape
        if name is not None:
            if name not in shapes:
                raise ValueError(f"load {load.name!r} names shape {name!r}, which the network "
                                 "lacks; add the shape or remove the reference")
            m = shape_multipliers(shapes[name], hours_end)
        else:
            key = load.load_class.value
            if key not in classes:
                classes[key] = class_multipliers(load.load_class, grid, variation=False)
            m = classes[key]
        total += load.p_kw * m
    peak = float(total.max())
    if peak <= 0:
        raise ValueError(f"network {network.name!r} has no load drawing power; a load level "
                         "needs one")
    hour_of_day = np.arange(grid.steps) % 24 + 0.5
    day = (hour_of_day >= DAYTIME_H[0]) & (hour_of_day < DAYTIME_H[1])
    return float(total[day].min() / peak)


def default_load_levels(network: Network) -> dict[str, float]:
    """``{"peak": 1.0, "min_daytime": …}``: the two levels of a study [pu of rated]."""
    return {"peak": 1.0, "min_daytime": minimum_daytime_multiplier(network)}
