"""Quasi-static time series: loads follow their shapes, controls act step by step.

:func:`run` steps a network through time as OpenDSS's yearly and daily modes do (see
:mod:`feederos.timeseries.run`); :mod:`feederos.timeseries.profiles` evaluates load
shapes.
"""

from feederos.timeseries.profiles import shape_multipliers
from feederos.timeseries.run import TimeSeriesResult, run

__all__ = ["TimeSeriesResult", "run", "shape_multipliers"]
