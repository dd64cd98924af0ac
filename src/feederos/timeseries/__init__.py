"""Quasi-static time series: loads follow their shapes, controls act step by step.

:func:`run` steps a network through time as OpenDSS's yearly and daily modes do (see
:mod:`feederos.timeseries.run`), recording chosen node voltages and element currents
(:class:`Record`); :mod:`feederos.timeseries.profiles` evaluates load shapes.
"""

from feederos.timeseries.profiles import (
    Battery,
    BatteryMode,
    ChargingPolicy,
    TimeGrid,
    assign_class_shapes,
    assign_ev_shapes,
    battery_schedule,
    class_shape,
    ev_charging_kw,
    ev_sessions,
    pv_shape,
    read_load_shape,
    shape_multipliers,
)
from feederos.timeseries.recording import Record
from feederos.timeseries.run import TimeSeriesResult, run

__all__ = [
    "Battery",
    "BatteryMode",
    "ChargingPolicy",
    "Record",
    "TimeGrid",
    "TimeSeriesResult",
    "assign_class_shapes",
    "assign_ev_shapes",
    "battery_schedule",
    "class_shape",
    "ev_charging_kw",
    "ev_sessions",
    "pv_shape",
    "read_load_shape",
    "run",
    "shape_multipliers",
]
