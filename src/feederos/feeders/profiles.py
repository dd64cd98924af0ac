"""Feeder profiles: what a typical rural, suburban and urban North American feeder is like.

A :class:`FeederProfile` gathers the statistics the synthetic generator
(:func:`feederos.feeders.generate_feeder`) draws from: load mix, trunk length, primary
voltage, customers per service transformer, demand per customer, reliability targets
and data, DER and EV penetration, overhead share and lateral phasing.

The numbers are plausible central values, not measurements of one utility. Their
sources:

- Load mix, primary voltage, feeder length and size: the prototypical feeder taxonomy of
  Schneider et al., *Modern Grid Initiative Distribution Taxonomy Final Report*,
  PNNL-18035, Pacific Northwest National Laboratory, 2008 (24 prototypical feeders,
  classes R1–R5 and GC; 12.47 kV dominates, with 13.2/13.8 kV in dense areas and
  24.9 kV in some rural and suburban systems).
- Customers per transformer and demand per customer: Kersting, *Distribution System
  Modeling and Analysis*, 4th ed., CRC Press, 2017, ch. 2 (diversified demand of
  residential customers, 5–15 kW per house before diversity, a few kW after it) and the
  IEEE 8500-node test feeder (Arritt and Dugan, IEEE PES T&D 2010: 1177 service
  transformers, 15–50 kVA, ≈ 1 customer each in a rural-suburban layout).
- SAIDI and SAIFI bounds: IEEE Std 1366-2022, *Guide for Electric Power Distribution
  Reliability Indices*, and the IEEE DRWG annual benchmarking (median SAIDI ≈ 100–130
  min/yr, SAIFI ≈ 1.0–1.3 /yr excluding major event days; rural cooperatives at the
  upper quartile and beyond, dense urban networks at the lower).
- Failure and repair data: Billinton and Allan, *Reliability Evaluation of Power
  Systems*, 2nd ed., Plenum, 1996, and the RBTS distribution data (Allan, Billinton,
  Sjarief, Goel and So, IEEE Trans. Power Systems 6(2), 1991: 0.065 failures/(km·yr)
  and 5 h repair on lines; 1 h switching); Brown, *Electric Power Distribution
  Reliability*, 2nd ed., CRC Press, 2009, table 4.3 (overhead primary 0.03–0.3
  /(km·yr) by exposure, cables 0.02–0.1 /(km·yr) with 10–30 h repair).
- PV and EV penetration: ranges seen in 2020s interconnection queues and hosting
  capacity studies (e.g. NREL/TP-5D00-67089); they are scenario inputs, not facts.

Examples
--------
>>> p = PROFILES[ProfileName.RURAL]
>>> p.primary_v_kv
12.47
>>> round(sum(p.load_mix.values()), 9)
1.0
>>> PROFILES["urban"].saidi_max_min < PROFILES["rural"].saidi_max_min
True
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["PROFILES", "FeederProfile", "LoadMix", "ProfileName", "get_profile"]


class ProfileName(StrEnum):
    """The built-in feeder profiles."""

    RURAL = "rural"
    SUBURBAN = "suburban"
    URBAN = "urban"


class LoadMix(StrEnum):
    """The customer classes a profile's load mix is split into."""

    RESIDENTIAL = "residential"
    LIGHT_INDUSTRIAL = "light_industrial"
    COMMERCIAL = "commercial"


Range = tuple[float, float]


class FeederProfile(BaseModel):
    """Statistics of one kind of feeder, used by the synthetic generator.

    Ranges are ``(low, high)`` and are sampled uniformly unless stated otherwise.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: ProfileName = Field(description="Profile name.")
    description: str = Field(description="One line about the kind of feeder.")
    load_mix: dict[LoadMix, float] = Field(
        description="Share of feeder peak demand by customer class [-], summing to 1."
    )
    trunk_length_km: Range = Field(
        description="Length of the three-phase main trunk, substation to its end [km]."
    )
    lateral_span_km: Range = Field(description="Length of one lateral span [km].")
    node_count: tuple[int, int] = Field(
        description="Typical number of buses of a real feeder of this kind [-]."
    )
    primary_v_kv: float = Field(gt=0, description="Primary voltage, line-to-line [kV].")
    source_v_kv: float = Field(gt=0, description="Sub-transmission voltage [kV].")
    source_mva_sc3: float = Field(gt=0, description="Three-phase fault level at the source [MVA].")
    source_mva_sc1: float = Field(gt=0, description="Single-phase fault level [MVA].")
    substation_x_r: float = Field(gt=0, description="Source X1/R1 ratio [-].")
    customers_per_transformer: float = Field(
        gt=0, description="Mean residential customers per service transformer [-]."
    )
    transformers_per_primary_bus: float = Field(
        gt=0, le=1, description="Service transformers per primary bus (pole or pad) [-]."
    )
    customer_peak_kw: float = Field(
        gt=0, description="Diversified peak demand of one residential customer [kW]."
    )
    commercial_peak_kw: Range = Field(description="Peak of one commercial service [kW].")
    industrial_peak_kw: Range = Field(description="Peak of one light-industrial service [kW].")
    feeder_peak_mw: Range = Field(
        description="Typical feeder peak; larger synthetic feeders are scaled into it [MW]."
    )
    saidi_max_min: float = Field(gt=0, description="SAIDI target upper bound [min/yr].")
    saifi_max_per_year: float = Field(gt=0, description="SAIFI target upper bound [1/yr].")
    pv_pct_of_peak: Range = Field(description="Installed PV as a share of feeder peak [%].")
    ev_pct_of_customers: Range = Field(description="Residential customers with an EV [%].")
    overhead_share: float = Field(ge=0, le=1, description="Share of primary built overhead [-].")
    lateral_phasing: tuple[float, float, float] = Field(
        description="Probability that a lateral off a three-phase line is 3-, 2-, 1-phase [-]."
    )
    oh_failure_rate_per_km_year: float = Field(
        gt=0, description="Overhead line permanent failures [1/(km·yr)]."
    )
    ug_failure_rate_per_km_year: float = Field(
        gt=0, description="Underground cable permanent failures [1/(km·yr)]."
    )
    oh_repair_h: float = Field(gt=0, description="Overhead line mean time to repair [h].")
    ug_repair_h: float = Field(gt=0, description="Cable mean time to repair [h].")
    switching_h: float = Field(gt=0, description="Time to isolate and switch around a fault [h].")
    voltage_regulator: bool = Field(description="A line voltage regulator on the trunk.")
    trunk_conductor: str = Field(description="Overhead trunk conductor (a line-code key).")

    @model_validator(mode="after")
    def _consistent(self) -> FeederProfile:
        if not math.isclose(sum(self.load_mix.values()), 1.0, abs_tol=1e-9):
            raise ValueError("load_mix shares must sum to 1")
        if not math.isclose(sum(self.lateral_phasing), 1.0, abs_tol=1e-9):
            raise ValueError("lateral_phasing probabilities must sum to 1")
        for label in (
            "trunk_length_km", "lateral_span_km", "node_count", "commercial_peak_kw",
            "industrial_peak_kw", "feeder_peak_mw", "pv_pct_of_peak", "ev_pct_of_customers",
        ):
            lo, hi = getattr(self, label)
            if not 0 <= lo <= hi:
                raise ValueError(f"{label} must be a range 0 <= low <= high")
        return self

    @property
    def load_mix_residential(self) -> float:
        """Residential share of peak demand [-]."""
        return self.load_mix[LoadMix.RESIDENTIAL]


_RURAL = FeederProfile(
    name=ProfileName.RURAL,
    description="Long 12.47 kV overhead feeder, mostly single-phase laterals, farms and homes.",
    load_mix={LoadMix.RESIDENTIAL: 0.75, LoadMix.LIGHT_INDUSTRIAL: 0.10,
              LoadMix.COMMERCIAL: 0.15},
    trunk_length_km=(8.0, 25.0),
    lateral_span_km=(0.08, 0.20),
    node_count=(300, 3000),
    primary_v_kv=12.47,
    source_v_kv=69.0,
    source_mva_sc3=500.0,
    source_mva_sc1=450.0,
    substation_x_r=6.0,
    customers_per_transformer=2.0,
    transformers_per_primary_bus=0.5,
    customer_peak_kw=5.0,
    commercial_peak_kw=(30.0, 200.0),
    industrial_peak_kw=(75.0, 500.0),
    feeder_peak_mw=(1.5, 5.0),
    saidi_max_min=240.0,
    saifi_max_per_year=2.5,
    pv_pct_of_peak=(5.0, 30.0),
    ev_pct_of_customers=(1.0, 8.0),
    overhead_share=0.95,
    lateral_phasing=(0.10, 0.10, 0.80),
    oh_failure_rate_per_km_year=0.12,
    ug_failure_rate_per_km_year=0.04,
    oh_repair_h=5.0,
    ug_repair_h=24.0,
    switching_h=1.5,
    voltage_regulator=True,
    trunk_conductor="336_ACSR",
)

_SUBURBAN = FeederProfile(
    name=ProfileName.SUBURBAN,
    description="12.47 kV feeder with an overhead trunk and underground residential laterals.",
    load_mix={LoadMix.RESIDENTIAL: 0.65, LoadMix.LIGHT_INDUSTRIAL: 0.10,
              LoadMix.COMMERCIAL: 0.25},
    trunk_length_km=(4.0, 10.0),
    lateral_span_km=(0.04, 0.09),
    node_count=(500, 5000),
    primary_v_kv=12.47,
    source_v_kv=115.0,
    source_mva_sc3=1500.0,
    source_mva_sc1=1400.0,
    substation_x_r=8.0,
    customers_per_transformer=6.0,
    transformers_per_primary_bus=0.8,
    customer_peak_kw=4.5,
    commercial_peak_kw=(50.0, 400.0),
    industrial_peak_kw=(100.0, 750.0),
    feeder_peak_mw=(4.0, 9.0),
    saidi_max_min=120.0,
    saifi_max_per_year=1.5,
    pv_pct_of_peak=(10.0, 50.0),
    ev_pct_of_customers=(5.0, 25.0),
    overhead_share=0.5,
    lateral_phasing=(0.25, 0.15, 0.60),
    oh_failure_rate_per_km_year=0.09,
    ug_failure_rate_per_km_year=0.04,
    oh_repair_h=4.0,
    ug_repair_h=16.0,
    switching_h=1.0,
    voltage_regulator=False,
    trunk_conductor="556_ACSR",
)

_URBAN = FeederProfile(
    name=ProfileName.URBAN,
    description="Short, heavily loaded 13.8 kV feeder, mostly underground, commercial mix.",
    load_mix={LoadMix.RESIDENTIAL: 0.35, LoadMix.LIGHT_INDUSTRIAL: 0.15,
              LoadMix.COMMERCIAL: 0.50},
    trunk_length_km=(1.5, 5.0),
    lateral_span_km=(0.03, 0.06),
    node_count=(300, 3000),
    primary_v_kv=13.8,
    source_v_kv=115.0,
    source_mva_sc3=3000.0,
    source_mva_sc1=2800.0,
    substation_x_r=10.0,
    customers_per_transformer=10.0,
    transformers_per_primary_bus=0.9,
    customer_peak_kw=3.5,
    commercial_peak_kw=(75.0, 750.0),
    industrial_peak_kw=(150.0, 1000.0),
    feeder_peak_mw=(6.0, 11.0),
    saidi_max_min=60.0,
    saifi_max_per_year=1.0,
    pv_pct_of_peak=(5.0, 20.0),
    ev_pct_of_customers=(3.0, 15.0),
    overhead_share=0.2,
    lateral_phasing=(0.50, 0.15, 0.35),
    oh_failure_rate_per_km_year=0.065,
    ug_failure_rate_per_km_year=0.03,
    oh_repair_h=4.0,
    ug_repair_h=12.0,
    switching_h=0.5,
    voltage_regulator=False,
    trunk_conductor="556_ACSR",
)

PROFILES: Final[dict[str, FeederProfile]] = {
    ProfileName.RURAL: _RURAL,
    ProfileName.SUBURBAN: _SUBURBAN,
    ProfileName.URBAN: _URBAN,
}
"""The built-in profiles by name; keys are :class:`ProfileName` members, which are also
plain strings, so ``PROFILES["rural"]`` works. The profiles themselves are frozen."""


def get_profile(profile: ProfileName | str | FeederProfile) -> FeederProfile:
    """Look a profile up by name (or pass a :class:`FeederProfile` through).

    Parameters
    ----------
    profile
        ``"rural"``, ``"suburban"``, ``"urban"``, a :class:`ProfileName`, or a profile.

    Returns
    -------
    FeederProfile
        The profile.

    Raises
    ------
    ValueError
        The name is not a known profile.

    Examples
    --------
    >>> get_profile("suburban").primary_v_kv
    12.47
    """
    if isinstance(profile, FeederProfile):
        return profile
    try:
        return PROFILES[ProfileName(profile)]
    except ValueError:
        known = ", ".join(p.value for p in ProfileName)
        raise ValueError(f"unknown feeder profile {profile!r}; known: {known}") from None
