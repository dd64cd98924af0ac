"""Capacitor banks with their controls, and reactors (CIM LinearShuntCompensator).

Examples
--------
>>> cap = LinearShuntCompensator(name="cap1", terminal=Terminal(bus="675"), v_kv=4.16,
...                              q_kvar=[600.0])
>>> cap.states
[1]
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator

from feederos.model._base import Connection, Element, StrictModel, Terminal

__all__ = ["CapacitorControl", "CapacitorControlMode", "LinearShuntCompensator", "Reactor"]


class CapacitorControlMode(StrEnum):
    """What a capacitor control senses (OpenDSS CapControl ``type``)."""

    VOLTAGE = "voltage"
    KVAR = "kvar"
    CURRENT = "current"
    PF = "pf"
    TIME = "time"


class CapacitorControl(StrictModel):
    """Automatic switching of a capacitor bank (OpenDSS CapControl).

    ``on_setting``/``off_setting`` are in the sensed quantity: volts on the PT
    secondary (voltage), kvar (kvar), amps on the CT secondary (current), or power
    factor (pf, with OpenDSS's convention of values above 1 for leading).
    """

    name: str = Field(min_length=1, description="Name of the control.")
    mode: CapacitorControlMode = Field(description="Sensed quantity.")
    element: str = Field(description="Monitored element as 'type.name', e.g. 'line.l115'.")
    terminal: int = Field(default=1, ge=1, description="Monitored terminal (1-based).")
    on_setting: float = Field(description="Value that switches the bank on.")
    off_setting: float = Field(description="Value that switches the bank off.")
    pt_ratio: float = Field(default=60.0, gt=0, description="Potential transformer ratio.")
    ct_ratio: float = Field(default=60.0, gt=0, description="Current transformer ratio.")
    pt_phase: str = Field(default="1", description="Sensed phase: 1, 2, 3, avg, max or min.")
    delay_s: float = Field(default=15.0, ge=0, description="Delay before switching on [s].")
    delay_off_s: float = Field(default=15.0, ge=0, description="Delay before switching off [s].")
    dead_time_s: float = Field(default=300.0, ge=0, description="Lockout after switching off [s].")
    v_min_v: float | None = Field(default=None, gt=0, description="Voltage override low [V].")
    v_max_v: float | None = Field(default=None, gt=0, description="Voltage override high [V].")
    voltage_override: bool = Field(default=False, description="Use v_min_v/v_max_v override.")
    enabled: bool = Field(default=True, description="Whether the control acts.")


class LinearShuntCompensator(Element):
    """A capacitor bank of one or more steps (OpenDSS Capacitor)."""

    terminal: Terminal = Field(description="Bus and nodes.")
    terminal2: Terminal | None = Field(
        default=None, description="Second terminal for an ungrounded or series bank."
    )
    phases: int = Field(default=3, ge=1, le=3, description="Number of phases.")
    connection: Connection = Field(default=Connection.WYE, description="Wye or delta.")
    v_kv: float = Field(gt=0, description="Rated voltage as for loads [kV].")
    q_kvar: list[float] = Field(min_length=1, description="Rating of each step [kvar].")
    states: list[int] = Field(default_factory=list, description="1 = step in, 0 = out.")
    r_ohm: float = Field(default=0.0, ge=0, description="Series resistance per phase [Ω].")
    x_ohm: float = Field(default=0.0, ge=0, description="Series reactance per phase [Ω].")
    control: CapacitorControl | None = Field(default=None, description="Automatic control.")

    @model_validator(mode="before")
    @classmethod
    def _all_steps_in_by_default(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("states") and isinstance(
            data.get("q_kvar"), list
        ):
            return {**data, "states": [1] * len(data["q_kvar"])}
        return data

    @model_validator(mode="after")
    def _one_state_per_step(self) -> LinearShuntCompensator:
        if len(self.states) != len(self.q_kvar) or any(s not in (0, 1) for s in self.states):
            raise ValueError("states needs one 0 or 1 per step of q_kvar")
        return self


class Reactor(Element):
    """A shunt or series reactor/resistor (OpenDSS Reactor).

    With ``bus2`` it is in series between two buses; without, it is a shunt to ground
    (or to the wye neutral given in the terminal).
    """

    bus1: Terminal = Field(description="First terminal.")
    bus2: Terminal | None = Field(default=None, description="Second terminal (series).")
    phases: int = Field(default=3, ge=1, le=3, description="Number of phases.")
    connection: Connection = Field(default=Connection.WYE, description="Shunt connection.")
    r_ohm: float = Field(default=0.0, ge=0, description="Resistance per phase [Ω].")
    x_ohm: float = Field(default=0.0, ge=0, description="Reactance per phase [Ω].")
    rp_ohm: float | None = Field(default=None, gt=0, description="Parallel resistance [Ω].")
