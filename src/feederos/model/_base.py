"""Building blocks shared by every element of the network model.

Conventions, stated once for the whole model (see ``docs/nomenclature.md``):

- Voltages in kV, powers in kW / kvar / kVA, lengths in km, per-length impedances in
  Ω/km and capacitances in nF/km, angles in degrees, durations in hours unless a name
  says ``_s``. Per-unit values end in ``_pu``.
- A three-phase rated voltage (``v_kv``) is line-to-line; a single-phase one is the
  voltage across the element (line-to-neutral for wye, line-to-line for delta), as in
  OpenDSS.
- Load sign convention: loads consume positive ``p_kw``; sources, generators, PV and
  discharging batteries inject positive ``p_kw``.
- A :class:`Terminal` names a bus and the nodes (1, 2, 3 = phases A, B, C; 0 = ground;
  4 and up = other conductors such as a neutral) each conductor lands on.

Examples
--------
>>> t = Terminal(bus="632", nodes=(1, 2, 3))
>>> str(t)
'632.1.2.3'
>>> Terminal.parse("671.1.3")
Terminal(bus='671', nodes=(1, 3))
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Connection",
    "Element",
    "ElementName",
    "Name",
    "ReliabilityData",
    "StrictModel",
    "Terminal",
]

Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\s\.]+$")]
"""A bus name: non-empty, no whitespace, no dots (dots separate nodes)."""

ElementName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^\S+$")]
"""An element name: non-empty, no whitespace; dots allowed (OpenDSS's ``LineCode.2c_.007``)."""


class StrictModel(BaseModel):
    """Base of every model class: unknown fields are errors, values are revalidated."""

    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, allow_inf_nan=False, use_enum_values=False
    )


class Connection(StrEnum):
    """How a multi-conductor element is connected: wye (star) or delta.

    A wye element is grounded when its neutral lands on node 0 (the default); a
    neutral on another node is floating or grounded through that bus.
    """

    WYE = "wye"
    DELTA = "delta"


class Terminal(StrictModel):
    """Where one end of an element connects: a bus and one node per conductor.

    ``nodes`` lists the phase conductors first; for a wye element a trailing extra
    entry is its neutral (absent means node 0, ground).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    bus: Name = Field(description="Bus name.")
    nodes: tuple[int, ...] = Field(
        default=(1, 2, 3), description="Node number of each conductor (0 = ground)."
    )

    def __str__(self) -> str:
        return ".".join([self.bus, *(str(n) for n in self.nodes)])

    @classmethod
    def parse(cls, text: str, *, default_nodes: tuple[int, ...] = (1, 2, 3)) -> Terminal:
        """Read OpenDSS's ``bus.node.node`` notation.

        Examples
        --------
        >>> Terminal.parse("650", default_nodes=(1, 2, 3)).nodes
        (1, 2, 3)
        """
        bus, *rest = text.split(".")
        nodes = tuple(int(n) for n in rest if n != "") if rest else default_nodes
        return cls(bus=bus, nodes=nodes)


class ReliabilityData(StrictModel):
    """Failure and restoration data used by reliability studies (IEEE 1366 indices)."""

    failure_rate_per_year: float | None = Field(
        default=None, ge=0, description="Permanent failures per year of the element [1/yr]."
    )
    failure_rate_per_km_year: float | None = Field(
        default=None, ge=0, description="Permanent failures per km and year (lines) [1/(km·yr)]."
    )
    repair_h: float | None = Field(default=None, ge=0, description="Mean time to repair [h].")
    switching_h: float | None = Field(
        default=None, ge=0, description="Time to isolate and switch around a fault [h]."
    )


class Element(StrictModel):
    """Anything with a name in the network model."""

    name: ElementName = Field(description="Unique name within the element's collection.")
    description: str | None = Field(default=None, description="Free text.")
