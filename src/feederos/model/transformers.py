"""Power transformers, their codes and tap changers (CIM PowerTransformer, RatioTapChanger).

A transformer has two or three windings. Single-phase units, delta and wye windings,
and the split-phase centre-tapped secondary of North American service transformers
(a three-winding single-phase unit whose two low-voltage windings share the centre
node, e.g. ``x.1.0`` and ``x.0.2``) are all expressed with the same classes.

Examples
--------
>>> hv = TransformerWinding(terminal=Terminal(bus="633"), v_kv=4.16, s_kva=500, r_pct=0.55)
>>> lv = TransformerWinding(terminal=Terminal(bus="634"), v_kv=0.48, s_kva=500, r_pct=0.55)
>>> t = PowerTransformer(name="xfm1", windings=[hv, lv], xhl_pct=2.0)
>>> t.is_center_tapped
False
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator

from feederos.model._base import Connection, Element, ReliabilityData, StrictModel, Terminal

__all__ = [
    "PhaseShift",
    "PowerTransformer",
    "RatioTapChanger",
    "TapChangerPhase",
    "TransformerCode",
    "TransformerWinding",
    "WindingRating",
]


class PhaseShift(StrEnum):
    """Delta-wye phase-shift convention: ANSI (low side lags by 30°) or the opposite."""

    LAG = "lag"
    LEAD = "lead"


class WindingRating(StrictModel):
    """Ratings and taps of one winding, without its connection point."""

    connection: Connection = Field(default=Connection.WYE, description="Wye or delta.")
    v_kv: float = Field(
        gt=0, description="Rated voltage: line-to-line for 3 phases, across the winding for 1 [kV]."
    )
    s_kva: float = Field(gt=0, description="Rated power [kVA].")
    r_pct: float = Field(default=0.0, ge=0, description="Winding resistance on its own base [%].")
    tap_pu: float = Field(default=1.0, gt=0, description="Present tap [pu of v_kv].")
    min_tap_pu: float = Field(default=0.9, gt=0, description="Lowest tap [pu].")
    max_tap_pu: float = Field(default=1.1, gt=0, description="Highest tap [pu].")
    n_taps: int = Field(default=32, ge=1, description="Number of tap steps between min and max.")
    r_neutral_ohm: float | None = Field(
        default=None,
        ge=0,
        description="Neutral-to-ground resistance; None = as the nodes say [Ω].",
    )
    x_neutral_ohm: float = Field(default=0.0, ge=0, description="Neutral reactance [Ω].")

    @property
    def tap_step_pu(self) -> float:
        """Voltage change of one tap step [pu]."""
        return (self.max_tap_pu - self.min_tap_pu) / self.n_taps


class TransformerWinding(WindingRating):
    """One winding of a transformer and where it connects."""

    terminal: Terminal = Field(description="Bus and nodes of the winding.")


class _TransformerData(Element):
    phases: int = Field(default=3, ge=1, le=3, description="Number of phases.")
    xhl_pct: float = Field(default=7.0, gt=0, description="Leakage reactance H–L [%].")
    xht_pct: float | None = Field(
        default=None, gt=0, description="Leakage reactance H–T, three windings only [%]."
    )
    xlt_pct: float | None = Field(
        default=None, gt=0, description="Leakage reactance L–T, three windings only [%]."
    )
    no_load_loss_pct: float = Field(default=0.0, ge=0, description="Core loss [% of kVA].")
    magnetizing_pct: float = Field(
        default=0.0, ge=0, description="Magnetising current [% of rated current]."
    )
    phase_shift: PhaseShift = Field(default=PhaseShift.LAG, description="Delta-wye convention.")
    normal_kva: float | None = Field(default=None, gt=0, description="Normal rating [kVA].")
    emergency_kva: float | None = Field(default=None, gt=0, description="Emergency rating [kVA].")


class TransformerCode(_TransformerData):
    """A reusable transformer type (OpenDSS XfmrCode)."""

    windings: list[WindingRating] = Field(min_length=2, max_length=3)


class PowerTransformer(_TransformerData):
    """A two- or three-winding transformer, three-phase or single-phase."""

    windings: list[TransformerWinding] = Field(min_length=2, max_length=3)
    code: str | None = Field(default=None, description="TransformerCode it was built from.")
    bank: str | None = Field(default=None, description="Bank name grouping single-phase units.")
    is_substation: bool = Field(default=False, description="Marks the substation transformer.")
    reliability: ReliabilityData | None = Field(default=None, description="Failure data.")

    @property
    def is_center_tapped(self) -> bool:
        """True for a split-phase unit: three single-phase windings, two on one bus."""
        w = self.windings
        return (
            self.phases == 1 and len(w) == 3 and w[1].terminal.bus == w[2].terminal.bus
        )

    @model_validator(mode="after")
    def _three_winding_reactances(self) -> PowerTransformer:
        if len(self.windings) == 3 and (self.xht_pct is None or self.xlt_pct is None):
            raise ValueError("a three-winding transformer needs xht_pct and xlt_pct")
        return self


class TapChangerPhase(StrEnum):
    """Which phase voltage a tap changer regulates on (OpenDSS ``PTphase``)."""

    A = "1"
    B = "2"
    C = "3"
    MAX = "max"
    MIN = "min"


class RatioTapChanger(Element):
    """An automatic voltage regulator acting on a transformer winding's taps.

    Settings are on the 120 V base of the potential transformer, as on a real
    regulator control: ``v_set_v`` 122 with ``pt_ratio`` 20 regulates to 2440 V.
    Tap limits and step size are the winding's (``min_tap_pu``, ``max_tap_pu``,
    ``n_taps``). Line-drop compensation uses ``ldc_r_v``/``ldc_x_v`` in volts at
    ``ct_primary_a``.
    """

    transformer: str = Field(description="Name of the controlled PowerTransformer.")
    winding: int = Field(default=2, ge=1, le=3, description="Controlled winding (1-based).")
    v_set_v: float = Field(default=120.0, gt=0, description="Voltage set point [V, 120 V base].")
    band_v: float = Field(default=3.0, gt=0, description="Bandwidth [V, 120 V base].")
    pt_ratio: float = Field(default=60.0, gt=0, description="Potential transformer ratio.")
    ct_primary_a: float = Field(default=300.0, gt=0, description="CT primary rating [A].")
    ldc_r_v: float = Field(default=0.0, description="Line-drop compensator R setting [V].")
    ldc_x_v: float = Field(default=0.0, description="Line-drop compensator X setting [V].")
    delay_s: float = Field(default=15.0, ge=0, description="Delay before the first tap [s].")
    tap_delay_s: float = Field(default=2.0, ge=0, description="Delay between taps [s].")
    max_tap_change: int = Field(
        default=16, ge=0, description="Most tap steps per control iteration (0 freezes it)."
    )
    pt_phase: TapChangerPhase = Field(default=TapChangerPhase.A, description="Sensed phase.")
    v_limit_v: float | None = Field(
        default=None, gt=0, description="First-house protection limit [V, 120 V base]."
    )
    reversible: bool = Field(default=False, description="Acts on reverse power flow.")
    monitored_bus: str | None = Field(
        default=None,
        description="Remote bus to regulate instead of the winding terminal, as 'bus' or "
        "'bus.n1.n2' (the nodes whose voltage difference is sensed; OpenDSS RegControl bus).",
    )
    enabled: bool = Field(default=True, description="Whether the control acts.")
    tap_winding: int | None = Field(
        default=None, ge=1, le=3,
        description="Winding whose tap moves (OpenDSS TapWinding); None = winding.",
    )
    remote_pt_ratio: float | None = Field(
        default=None, gt=0,
        description="PT ratio for monitored_bus (OpenDSS RemotePTRatio); None = pt_ratio.",
    )
    inverse_time: bool = Field(
        default=False, description="Delay shortens with the voltage error (OpenDSS inversetime)."
    )
    rev_v_set_v: float = Field(
        default=120.0, gt=0, description="Set point in reverse-power mode [V, 120 V base]."
    )
    rev_band_v: float = Field(
        default=3.0, gt=0, description="Bandwidth in reverse-power mode [V, 120 V base]."
    )
    rev_ldc_r_v: float = Field(default=0.0, description="LDC R setting in reverse mode [V].")
    rev_ldc_x_v: float = Field(default=0.0, description="LDC X setting in reverse mode [V].")
    rev_threshold_kw: float = Field(
        default=100.0, description="Reverse power that switches to reverse mode [kW]."
    )
    rev_delay_s: float = Field(
        default=60.0, ge=0, description="Time reverse power must last to switch mode [s]."
    )
    rev_neutral: bool = Field(
        default=False, description="In reverse mode, go to the neutral tap and stay there."
    )
