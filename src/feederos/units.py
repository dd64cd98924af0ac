"""Length units and conversions, re-exported from :mod:`feederos.model.units`.

The table lives in the model package (which imports nothing else of ours) so that the
model can use it; this module is the public, top-level name.

Examples
--------
>>> from feederos.units import LengthUnit, to_km
>>> to_km(1.0, LengthUnit.MI)
1.609344
"""

from __future__ import annotations

from feederos.model.units import (
    METERS_PER_UNIT,
    LengthUnit,
    to_km,
    to_m,
    to_per_km,
    to_per_m,
)

__all__ = ["METERS_PER_UNIT", "LengthUnit", "to_km", "to_m", "to_per_km", "to_per_m"]
