"""Microgrid scenarios: the street's houses and assets, the weather, the outage.

A scenario is a JSON file (``scenarios/*.json`` at the repository root) read into
:class:`Scenario`; every field is checked, and an error names the file, the field and
what to change.

Examples
--------
>>> s = Scenario.model_validate({
...     "name": "tiny", "start": "2023-07-15T05:00", "duration_h": 1, "outage_start_h": 0.1,
...     "outage_end_h": 0.9, "weather": {"latitude_deg": 39.7, "longitude_deg": -105.2},
...     "anchor": {"house": "house01"},
...     "houses": [{"name": "house01", "peak_kw": 3.0, "critical_share": 0.4}]})
>>> s.steps, s.topology.value
(3600, 'transformer_island')
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from feederos.errors import FeederosError

__all__ = [
    "AnchorSpec",
    "BatterySpec",
    "EVSpec",
    "HouseSpec",
    "ParticipantSettings",
    "Scenario",
    "ScenarioError",
    "Topology",
    "WeatherSpec",
    "read_scenario",
]


class ScenarioError(FeederosError, ValueError):
    """A scenario file cannot be read; the message names the file, field and fix."""


class Topology(StrEnum):
    """How the street islands.

    ``transformer_island``: the street secondary behind its transformer, islanded by the
    microgrid interconnection device (the street breaker). ``mesh``: private cables
    between neighbouring houses, each house islanded by its own transfer switch.
    """

    TRANSFORMER_ISLAND = "transformer_island"
    MESH = "mesh"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BatterySpec(_Spec):
    """A participant's home battery (grid-following, self-consumption)."""

    p_kw: float = Field(gt=0, description="Charge and discharge rating [kW].")
    energy_kwh: float = Field(gt=0, description="Usable energy [kWh].")
    soc_pct: float = Field(ge=0, le=100, description="State of charge at the start [%].")
    soc_min_pct: float = Field(default=10.0, ge=0, le=100, description="Floor [%].")
    efficiency_pct: float = Field(
        default=95.0, gt=0, le=100, description="One-way (charge or discharge) efficiency [%]."
    )


class EVSpec(_Spec):
    """One EV charging session, a deferrable load on the house's EV circuit."""

    p_kw: float = Field(gt=0, description="Charger rating [kW].")
    arrival_h: float = Field(ge=0, description="Plug-in, hours after the scenario start [h].")
    departure_h: float = Field(gt=0, description="Unplug, hours after the start [h].")
    energy_kwh: float = Field(gt=0, description="Energy the driver wants by departure [kWh].")


class HouseSpec(_Spec):
    """A house: its load (split into critical and non-critical circuits) and assets."""

    name: str = Field(description="Bus of the street network, e.g. house03.")
    peak_kw: float = Field(gt=0, description="Peak of the household load profile [kW].")
    critical_share: float = Field(
        ge=0,
        le=1,
        description="Share of the load on the critical circuit (c0: fridge, lights, medical) [pu].",
    )
    pv_kw: float = Field(default=0.0, ge=0, description="PV rating (DC at STC) [kW].")
    battery: BatterySpec | None = None
    ev: EVSpec | None = None


class AnchorSpec(_Spec):
    """The grid-forming anchor battery inverter."""

    house: str = Field(description="House it sits at.")
    s_kva: float = Field(default=30.0, gt=0, description="Inverter rating [kVA].")
    energy_kwh: float = Field(default=60.0, gt=0, description="Usable energy [kWh].")
    soc_pct: float = Field(default=80.0, ge=0, le=100, description="SOC at the start [%].")
    reserve_pct: float = Field(
        default=20.0, ge=0, le=100, description="Reserve kept for critical loads [%]."
    )
    soc_min_pct: float = Field(
        default=5.0, ge=0, le=100, description="Hard floor; below it the anchor stops [%]."
    )
    efficiency_pct: float = Field(default=95.0, gt=0, le=100, description="One-way efficiency [%].")
    grid_charge_kw: float = Field(
        default=10.0, ge=0, description="Charging power from the grid when connected [kW]."
    )
    black_start_s: float = Field(
        default=5.0,
        ge=0,
        le=600,
        description="Time from the "
        "loss of the grid to an energised island (detect, open the "
        "interconnection device, soft-start) [s].",
    )


class ParticipantSettings(_Spec):
    """IEEE 1547-2018 settings of the participants' inverters (defaults: the standard's).

    Frequency-droop: clause 6.5.2.7 (``dbOF`` 0.036 Hz, ``kOF`` 0.05,
    small-signal open-loop response time 5 s, for Categories I, II and III). Enter
    service: clause 4.10.2 (frequency 59.5–60.1 Hz, voltage 0.917–1.05 pu,
    intentional delay 300 s in 0–600 s) and clause 4.10.3 (a ramp over the enter-service
    period, 300 s by default). The fields' bounds are the widest adjustment ranges across
    the three categories; the enter-service voltage and frequency windows are fixed at
    the defaults.
    """

    db_of_hz: float = Field(default=0.036, ge=0.017, le=1.0, description="dbOF [Hz].")
    k_of: float = Field(default=0.05, ge=0.02, le=0.05, description="kOF [pu].")
    response_time_s: float = Field(
        default=5.0, ge=0.2, le=10.0, description="Open-loop response time (90 %) [s]."
    )
    enter_service_delay_s: float = Field(
        default=300.0, ge=0, le=600, description="Intentional delay [s]."
    )
    enter_service_ramp_s: float = Field(
        default=300.0, ge=1, le=1000, description="Enter-service period [s]."
    )


class WeatherSpec(_Spec):
    """The site and its sky (clear-sky pvlib model times a Markov cloud model)."""

    latitude_deg: float = Field(ge=-90, le=90)
    longitude_deg: float = Field(ge=-180, le=180)
    utc_offset_h: float | None = Field(
        default=None, ge=-12, le=14, description="Local standard time offset [h]."
    )
    cloudiness: float = Field(default=0.2, ge=0, le=1, description="0 clear .. 1 overcast.")


class Scenario(_Spec):
    """A microgrid scenario (see the module docstring)."""

    name: str
    description: str = ""
    topology: Topology = Topology.TRANSFORMER_ISLAND
    start: str = Field(description="Local standard time of step 0, ISO 8601, no zone.")
    duration_h: float = Field(gt=0, le=24 * 7, description="Length of the run [h].")
    step_s: float = Field(default=1.0, gt=0, le=60, description="Step [s].")
    outage_start_h: float = Field(ge=0, description="Utility lost, after the start [h].")
    outage_end_h: float = Field(gt=0, description="Utility back, after the start [h].")
    seed: int = Field(default=0, ge=0, description="Seed of the load and cloud profiles.")
    weather: WeatherSpec
    anchor: AnchorSpec
    participants: ParticipantSettings = ParticipantSettings()
    houses: list[HouseSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if not self.outage_start_h < self.outage_end_h:
            raise ValueError(
                f"outage_start_h ({self.outage_start_h}) must be before "
                f"outage_end_h ({self.outage_end_h})"
            )
        names = [h.name for h in self.houses]
        if len(set(names)) != len(names):
            raise ValueError(f"houses: duplicate names in {names}")
        if self.anchor.house not in names:
            raise ValueError(f"anchor.house {self.anchor.house!r} is not one of the houses {names}")
        for h in self.houses:
            if h.ev is not None and h.ev.departure_h <= h.ev.arrival_h:
                raise ValueError(f"houses[{h.name}].ev: departure_h must be after arrival_h")
        pd.Timestamp(self.start)
        return self

    @property
    def steps(self) -> int:
        """Number of steps."""
        return round(self.duration_h * 3600.0 / self.step_s)


def read_scenario(path: str | Path) -> Scenario:
    """Read and check a scenario file.

    Raises
    ------
    ScenarioError
        If the file is missing, not JSON, or a field is wrong (named with its path).
    """
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{file}: no such scenario file") from None
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"{file}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(scenario)'}: {e['msg']}"
            for e in exc.errors()
        )
        raise ScenarioError(f"{file}: {problems}") from None
