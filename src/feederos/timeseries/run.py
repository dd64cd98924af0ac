"""Step a network through time: loads follow their shapes, controls act at every step.

What OpenDSS's yearly and daily modes do, step ``k = 1 … steps`` at hour
``start_h + k·step_h`` (OpenDSS advances the clock before it solves):

- every load's power is its rating × its multipliers as compiled (``loadmult``,
  status) × its shape at that hour — the ``yearly`` shape in yearly mode (the
  ``daily`` one where a load has none), the ``daily`` shape in daily mode; a load
  with no shape keeps its rating;
- the snapshot solves with the static control loop (:func:`feederos.powerflow.solve`),
  starting from the previous step's voltages, regulator taps and capacitor states;
- the network is compiled and ``y`` factorised once: a step changes only the load
  multipliers (:meth:`~feederos.powerflow.CompiledNetwork.with_injections`) and the
  control state (``with_state``, a low-rank update of the factors).

Not yet: generator/PV/storage shapes, shapes with their own reactive multipliers
(refused), capacitor-control timers carried from one step to the next (each step's
control loop starts with fresh timers).

Examples
--------
>>> from feederos.feeders import load_feeder
>>> from feederos.model import LoadShape
>>> net = load_feeder("ieee13")
>>> net.load_shapes.append(LoadShape(name="day", interval_h=1.0, p_mult=[0.5, 1.0]))
>>> for load in net.loads:
...     load.daily_shape = "day"
>>> out = run(net, steps=2, mode="daily")
>>> out.steps[["hour", "converged"]].values.tolist()
[[1.0, True], [2.0, True]]
>>> bool(out.steps.source_p_kw[0] < out.steps.source_p_kw[1])
True
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from feederos.errors import NetworkValidationError
from feederos.model import Network
from feederos.model.settings import SolveMode
from feederos.model.validation import Problem
from feederos.powerflow import solve
from feederos.powerflow.compiled import CompiledNetwork, compile_network
from feederos.powerflow.injections.loads import LoadSet
from feederos.powerflow.result import PowerFlowResult
from feederos.timeseries.profiles import shape_multipliers

__all__ = ["TimeSeriesResult", "run"]


@dataclass(frozen=True)
class TimeSeriesResult:
    """What a time series produced.

    Attributes
    ----------
    steps
        One row per step: ``hour``, ``source_p_kw``, ``source_q_kvar``,
        ``losses_kw``, ``losses_kvar``, ``v_min_pu``, ``v_max_pu`` (over energised
        nodes with a voltage base), ``converged``, ``iterations``,
        ``control_iterations``.
    taps
        Regulator tap positions after each step, one column per regulator.
    final
        The last step's full power-flow result.
    """

    steps: pd.DataFrame
    taps: pd.DataFrame
    final: PowerFlowResult

    @property
    def tap_changes(self) -> pd.Series:
        """Tap operations (steps moved) per regulator over the run, counting from the
        first step's solution."""
        return self.taps.diff().abs().sum().astype(int)


def _load_shapes(network: Network, mode: SolveMode) -> dict[str, str | None]:
    """Each load's shape name in ``mode``."""
    out: dict[str, str | None] = {}
    for load in network.loads:
        if mode is SolveMode.YEARLY:
            out[load.name] = load.yearly_shape or load.daily_shape
        elif mode is SolveMode.DAILY:
            out[load.name] = load.daily_shape
        else:
            out[load.name] = None
    return out


def run(
    network: Network,
    *,
    steps: int | None = None,
    step_s: float | None = None,
    start_h: float = 0.0,
    mode: SolveMode | str | None = None,
    controls: bool = True,
    tolerance_pu: float | None = None,
) -> TimeSeriesResult:
    """Run a quasi-static time series (see the module docstring).

    Parameters
    ----------
    network
        The network, with its loads' shapes and ``settings`` (mode, number, step
        size, tolerance) as imported from a ``.dss`` scenario.
    steps, step_s, mode, tolerance_pu
        Override ``settings.number``, ``settings.step_s``, ``settings.mode`` and
        ``settings.tolerance_pu``.
    start_h
        Clock before the first step [h]; the first step solves at ``start_h + step``.
    controls
        Let regulators and capacitor controls act at each step.

    Raises
    ------
    NetworkValidationError
        If a load names a shape the network lacks, or a shape has its own reactive
        multipliers (not supported yet).
    """
    settings = network.settings
    mode = SolveMode(mode) if mode is not None else settings.mode
    n_steps = int(steps if steps is not None else settings.number)
    step_h = float(step_s if step_s is not None else settings.step_s) / 3600.0
    tol = float(tolerance_pu if tolerance_pu is not None else settings.tolerance_pu)
    hours = start_h + step_h * np.arange(1, n_steps + 1)
    compiled = compile_network(network)
    mults = _step_multipliers(network, compiled, mode, hours)

    rows: list[dict[str, object]] = []
    taps: list[dict[str, int]] = []
    state: CompiledNetwork = compiled
    last: PowerFlowResult | None = None
    base = compiled.nodes.v_base_ln_v
    has_base = np.isfinite(base) & (base > 0) & compiled.energized
    for k, hour in enumerate(hours):
        sets = tuple(
            dataclasses.replace(s, mult=s.mult * m[:, k])
            if m is not None and isinstance(s, LoadSet) else s
            for s, m in zip(compiled.injections, mults, strict=True)
        )
        stepped = state.with_injections(sets)
        result = solve(stepped, tolerance_pu=tol, controls=controls, initial=last)
        v_pu = np.abs(result.v[has_base]) / base[has_base]
        rows.append({
            "hour": float(hour), "source_p_kw": result.source_p_kw,
            "source_q_kvar": result.source_q_kvar, "losses_kw": result.total_losses_kw,
            "losses_kvar": result.total_losses_kvar,
            "v_min_pu": float(v_pu.min()) if v_pu.size else np.nan,
            "v_max_pu": float(v_pu.max()) if v_pu.size else np.nan,
            "converged": result.converged, "iterations": result.iterations,
            "control_iterations": result.control_iterations,
        })
        taps.append(dict(result.regulator_taps))
        state, last = result.compiled, result
    if last is None:
        raise ValueError("a time series needs at least one step")
    return TimeSeriesResult(steps=pd.DataFrame(rows), taps=pd.DataFrame(taps), final=last)


def _step_multipliers(
    network: Network, compiled: CompiledNetwork, mode: SolveMode, hours: np.ndarray
) -> list[np.ndarray | None]:
    """Per injection set, each element's shape multiplier at each hour ``(m, steps)``;
    ``None`` for sets that follow no shape."""
    shapes = {s.name: s for s in network.load_shapes}
    by_load = _load_shapes(network, mode)
    problems: list[Problem] = []
    cache: dict[str, np.ndarray] = {}
    out: list[np.ndarray | None] = []
    for s in compiled.injections:
        if not isinstance(s, LoadSet):
            out.append(None)
            continue
        m = np.ones((len(s.names), hours.size))
        for i, name in enumerate(s.names):
            shape_name = by_load.get(name)
            if shape_name is None:
                continue
            shape = shapes.get(shape_name)
            if shape is None:
                problems.append(Problem("loads", name, "shape",
                                        f"no load shape named {shape_name!r}; add it"))
                continue
            if shape.q_mult is not None:
                problems.append(Problem("load_shapes", shape.name, "q_mult",
                                        "shapes with their own reactive multipliers are not "
                                        "supported in time series yet; drop q_mult"))
                continue
            if shape_name not in cache:
                cache[shape_name] = shape_multipliers(shape, hours)
            m[i] = cache[shape_name]
        out.append(m)
    if problems:
        raise NetworkValidationError(problems)
    return out
