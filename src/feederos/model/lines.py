"""Overhead lines, cables and their line codes (CIM ACLineSegment, PerLengthImpedance).

A line takes its per-length impedance from exactly one of: a named :class:`LineCode`,
a named line geometry (conductor positions and wire data, computed by Carson's
equations in :mod:`feederos.model.line_constants`), a line spacing plus one wire per
position, or an inline :class:`LineImpedance`.

Examples
--------
>>> z = LineImpedance(r1_ohm_per_km=0.1, x1_ohm_per_km=0.3, r0_ohm_per_km=0.3,
...                   x0_ohm_per_km=0.9)
>>> z.n_phases is None
True
>>> line = ACLineSegment(name="l1", bus1=Terminal(bus="a"), bus2=Terminal(bus="b"),
...                      length_km=1.2, impedance=z)
>>> line.impedance_source
'inline'
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from feederos.model._base import Element, ReliabilityData, StrictModel, Terminal

__all__ = ["ACLineSegment", "LineCode", "LineImpedance"]

Matrix = list[list[float]]


class LineImpedance(StrictModel):
    """Per-length series impedance and shunt capacitance of a set of conductors.

    Either full phase matrices (``r_matrix_ohm_per_km`` and ``x_matrix_ohm_per_km``,
    optional ``c_matrix_nf_per_km``) or sequence values (``r1``/``x1``/``r0``/``x0`` and
    optional ``c1``/``c0``). Matrices are square and symmetric, one row per phase.
    """

    r_matrix_ohm_per_km: Matrix | None = Field(default=None, description="Series R [Ω/km].")
    x_matrix_ohm_per_km: Matrix | None = Field(default=None, description="Series X [Ω/km].")
    c_matrix_nf_per_km: Matrix | None = Field(default=None, description="Shunt C [nF/km].")
    r1_ohm_per_km: float | None = Field(default=None, description="Positive-sequence R [Ω/km].")
    x1_ohm_per_km: float | None = Field(default=None, description="Positive-sequence X [Ω/km].")
    r0_ohm_per_km: float | None = Field(default=None, description="Zero-sequence R [Ω/km].")
    x0_ohm_per_km: float | None = Field(default=None, description="Zero-sequence X [Ω/km].")
    c1_nf_per_km: float | None = Field(default=None, description="Positive-sequence C [nF/km].")
    c0_nf_per_km: float | None = Field(default=None, description="Zero-sequence C [nF/km].")
    frequency_hz: float | None = Field(
        default=None, gt=0, description="Frequency the reactances are given at [Hz]."
    )

    @property
    def form(self) -> Literal["matrix", "sequence"]:
        """Which of the two forms the impedance is given in."""
        return "matrix" if self.r_matrix_ohm_per_km is not None else "sequence"

    @property
    def n_phases(self) -> int | None:
        """Number of phases of a matrix form; None for sequence values (any phases)."""
        return None if self.r_matrix_ohm_per_km is None else len(self.r_matrix_ohm_per_km)

    @model_validator(mode="after")
    def _one_complete_form(self) -> LineImpedance:
        has_matrix = self.r_matrix_ohm_per_km is not None or self.x_matrix_ohm_per_km is not None
        if has_matrix:
            if self.r_matrix_ohm_per_km is None or self.x_matrix_ohm_per_km is None:
                raise ValueError("give both r_matrix_ohm_per_km and x_matrix_ohm_per_km")
            n = len(self.r_matrix_ohm_per_km)
            for label, m in (
                ("r_matrix_ohm_per_km", self.r_matrix_ohm_per_km),
                ("x_matrix_ohm_per_km", self.x_matrix_ohm_per_km),
                ("c_matrix_nf_per_km", self.c_matrix_nf_per_km),
            ):
                if m is not None and (len(m) != n or any(len(row) != n for row in m)):
                    raise ValueError(f"{label} must be {n}×{n} like r_matrix_ohm_per_km")
            if n == 0:
                raise ValueError("r_matrix_ohm_per_km must have at least one row")
        elif self.r1_ohm_per_km is None or self.x1_ohm_per_km is None:
            raise ValueError("give phase matrices or at least r1_ohm_per_km and x1_ohm_per_km")
        return self


class LineCode(Element):
    """A named, reusable per-length impedance with ratings (OpenDSS LineCode)."""

    impedance: LineImpedance = Field(description="Per-length impedance and capacitance.")
    ampacity_normal_a: float | None = Field(default=None, gt=0, description="Normal rating [A].")
    ampacity_emergency_a: float | None = Field(
        default=None, gt=0, description="Emergency rating [A]."
    )
    kron_reduce: bool = Field(
        default=False, description="Eliminate the last conductor (a neutral) by Kron reduction."
    )


class ACLineSegment(Element):
    """A line or cable between two buses (CIM ACLineSegment)."""

    bus1: Terminal = Field(description="Sending end.")
    bus2: Terminal = Field(description="Receiving end.")
    phases: int = Field(default=3, ge=1, description="Number of phase conductors.")
    length_km: float = Field(gt=0, description="Length [km].")
    line_code: str | None = Field(default=None, description="Name of a LineCode.")
    geometry: str | None = Field(default=None, description="Name of a LineGeometry.")
    spacing: str | None = Field(default=None, description="Name of a LineSpacing.")
    wires: list[str] | None = Field(
        default=None, description="Wire/cable name per spacing position (with ``spacing``)."
    )
    impedance: LineImpedance | None = Field(default=None, description="Inline impedance.")
    ampacity_normal_a: float | None = Field(
        default=None, gt=0, description="Normal rating; None means the code's [A]."
    )
    ampacity_emergency_a: float | None = Field(
        default=None, gt=0, description="Emergency rating; None means the code's [A]."
    )
    earth_resistivity_ohm_m: float = Field(
        default=100.0, gt=0, description="Earth resistivity for geometry-based lines [Ω·m]."
    )
    reliability: ReliabilityData | None = Field(default=None, description="Failure data.")

    @property
    def impedance_source(self) -> Literal["line_code", "geometry", "spacing", "inline"]:
        """Which of the four ways the line's impedance is given."""
        if self.line_code is not None:
            return "line_code"
        if self.geometry is not None:
            return "geometry"
        if self.spacing is not None:
            return "spacing"
        return "inline"

    @model_validator(mode="after")
    def _exactly_one_impedance(self) -> ACLineSegment:
        given = [
            self.line_code is not None,
            self.geometry is not None,
            self.spacing is not None,
            self.impedance is not None,
        ]
        if sum(given) != 1:
            raise ValueError(
                "give exactly one of line_code, geometry, spacing (+ wires) or impedance"
            )
        if self.spacing is not None and not self.wires:
            raise ValueError("a line with a spacing needs wires, one per conductor position")
        return self
