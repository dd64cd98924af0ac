"""A controlled time series stepped in compiled code: the whole series in one call.

:func:`run_series` does what :func:`feederos.timeseries.run` does step by step with
:func:`~feederos.powerflow.solve`, for a network packed as a
:class:`~feederos.powerflow.controlled.ControlledNetwork`: each step solves with the
static control loop (:func:`~feederos.powerflow.controlled.solve_controlled`) from the
previous step's solution, and its totals, taps and capacitor steps are recorded
(:class:`SeriesOutput`).

Its steps are not first solved together as a block at the control state the block
begins with (:func:`~feederos.powerflow.methods.many.iterate_loads_many`, as
:func:`feederos.timeseries.run` does for networks without controls): that plain fixed
point costs more per step than the whole controlled solve from the previous step, with
its Anderson mixing (IEEE 8500: 14.6 against 11.9 ms per step; IEEE 123: 130 against
175 µs, after which each step still solves from its block's start), and where the
controls act the block's solutions are at stale taps.

Each step starts from the last one's solution moved along the trend of the two before
it (:func:`predict_start`): where the loads change as they changed the step before,
the voltages will too. On IEEE 123's year it takes a quarter fewer iterations, on
IEEE 8500's first hours a tenth.

A step whose fixed point does not converge
(:data:`~feederos.powerflow.controlled.NOT_CONVERGED`) stops the call with
:attr:`SeriesProgress.counters` at that step, the state and start voltages it began with
kept; the caller solves it with :func:`~feederos.powerflow.solve`, records it, moves the
state and calls again to go on. A refactorisation that meets a zero pivot
(:data:`~feederos.powerflow.controlled.ZERO_PIVOT`) stops it for good.

Examples
--------
Two hours of IEEE 13 at half and full load:

>>> import numpy as np
>>> from feederos.feeders import load_feeder
>>> from feederos.powerflow import compile_network
>>> from feederos.powerflow.controlled import ControlledNetwork
>>> from feederos.timeseries.recording import Record, Recorder
>>> net = ControlledNetwork(compile_network(load_feeder("ieee13")))
>>> state = net.state()
>>> scales = np.repeat([[0.5, 1.0]], net.unit_scale.shape[0], axis=0)
>>> progress, out = series_progress(net, state), series_output(net, 2)
>>> nothing = Recorder(net.root, Record()).arrays(net.pd_offsets)
>>> run_series(net.arrays, state, scales, progress, out, nothing, 1e-9, 100, 10) == SOLVED
True
>>> out.converged.tolist(), bool(out.source_va[0].real < out.source_va[1].real)
([True, True], True)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from numba import njit

from feederos.powerflow.controlled import (
    SOLVED,
    ZERO_PIVOT,
    ControlledArrays,
    ControlledNetwork,
    ControlledState,
    no_load_start,
    snapshot_totals,
    solve_controlled,
    tap_numbers,
)
from feederos.timeseries.recording import RecordArrays, record_step

__all__ = ["SeriesOutput", "SeriesProgress", "predict_start", "run_series", "series_output",
           "series_progress"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]
BoolArray = npt.NDArray[np.bool_]

NEXT, HAS_LAST, HAS_TREND = range(3)
"""Places in :attr:`SeriesProgress.counters`: the next step, whether a step was solved
before, whether the last two were both solved here (so that the trend holds)."""

TREND_ALIGNMENT = 0.9
"""Least share of a step's change of the loads' scales [of its squared size] that must
lie along the last step's change for the trend to predict the step's start: where the
loads follow one shape all of it does; where each follows its own, the last change says
little about the next one's voltages."""

TREND_REACH = 3.0
"""Largest multiple of the last step's change a prediction extrapolates."""


class SeriesOutput(NamedTuple):
    """What each step of a series produced, one row per step.

    Attributes
    ----------
    source_va, losses_va
        Source power and losses [VA].
    v_min_pu, v_max_pu
        Voltage range [pu].
    loading_max_pu
        Largest thermal loading [pu of normal rating] (NaN: nothing rated).
    converged, iterations, control_iterations
        As :class:`~feederos.powerflow.PowerFlowResult` reports them.
    taps
        Tap position of each regulator ``(N, regulators)``.
    steps_in
        Steps in service of each controlled bank ``(N, banks)``.
    v_pu, i_a
        The recorded node voltages [pu] and element currents [A]
        (:class:`~feederos.timeseries.recording.RecordArrays`) ``(N, nodes)``,
        ``(N, elements)``.
    """

    source_va: ComplexArray
    losses_va: ComplexArray
    v_min_pu: FloatArray
    v_max_pu: FloatArray
    loading_max_pu: FloatArray
    converged: BoolArray
    iterations: IntArray
    control_iterations: IntArray
    taps: IntArray
    steps_in: IntArray
    v_pu: FloatArray
    i_a: FloatArray


class SeriesProgress(NamedTuple):
    """Where a series is, so that a call can stop at a step and the next go on.

    Attributes
    ----------
    counters
        ``[next step, has a last]``.
    v_last, v_start, v
        The last step's solution, the start of the step begun last, and the step's
        iterate [V].
    step_tap_pu, step_cap_states
        The control state the step begun last started from.
    v_first, v_before
        The last step's first solve (at the control state it began with,
        :func:`~feederos.powerflow.controlled.solve_controlled`'s ``first``) and the
        solution of the step before it [V].
    scale_last, scale_before
        The loads' scales of those two steps ``(M,)``.
    """

    counters: IntArray
    v_last: ComplexArray
    v_start: ComplexArray
    v: ComplexArray
    step_tap_pu: FloatArray
    step_cap_states: IntArray
    v_first: ComplexArray
    v_before: ComplexArray
    scale_last: FloatArray
    scale_before: FloatArray


def series_progress(net: ControlledNetwork, state: ControlledState) -> SeriesProgress:
    """The progress of a series not yet begun from ``state``."""
    n, m = net.arrays.solver.i_src.size, net.unit_scale.shape[0]

    def volts() -> ComplexArray:
        return np.zeros(n, dtype=np.complex128)

    return SeriesProgress(np.zeros(3, dtype=np.int64), volts(), volts(), volts(),
                          state.tap_pu.copy(), state.cap_states.copy(), volts(), volts(),
                          np.zeros(m), np.zeros(m))


def series_output(net: ControlledNetwork, steps: int, nodes: int = 0,
                  elements: int = 0) -> SeriesOutput:
    """Empty outputs for ``steps`` steps, recording ``nodes`` voltages and ``elements``
    currents."""
    return SeriesOutput(np.zeros(steps, dtype=np.complex128), np.zeros(steps, dtype=np.complex128),
                        np.zeros(steps), np.zeros(steps), np.zeros(steps),
                        np.zeros(steps, dtype=np.bool_),
                        np.zeros(steps, dtype=np.int64), np.zeros(steps, dtype=np.int64),
                        np.zeros((steps, net.regs.n), dtype=np.int64),
                        np.zeros((steps, len(net.banks)), dtype=np.int64),
                        np.zeros((steps, nodes)), np.zeros((steps, elements)))


@njit(cache=True, nogil=True)
def predict_start(p: SeriesProgress, scale: FloatArray) -> bool:  # pragma: no cover - compiled
    """Move ``p.v_start`` (the last step's solution) by the trend: the change the last
    step's loads made at one control state (its first solve less the solution before),
    times how far the loads' new ``scale`` goes along the last step's change. Only where
    that change carries at least :data:`TREND_ALIGNMENT` of the new one, at most
    :data:`TREND_REACH` times over; whether it moved.

    The first solve and the solution before it share a control state (the one the last
    step began with), so a tap that moved in the last step does not pass for a trend.

    Examples
    --------
    Two loads that rose by 0.1 and moved a node from 100 V to 98 V; now they rise by
    0.05 more:

    >>> volts = lambda x: np.array([x], dtype=np.complex128)
    >>> p = SeriesProgress(np.zeros(3, dtype=np.int64), volts(98.0), volts(98.0),
    ...                    volts(0), np.zeros(0), np.zeros(0, dtype=np.int64),
    ...                    volts(98.0), volts(100.0), np.array([1.1, 1.1]),
    ...                    np.array([1.0, 1.0]))
    >>> predict_start(p, np.array([1.15, 1.15])), p.v_start.real.tolist()
    (True, [97.0])

    One load goes on where the other stopped: no trend to follow.

    >>> p.v_start[:] = p.v_last
    >>> predict_start(p, np.array([1.1, 1.2])), p.v_start.real.tolist()
    (False, [98.0])
    """
    last_sq = 0.0
    new_sq = 0.0
    along = 0.0
    for i in range(scale.size):
        d_last = p.scale_last[i] - p.scale_before[i]
        d_new = scale[i] - p.scale_last[i]
        last_sq += d_last * d_last
        new_sq += d_new * d_new
        along += d_new * d_last
    if last_sq == 0.0 or new_sq == 0.0:
        return False
    t = along / last_sq
    if abs(t) > TREND_REACH or t * along < TREND_ALIGNMENT * new_sq:  # t·along = |proj|²
        return False
    for q in range(p.v_start.size):
        p.v_start[q] += t * (p.v_first[q] - p.v_before[q])
    return True


@njit(cache=True, nogil=True)
def run_series(
    a: ControlledArrays, state: ControlledState, scales: FloatArray, p: SeriesProgress,
    out: SeriesOutput, rec: RecordArrays, tolerance_pu: float, max_iterations: int,
    max_control_iterations: int,
) -> int:  # pragma: no cover - compiled
    """Step the series from ``p.counters[NEXT]`` to its end, each step's loads scaled by
    a column of ``scales`` ``(M, N)`` (see the module docstring), recording ``rec``.

    Returns :data:`~feederos.powerflow.controlled.SOLVED` when every step is done, else
    the status of the step it stopped at, ``p.counters[NEXT]`` (its start state and
    voltages are in ``p``).
    """
    n_steps = scales.shape[1]
    column = np.empty((scales.shape[0], 1))
    c = p.counters
    k = c[NEXT]
    while k < n_steps:
        if c[HAS_LAST]:
            p.v_start[:] = p.v_last
            if c[HAS_TREND]:
                predict_start(p, scales[:, k])
        elif not no_load_start(a.solver, state.factors, p.v_start):
            c[NEXT] = k
            return ZERO_PIVOT
        p.v[:] = p.v_start
        p.step_tap_pu[:] = state.tap_pu
        p.step_cap_states[:] = state.cap_states
        column[:, 0] = scales[:, k]
        status, iterations, control_iterations, settled = solve_controlled(
            a, state, column, p.v, tolerance_pu, max_iterations, max_control_iterations,
            p.v_first)
        if status != SOLVED:
            c[NEXT] = k
            return status
        source, losses, v_min, v_max, loading = snapshot_totals(a.pd, a.totals, state.pd_y,
                                                                p.v)
        out.source_va[k] = source
        out.losses_va[k] = losses
        out.v_min_pu[k] = v_min
        out.v_max_pu[k] = v_max
        out.loading_max_pu[k] = loading
        out.converged[k] = settled
        out.iterations[k] = iterations
        out.control_iterations[k] = control_iterations
        tap_numbers(a.regs, a.sensors.reg_transformer, state.tap_pu, out.taps[k])
        for b in range(state.cap_states.shape[0]):
            out.steps_in[k, b] = state.cap_states[b].sum()
        record_step(rec, state.pd_y, a.pd.conductors, p.v, out.v_pu[k], out.i_a[k])
        p.v_before[:] = p.v_last
        p.scale_before[:] = p.scale_last
        c[HAS_TREND] = c[HAS_LAST]
        p.v_last[:] = p.v
        p.scale_last[:] = scales[:, k]
        c[HAS_LAST] = 1
        k += 1
    c[NEXT] = n_steps
    return SOLVED
