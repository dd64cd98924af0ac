"""The orchestrator's config: the street's houses, anchor and the control's thresholds.

A pydantic model validated at the app's boundary (``on_start``/``on_config``); its
JSON Schema (``OrchestratorConfig.model_json_schema()``) can serve as the app's
``config.schema.json``. :func:`streetgrid_config` is the StreetGrid street of
:func:`feederos.feeders.streetgrid.streetgrid_street` (same loads, PV, batteries, EV).

Examples
--------
>>> c = streetgrid_config()
>>> [h.asset for h in c.houses][:3], c.anchor.energy_kwh
(['house01', 'house02', 'house03'], 60.0)
>>> c.houses[3].circuits_kw  # house04: critical, two household circuits, its EV
[0.4, 1.44, 0.96, 7.2]
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from feederos.control.microgrid.states import StateLimits

__all__ = ["AnchorConfig", "HouseConfig", "LimitsConfig", "OrchestratorConfig", "streetgrid_config"]

_Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_:\-]{0,120}$")]
_NonNeg = Annotated[float, Field(ge=0.0)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class HouseConfig(_Model):
    """One participating house."""

    asset: _Id = Field(description="Asset id of its node, e.g. house03; relays are <asset>.cK")
    circuits_kw: list[_NonNeg] = Field(
        min_length=1,
        max_length=4,
        description="Nominal demand of circuits c0..c3 [kW]; c0 is critical and never shed",
    )
    rating_kw: float = Field(24.0, gt=0, description="Largest plausible |P| (100 A at 240 V) [kW]")
    pv_kw: _NonNeg = Field(0.0, description="PV rating [kW]")
    pv_forecast_kw: _NonNeg = Field(0.0, description="PV expected over the horizon [kW]")
    battery_kwh: _NonNeg = Field(0.0, description="Home battery energy [kWh]")
    battery_kw: _NonNeg = Field(0.0, description="Home battery power [kW]")


class AnchorConfig(_Model):
    """The grid-forming anchor battery."""

    asset: _Id = "anchor"
    energy_kwh: float = Field(60.0, gt=0, description="Usable energy [kWh]")
    p_rated_kw: float = Field(30.0, gt=0, description="Power rating [kW]")
    f_band_hz: float = Field(0.5, gt=0, description="Frequency deviation still good [Hz]")


class LimitsConfig(_Model):
    """Thresholds of the state machine (see :class:`~.states.StateLimits`)."""

    islanding_s: _NonNeg = 2.0
    black_start_s: _NonNeg = 5.0
    grid_stable_s: _NonNeg = 60.0
    resync_s: _NonNeg = 10.0
    scarcity_h: _NonNeg = 4.0
    shed_h: _NonNeg = 2.0
    restore_h: _NonNeg = 3.0
    hysteresis_h: _NonNeg = 0.5
    min_shed_s: _NonNeg = 60.0
    reserve_pct: Annotated[float, Field(ge=0.0, le=100.0)] = 20.0

    def state_limits(self) -> StateLimits:
        """The limits as the state machine takes them."""
        return StateLimits(**self.model_dump())


class OrchestratorConfig(_Model):
    """Everything the StreetGrid orchestrator needs to know."""

    houses: list[HouseConfig] = Field(min_length=1)
    anchor: AnchorConfig = AnchorConfig()
    grid_asset: _Id = "grid"
    limits: LimitsConfig = LimitsConfig()
    v_nominal_v: float = Field(120.0, gt=0, description="Line-to-neutral base of node voltages")
    horizon_h: float = Field(3.0, gt=0, description="Dispatch horizon [h]")
    base_weight_kw: _NonNeg = Field(1.0, description="Fair-share weight of a house with nothing")
    restore_margin: _NonNeg = Field(0.2, description="Headroom a shed circuit needs to return")
    restores_per_tick: int = Field(1, ge=1, description="Circuits closed per evaluation")
    min_switch_interval_s: _NonNeg = Field(30.0, description="Least time between switchings")
    stale_s: float = Field(10.0, gt=0, description="Age after which a report is missing [s]")
    command_expires_s: float | None = Field(None, gt=0, description="Lapse of commands [s]")
    stuck_n: int = Field(10, ge=2, description="Identical reports in a row that mean stuck")
    confirm_n: int = Field(3, ge=1, description="Suspect rounds in a row before flagging")
    balance_tol_kw: _NonNeg = 0.5
    balance_tol_pct: _NonNeg = 5.0

    @model_validator(mode="after")
    def _check(self) -> Self:
        assets = [h.asset for h in self.houses]
        if len(set(assets)) != len(assets):
            raise ValueError(f"houses: asset ids repeat: {assets}")
        self.limits.state_limits()  # raises on inconsistent thresholds
        return self


# StreetGrid's houses 1..10 (feederos.feeders.streetgrid): household load, PV, EV.
_LOAD_KW = (3.2, 2.1, 4.5, 2.8, 1.9, 3.6, 2.4, 4.1, 1.2, 3.0)
_PV_KW = (0.0, 6.0, 4.5, 7.6, 3.2, 8.0, 5.4, 3.0, 6.8, 4.0)
_BATTERY = {3: (5.0, 13.5), 5: (5.0, 13.5), 7: (5.0, 13.5), 9: (5.0, 13.5)}
_EV_KW = {4: 7.2, 8: 7.2}
_CRITICAL_KW = 0.4  # fridge, medical devices, router: what must stay on


def streetgrid_config() -> OrchestratorConfig:
    """The StreetGrid street's config: per house c0 critical (0.4 kW), the rest of its
    load split 60/40 over c1 (lights, plugs) and c2 (appliances), its EV on c3."""
    houses = []
    for h in range(1, 11):
        rest = _LOAD_KW[h - 1] - _CRITICAL_KW
        b_kw, b_kwh = _BATTERY.get(h, (0.0, 0.0))
        houses.append(
            HouseConfig(
                asset=f"house{h:02d}",
                circuits_kw=[
                    _CRITICAL_KW,
                    round(0.6 * rest, 2),
                    round(0.4 * rest, 2),
                    _EV_KW.get(h, 0.0),
                ],
                pv_kw=_PV_KW[h - 1],
                battery_kwh=b_kwh,
                battery_kw=b_kw,
            )
        )
    return OrchestratorConfig(houses=houses)
