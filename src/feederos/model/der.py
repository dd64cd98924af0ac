"""Distributed energy resources: generators, PV, batteries, inverter controls, EV chargers.

PV and batteries are :class:`PowerElectronicsConnection` objects (CIM's name for an
inverter-connected unit). Their reactive power follows one mode: a fixed power factor,
a fixed kvar, or a volt-var curve; active power may be curtailed by a volt-watt curve
(IEEE 1547-2018, clause 5.3 and 5.4). Curves are named :class:`~feederos.model.profiles.Curve`
objects, attached either directly or through an :class:`InverterControl`.

Examples
--------
>>> pv = PowerElectronicsConnection(name="pv1", kind=DerKind.PV, terminal=Terminal(bus="675"),
...                                 v_kv=4.16, s_kva=500, p_kw=450)
>>> pv.q_mode
<ReactivePowerMode.POWER_FACTOR: 'power_factor'>
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator

from feederos.model._base import Connection, Element, Terminal

__all__ = [
    "BatteryDispatch",
    "BatteryState",
    "DerKind",
    "EVCharger",
    "Generator",
    "InverterControl",
    "InverterControlMode",
    "PowerElectronicsConnection",
    "ReactivePowerMode",
]


class DerKind(StrEnum):
    """What sits behind the inverter."""

    PV = "pv"
    BATTERY = "battery"


class ReactivePowerMode(StrEnum):
    """How an inverter sets its reactive power."""

    POWER_FACTOR = "power_factor"
    CONSTANT_Q = "constant_q"
    VOLT_VAR = "volt_var"


class BatteryDispatch(StrEnum):
    """What sets a battery's power in a time series."""

    FOLLOW = "follow"
    """Its shape: ``p_rated_kw`` × the multiplier, discharging when positive (OpenDSS
    ``dispmode=follow``)."""
    STATE = "state"
    """Its ``state`` and ``p_kw``, whatever its shapes (OpenDSS's default dispatch)."""


class BatteryState(StrEnum):
    """What a battery is doing."""

    CHARGING = "charging"
    DISCHARGING = "discharging"
    IDLE = "idle"


class _ShuntDevice(Element):
    terminal: Terminal = Field(description="Bus and nodes.")
    phases: int = Field(default=3, ge=1, le=3, description="Number of phases.")
    connection: Connection = Field(default=Connection.WYE, description="Wye or delta.")
    v_kv: float = Field(gt=0, description="Rated voltage as for loads [kV].")
    yearly_shape: str | None = Field(default=None, description="LoadShape for yearly runs.")
    daily_shape: str | None = Field(default=None, description="LoadShape for daily runs.")
    duty_shape: str | None = Field(default=None, description="LoadShape for duty-cycle runs.")


class Generator(_ShuntDevice):
    """A rotating or generic generator (OpenDSS Generator), injecting ``p_kw``."""

    p_kw: float = Field(ge=0, description="Active power output [kW].")
    q_kvar: float = Field(default=0.0, description="Reactive power output [kvar].")
    s_kva: float | None = Field(default=None, gt=0, description="Rating [kVA].")
    model: int = Field(default=1, ge=1, le=7, description="OpenDSS generator model code.")
    v_min_pu: float = Field(default=0.9, gt=0, description="Below this, constant Z [pu].")
    v_max_pu: float = Field(default=1.1, gt=0, description="Above this, constant Z [pu].")
    enabled: bool = Field(default=True, description="In service.")


class PowerElectronicsConnection(_ShuntDevice):
    """An inverter-based PV system or battery (OpenDSS PVSystem, Storage)."""

    kind: DerKind = Field(description="PV or battery.")
    s_kva: float = Field(gt=0, description="Inverter rating [kVA].")
    p_kw: float = Field(
        default=0.0, description="Active power output now; negative when charging [kW]."
    )
    p_rated_kw: float | None = Field(
        default=None, gt=0, description="PV array Pmpp or battery kW rating [kW]."
    )
    q_mode: ReactivePowerMode = Field(
        default=ReactivePowerMode.POWER_FACTOR, description="Reactive power mode."
    )
    pf: float = Field(default=1.0, ge=-1, le=1, description="Power factor (power_factor mode).")
    q_kvar: float = Field(default=0.0, description="Reactive power (constant_q mode) [kvar].")
    volt_var_curve: str | None = Field(default=None, description="Curve name (volt_var mode).")
    volt_watt_curve: str | None = Field(default=None, description="Curve name; None = off.")
    irradiance_kw_m2: float = Field(default=1.0, ge=0, description="PV irradiance now [kW/m²].")
    energy_kwh: float | None = Field(default=None, gt=0, description="Battery capacity [kWh].")
    soc_pct: float | None = Field(
        default=None, ge=0, le=100, description="Battery state of charge [%]."
    )
    reserve_pct: float = Field(default=20.0, ge=0, le=100, description="Battery reserve [%].")
    state: BatteryState = Field(default=BatteryState.IDLE, description="Battery state.")
    dispatch: BatteryDispatch = Field(
        default=BatteryDispatch.FOLLOW,
        description="Battery in a time series: follows its shape, or holds its state.",
    )
    idling_pct: float = Field(
        default=1.0, ge=0, le=100,
        description="Battery's own losses, % of p_rated_kw (OpenDSS %IdlingkW): drawn from "
        "the grid when idle, from the stored energy when working [%].",
    )
    efficiency_charge_pct: float = Field(default=90.0, gt=0, le=100, description="[%]")
    efficiency_discharge_pct: float = Field(default=90.0, gt=0, le=100, description="[%]")
    grid_forming: bool = Field(default=False, description="Sets voltage and frequency.")
    enabled: bool = Field(default=True, description="In service.")
    cut_in_pct: float | None = Field(
        default=None, ge=0,
        description="Power that turns the inverter on, % of s_kva; None = OpenDSS's "
        "default (20 for PV, 0 for a battery) [%].",
    )
    cut_out_pct: float | None = Field(
        default=None, ge=0,
        description="Power below which the inverter turns off, % of s_kva; None = OpenDSS's "
        "default (20 for PV, 0 for a battery) [%].",
    )
    kvar_max: float | None = Field(
        default=None, ge=0,
        description="Most reactive power delivered (OpenDSS kvarMax); None = s_kva [kvar].",
    )
    kvar_max_abs: float | None = Field(
        default=None, ge=0,
        description="Most reactive power absorbed (OpenDSS kvarMaxAbs); None = kvar_max, "
        "or s_kva when that is None too [kvar].",
    )
    v_min_pu: float = Field(
        default=0.9, gt=0, description="Below this, constant impedance (OpenDSS Vminpu) [pu]."
    )
    v_max_pu: float = Field(
        default=1.1, gt=0, description="Above this, constant impedance (OpenDSS Vmaxpu) [pu]."
    )
    p_max_pct: float = Field(
        default=100.0, ge=0,
        description="PV output limit, % of p_rated_kw (OpenDSS %Pmpp) [%].",
    )

    @model_validator(mode="after")
    def _battery_fields(self) -> PowerElectronicsConnection:
        if self.kind is DerKind.BATTERY and self.energy_kwh is None:
            raise ValueError("a battery needs energy_kwh")
        if self.q_mode is ReactivePowerMode.VOLT_VAR and self.volt_var_curve is None:
            raise ValueError("volt_var mode needs volt_var_curve")
        return self


class InverterControlMode(StrEnum):
    """OpenDSS InvControl modes."""

    VOLT_VAR = "voltvar"
    VOLT_WATT = "voltwatt"
    VOLT_VAR_VOLT_WATT = "voltvar_voltwatt"
    DYNAMIC_REACTIVE_CURRENT = "dynamicreaccurr"
    WATT_PF = "wattpf"
    WATT_VAR = "wattvar"


class InverterControl(Element):
    """A volt-var / volt-watt controller over a set of inverters (OpenDSS InvControl)."""

    der: list[str] = Field(
        default_factory=list, description="Controlled inverters as 'type.name'; empty = all."
    )
    mode: InverterControlMode = Field(description="Control function(s).")
    volt_var_curve: str | None = Field(default=None, description="Curve name, x in pu V.")
    volt_watt_curve: str | None = Field(default=None, description="Curve name, x in pu V.")
    settings: dict[str, str] = Field(
        default_factory=dict, description="Further settings kept as written."
    )


class EVCharger(Element):
    """An electric-vehicle charger: a controllable load up to ``p_max_kw``."""

    terminal: Terminal = Field(description="Bus and nodes.")
    phases: int = Field(default=1, ge=1, le=3, description="Number of phases.")
    connection: Connection = Field(default=Connection.WYE, description="Wye or delta.")
    v_kv: float = Field(gt=0, description="Rated voltage as for loads [kV].")
    p_max_kw: float = Field(gt=0, description="Maximum charging power [kW].")
    p_kw: float = Field(default=0.0, ge=0, description="Charging power now [kW].")
    pf: float = Field(default=1.0, gt=0, le=1, description="Power factor.")
    bidirectional: bool = Field(default=False, description="Can discharge to the grid (V2G).")
    schedule_shape: str | None = Field(default=None, description="LoadShape of charging.")
