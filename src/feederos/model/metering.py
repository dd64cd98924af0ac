"""Meters and monitors, kept as metadata for later studies (OpenDSS EnergyMeter, Monitor).

Examples
--------
>>> Meter(name="m1", kind=MeterKind.ENERGY_METER, element="line.sw1").terminal
1
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from feederos.model._base import Element

__all__ = ["Meter", "MeterKind"]


class MeterKind(StrEnum):
    """Energy meter (zone totals) or monitor (time series at a terminal)."""

    ENERGY_METER = "energymeter"
    MONITOR = "monitor"


class Meter(Element):
    """A measuring point on an element's terminal."""

    kind: MeterKind = Field(description="Energy meter or monitor.")
    element: str = Field(description="Metered element as 'type.name'.")
    terminal: int = Field(default=1, ge=1, description="Metered terminal (1-based).")
    settings: dict[str, str] = Field(
        default_factory=dict, description="Further settings kept as written."
    )
