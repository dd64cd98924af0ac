"""Evenly spaced time steps in local standard time, as a generated shape's points are.

A generated :class:`~feederos.model.LoadShape` with ``interval_h = step_h`` holds one
value per step: point ``k`` (1-based, OpenDSS's numbering) is the mean over the step
that *ends* at hour ``k · step_h`` after :attr:`TimeGrid.start` (hour-ending, as utility
interval data are), which is the point :func:`~feederos.timeseries.profiles.shape_multipliers`
reads at that hour. Clock times are local standard time without daylight saving, so
every day has 24 hours and a shape repeats cleanly.

Examples
--------
>>> grid = TimeGrid.day("2023-06-21", step_h=0.25)
>>> grid.steps, grid.duration_h
(96, 24.0)
>>> TimeGrid.year(2023).steps
8760
"""

from __future__ import annotations

import math
from calendar import isleap
from dataclasses import dataclass

import numpy as np
import pandas as pd

from feederos.timeseries.profiles._common import FloatArray, IntArray, require

__all__ = ["TimeGrid"]

_SUBSTEP_H = 0.25
"""Longest sub-step over which a step's mean is sampled [h]."""


@dataclass(frozen=True)
class TimeGrid:
    """``steps`` steps of ``step_h`` hours from ``start`` (local standard time).

    Parameters
    ----------
    start
        Start of the first step, naive local standard time (a string such as
        ``"2023-01-01"`` is read by :class:`pandas.Timestamp`).
    steps
        Number of steps [-].
    step_h
        Length of one step [h].

    Examples
    --------
    >>> TimeGrid("2023-01-02 06:00", steps=3, step_h=0.5).index.strftime("%H:%M").tolist()
    ['06:00', '06:30', '07:00']
    """

    start: pd.Timestamp
    steps: int
    step_h: float = 1.0

    def __init__(self, start: str | pd.Timestamp, steps: int, step_h: float = 1.0):
        stamp = pd.Timestamp(start)
        require(stamp.tzinfo is None, "start",
                f"{start!r} has a time zone; give naive local standard time")
        require(isinstance(steps, int | np.integer) and steps >= 1, "steps",
                f"{steps!r} must be a whole number >= 1")
        require(math.isfinite(step_h) and step_h > 0, "step_h", f"{step_h!r} must be > 0 [h]")
        object.__setattr__(self, "start", stamp)
        object.__setattr__(self, "steps", int(steps))
        object.__setattr__(self, "step_h", float(step_h))

    @classmethod
    def year(cls, year: int = 2023, *, step_h: float = 1.0) -> TimeGrid:
        """Every step of calendar ``year`` (8760 h, or 8784 h in a leap year).

        Examples
        --------
        >>> TimeGrid.year(2024, step_h=0.5).steps
        17568
        """
        hours = 24.0 * (366 if isleap(year) else 365)
        return cls(pd.Timestamp(year=year, month=1, day=1), _whole_steps(hours, step_h), step_h)

    @classmethod
    def day(cls, date: str | pd.Timestamp = "2023-06-21", *, step_h: float = 1.0) -> TimeGrid:
        """Every step of one day, from midnight.

        Examples
        --------
        >>> TimeGrid.day("2023-01-01", step_h=1 / 60).steps
        1440
        """
        return cls(pd.Timestamp(date).normalize(), _whole_steps(24.0, step_h), step_h)

    @property
    def duration_h(self) -> float:
        """Span of the grid [h]."""
        return self.steps * self.step_h

    @property
    def hours(self) -> FloatArray:
        """Start of each step, hours after :attr:`start` [h]."""
        return np.arange(self.steps, dtype=np.float64) * self.step_h

    @property
    def index(self) -> pd.DatetimeIndex:
        """Start of each step as local standard time."""
        return self.times(self.hours)

    def times(self, hours: FloatArray) -> pd.DatetimeIndex:
        """Local standard times ``hours`` after :attr:`start`."""
        return pd.DatetimeIndex(self.start + pd.to_timedelta(np.asarray(hours), unit="h"))

    def substeps_h(self) -> FloatArray:
        """Sample times of each step's mean, ``(steps, n)`` hours after :attr:`start` [h].

        Steps up to 15 min are sampled once, at their midpoint; longer ones at the
        midpoints of ``n`` equal parts no longer than 15 min.
        """
        n = max(1, math.ceil(self.step_h / _SUBSTEP_H - 1e-9))
        parts = (np.arange(n, dtype=np.float64) + 0.5) / n * self.step_h
        return np.asarray(self.hours[:, None] + parts[None, :], dtype=np.float64)

    def calendar(self, hours: FloatArray) -> tuple[FloatArray, FloatArray, IntArray]:
        """Day of year (1-based, fractional), hour of day and weekday (Monday 0) at ``hours``.

        Examples
        --------
        >>> grid = TimeGrid("2023-01-02", steps=1)  # a Monday
        >>> doy, hod, wd = grid.calendar(np.array([30.5]))
        >>> float(doy[0]), float(hod[0]), int(wd[0])
        (3.2708333333333335, 6.5, 1)
        """
        flat = np.asarray(hours, dtype=np.float64).ravel()
        times = self.times(flat)
        midnight = times.normalize()
        hour_of_day = np.asarray((times - midnight) / pd.Timedelta(hours=1), dtype=np.float64)
        day_of_year = times.day_of_year.to_numpy(dtype=np.float64) + hour_of_day / 24.0
        weekday = times.day_of_week.to_numpy(dtype=np.int64)
        shape = np.shape(hours)
        return (day_of_year.reshape(shape), hour_of_day.reshape(shape), weekday.reshape(shape))


def _whole_steps(hours: float, step_h: float) -> int:
    steps = round(hours / step_h)
    require(steps >= 1 and math.isclose(steps * step_h, hours, rel_tol=1e-9), "step_h",
            f"{step_h!r} h does not divide {hours:g} h into whole steps")
    return steps
