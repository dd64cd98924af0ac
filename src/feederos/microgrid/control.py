"""Who sheds and restores circuits in the island: the controller protocol and a local rule.

Every step the twin hands a :class:`StreetState` to a :class:`ShedController` and applies
the :class:`ControlDecision` it returns: circuits to open (shed) or close (restore), by
the runtime's asset ids (``house03.c1``), and PV active-power limits per house [%]. Each
house has three circuits: ``c0`` critical (never shed; the twin refuses a decision that
tries), ``c1`` non-critical, ``c2`` the EV charger. The orchestrator app plugs in here
through the runtime bus; without one, :class:`LocalShedRule` runs at every house.

Examples
--------
>>> import numpy as np
>>> from dataclasses import replace
>>> rule = LocalShedRule()
>>> state = StreetState(t_s=0.0, f_hz=59.6, anchor_soc_pct=25.0, grid_ok=False,
...     islanded=True, houses=("house01", "house02"), net_p_w=np.zeros(2),
...     circuits_closed=np.ones((2, 3), dtype=bool), pv_limit_pct=np.full(2, 100.0))
>>> for t in range(4):
...     decision = rule.decide(replace(state, t_s=float(t)))
>>> decision.open
('house01.c1', 'house01.c2', 'house02.c1', 'house02.c2')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

__all__ = [
    "CIRCUITS",
    "ControlDecision",
    "LocalShedRule",
    "ShedController",
    "StreetState",
    "circuit_id",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

CIRCUITS = ("c0", "c1", "c2")
"""Circuits per house: critical, non-critical, EV charger."""


def circuit_id(house: str, circuit: int) -> str:
    """The runtime asset id of a house circuit.

    Examples
    --------
    >>> circuit_id("house03", 1)
    'house03.c1'
    """
    return f"{house}.{CIRCUITS[circuit]}"


@dataclass(frozen=True)
class StreetState:
    """What a controller sees at the start of a step.

    Attributes
    ----------
    t_s
        Time since the scenario start [s].
    f_hz
        Island (or grid) frequency [Hz].
    anchor_soc_pct
        The anchor's state of charge [%].
    grid_ok
        The utility side is live (the interconnection device's ``grid_ok``).
    islanded
        The street runs as an island now.
    houses
        House names, the order of every array.
    net_p_w
        Each house's net active power at the last step, consumption positive [W].
    circuits_closed
        ``(houses, 3)``: circuit relays closed (c0, c1, c2).
    pv_limit_pct
        Each house's present PV active-power limit [% of rating].
    """

    t_s: float
    f_hz: float
    anchor_soc_pct: float
    grid_ok: bool
    islanded: bool
    houses: tuple[str, ...]
    net_p_w: FloatArray
    circuits_closed: BoolArray
    pv_limit_pct: FloatArray


@dataclass(frozen=True)
class ControlDecision:
    """Circuits to open and close (asset ids) and new PV limits (house → % of rating)."""

    open: tuple[str, ...] = ()
    close: tuple[str, ...] = ()
    pv_limit_pct: dict[str, float] = field(default_factory=dict)


class ShedController(Protocol):
    """Anything that decides sheds, restores and PV limits each step."""

    def decide(self, state: StreetState) -> ControlDecision:
        """The decision for this step."""
        ...


@dataclass
class LocalShedRule:
    """Each house's own rule, reading the frequency the anchor sets from its SOC.

    - **Shed** (under-frequency / low SOC): once the frequency has been below
      ``ev_shed_below_hz`` for ``shed_delay_s`` a house opens its EV circuit (deferrable
      load first); below ``shed_below_hz`` — or with the anchor below ``reserve_pct`` —
      also its non-critical circuit.
    - **Restore** with hysteresis: once the frequency has been above ``restore_above_hz``
      (and the anchor above its reserve) for ``restore_delay_s`` plus
      ``restore_stagger_s`` × the house's position, it closes them again, so houses pick
      their load up one after another, not all at once.
    - **Curtail**: above ``curtail_above_hz`` (the anchor nearly full, its frequency-shift
      curve high) a house lowers its PV limit by ``curtail_pct_per_s``; below
      ``release_below_hz`` it raises it by ``release_pct_per_s``.
    - **Grid back**: with the street reconnected every circuit closes and limits clear.

    Critical circuits (``c0``) are never touched.
    """

    ev_shed_below_hz: float = 59.9
    shed_below_hz: float = 59.8
    restore_above_hz: float = 59.95
    reserve_pct: float = 20.0
    shed_delay_s: float = 2.0
    restore_delay_s: float = 300.0
    restore_stagger_s: float = 30.0
    curtail_above_hz: float = 60.35
    release_below_hz: float = 60.2
    curtail_pct_per_s: float = 1.0
    release_pct_per_s: float = 0.5
    _low_since: float | None = field(default=None, init=False, repr=False)
    _ev_low_since: float | None = field(default=None, init=False, repr=False)
    _ok_since: float | None = field(default=None, init=False, repr=False)
    _last_t: float | None = field(default=None, init=False, repr=False)

    def decide(self, state: StreetState) -> ControlDecision:
        """Shed, restore and curtail for this step (see the class docstring)."""
        dt = 0.0 if self._last_t is None else state.t_s - self._last_t
        self._last_t = state.t_s
        closed = state.circuits_closed
        open_ids = [
            circuit_id(h, c) for i, h in enumerate(state.houses) for c in (1, 2) if not closed[i, c]
        ]
        if not state.islanded:
            self._low_since = self._ev_low_since = self._ok_since = None
            limits = {
                h: 100.0 for h, p in zip(state.houses, state.pv_limit_pct, strict=True) if p < 100.0
            }
            return ControlDecision(close=tuple(open_ids), pv_limit_pct=limits)
        t = state.t_s
        low = state.f_hz < self.shed_below_hz or state.anchor_soc_pct < self.reserve_pct
        ev_low = low or state.f_hz < self.ev_shed_below_hz
        ok = state.f_hz > self.restore_above_hz and state.anchor_soc_pct > self.reserve_pct
        self._low_since = _since(self._low_since, low, t)
        self._ev_low_since = _since(self._ev_low_since, ev_low, t)
        self._ok_since = _since(self._ok_since, ok, t)
        to_open: list[str] = []
        to_close: list[str] = []
        for c, since in ((1, self._low_since), (2, self._ev_low_since)):
            if since is not None and t - since >= self.shed_delay_s:
                to_open += [circuit_id(h, c) for i, h in enumerate(state.houses) if closed[i, c]]
        if self._ok_since is not None:
            held_s = t - self._ok_since
            for i, h in enumerate(state.houses):
                if held_s >= self.restore_delay_s + i * self.restore_stagger_s:
                    to_close += [circuit_id(h, c) for c in (1, 2) if not closed[i, c]]
        step = np.zeros_like(state.pv_limit_pct)
        if state.f_hz > self.curtail_above_hz:
            step -= self.curtail_pct_per_s * dt
        elif state.f_hz < self.release_below_hz:
            step += self.release_pct_per_s * dt
        new = np.clip(state.pv_limit_pct + step, 0.0, 100.0)
        limits = {
            h: float(v)
            for h, v, old in zip(state.houses, new, state.pv_limit_pct, strict=True)
            if v != old
        }
        return ControlDecision(
            open=tuple(sorted(to_open)), close=tuple(to_close), pv_limit_pct=limits
        )


def _since(start: float | None, condition: bool, t_s: float) -> float | None:
    """When ``condition`` has held since (``None`` if it does not hold now)."""
    if not condition:
        return None
    return t_s if start is None else start
