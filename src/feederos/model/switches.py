"""Switching and protective devices (CIM Switch, Breaker, Fuse, Recloser).

Two kinds of object, because feeders describe them two ways:

- :class:`Switch` is a device in its own right between two buses (a tie switch, a
  breaker, a sectionaliser). When closed it is a very small impedance.
- :class:`ProtectiveDevice` sits on an existing branch and opens it when it operates
  (how OpenDSS describes fuses, reclosers and relays: by the element they monitor).

Both carry normal and present state and the reliability data (failure rate, repair
and switching times) that IEEE 1366 studies need.

Examples
--------
>>> sw = Switch(name="sw1", bus1=Terminal(bus="150r"), bus2=Terminal(bus="149"),
...             normal_open=True)
>>> sw.open
True
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator

from feederos.model._base import Element, ReliabilityData, Terminal

__all__ = ["ProtectiveDevice", "ProtectiveDeviceKind", "Switch", "SwitchKind"]


class SwitchKind(StrEnum):
    """What a standalone switching device is."""

    SWITCH = "switch"
    BREAKER = "breaker"
    FUSE = "fuse"
    RECLOSER = "recloser"
    SECTIONALIZER = "sectionalizer"


class ProtectiveDeviceKind(StrEnum):
    """What a device sitting on a branch is."""

    FUSE = "fuse"
    RECLOSER = "recloser"
    RELAY = "relay"


class Switch(Element):
    """A switching device between two buses.

    ``open`` is the present state; it defaults to ``normal_open``.
    ``r_ohm``/``x_ohm`` are the closed device's series impedance per phase, kept
    small but non-zero so that the admittance matrix stays finite.
    """

    kind: SwitchKind = Field(default=SwitchKind.SWITCH, description="Device type.")
    bus1: Terminal = Field(description="First terminal.")
    bus2: Terminal = Field(description="Second terminal.")
    phases: int = Field(default=3, ge=1, le=3, description="Number of phases.")
    normal_open: bool = Field(default=False, description="Open in the normal configuration.")
    open: bool = Field(default=False, description="Open now.")
    rated_current_a: float | None = Field(default=None, gt=0, description="Rating [A].")
    breaking_current_a: float | None = Field(
        default=None, gt=0, description="Interrupting rating [A]."
    )
    r_ohm: float = Field(default=1e-3, ge=0, description="Closed series resistance [Ω].")
    x_ohm: float = Field(default=0.0, ge=0, description="Closed series reactance [Ω].")
    r0_ohm: float | None = Field(default=None, ge=0, description="Zero-seq. R; None = r_ohm [Ω].")
    x0_ohm: float | None = Field(default=None, ge=0, description="Zero-seq. X; None = x_ohm [Ω].")
    c_nf: float = Field(
        default=0.0, ge=0, description="Shunt capacitance, total (positive sequence) [nF]."
    )
    c0_nf: float | None = Field(
        default=None, ge=0, description="Zero-sequence shunt capacitance; None = c_nf [nF]."
    )
    remote_controlled: bool = Field(default=False, description="Operable by SCADA (FLISR).")
    reliability: ReliabilityData | None = Field(default=None, description="Failure data.")

    @model_validator(mode="before")
    @classmethod
    def _open_defaults_to_normal(cls, data: Any) -> Any:
        if isinstance(data, dict) and "open" not in data and data.get("normal_open"):
            return {**data, "open": True}
        return data


class ProtectiveDevice(Element):
    """A fuse, recloser or relay on a branch, opening it when it operates."""

    kind: ProtectiveDeviceKind = Field(description="Device type.")
    element: str = Field(description="Protected branch as 'type.name', e.g. 'line.ln5710794-1'.")
    terminal: int = Field(default=1, ge=1, description="Terminal of the branch it sits at.")
    rated_current_a: float | None = Field(default=None, gt=0, description="Rating [A].")
    curve: str | None = Field(default=None, description="Time-current curve name.")
    normal_open: bool = Field(default=False, description="Open in the normal configuration.")
    open: bool = Field(default=False, description="Open now (blown or locked out).")
    reliability: ReliabilityData | None = Field(default=None, description="Failure data.")
    settings: dict[str, str] = Field(
        default_factory=dict, description="Further device settings kept as written."
    )
