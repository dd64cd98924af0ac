"""Buses: the connection points of the network.

Examples
--------
>>> Bus(name="650", v_base_kv=4.16, x=0.0, y=0.0).v_base_ln_kv
2.4017771198288433
"""

from __future__ import annotations

import math

from pydantic import Field

from feederos.model._base import Name, StrictModel

__all__ = ["Bus"]


class Bus(StrictModel):
    """A bus (CIM ConnectivityNode) with its voltage base and map position."""

    name: Name = Field(description="Unique bus name.")
    v_base_kv: float | None = Field(
        default=None, gt=0, description="Line-to-line voltage base [kV]; None = unknown."
    )
    x: float | None = Field(default=None, description="Map x coordinate (or longitude).")
    y: float | None = Field(default=None, description="Map y coordinate (or latitude).")

    @property
    def v_base_ln_kv(self) -> float | None:
        """Line-to-neutral voltage base [kV]."""
        return None if self.v_base_kv is None else self.v_base_kv / math.sqrt(3.0)
