"""Length units as OpenDSS names them, and conversion to metres and kilometres.

OpenDSS gives lengths, radii and per-length resistances in one of nine units
(``Runits``, ``GMRunits``, ``radunits``, ``units``); ``none`` means "no unit", which
OpenDSS treats as metres for conversions (factor 1). The factors are exact by the
definitions of the international foot and mile.

Examples
--------
>>> to_m(1.0, LengthUnit.KFT)
304.8
>>> to_km(2.0, "mi")
3.218688
>>> round(to_per_km(0.306, LengthUnit.MI), 6)  # 0.306 ohm/mi in ohm/km
0.19014
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

__all__ = ["METERS_PER_UNIT", "LengthUnit", "to_km", "to_m", "to_per_km", "to_per_m"]


class LengthUnit(StrEnum):
    """A length unit by its OpenDSS name."""

    NONE = "none"
    MI = "mi"
    KFT = "kft"
    KM = "km"
    M = "m"
    FT = "ft"
    IN = "in"
    CM = "cm"
    MM = "mm"


METERS_PER_UNIT: Mapping[LengthUnit, float] = MappingProxyType(
    {
        LengthUnit.NONE: 1.0,
        LengthUnit.MI: 1609.344,
        LengthUnit.KFT: 304.8,
        LengthUnit.KM: 1000.0,
        LengthUnit.M: 1.0,
        LengthUnit.FT: 0.3048,
        LengthUnit.IN: 0.0254,
        LengthUnit.CM: 0.01,
        LengthUnit.MM: 0.001,
    }
)
"""Metres in one of each unit [m/unit]."""


def _unit(unit: LengthUnit | str) -> LengthUnit:
    return LengthUnit(unit.lower()) if isinstance(unit, str) else unit


def to_m(value: float, unit: LengthUnit | str) -> float:
    """Convert a length to metres.

    Parameters
    ----------
    value
        The length in ``unit``.
    unit
        Its unit (a :class:`LengthUnit` or its OpenDSS name, any case).

    Returns
    -------
    float
        The length [m].

    Examples
    --------
    >>> to_m(3.0, "ft")
    0.9144000000000001
    """
    return value * METERS_PER_UNIT[_unit(unit)]


def to_km(value: float, unit: LengthUnit | str) -> float:
    """Convert a length to kilometres [km].

    Examples
    --------
    >>> to_km(500.0, LengthUnit.FT)
    0.1524
    """
    return value * METERS_PER_UNIT[_unit(unit)] / 1000.0


def to_per_m(value: float, unit: LengthUnit | str) -> float:
    """Convert a per-length quantity (e.g. Ω/unit) to per metre [1/m].

    Examples
    --------
    >>> to_per_m(1.0, "km")
    0.001
    """
    return value / METERS_PER_UNIT[_unit(unit)]


def to_per_km(value: float, unit: LengthUnit | str) -> float:
    """Convert a per-length quantity (e.g. Ω/unit) to per kilometre [1/km].

    Examples
    --------
    >>> round(to_per_km(1.0, "kft"), 9)  # 1 Ω/kft in Ω/km
    3.280839895
    """
    return value / METERS_PER_UNIT[_unit(unit)] * 1000.0
