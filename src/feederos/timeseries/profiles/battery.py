"""Battery dispatch schedules: peak shaving, self-consumption, time of use.

A schedule is the battery's AC power in each step, discharge positive (the model's
sign convention for :class:`~feederos.model.PowerElectronicsConnection`), and its state
of charge. The stored energy follows the efficiencies exactly:

``E[k+1] = E[k] + η_c · max(-p[k], 0) · Δt - max(p[k], 0) / η_d · Δt``

and stays within ``[reserve_pct, soc_max_pct]`` of ``energy_kwh``; power stays within
``±p_max_kw``. Every strategy is a rule acting on the present step only (no forecast),
as behind-the-meter controllers do:

- ``peak_shave``: discharge the load above ``threshold_kw``, recharge with the room
  below it (so charging never makes a new peak).
- ``self_consumption``: ``load_kw`` is the net load (consumption minus PV); store the
  surplus, supply the deficit.
- ``time_of_use``: charge at full power in the cheap window, discharge to cover the
  load (no export) in the dear one.

Examples
--------
>>> s = battery_schedule([5.0, 12.0, 12.0, 4.0], Battery(energy_kwh=20.0, p_max_kw=5.0),
...                      mode="peak_shave", threshold_kw=8.0)
>>> s.p_kw.tolist()
[-3.0, 4.0, 4.0, -4.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
import pandas as pd

from feederos.model import DerKind, LoadShape, PowerElectronicsConnection
from feederos.timeseries.profiles._common import FloatArray, choice, require, shape_from_values

__all__ = ["Battery", "BatteryMode", "BatterySchedule", "battery_schedule"]


class BatteryMode(StrEnum):
    """The dispatch strategy."""

    PEAK_SHAVE = "peak_shave"
    SELF_CONSUMPTION = "self_consumption"
    TIME_OF_USE = "time_of_use"


@dataclass(frozen=True)
class Battery:
    """A battery's ratings and limits.

    Parameters
    ----------
    energy_kwh
        Usable capacity at 100 % state of charge [kWh].
    p_max_kw
        Largest charge or discharge power at the AC terminals [kW].
    soc0_pct
        State of charge at the start [%].
    reserve_pct
        Lowest state of charge [%].
    soc_max_pct
        Highest state of charge [%].
    efficiency_charge_pct, efficiency_discharge_pct
        One-way efficiencies, AC to stored and stored to AC [%].

    Examples
    --------
    >>> Battery(energy_kwh=13.5, p_max_kw=5.0).round_trip_pct
    90.25
    """

    energy_kwh: float
    p_max_kw: float
    soc0_pct: float = 50.0
    reserve_pct: float = 10.0
    soc_max_pct: float = 100.0
    efficiency_charge_pct: float = 95.0
    efficiency_discharge_pct: float = 95.0

    def __post_init__(self) -> None:
        require(self.energy_kwh > 0, "energy_kwh", f"{self.energy_kwh!r} must be > 0 [kWh]")
        require(self.p_max_kw > 0, "p_max_kw", f"{self.p_max_kw!r} must be > 0 [kW]")
        require(0 <= self.reserve_pct <= self.soc_max_pct <= 100, "reserve_pct, soc_max_pct",
                "need 0 <= reserve_pct <= soc_max_pct <= 100 [%]")
        require(self.reserve_pct <= self.soc0_pct <= self.soc_max_pct, "soc0_pct",
                f"{self.soc0_pct!r} must lie within [reserve_pct, soc_max_pct] [%]")
        for label in ("efficiency_charge_pct", "efficiency_discharge_pct"):
            value = getattr(self, label)
            require(0 < value <= 100, label, f"{value!r} must be in (0, 100] [%]")

    @property
    def round_trip_pct(self) -> float:
        """Round-trip efficiency [%]."""
        return self.efficiency_charge_pct * self.efficiency_discharge_pct / 100.0

    @classmethod
    def from_inverter(cls, inverter: PowerElectronicsConnection) -> Battery:
        """The battery of a model's battery inverter (``kind`` battery).

        Power is ``p_rated_kw``, else the inverter's ``s_kva``; the start is its
        ``soc_pct`` (default 50 %), the floor its ``reserve_pct``.

        Examples
        --------
        >>> from feederos.model import Terminal
        >>> inv = PowerElectronicsConnection(name="b", kind="battery", terminal=Terminal(
        ...     bus="x"), v_kv=0.48, s_kva=100, energy_kwh=200, soc_pct=80)
        >>> Battery.from_inverter(inv).p_max_kw, Battery.from_inverter(inv).soc0_pct
        (100.0, 80.0)
        """
        require(inverter.kind is DerKind.BATTERY and inverter.energy_kwh is not None,
                "inverter", f"{inverter.name!r} is not a battery with energy_kwh")
        assert inverter.energy_kwh is not None
        return cls(
            energy_kwh=inverter.energy_kwh,
            p_max_kw=inverter.p_rated_kw if inverter.p_rated_kw is not None else inverter.s_kva,
            soc0_pct=50.0 if inverter.soc_pct is None else inverter.soc_pct,
            reserve_pct=inverter.reserve_pct,
            efficiency_charge_pct=inverter.efficiency_charge_pct,
            efficiency_discharge_pct=inverter.efficiency_discharge_pct,
        )


@dataclass(frozen=True)
class BatterySchedule:
    """A battery's power and state of charge over the steps.

    Attributes
    ----------
    p_kw
        AC power in each step, discharge positive [kW].
    soc_pct
        State of charge at the start and after each step (one more than ``p_kw``) [%].
    step_h
        Length of a step [h].
    battery
        The battery scheduled.
    """

    p_kw: FloatArray
    soc_pct: FloatArray
    step_h: float
    battery: Battery

    @property
    def charged_kwh(self) -> float:
        """AC energy taken in [kWh]."""
        return float(np.maximum(-self.p_kw, 0.0).sum() * self.step_h)

    @property
    def discharged_kwh(self) -> float:
        """AC energy given out [kWh]."""
        return float(np.maximum(self.p_kw, 0.0).sum() * self.step_h)

    @property
    def losses_kwh(self) -> float:
        """Energy lost in conversion: charged minus discharged minus the stored gain [kWh]."""
        stored = float(self.soc_pct[-1] - self.soc_pct[0]) / 100.0 * self.battery.energy_kwh
        return self.charged_kwh - self.discharged_kwh - stored

    def to_frame(self) -> pd.DataFrame:
        """One row per step: ``p_kw`` and the state of charge at its end ``soc_pct``.

        Examples
        --------
        >>> s = battery_schedule([1.0], Battery(energy_kwh=2.0, p_max_kw=1.0),
        ...                      mode="self_consumption")
        >>> s.to_frame().columns.tolist()
        ['p_kw', 'soc_pct']
        """
        return pd.DataFrame({"p_kw": self.p_kw, "soc_pct": self.soc_pct[1:]})

    def to_load_shape(self, name: str) -> LoadShape:
        """The power as multipliers of ``p_max_kw`` (discharge positive), as an OpenDSS
        storage element in *follow* dispatch reads its shape.

        Examples
        --------
        >>> s = battery_schedule([-2.0], Battery(energy_kwh=2.0, p_max_kw=1.0),
        ...                      mode="self_consumption")
        >>> s.to_load_shape("bat").p_mult
        [-1.0]
        """
        return shape_from_values(name, self.p_kw / self.battery.p_max_kw, interval_h=self.step_h)


def battery_schedule(load_kw: Sequence[float] | FloatArray, battery: Battery, *,
                     mode: BatteryMode | str = BatteryMode.PEAK_SHAVE, step_h: float = 1.0,
                     threshold_kw: float | None = None, start_h: float = 0.0,
                     charge_window_h: tuple[float, float] = (0.0, 6.0),
                     discharge_window_h: tuple[float, float] = (17.0, 21.0)
                     ) -> BatterySchedule:
    """Dispatch ``battery`` against ``load_kw`` step by step.

    Parameters
    ----------
    load_kw
        The load the battery sits behind, each step's mean [kW]; for
        ``self_consumption`` the net load, negative when PV exceeds consumption.
    battery
        Ratings, limits, efficiencies and starting state of charge.
    mode
        The strategy (see the module notes).
    step_h
        Length of a step [h].
    threshold_kw
        ``peak_shave`` only: the load to keep below [kW].
    start_h
        Hour of day at which the first step starts (``time_of_use``) [h].
    charge_window_h, discharge_window_h
        ``time_of_use``: ``(from, to)`` hours of day, wrapping past midnight when
        ``from > to`` [h].

    Returns
    -------
    BatterySchedule
        Power (discharge positive) and state of charge.

    Raises
    ------
    ProfileError
        ``peak_shave`` without ``threshold_kw``, a load that is not finite, a step that is
        not positive.

    Examples
    --------
    >>> day = np.r_[np.full(6, 1.0), np.full(11, 2.0), np.full(4, 6.0), np.full(3, 2.0)]
    >>> s = battery_schedule(day, Battery(energy_kwh=10.0, p_max_kw=3.0, soc0_pct=10.0),
    ...                      mode="time_of_use")
    >>> s.p_kw[:6].round(6).tolist(), round(float(s.soc_pct[6]), 2)
    ([-3.0, -3.0, -3.0, -0.473684, 0.0, 0.0], 100.0)
    """
    load = np.asarray(load_kw, dtype=np.float64)
    require(load.ndim == 1 and bool(np.isfinite(load).all()), "load_kw",
            "must be a sequence of finite numbers [kW]")
    require(step_h > 0, "step_h", f"{step_h!r} must be > 0 [h]")
    mode = choice(BatteryMode, mode, "mode")
    b = battery
    if mode is BatteryMode.PEAK_SHAVE:
        require(threshold_kw is not None, "threshold_kw", "peak_shave needs the load to keep "
                "below [kW]")
        assert threshold_kw is not None
        wanted = load - threshold_kw  # above the threshold discharge, below it recharge
    elif mode is BatteryMode.SELF_CONSUMPTION:
        wanted = load.copy()
    else:
        hour = np.mod(start_h + (np.arange(load.size) + 0.5) * step_h, 24.0)
        charge = _in_window(hour, charge_window_h)
        discharge = _in_window(hour, discharge_window_h) & ~charge
        wanted = np.where(charge, -b.p_max_kw, np.where(discharge, np.maximum(load, 0.0), 0.0))
    wanted = np.clip(wanted, -b.p_max_kw, b.p_max_kw)
    eta_c = b.efficiency_charge_pct / 100.0
    eta_d = b.efficiency_discharge_pct / 100.0
    e_min = b.reserve_pct / 100.0 * b.energy_kwh
    e_max = b.soc_max_pct / 100.0 * b.energy_kwh
    stored = b.soc0_pct / 100.0 * b.energy_kwh
    p_out = np.empty(load.size, dtype=np.float64)
    e_out = np.empty(load.size + 1, dtype=np.float64)
    e_out[0] = stored
    for k, p in enumerate(wanted.tolist()):
        if p > 0:
            p = min(p, max(stored - e_min, 0.0) * eta_d / step_h)
            stored -= p / eta_d * step_h
        elif p < 0:
            taken = min(-p, max(e_max - stored, 0.0) / eta_c / step_h)
            p = -taken if taken > 0 else 0.0
            stored += taken * eta_c * step_h
        p_out[k] = p
        e_out[k + 1] = stored
    return BatterySchedule(p_kw=p_out, soc_pct=e_out / b.energy_kwh * 100.0, step_h=step_h,
                           battery=b)


def _in_window(hour: FloatArray, window: tuple[float, float]) -> npt.NDArray[np.bool_]:
    start, end = window
    if start <= end:
        return np.asarray((hour >= start) & (hour < end))
    return np.asarray((hour >= start) | (hour < end))
