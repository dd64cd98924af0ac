"""Load shapes and x–y curves.

Examples
--------
>>> shape = LoadShape(name="day", interval_h=1.0, p_mult=[0.5] * 24)
>>> shape.n_points, shape.duration_h
(24, 24.0)
"""

from __future__ import annotations

from pydantic import Field, model_validator

from feederos.model._base import Element

__all__ = ["Curve", "LoadShape"]


class LoadShape(Element):
    """A time series of multipliers applied to rated power (OpenDSS LoadShape).

    Either evenly spaced (``interval_h``) or at explicit ``hours``.
    """

    p_mult: list[float] = Field(min_length=1, description="Active power multipliers [pu].")
    q_mult: list[float] | None = Field(default=None, description="Reactive multipliers [pu].")
    interval_h: float | None = Field(default=1.0, gt=0, description="Spacing of points [h].")
    hours: list[float] | None = Field(default=None, description="Time of each point [h].")
    use_actual: bool = Field(default=False, description="Values are kW, not multipliers.")

    @property
    def n_points(self) -> int:
        """Number of points."""
        return len(self.p_mult)

    @property
    def duration_h(self) -> float:
        """Time span the shape covers [h]."""
        if self.hours is not None:
            return self.hours[-1] if self.hours else 0.0
        assert self.interval_h is not None
        return self.interval_h * len(self.p_mult)

    @model_validator(mode="after")
    def _consistent(self) -> LoadShape:
        if self.q_mult is not None and len(self.q_mult) != len(self.p_mult):
            raise ValueError("q_mult must have as many points as p_mult")
        if self.hours is not None and len(self.hours) != len(self.p_mult):
            raise ValueError("hours must have as many points as p_mult")
        if self.hours is None and self.interval_h is None:
            raise ValueError("give interval_h or hours")
        return self


class Curve(Element):
    """A piecewise-linear x–y curve (OpenDSS XYCurve), e.g. volt-var [pu V → pu var]."""

    x: list[float] = Field(min_length=2, description="Abscissae, increasing.")
    y: list[float] = Field(min_length=2, description="Ordinates.")

    @model_validator(mode="after")
    def _same_length_increasing(self) -> Curve:
        if len(self.x) != len(self.y):
            raise ValueError("x and y must have the same number of points")
        if any(b < a for a, b in zip(self.x, self.x[1:], strict=False)):
            raise ValueError("x must be non-decreasing")
        return self
