"""Conductor data and conductor arrangements from which line constants are computed.

These are OpenDSS's ``WireData``, ``CNData`` (concentric-neutral cable), ``TSData``
(tape-shielded cable), ``LineSpacing`` and ``LineGeometry`` in SI-like units:
resistances in Ω/km, radii, GMRs, diameters and coordinates in metres. The impedance
and capacitance matrices they define are computed by
:func:`feederos.model.line_constants.geometry_impedance`.

Unlike OpenDSS, the models do not default a missing GMR from the radius (or the
reverse); an importer applies OpenDSS's ``GMR = 0.7788 · radius`` rule itself.

Examples
--------
>>> w = WireData(name="4/0_ACSR", r_ac_ohm_per_km=0.349832, gmr_m=0.00248158,
...              radius_m=0.0071501, ampacity_normal_a=380.0)
>>> round(w.r_dc_effective_ohm_per_km, 6)  # OpenDSS's default Rdc = Rac / 1.02
0.342973
>>> w.ampacity_emergency_effective_a
570.0
>>> g = LineGeometry(name="1ph", n_conductors=2, n_phases=1, x_m=[-0.15, 0.15],
...                  h_m=[10.5, 8.2], conductors=["4/0_ACSR", "4/0_ACSR"],
...                  conductor_kinds=["wire", "wire"])
>>> g.reduce
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from feederos.model._base import Element

__all__ = [
    "CNData",
    "ConductorKind",
    "LineGeometry",
    "LineSpacing",
    "TSData",
    "WireData",
]

ConductorKind = Literal["wire", "cn", "ts"]
"""What occupies a conductor position: a bare wire, a CN cable or a TS cable."""

_EMERGENCY_FACTOR = 1.5  # OpenDSS: emergamps defaults to 1.5 x normamps
_RDC_FACTOR = 1.02  # OpenDSS: Rdc defaults to Rac / 1.02


class WireData(Element):
    """A bare (overhead) conductor, or the phase conductor of a cable.

    OpenDSS ``WireData``: ``Rac``, ``Rdc``, ``GMRac``, ``radius`` (or ``diam``),
    ``capradius``, ``normamps``, ``emergamps``.
    """

    model_config = ConfigDict(extra="forbid", frozen=False, validate_assignment=True)

    r_ac_ohm_per_km: float = Field(gt=0, description="AC resistance at 60/50 Hz [Ω/km].")
    r_dc_ohm_per_km: float | None = Field(
        default=None, gt=0, description="DC resistance; None means r_ac / 1.02 [Ω/km]."
    )
    gmr_m: float = Field(gt=0, description="Geometric mean radius at power frequency [m].")
    radius_m: float = Field(gt=0, description="Outside radius of the conductor [m].")
    capradius_m: float | None = Field(
        default=None,
        gt=0,
        description="Radius used for capacitance (bundles); None means radius_m [m].",
    )
    ampacity_normal_a: float = Field(default=0.0, ge=0, description="Normal rating [A].")
    ampacity_emergency_a: float | None = Field(
        default=None, ge=0, description="Emergency rating; None means 1.5 x normal [A]."
    )

    @property
    def r_dc_effective_ohm_per_km(self) -> float:
        """DC resistance, defaulting to ``r_ac / 1.02`` as OpenDSS does [Ω/km]."""
        if self.r_dc_ohm_per_km is not None:
            return self.r_dc_ohm_per_km
        return self.r_ac_ohm_per_km / _RDC_FACTOR

    @property
    def capradius_effective_m(self) -> float:
        """Radius used for capacitance, defaulting to the conductor radius [m]."""
        return self.radius_m if self.capradius_m is None else self.capradius_m

    @property
    def ampacity_emergency_effective_a(self) -> float:
        """Emergency rating, defaulting to 1.5 x the normal rating as OpenDSS does [A]."""
        if self.ampacity_emergency_a is not None:
            return self.ampacity_emergency_a
        return _EMERGENCY_FACTOR * self.ampacity_normal_a

    @property
    def diameter_m(self) -> float:
        """Outside diameter of the (phase) conductor, ``2 · radius_m`` [m]."""
        return 2.0 * self.radius_m


class _CableData(WireData):
    """Fields shared by CN and TS cables (OpenDSS ``CableData``)."""

    eps_r: float = Field(
        default=2.3, gt=0, description="Relative permittivity of the insulation [-]."
    )
    insulation_layer_m: float = Field(gt=0, description="Insulation thickness [m].")
    diameter_insulation_m: float = Field(gt=0, description="Diameter over the insulation [m].")
    diameter_cable_m: float = Field(gt=0, description="Diameter over the whole cable [m].")

    @model_validator(mode="after")
    def _check_insulation(self) -> _CableData:
        if self.insulation_layer_m >= 0.5 * self.diameter_insulation_m:
            raise ValueError("insulation_layer_m must be less than diameter_insulation_m / 2")
        return self


class CNData(_CableData):
    """A concentric-neutral cable: phase conductor, insulation and k neutral strands.

    OpenDSS ``CNData``: the WireData properties plus ``k``, ``DiaStrand``,
    ``GmrStrand``, ``Rstrand``, ``EpsR``, ``InsLayer``, ``DiaIns``, ``DiaCable``.
    ``diameter_m`` (OpenDSS ``diam``) is ``2 · radius_m``.
    """

    k_strands: int = Field(ge=2, description="Number of concentric neutral strands [-].")
    strand_diameter_m: float = Field(gt=0, description="Diameter of one strand [m].")
    strand_gmr_m: float | None = Field(
        default=None,
        gt=0,
        description="GMR of one strand; None means 0.7788 x strand radius [m].",
    )
    strand_r_ohm_per_km: float = Field(gt=0, description="AC resistance of one strand [Ω/km].")

    @property
    def strand_gmr_effective_m(self) -> float:
        """Strand GMR, defaulting to ``0.7788 · strand_diameter_m / 2`` [m]."""
        if self.strand_gmr_m is not None:
            return self.strand_gmr_m
        return 0.7788 * 0.5 * self.strand_diameter_m


class TSData(_CableData):
    """A tape-shielded cable: phase conductor, insulation and a helical copper tape.

    OpenDSS ``TSData``: the WireData properties plus ``DiaShield``, ``TapeLayer``,
    ``TapeLap``, ``EpsR``, ``InsLayer``, ``DiaIns``, ``DiaCable``.
    ``diameter_m`` (OpenDSS ``diam``) is ``2 · radius_m``.
    """

    diameter_shield_m: float = Field(gt=0, description="Diameter over the tape shield [m].")
    tape_layer_m: float = Field(gt=0, description="Thickness of the tape [m].")
    tape_lap_pct: float = Field(default=20.0, ge=0, lt=100, description="Overlap of the tape [%].")


def _check_lengths(n: int, **arrays: Sequence[object] | None) -> None:
    for key, values in arrays.items():
        if values is not None and len(values) != n:
            raise ValueError(f"{key} has {len(values)} entries; n_conductors is {n}")


class LineSpacing(Element):
    """Positions of the conductors of a line, phases first (OpenDSS ``LineSpacing``).

    Heights are above ground; a negative height is a buried cable.
    """

    model_config = ConfigDict(extra="forbid", frozen=False, validate_assignment=True)

    n_conductors: int = Field(ge=1, description="Number of conductor positions [-].")
    n_phases: int = Field(ge=1, description="How many of them are phases (listed first) [-].")
    x_m: list[float] = Field(description="Horizontal position of each conductor [m].")
    h_m: list[float] = Field(description="Height of each conductor above ground [m].")

    @model_validator(mode="after")
    def _check(self) -> LineSpacing:
        if self.n_phases > self.n_conductors:
            raise ValueError("n_phases must not exceed n_conductors")
        _check_lengths(self.n_conductors, x_m=self.x_m, h_m=self.h_m)
        return self


class LineGeometry(Element):
    """Conductors at positions: what line constants are computed from.

    OpenDSS ``LineGeometry``. Positions come either from ``x_m``/``h_m`` or from a
    :class:`LineSpacing` named by ``spacing`` (resolved when the impedance is computed;
    or use :meth:`from_spacing` to copy them in). ``reduce`` Kron-reduces the non-phase
    conductors; note that OpenDSS's own default is ``reduce=no`` (a line defined by
    ``spacing`` and ``wires`` is reduced when it has more wires than phases).
    """

    model_config = ConfigDict(extra="forbid", frozen=False, validate_assignment=True)

    n_conductors: int = Field(ge=1, description="Number of conductor positions [-].")
    n_phases: int = Field(ge=1, description="How many of them are phases (listed first) [-].")
    x_m: list[float] | None = Field(
        default=None, description="Horizontal position of each conductor [m]."
    )
    h_m: list[float] | None = Field(
        default=None, description="Height of each conductor above ground (<0: buried) [m]."
    )
    spacing: str | None = Field(
        default=None, description="Name of a LineSpacing giving the positions instead."
    )
    conductors: list[str] = Field(
        description="Name of the WireData/CNData/TSData at each position, phases first."
    )
    conductor_kinds: list[ConductorKind] = Field(
        description="Kind of each conductor: 'wire', 'cn' or 'ts'."
    )
    reduce: bool = Field(default=True, description="Kron-reduce the non-phase conductors.")
    ampacity_normal_a: float | None = Field(
        default=None, ge=0, description="Normal rating; None means the first conductor's [A]."
    )
    ampacity_emergency_a: float | None = Field(
        default=None,
        ge=0,
        description="Emergency rating; None means the first conductor's [A].",
    )

    @model_validator(mode="after")
    def _check(self) -> LineGeometry:
        if self.n_phases > self.n_conductors:
            raise ValueError("n_phases must not exceed n_conductors")
        _check_lengths(
            self.n_conductors,
            x_m=self.x_m,
            h_m=self.h_m,
            conductors=self.conductors,
            conductor_kinds=self.conductor_kinds,
        )
        if self.spacing is None and (self.x_m is None or self.h_m is None):
            raise ValueError("give either x_m and h_m or a spacing name")
        if self.spacing is not None and (self.x_m is not None or self.h_m is not None):
            raise ValueError("give either x_m and h_m or a spacing name, not both")
        return self

    @classmethod
    def from_spacing(
        cls,
        spacing: LineSpacing,
        *,
        conductors: list[str],
        conductor_kinds: list[ConductorKind],
        name: str | None = None,
    ) -> LineGeometry:
        """Make the geometry of a line given by ``spacing=`` and ``wires=``.

        As OpenDSS does for such a line, the geometry is reduced when it has more
        conductors than phases.

        Examples
        --------
        >>> s = LineSpacing(name="s", n_conductors=4, n_phases=3,
        ...                 x_m=[-1.0, 0.0, 1.0, 0.0], h_m=[9.0, 9.0, 9.0, 7.0])
        >>> g = LineGeometry.from_spacing(s, conductors=["a"] * 4,
        ...                               conductor_kinds=["wire"] * 4)
        >>> g.x_m, g.reduce
        ([-1.0, 0.0, 1.0, 0.0], True)
        """
        return cls(
            name=name or spacing.name,
            n_conductors=spacing.n_conductors,
            n_phases=spacing.n_phases,
            x_m=list(spacing.x_m),
            h_m=list(spacing.h_m),
            conductors=conductors,
            conductor_kinds=conductor_kinds,
            reduce=spacing.n_conductors > spacing.n_phases,
        )
