"""The energy source: the Thevenin equivalent of the grid behind the feeder head.

Examples
--------
>>> s = EnergySource.from_short_circuit(
...     name="source", terminal=Terminal(bus="sourcebus"), v_kv=115.0,
...     mva_sc3=2000.0, mva_sc1=2100.0, x1_r1=4.0, x0_r0=3.0)
>>> round(s.x1_ohm, 4)
6.4151
"""

from __future__ import annotations

import math

from pydantic import Field

from feederos.model._base import Element, Terminal

__all__ = ["EnergySource"]


class EnergySource(Element):
    """An ideal voltage source behind sequence impedances (CIM EnergySource).

    The impedances are the source's own, in ohms at base frequency; use
    :meth:`from_short_circuit` to build one from short-circuit MVA as OpenDSS does.
    """

    terminal: Terminal = Field(description="Connection point (the feeder head).")
    terminal2: Terminal | None = Field(
        default=None, description="Far side of the impedance; None means grounded (wye)."
    )
    phases: int = Field(default=3, ge=1, le=3, description="Number of phases.")
    v_kv: float = Field(gt=0, description="Base voltage, line-to-line for 3 phases [kV].")
    v_pu: float = Field(default=1.0, gt=0, description="Set point of the EMF [pu].")
    angle_deg: float = Field(default=0.0, description="Angle of phase A [deg].")
    frequency_hz: float | None = Field(
        default=None, gt=0, description="Source frequency; None means the network's [Hz]."
    )
    r1_ohm: float = Field(ge=0, description="Positive-sequence resistance [Ω].")
    x1_ohm: float = Field(ge=0, description="Positive-sequence reactance [Ω].")
    r0_ohm: float = Field(ge=0, description="Zero-sequence resistance [Ω].")
    x0_ohm: float = Field(ge=0, description="Zero-sequence reactance [Ω].")
    mva_sc3: float | None = Field(
        default=None, gt=0, description="Three-phase short-circuit level, if given [MVA]."
    )
    mva_sc1: float | None = Field(
        default=None, gt=0, description="Single-phase short-circuit level, if given [MVA]."
    )

    @classmethod
    def from_short_circuit(
        cls,
        *,
        name: str,
        terminal: Terminal,
        v_kv: float,
        mva_sc3: float,
        mva_sc1: float,
        x1_r1: float,
        x0_r0: float,
        v_pu: float = 1.0,
        angle_deg: float = 0.0,
        phases: int = 3,
    ) -> EnergySource:
        """Build a source from short-circuit MVA and X/R ratios (OpenDSS's Vsource rule).

        Z1 = kV²/MVAsc3; Z0 follows from the single-phase level as
        Zs = 3·kV²/MVAsc1 = 2·Z1 + Z0, each split by its X/R ratio [Ω].
        """
        z1 = v_kv**2 / mva_sc3
        z_sum = 3.0 * v_kv**2 / mva_sc1
        r1 = z1 / math.sqrt(1.0 + x1_r1**2)
        x1 = r1 * x1_r1
        # Solve |(2·Z1 + Z0)| = z_sum for the magnitude of Z0 with its X/R ratio fixed.
        a = 1.0 + x0_r0**2
        b = 4.0 * (r1 + x1 * x0_r0)
        c = 4.0 * (r1**2 + x1**2) - z_sum**2
        disc = max(b * b - 4.0 * a * c, 0.0)
        r0 = max((-b + math.sqrt(disc)) / (2.0 * a), 0.0)
        x0 = r0 * x0_r0
        return cls(
            name=name, terminal=terminal, v_kv=v_kv, v_pu=v_pu, angle_deg=angle_deg,
            phases=phases, r1_ohm=r1, x1_ohm=x1, r0_ohm=r0, x0_ohm=x0,
            mva_sc3=mva_sc3, mva_sc1=mva_sc1,
        )
