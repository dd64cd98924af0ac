"""A scenario's demand and PV at every step: household loads, PV output, EV sessions.

- **Household load**: the residential class shape of
  :func:`feederos.timeseries.profiles.class_multipliers` (with each house's own seeded
  clock offset and noise) at 1-minute resolution, scaled to the house's peak and held
  through the minute; split into the critical (c0) and non-critical (c1) circuits by the
  house's ``critical_share``.
- **PV**: one sky for the whole street, :func:`feederos.timeseries.profiles.pv_shape`
  (pvlib clear sky times a Markov cloud model) at 1-minute resolution, interpolated to
  the step, times each house's rating.

Examples
--------
>>> import json
>>> from feederos.microgrid.scenario import Scenario
>>> s = Scenario.model_validate({"name": "t", "start": "2023-07-15T10:00",
...     "duration_h": 1, "outage_start_h": 0.1, "outage_end_h": 0.9,
...     "weather": {"latitude_deg": 39.7, "longitude_deg": -105.2, "utc_offset_h": -7},
...     "anchor": {"house": "h1"},
...     "houses": [{"name": "h1", "peak_kw": 3.0, "critical_share": 0.4, "pv_kw": 5.0}]})
>>> d = street_demand(s)
>>> d.critical_w.shape, bool(d.pv_avail_w.max() > 2000.0)
((3600, 1), True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from feederos.microgrid.scenario import Scenario
from feederos.timeseries.profiles import TimeGrid, class_multipliers, pv_shape

__all__ = ["StreetDemand", "street_demand"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class StreetDemand:
    """Per step and house ``(steps, houses)``: demanded critical and non-critical load and
    the PV power available [W]."""

    critical_w: FloatArray
    noncritical_w: FloatArray
    pv_avail_w: FloatArray


def street_demand(scenario: Scenario) -> StreetDemand:
    """The scenario's loads and PV at every step (see the module docstring)."""
    n = scenario.steps
    step_s = scenario.step_s
    minutes = math.ceil(n * step_s / 60.0) + 1
    grid = TimeGrid(pd.Timestamp(scenario.start), minutes, 1.0 / 60.0)
    t_min = np.arange(n) * step_s / 60.0
    held = np.minimum(np.floor(t_min).astype(np.int64), minutes - 1)
    h = len(scenario.houses)
    critical = np.empty((n, h))
    noncritical = np.empty((n, h))
    for i, house in enumerate(scenario.houses):
        load_w = (
            class_multipliers("residential", grid, seed=scenario.seed * 1000 + i)
            * house.peak_kw
            * 1000.0
        )
        critical[:, i] = house.critical_share * load_w[held]
        noncritical[:, i] = (1.0 - house.critical_share) * load_w[held]
    w = scenario.weather
    sky = np.asarray(
        pv_shape(
            w.latitude_deg,
            w.longitude_deg,
            grid=grid,
            utc_offset_h=w.utc_offset_h,
            cloudiness=w.cloudiness,
            seed=scenario.seed,
        ).p_mult
    )
    # Minute means sit mid-minute; interpolate between them for a smooth 1 s series.
    pv_pu = np.interp(t_min, np.arange(minutes) + 0.5, sky)
    rating_w = np.array([house.pv_kw * 1000.0 for house in scenario.houses])
    return StreetDemand(
        critical_w=critical,
        noncritical_w=noncritical,
        pv_avail_w=pv_pu[:, None] * rating_w[None, :],
    )
