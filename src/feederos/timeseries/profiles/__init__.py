"""Profiles for quasi-static time series: load shapes, PV output, EV charging, batteries.

- :mod:`~feederos.timeseries.profiles.shapes`: evaluate a load shape at given hours as
  OpenDSS's ``LoadShape.GetMult`` does.
- :mod:`~feederos.timeseries.profiles.timegrid`: the evenly spaced local-time steps every
  generator fills.
- :mod:`~feederos.timeseries.profiles.files`: load shapes from CSV and Parquet files.
- :mod:`~feederos.timeseries.profiles.classes`: generated shapes by customer class, and
  their assignment to every load of a network by feeder profile.
- :mod:`~feederos.timeseries.profiles.pv`: clear-sky plane-of-array irradiance (pvlib)
  times a Markov cloud model.
- :mod:`~feederos.timeseries.profiles.ev`: EV charging sessions and charging power.
- :mod:`~feederos.timeseries.profiles.battery`: battery dispatch schedules.

Every generator takes a ``seed`` and is reproducible with it.

Examples
--------
>>> from feederos.model import LoadShape
>>> shape_multipliers(LoadShape(name="s", p_mult=[0.5, 1.0]), [1.0, 2.0]).tolist()
[0.5, 1.0]
"""

from feederos.timeseries.profiles.battery import (
    Battery,
    BatteryMode,
    BatterySchedule,
    battery_schedule,
)
from feederos.timeseries.profiles.classes import (
    CLASS_SHAPES,
    Bump,
    ClassShape,
    assign_class_shapes,
    class_multipliers,
    class_shape,
    classes_from_mix,
)
from feederos.timeseries.profiles.ev import (
    SESSION_COLUMNS,
    ChargingPolicy,
    EVSessionModel,
    assign_ev_shapes,
    charger_sessions,
    ev_charger_shapes,
    ev_charging_kw,
    ev_sessions,
)
from feederos.timeseries.profiles.files import read_load_shape
from feederos.timeseries.profiles.pv import (
    ClearSkyModel,
    CloudModel,
    clear_sky_index,
    clear_sky_poa_kw_m2,
    pv_shape,
    read_pv_shape,
)
from feederos.timeseries.profiles.shapes import shape_multipliers
from feederos.timeseries.profiles.timegrid import TimeGrid

__all__ = [
    "CLASS_SHAPES",
    "SESSION_COLUMNS",
    "Battery",
    "BatteryMode",
    "BatterySchedule",
    "Bump",
    "ChargingPolicy",
    "ClassShape",
    "ClearSkyModel",
    "CloudModel",
    "EVSessionModel",
    "TimeGrid",
    "assign_class_shapes",
    "assign_ev_shapes",
    "battery_schedule",
    "charger_sessions",
    "class_multipliers",
    "class_shape",
    "classes_from_mix",
    "clear_sky_index",
    "clear_sky_poa_kw_m2",
    "ev_charger_shapes",
    "ev_charging_kw",
    "ev_sessions",
    "pv_shape",
    "read_load_shape",
    "read_pv_shape",
    "shape_multipliers",
]
