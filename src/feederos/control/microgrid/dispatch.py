"""Economic dispatch of a short street: who may use how much, critical circuits first.

Each house ``i`` has circuits ``k = 0 … K-1`` with a demand ``demand_kw[i, k]``;
circuit 0 is the critical one (fridge, medical devices, communications) and is always
served. The street's supply is what the anchor may deliver over the planning horizon
plus what the houses themselves generate (:func:`street_supply_kw`). The dispatch:

1. serves every critical circuit, whatever the supply (a deficit is reported, never
   shed);
2. shares what is left among the houses' non-critical circuits in proportion to a
   weight (:func:`house_weights_kw`: a base plus what the house contributes — its PV
   forecast and its battery's energy over the horizon), by water-filling: a house
   never gets more than it asks for, the surplus goes to the others;
3. serves each house's non-critical circuits in index order while they fit its share,
   then hands the leftover to circuits that still fit, houses by weight;
4. charges a circuit that is shed now ``1 + restore_margin`` times its demand, so a
   circuit is restored only with headroom and the plan does not chatter.

:func:`plan_switching` turns a plan into relay actions, and it is the one place that
keeps circuit 0 closed: it never emits an open action for it.

Examples
--------
>>> import numpy as np
>>> demand = np.array([[1.0, 2.0, 1.0], [1.0, 1.0, 3.0]])
>>> plan = allocate(demand, np.array([1.0, 3.0]), supply_kw=6.0)
>>> plan.served.astype(int).tolist()
[[1, 1, 1], [1, 1, 0]]
>>> [a.circuit for a in plan_switching(np.ones((2, 3), bool), plan.served)]
[2]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "CRITICAL_CIRCUIT",
    "Allocation",
    "SwitchAction",
    "allocate",
    "fair_shares_kw",
    "house_weights_kw",
    "plan_switching",
    "street_supply_kw",
]

CRITICAL_CIRCUIT = 0
"""Index of the critical circuit of every house (relay asset ``houseNN.c0``): never shed."""

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Allocation:
    """A dispatch plan."""

    served: BoolArray
    """Which circuits may be on, shape (houses, circuits); column 0 always true."""
    shares_kw: FloatArray
    """Each house's fair share of the non-critical supply [kW]."""
    critical_kw: float
    """Demand of all critical circuits [kW]."""
    deficit_kw: float
    """Critical demand the supply does not cover [kW] (served anyway)."""


@dataclass(frozen=True, slots=True)
class SwitchAction:
    """Open (shed) or close (restore) circuit ``circuit`` of house index ``house``."""

    house: int
    circuit: int
    close: bool


def street_supply_kw(
    *,
    anchor_soc_pct: float,
    reserve_pct: float,
    energy_kwh: float,
    p_rated_kw: float,
    horizon_h: float,
    house_generation_kw: FloatArray,
) -> float:
    """Power the street may use [kW]: the anchor's sustainable output plus the houses'.

    The anchor may deliver its energy above reserve spread over ``horizon_h``, at most
    its rating; the houses add their own generation (PV forecast, home batteries).

    >>> street_supply_kw(anchor_soc_pct=50.0, reserve_pct=20.0, energy_kwh=60.0,
    ...                  p_rated_kw=30.0, horizon_h=3.0, house_generation_kw=np.array([1.0, 0.5]))
    7.5
    """
    if horizon_h <= 0:
        raise ValueError(f"dispatch horizon_h must be positive, not {horizon_h}")
    above_kwh = max(anchor_soc_pct - reserve_pct, 0.0) / 100.0 * energy_kwh
    anchor_kw = min(p_rated_kw, above_kwh / horizon_h)
    return float(anchor_kw + np.clip(house_generation_kw, 0.0, None).sum())


def house_weights_kw(
    *,
    pv_forecast_kw: FloatArray,
    soc_pct: FloatArray,
    battery_kwh: FloatArray,
    battery_kw: FloatArray,
    horizon_h: float,
    base_kw: float = 1.0,
) -> FloatArray:
    """Each house's claim on the shared supply [kW]: ``base_kw`` plus what it brings.

    What a house brings is its PV forecast plus its battery's stored energy over the
    horizon (at most the battery's rating). A house with nothing still has ``base_kw``.

    >>> house_weights_kw(pv_forecast_kw=np.array([0.0, 2.0]), soc_pct=np.array([0.0, 50.0]),
    ...                  battery_kwh=np.array([0.0, 12.0]), battery_kw=np.array([0.0, 5.0]),
    ...                  horizon_h=3.0).tolist()
    [1.0, 5.0]
    """
    stored_kw = np.clip(soc_pct, 0.0, 100.0) / 100.0 * battery_kwh / horizon_h
    return base_kw + np.clip(pv_forecast_kw, 0.0, None) + np.minimum(stored_kw, battery_kw)


def fair_shares_kw(available_kw: float, weights: FloatArray, caps_kw: FloatArray) -> FloatArray:
    """Split ``available_kw`` by ``weights``, no house above its cap (water-filling) [kW].

    >>> fair_shares_kw(6.0, np.array([1.0, 1.0, 1.0]), np.array([1.0, 10.0, 10.0])).tolist()
    [1.0, 2.5, 2.5]
    """
    shares = np.zeros_like(caps_kw, dtype=float)
    active = caps_kw > 0.0
    left = max(available_kw, 0.0)
    while active.any() and left > 1e-12:
        w = np.where(active, weights, 0.0)
        offer = left * w / w.sum()
        full = active & (offer >= caps_kw - shares)
        if not full.any():
            shares += offer
            break
        left -= float((caps_kw - shares)[full].sum())
        shares[full] = caps_kw[full]
        active &= ~full
    return shares


def allocate(
    demand_kw: FloatArray,
    weights: FloatArray,
    supply_kw: float,
    *,
    served_before: BoolArray | None = None,
    restore_margin: float = 0.2,
) -> Allocation:
    """Which circuits may be on within ``supply_kw`` (see the module docstring).

    Parameters
    ----------
    demand_kw
        Demand of each circuit, shape (houses, circuits); column 0 is critical [kW].
    weights
        Each house's claim, e.g. :func:`house_weights_kw` [kW].
    supply_kw
        Power the street may use, e.g. :func:`street_supply_kw` [kW].
    served_before
        The circuits on now; a circuit off now costs ``1 + restore_margin`` times its
        demand to come back. All on if not given.
    restore_margin
        Hysteresis of restoring [-].
    """
    demand = np.clip(np.asarray(demand_kw, dtype=float), 0.0, None)
    n, k = demand.shape
    before = np.ones((n, k), bool) if served_before is None else np.asarray(served_before, bool)
    cost = np.where(before, demand, demand * (1.0 + restore_margin))
    critical_kw = float(demand[:, CRITICAL_CIRCUIT].sum())
    left = supply_kw - critical_kw
    served = np.zeros((n, k), bool)
    served[:, CRITICAL_CIRCUIT] = True
    nc = [c for c in range(k) if c != CRITICAL_CIRCUIT]
    shares = fair_shares_kw(left, np.asarray(weights, float), cost[:, nc].sum(axis=1))
    remaining = shares.copy()
    for i in range(n):
        for c in nc:
            if cost[i, c] <= remaining[i] + 1e-9:
                served[i, c] = True
                remaining[i] -= cost[i, c]
    leftover = max(left, 0.0) - float(np.where(served[:, nc], cost[:, nc], 0.0).sum())
    for i in np.argsort(-np.asarray(weights, float), kind="stable"):
        for c in nc:
            if not served[i, c] and cost[i, c] <= leftover + 1e-9:
                served[i, c] = True
                leftover -= cost[i, c]
    return Allocation(
        served=served,
        shares_kw=shares,
        critical_kw=critical_kw,
        deficit_kw=max(-left, 0.0),
    )


def plan_switching(
    served_before: BoolArray,
    served_after: BoolArray,
    *,
    may_shed: bool = True,
    may_restore: bool = True,
    max_restores: int | None = None,
) -> list[SwitchAction]:
    """Relay actions that take the circuits from ``served_before`` to ``served_after``.

    The one guard of critical circuits: an open action for circuit 0 is never emitted,
    whatever ``served_after`` says (it may still be closed if it is found open).
    ``may_shed``/``may_restore`` limit the plan to one direction; ``max_restores``
    limits how many circuits close at once, so the anchor picks load up in steps.

    >>> before = np.array([[True, True], [False, False]])
    >>> after = np.array([[False, False], [True, True]])
    >>> [(a.house, a.circuit, a.close) for a in plan_switching(before, after, max_restores=1)]
    [(0, 1, False), (1, 0, True)]
    """
    before = np.asarray(served_before, bool)
    after = np.asarray(served_after, bool).copy()
    after[:, CRITICAL_CIRCUIT] = True
    actions: list[SwitchAction] = []
    if may_shed:
        for i, c in zip(*np.nonzero(before & ~after), strict=True):
            if int(c) != CRITICAL_CIRCUIT:
                actions.append(SwitchAction(int(i), int(c), close=False))
    if may_restore:
        # Critical circuits first, then by house and circuit.
        closes = sorted(
            (
                (int(c) != CRITICAL_CIRCUIT, int(i), int(c))
                for i, c in zip(*np.nonzero(~before & after), strict=True)
            )
        )
        if max_restores is not None:
            closes = closes[:max_restores]
        actions.extend(SwitchAction(i, c, close=True) for _, i, c in closes)
    return actions
