"""Loads (CIM EnergyConsumer) and how their power depends on voltage.

Load models follow OpenDSS's codes: 1 constant P and Q; 2 constant impedance;
3 constant P, quadratic Q; 4 exponential (CVR); 5 constant current magnitude;
6 constant P, fixed Q; 7 constant P, fixed impedance Q; 8 ZIP.
Below ``v_min_pu`` and above ``v_max_pu`` every model becomes constant impedance (below
``v_min_pu`` OpenDSS blends linearly down to the nominal impedance at ``v_low_pu``).

Examples
--------
>>> load = EnergyConsumer(name="671", terminal=Terminal(bus="671"), phases=3,
...                       connection=Connection.DELTA, v_kv=4.16, p_kw=1155, q_kvar=660)
>>> load.model
<LoadModel.CONSTANT_PQ: 1>
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

from pydantic import Field, model_validator

from feederos.model._base import Connection, Element, Terminal

__all__ = ["EnergyConsumer", "LoadClass", "LoadModel", "LoadStatus"]


class LoadModel(IntEnum):
    """OpenDSS load model codes."""

    CONSTANT_PQ = 1
    CONSTANT_Z = 2
    CONSTANT_P_QUADRATIC_Q = 3
    EXPONENTIAL = 4
    CONSTANT_I = 5
    CONSTANT_P_FIXED_Q = 6
    CONSTANT_P_FIXED_Z_Q = 7
    ZIP = 8


class LoadClass(StrEnum):
    """Customer class, for profiles and reliability weighting."""

    RESIDENTIAL = "residential"
    COMMERCIAL = "commercial"
    INDUSTRIAL = "industrial"
    AGRICULTURAL = "agricultural"
    OTHER = "other"


class LoadStatus(StrEnum):
    """Whether the load follows shapes and allocation (OpenDSS ``status``)."""

    VARIABLE = "variable"
    FIXED = "fixed"
    EXEMPT = "exempt"


class EnergyConsumer(Element):
    """A load: rated power at rated voltage and a voltage-dependence model."""

    terminal: Terminal = Field(description="Bus and nodes the load connects to.")
    phases: int = Field(default=3, ge=1, le=3, description="Number of phases.")
    connection: Connection = Field(default=Connection.WYE, description="Wye or delta.")
    v_kv: float = Field(
        gt=0, description="Rated voltage: line-to-line for 3 phases or delta, else across [kV]."
    )
    p_kw: float = Field(description="Active power at rated voltage, all phases [kW].")
    q_kvar: float = Field(description="Reactive power at rated voltage, all phases [kvar].")
    model: LoadModel = Field(default=LoadModel.CONSTANT_PQ, description="Voltage dependence.")
    zip_coefficients: tuple[float, float, float, float, float, float, float] | None = Field(
        default=None,
        description="ZIP shares (Z, I, P for P; Z, I, P for Q; cut-off pu) for model 8.",
    )
    cvr_watts: float = Field(default=1.0, description="Exponent of P for model 4.")
    cvr_vars: float = Field(default=2.0, description="Exponent of Q for model 4.")
    v_min_pu: float = Field(default=0.95, gt=0, description="Below this, constant Z [pu].")
    v_max_pu: float = Field(default=1.05, gt=0, description="Above this, constant Z [pu].")
    v_low_pu: float = Field(
        default=0.5, ge=0,
        description="Below this, the nominal impedance; between it and v_min_pu, a linear "
        "blend (OpenDSS Vlowpu) [pu].",
    )
    load_class: LoadClass = Field(default=LoadClass.RESIDENTIAL, description="Customer class.")
    status: LoadStatus = Field(default=LoadStatus.VARIABLE, description="Shape behaviour.")
    n_customers: int = Field(default=1, ge=0, description="Customers served (for SAIDI/SAIFI).")
    yearly_shape: str | None = Field(default=None, description="LoadShape for yearly runs.")
    daily_shape: str | None = Field(default=None, description="LoadShape for daily runs.")
    duty_shape: str | None = Field(default=None, description="LoadShape for duty-cycle runs.")

    @model_validator(mode="after")
    def _zip_needs_coefficients(self) -> EnergyConsumer:
        if self.model is LoadModel.ZIP and self.zip_coefficients is None:
            raise ValueError("a ZIP load (model 8) needs zip_coefficients")
        if self.v_max_pu <= self.v_min_pu:
            raise ValueError("v_max_pu must exceed v_min_pu")
        return self
