"""Study settings carried with a network (what OpenDSS's ``Set`` command holds).

Examples
--------
>>> StudySettings(mode=SolveMode.YEARLY, number=8760, step_s=3600).duration_h
8760.0
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from feederos.model._base import StrictModel

__all__ = ["ControlMode", "SolveMode", "StudySettings"]


class SolveMode(StrEnum):
    """Kind of solution a study asks for."""

    SNAPSHOT = "snapshot"
    DAILY = "daily"
    YEARLY = "yearly"
    DUTY = "duty"


class ControlMode(StrEnum):
    """How controls act: not at all, all at once per step, or in time order."""

    OFF = "off"
    STATIC = "static"
    EVENT = "event"
    TIME = "time"


class StudySettings(StrictModel):
    """Solution settings: mode, steps, tolerances."""

    mode: SolveMode = Field(default=SolveMode.SNAPSHOT, description="Solution mode.")
    number: int = Field(default=1, ge=1, description="Number of time steps.")
    step_s: float = Field(default=3600.0, gt=0, description="Time step [s].")
    tolerance_pu: float = Field(default=1e-4, gt=0, description="Convergence tolerance [pu].")
    max_iterations: int = Field(default=15, ge=1, description="Power-flow iterations.")
    max_control_iterations: int = Field(default=10, ge=1, description="Control iterations.")
    control_mode: ControlMode = Field(default=ControlMode.STATIC, description="Control mode.")
    load_multiplier: float = Field(default=1.0, ge=0, description="Global load multiplier.")
    snapshot_first: bool = Field(
        default=False,
        description="A time series starts from the regulator taps and capacitor steps a "
        "snapshot solve with controls leaves (a script that solved before its time "
        "series: OpenDSS carries that state into it).",
    )
    earth_model: str = Field(default="deri", description="Earth model for line constants.")
    extra: dict[str, str] = Field(
        default_factory=dict, description="Other settings kept as written."
    )

    @property
    def duration_h(self) -> float:
        """Span of the study [h]."""
        return self.number * self.step_s / 3600.0
