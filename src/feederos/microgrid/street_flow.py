"""The street's AC voltages, cable loading and isolation over a run, from our power flow.

A day at 1 s is 86,400 power flows. They are solved in blocks of columns with
:func:`feederos.timeseries.batch.solve_batch` (one compile and factorisation per network
state, connected or islanded, blocks of 8,192 steps to bound memory): on the 10-house
street every one of the 93,600 steps of ``grid_failure`` takes about 2 s, so by default
every energised step is solved. For larger streets or longer runs the solver can keep to
*event steps*: the first step of every energised stretch, every step where some house's
net active or reactive power has moved more than ``threshold_w`` from the last solved
step, and at least every ``max_gap_steps`` (measured on ``grid_failure``: 100 W and 300 s
give 486 power flows and the same voltage range to 0.1 mV).

Checks, per solved step:

- **ANSI C84.1 range B** (service voltage 110–127 V on the 120 V base, 0.9167–1.0583 pu)
  at both 120 V legs of every house panel.
- **Cable loading**: the largest thermal loading of any line or switch [pu of normal].
- **Isolation** while islanded: every utility-side node (:func:`utility_side_buses`) is
  outside the energised set and at 0 V, so no current crosses the open interconnection
  device or transfer switches (no back-feed to the utility side).

Examples
--------
>>> import numpy as np
>>> n = 4
>>> flow = street_flow(Topology.TRANSFORMER_ISLAND, np.full((n, 10), 1500.0),
...     np.full((n, 10), 300.0), live=np.ones(n, bool), islanded=np.ones(n, bool))
>>> flow.solved_steps.tolist(), bool(flow.isolated.all())
([0, 1, 2, 3], True)
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from feederos.microgrid.networks import house_names, street_network, utility_side_buses
from feederos.microgrid.scenario import Topology
from feederos.powerflow.compiled import compile_network
from feederos.timeseries.batch import solve_batch

__all__ = ["RANGE_B_PU", "StreetFlow", "event_steps", "street_flow"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

RANGE_B_PU = (110.0 / 120.0, 127.0 / 120.0)
"""ANSI C84.1 range B service voltage [pu of 120 V]."""
_BLOCK = 8192


@dataclass(frozen=True)
class StreetFlow:
    """Power-flow results at the solved steps.

    Attributes
    ----------
    solved_steps
        Indices of the steps solved.
    v_house_pu
        ``(solved, houses, 2)``: each house panel's two 120 V legs [pu].
    loading_max_pu
        Largest line/switch loading per solved step [pu of normal rating].
    losses_kw
        Street losses per solved step [kW].
    backfeed_v
        Largest utility-side node voltage while islanded, per solved step (NaN when
        connected) [V].
    isolated
        Per solved step: the utility side is dead while islanded (True when connected).
    converged
        Per solved step.
    solve_s
        Wall time of the power flows [s].
    """

    solved_steps: IntArray
    v_house_pu: FloatArray
    loading_max_pu: FloatArray
    losses_kw: FloatArray
    backfeed_v: FloatArray
    isolated: BoolArray
    converged: BoolArray
    solve_s: float


def event_steps(
    p_w: FloatArray,
    q_var: FloatArray,
    mode: IntArray,
    *,
    threshold_w: float = 0.0,
    max_gap_steps: int = 1,
) -> IntArray:
    """Steps to solve (module docstring); ``mode`` < 0 marks steps not to solve (dark).

    Examples
    --------
    >>> p = np.array([[0.0], [50.0], [120.0], [130.0], [0.0]])
    >>> event_steps(p, 0 * p, np.array([1, 1, 1, 1, 2]), threshold_w=100.0,
    ...             max_gap_steps=300).tolist()
    [0, 2, 4]
    """
    x = np.concatenate([p_w, q_var], axis=1)
    picked: list[int] = []
    last = -1
    for k in range(len(x)):
        if mode[k] < 0:
            last = -1
            continue
        if (
            last < 0
            or mode[k] != mode[last]
            or k - last >= max_gap_steps
            or float(np.max(np.abs(x[k] - x[last]))) > threshold_w
        ):
            picked.append(k)
            last = k
    return np.asarray(picked, dtype=np.int64)


def street_flow(
    topology: Topology,
    p_w: FloatArray,
    q_var: FloatArray,
    *,
    live: BoolArray,
    islanded: BoolArray,
    anchor_house: str = "house01",
    threshold_w: float = 0.0,
    max_gap_steps: int = 1,
    breaker_open: bool | None = None,
) -> StreetFlow:
    """Solve the run's event steps and check voltages, loading and isolation.

    Parameters
    ----------
    topology
        The street's topology.
    p_w, q_var
        ``(steps, 10)``: each house's net power, consumption positive [W], [var].
    live, islanded
        Per step: the street is energised; it is islanded (else connected).
    anchor_house
        Where the anchor sits.
    threshold_w, max_gap_steps
        Event-step selection (:func:`event_steps`).
    breaker_open
        Override of the separating switches while islanded (tests of the check).
    """
    mode = np.where(live, np.where(islanded, 1, 0), -1).astype(np.int64)
    steps = event_steps(p_w, q_var, mode, threshold_w=threshold_w, max_gap_steps=max_gap_steps)
    n = len(steps)
    v_house = np.full((n, p_w.shape[1], 2), np.nan)
    loading = np.full(n, np.nan)
    losses = np.full(n, np.nan)
    backfeed = np.full(n, np.nan)
    isolated = np.ones(n, dtype=bool)
    converged = np.zeros(n, dtype=bool)
    t0 = time.perf_counter()
    for is_island in (False, True):
        rows = np.flatnonzero(mode[steps] == int(is_island))
        if rows.size == 0:
            continue
        net = street_network(
            topology,
            islanded=is_island,
            anchor_house=anchor_house,
            breaker_open=breaker_open if is_island else None,
        )
        compiled = compile_network(net)
        nodes = compiled.nodes
        legs = np.array([[nodes.of(h, 1), nodes.of(h, 2)] for h in house_names()])
        util = np.flatnonzero(
            np.isin(np.asarray(nodes.buses)[nodes.bus], sorted(utility_side_buses(topology)))
        )
        dead = not compiled.energized[util].any()
        for lo in range(0, rows.size, _BLOCK):
            r = rows[lo : lo + _BLOCK]
            k = steps[r]
            out = solve_batch(
                compiled, p_w[k] / 1000.0, q_var[k] / 1000.0, chunk=512, record_voltages=True
            )
            assert out.v is not None
            v_house[r] = np.abs(out.v[:, legs]) / nodes.v_base_ln_v[legs][None]
            totals = out.totals.sort_index()
            loading[r] = totals.loading_max_pu.to_numpy()
            losses[r] = totals.losses_kw.to_numpy()
            converged[r] = totals.converged.to_numpy()
            if is_island:
                backfeed[r] = np.abs(out.v[:, util]).max(axis=1) if util.size else 0.0
                isolated[r] = dead & (backfeed[r] < 1.0)
    return StreetFlow(
        solved_steps=steps,
        v_house_pu=v_house,
        loading_max_pu=loading,
        losses_kw=losses,
        backfeed_v=backfeed,
        isolated=isolated,
        converged=converged,
        solve_s=time.perf_counter() - t0,
    )
