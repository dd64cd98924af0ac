"""Step a network through time: loads follow their shapes, controls act at every step.

What OpenDSS's yearly and daily modes do, step ``k = 1 … steps`` at hour
``start_h + k·step_h`` (OpenDSS advances the clock before it solves):

- every load's power is its rating × its multipliers as compiled (``loadmult``,
  status) × its shape at that hour; generators, PV systems, batteries and EV chargers
  follow theirs, and batteries keep account of their stored energy
  (:mod:`feederos.timeseries.dispatch`); ``profiles`` replace elements' shapes for a
  run;
- the snapshot solves with the static control loop (:func:`feederos.powerflow.solve`),
  starting from the previous step's voltages, regulator taps and capacitor states (the
  first step from the network's, or, where its script solved a snapshot before the
  time series, ``settings.snapshot_first``, from that snapshot's, as OpenDSS carries
  them);
- the network is compiled and ``y`` factorised once: a step changes only the load
  multipliers and the control state (a numeric refactorisation of the factors);
- the steps go a ``window`` at a time (their load multipliers computed per window), and
  their frames, with the node voltages and element currents a
  :class:`~feederos.timeseries.recording.Record` asks for, to a
  :class:`~feederos.timeseries.sink.SeriesSink`: kept in memory, or streamed to Parquet
  (``out=``);
- where the network's injections are all loads, the whole series runs in compiled code
  (:mod:`feederos.timeseries.stepping`, :mod:`feederos.powerflow.controlled`) and only
  the last step is solved again by :func:`~feederos.powerflow.solve` for
  :attr:`TimeSeriesResult.final`; networks whose DER change from step to step, or with
  injections other than loads and controls, step with :func:`~feederos.powerflow.solve`
  (:meth:`~feederos.powerflow.CompiledNetwork.with_injections`, ``with_state``).

Not yet: shapes with their own reactive multipliers (refused), capacitor-control timers
carried from one step to the next (each step's control loop starts with fresh timers).

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

import itertools
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from feederos.model import Network
from feederos.model.settings import SolveMode
from feederos.powerflow import solve
from feederos.powerflow.compiled import CompiledNetwork, compile_network
from feederos.powerflow.controlled import (
    SOLVED,
    ZERO_PIVOT,
    ControlledNetwork,
    ControlledState,
    tap_numbers,
)
from feederos.powerflow.methods.many import solve_fixed_point_many
from feederos.powerflow.result import PowerFlowResult
from feederos.powerflow.solve import control_tables, regulator_taps
from feederos.powerflow.totals import totals_many
from feederos.powerflow.violations import AnsiRange, ansi_c84_1_limits
from feederos.timeseries.dispatch import Dispatch, Profile
from feederos.timeseries.recording import Record, Recorder
from feederos.timeseries.sink import SeriesSink
from feederos.timeseries.stepping import (
    HAS_LAST,
    HAS_TREND,
    NEXT,
    SeriesOutput,
    SeriesProgress,
    run_series,
    series_output,
    series_progress,
)

__all__ = ["MAX_ITERATIONS", "MIN_SEGMENT_STEPS", "PARALLEL_MEMORY_BYTES", "SEGMENTS_PER_WORKER",
           "WARM_UP_STEPS", "TimeSeriesResult", "run"]

FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

MAX_ITERATIONS = 100
"""Iterations a step may take before it is reported as not converged."""

WARM_UP_STEPS = 24
"""Steps a segment of a parallel series solves before its first, from the network's own
taps and banks, to arrive at its first step with the controls where the steps before
it leave them: on IEEE 8500's year a start from the network's taps moves them as the
sequential run does within 9 to 17 hours."""

MIN_SEGMENT_STEPS = 96
"""Fewest steps of a segment of a parallel series: four times its warm-up."""

SEGMENTS_PER_WORKER = 4
"""Segments a parallel series is cut into per thread, so that a thread that finishes a
light stretch takes another (the feeder's peak hours cost more control iterations)."""

PARALLEL_MEMORY_BYTES = 256 * 2**20
"""Most a parallel series may hold of its frames before it hands them on in order; a
series that would hold more (long, recording many nodes) runs sequentially, streaming."""


@dataclass(frozen=True)
class TimeSeriesResult:
    """What a time series produced.

    Attributes
    ----------
    steps
        One row per step: ``hour``, ``source_p_kw``, ``source_q_kvar``,
        ``losses_kw``, ``losses_kvar``, ``v_min_pu``, ``v_max_pu`` (over energised
        nodes with a voltage base), ``loading_max_pu`` (largest terminal-1 current of
        a rated PD element over its normal rating; NaN if none is rated),
        ``converged``, ``iterations``, ``control_iterations``.
    taps
        Regulator tap positions after each step, one column per regulator.
    capacitors
        Capacitor steps in service after each step, one column per capacitor.
    final
        The last step's full power-flow result.
    voltages_pu
        The recorded nodes' voltage magnitudes at each step, one column per node
        (``bus.node``) [pu] (:class:`~feederos.timeseries.recording.Record`).
    currents_a, loadings_pu
        The recorded elements' largest terminal-1 phase current at each step [A] and
        that over the element's normal rating [pu] (NaN: no rating), one column per
        element (``kind.name``, as :class:`~feederos.powerflow.PowerFlowResult` names
        them). The recorded frames are empty (with their columns) when the run streamed
        them to Parquet (``run(..., out=...)``).
    soc_pct
        Each battery's state of charge at the end of each step [%], one column per
        battery.
    """

    steps: pd.DataFrame
    taps: pd.DataFrame
    capacitors: pd.DataFrame
    final: PowerFlowResult
    voltages_pu: pd.DataFrame
    currents_a: pd.DataFrame
    loadings_pu: pd.DataFrame
    soc_pct: pd.DataFrame

    @property
    def tap_changes(self) -> pd.Series:
        """Tap operations (steps moved) per regulator over the run, counting from the
        first step's solution."""
        return self.taps.diff().abs().sum().astype(int)

    @property
    def capacitor_changes(self) -> pd.Series:
        """Capacitor step switchings per capacitor over the run, from the first step."""
        return self.capacitors.diff().abs().sum().astype(int)

    def summary(self) -> dict[str, float | int]:
        """Totals of the run: energy and losses [kWh], voltage extremes [pu], hours with
        some node outside ANSI C84.1 range A, the largest thermal loading [pu of normal
        rating] and the hours with some element above its normal rating, tap and
        capacitor operations.

        Each step stands for the interval ending at it (OpenDSS's convention), as long
        as the spacing of the first two steps (1 h for a single step).
        """
        s = self.steps
        step_h = float(s.hour.iloc[1] - s.hour.iloc[0]) if len(s) > 1 else 1.0
        band = ansi_c84_1_limits(AnsiRange.A)
        return {
            "steps": len(s),
            "step_h": step_h,
            "energy_kwh": float(s.source_p_kw.sum() * step_h),
            "losses_kwh": float(s.losses_kw.sum() * step_h),
            "v_min_pu": float(s.v_min_pu.min()),
            "v_max_pu": float(s.v_max_pu.max()),
            "hours_below_range_a": float((s.v_min_pu < band.v_min_pu).sum() * step_h),
            "hours_above_range_a": float((s.v_max_pu > band.v_max_pu).sum() * step_h),
            "loading_max_pu": float(s.loading_max_pu.max()),
            "hours_above_normal_rating": float((s.loading_max_pu > 1.0).sum() * step_h),
            "tap_operations": int(self.tap_changes.sum()),
            "capacitor_operations": int(self.capacitor_changes.sum()),
            "steps_not_converged": int((~s.converged).sum()),
        }


def run(
    network: Network,
    *,
    steps: int | None = None,
    step_s: float | None = None,
    start_h: float = 0.0,
    mode: SolveMode | str | None = None,
    controls: bool = True,
    tolerance_pu: float = 1e-9,
    chunk: int = 32,
    record: Record | None = None,
    out: str | Path | None = None,
    window: int = 1000,
    profiles: Mapping[str, Profile] | None = None,
    workers: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> TimeSeriesResult:
    """Run a quasi-static time series (see the module docstring).

    Parameters
    ----------
    network
        The network, with its loads' shapes and ``settings`` (mode, number, step
        size) as imported from a ``.dss`` scenario.
    steps, step_s, mode
        Override ``settings.number``, ``settings.step_s`` and ``settings.mode``.
    start_h
        Clock before the first step [h]; the first step solves at ``start_h + step``.
    controls
        Let regulators and capacitor controls act at each step.
    tolerance_pu
        Convergence tolerance of every step, as :func:`feederos.powerflow.solve`. Not
        OpenDSS's ``tolerance`` (default 1e-4): its iterate stops up to ~1e-5 pu from
        the solution, enough to move a regulator that sits on its band edge one hour
        early or late.
    chunk
        Steps solved together as one block where no control acts (memory grows with
        it).
    record
        Node voltages and element currents to report at every step (default: none).
    out
        A directory to stream every frame to as Parquet (``steps.parquet``,
        ``taps.parquet``, ``capacitors.parquet``, ``voltages_pu.parquet``,
        ``currents_a.parquet``, ``loadings_pu.parquet``; a ``step`` column numbers the
        rows) a ``window`` at a time (:class:`~feederos.timeseries.sink.SeriesSink`):
        the recorded frames are then not kept, and the result holds them empty.
    window
        Steps taken between two hand-overs of the frames: what a run holds of its
        recorded frames at once.
    profiles
        Multipliers replacing elements' shapes for this run, by ``class.name``
        (``Load.671``, ``PVSystem.pv1``, ``Storage.b1``, ``Generator.g``,
        ``EVCharger.ev7``; any case): a :class:`~feederos.model.LoadShape`, or one value
        per step (:mod:`~feederos.timeseries.dispatch`).
    workers
        Threads that solve segments of a long series at once, for networks whose
        injections are all loads and that have controls (stepped in compiled code): each
        segment after the first starts :data:`WARM_UP_STEPS` early from the network's
        own taps and banks, and where it arrives at its first step with other taps or
        banks than the steps before it leave, its steps are solved again from there
        until they agree. Every step's taps and capacitor steps are then a sequential
        run's, its other results the same to the tolerance. 1: sequential.
    progress
        Called as ``progress(steps_done, steps_total)`` on the calling thread as the run
        goes: after each block of ``chunk`` steps, each ``window`` of compiled steps or
        each segment of a parallel series, ending with ``steps_total``. Where a compiled
        series meets a zero pivot and starts over stepped with
        :func:`~feederos.powerflow.solve`, the count starts over too.

    Raises
    ------
    NetworkValidationError
        If an element names a shape the network lacks, a shape has its own reactive
        multipliers (not supported yet), a profile names no element or has the wrong
        length, or ``record`` names a bus or element the network lacks.
    """
    settings = network.settings
    mode = SolveMode(mode) if mode is not None else settings.mode
    n_steps = int(steps if steps is not None else settings.number)
    if n_steps < 1:
        raise ValueError("a time series needs at least one step")
    if window < 1:
        raise ValueError("window must be at least 1 step")
    if workers < 1:
        raise ValueError("workers must be at least 1")
    step_h = float(step_s if step_s is not None else settings.step_s) / 3600.0
    hours: FloatArray = start_h + step_h * np.arange(1, n_steps + 1, dtype=np.float64)
    compiled = compile_network(network)
    recorder = Recorder(compiled, record or Record())
    dispatch = Dispatch(network, compiled, mode, hours, window, profiles)
    has_controls = controls and any(t.n for t in control_tables(compiled))
    stepper: type[_Steps] = _FreeSteps
    if dispatch.stepwise:
        stepper = _ControlledSteps
    elif has_controls:
        stepper = _CompiledSteps if ControlledNetwork.supports(compiled) else _ControlledSteps
    start = None
    if has_controls and network.settings.snapshot_first:
        start = solve(compiled, tolerance_pu=tolerance_pu, max_iterations=MAX_ITERATIONS,
                      controls=True)
    sink = SeriesSink(None if out is None else Path(out))
    try:
        return stepper(compiled, dispatch, hours, tolerance_pu, controls, recorder, sink,
                       window, start, workers, progress).run(chunk)
    except BaseException:
        sink.discard()  # no half-written files, and a previous run's stay as they were
        raise


class _Steps:
    """Steps through the series, handing its frames to ``sink`` every ``window`` steps."""

    def __init__(self, compiled: CompiledNetwork, dispatch: Dispatch,
                 hours: FloatArray, tolerance_pu: float, controls: bool,
                 recorder: Recorder, sink: SeriesSink, window: int,
                 start: PowerFlowResult | None = None, workers: int = 1,
                 progress: Callable[[int, int], None] | None = None) -> None:
        self.root = compiled
        self.workers = workers
        self.progress = progress
        # The solution the first step starts from (voltages, taps, capacitor steps);
        # None: the network's taps and steps and OpenDSS's no-load voltages.
        self.start = start
        self.recorder = recorder
        self.sink = sink
        self.window = window
        self.dispatch = dispatch
        self.hours = hours
        self.tol = tolerance_pu
        self.controls = controls
        self.flushed = 0
        self.rows: list[dict[str, object]] = []
        self.taps: list[dict[str, int]] = []
        self.caps: list[dict[str, int]] = []
        self.soc: list[FloatArray] = []
        self.recorded: list[tuple[FloatArray, FloatArray]] = []

    def block(self, state: CompiledNetwork, lo: int, hi: int,
              initial: ComplexArray | None) -> tuple[ComplexArray, IntArray, BoolArray]:
        """Voltages of steps ``lo … hi−1`` at the control ``state``, solved together."""
        out = solve_fixed_point_many(
            state.with_injections(self.root.injections),
            self.dispatch.load_span(lo, hi),
            tolerance_pu=self.tol, max_iterations=MAX_ITERATIONS, initial=initial)
        return out.v, out.iterations, out.converged

    def stepped(self, state: CompiledNetwork, k: int) -> CompiledNetwork:
        """``state`` with the loads and DER as they draw and deliver at step ``k``."""
        return state.with_injections(self.dispatch.sets(k))

    def report(self, done: int) -> None:
        """Tell the caller's ``progress`` that ``done`` steps are solved."""
        if self.progress is not None:
            self.progress(done, int(self.hours.size))

    def record_controls(self, taps: dict[str, int], capacitor_states: dict[str, tuple[int, ...]],
                        times: int = 1) -> None:
        self.taps.extend(dict(taps) for _ in range(times))
        self.caps.extend({name: sum(states) for name, states in capacitor_states.items()}
                         for _ in range(times))
        self.soc.extend(self.dispatch.soc_pct for _ in range(times))

    def record(self, state: CompiledNetwork, v: ComplexArray) -> None:
        """Record the solutions ``v`` ``(n, K)`` at the control ``state``."""
        self.recorded.append(self.recorder.take(state, v))

    def flush(self, force: bool = False) -> None:
        """Hand the steps taken since the last flush to the sink, once there are a
        window's worth (or any, with ``force``)."""
        n = len(self.rows)
        if n == 0 or (n < self.window and not force):
            return
        v_pu = np.concatenate([x for x, _ in self.recorded])
        i_a = np.concatenate([y for _, y in self.recorded])
        self.sink.add(self.flushed, _frames(pd.DataFrame(self.rows), pd.DataFrame(self.taps),
                                            pd.DataFrame(self.caps), self.recorder, v_pu, i_a,
                                            self._soc_frame(np.array(self.soc), n)))
        self.flushed += n
        self.rows, self.taps, self.caps, self.soc, self.recorded = [], [], [], [], []

    def _soc_frame(self, soc: FloatArray, n: int) -> pd.DataFrame:
        """``n`` steps' states of charge ``soc`` as a frame, a column per battery."""
        names = list(self.dispatch.battery_names)
        return pd.DataFrame(soc.reshape(n, len(names)), columns=names)

    def result(self, final: PowerFlowResult) -> TimeSeriesResult:
        self.flush(force=True)
        frames = self.sink.finish()
        return TimeSeriesResult(
            steps=frames["steps"], taps=frames["taps"], capacitors=frames["capacitors"],
            final=final, voltages_pu=frames["voltages_pu"], currents_a=frames["currents_a"],
            loadings_pu=frames["loadings_pu"], soc_pct=frames["soc_pct"])

    def run(self, chunk: int) -> TimeSeriesResult:
        raise NotImplementedError


class _FreeSteps(_Steps):
    """No control acts: every step is one column of a block, taps stay as compiled."""

    def run(self, chunk: int) -> TimeSeriesResult:
        n = self.hours.size
        taps = regulator_taps(self.root, control_tables(self.root)[0])
        v_last: ComplexArray | None = None
        for lo in range(0, n, chunk):
            hi = min(n, lo + chunk)
            v, its, ok = self.block(self.root, lo, hi, v_last)
            t = totals_many(self.root, v)
            self.record(self.root, v)
            for j in range(hi - lo):
                self.rows.append(_row(self.hours[lo + j], t.source_va[j], t.losses_va[j],
                                      t.v_min_pu[j], t.v_max_pu[j], t.loading_max_pu[j],
                                      bool(ok[j]), int(its[j]), 0))
            self.record_controls(taps, self.root.capacitor_states, hi - lo)
            self.flush()
            self.report(hi)
            v_last = v[:, -1]
        final = solve(self.stepped(self.root, n - 1), tolerance_pu=self.tol, controls=False,
                      initial=v_last)
        return self.result(final)


class _ControlledSteps(_Steps):
    """Controls may act, or DER change from step to step: each step is solved alone, with
    the static control loop, from the previous step's solution and control state, as
    OpenDSS steps, and what it leaves (a battery's stored energy) carried to the next.

    Not from a block of steps solved together first: where the controls act (IEEE 123's
    regulators move at 40 % of its hours) the block's solutions are at stale taps, and
    where they do not, the block's plain fixed point costs about what it saves (IEEE 123,
    1000 h stepped with ``solve``: 2.3–3.2 s without blocks, 2.8–3.5 s with them).
    """

    def run(self, chunk: int) -> TimeSeriesResult:
        state, last = self.root, self.start
        if last is not None:
            state = last.compiled
        for k in range(self.hours.size):
            result = solve(self.stepped(state, k), tolerance_pu=self.tol,
                           max_iterations=MAX_ITERATIONS, controls=self.controls,
                           initial=None if last is None else last.v)
            self.dispatch.settle(k, result.compiled, result.v)
            self.rows.append(_row(
                self.hours[k], complex(result.source_p_kw, result.source_q_kvar) * 1e3,
                complex(result.total_losses_kw, result.total_losses_kvar) * 1e3,
                result.v_min_pu, result.v_max_pu, result.loading_max_pu, result.converged,
                result.iterations, result.control_iterations))
            self.record_controls(result.regulator_taps, result.capacitor_states)
            self.record(result.compiled, result.v[:, None])
            self.flush()
            if (k + 1) % chunk == 0 or k + 1 == self.hours.size:
                self.report(k + 1)
            state, last = result.compiled, result
        assert last is not None
        return self.result(last)


class _ZeroPivotError(Exception):
    """A refactorisation met a zero pivot: the series goes to :class:`_ControlledSteps`."""


@dataclass
class _Track:
    """A compiled run of steps ``lo … lo + len(out.iterations) − 1``: the control state
    and progress it ended with, its outputs, the taps and bank steps it began ``lo`` with
    (``entry``) and, where its last step was the series' last and solved by
    :func:`~feederos.powerflow.solve`, that full result."""

    state: ControlledState
    progress: SeriesProgress
    lo: int
    out: SeriesOutput
    entry: tuple[IntArray, IntArray]
    final: PowerFlowResult | None = None


class _CompiledSteps(_Steps):
    """:class:`_ControlledSteps` in compiled code
    (:func:`~feederos.timeseries.stepping.run_series`), a window of steps per call.

    A step whose fixed point does not converge is solved here with
    :func:`~feederos.powerflow.solve` (which goes on with Newton-Raphson) and the series
    resumes after it; a zero pivot in a refactorisation hands the whole series to
    :class:`_ControlledSteps`. The last step is solved again with
    :func:`~feederos.powerflow.solve` from the state and voltages it started from, for
    the full result.

    With ``workers`` above 1 a long series is cut into segments solved at once on that
    many threads (the compiled steps release the GIL), each after the first from
    :data:`WARM_UP_STEPS` before its start and the network's own control state; then,
    in order, a segment whose taps and bank steps at its start differ from those the
    segment before it ended with is solved again from that end, step by step, until a
    step ends as the segment's own did (from there on its steps began alike). Every
    step then has the taps and bank steps of a sequential run. The segments' outputs
    are held until spliced, so a run whose recorded frames would pass
    :data:`PARALLEL_MEMORY_BYTES` runs sequentially, streaming.
    """

    def run(self, chunk: int) -> TimeSeriesResult:
        self.net = ControlledNetwork(self.root)
        self.rec = self.recorder.arrays(self.net.pd_offsets)
        self.limit = self.root.network.settings.max_control_iterations
        self.lock = threading.Lock()  # the dispatch's window of multipliers is shared
        try:
            bounds = self._segments()
            if len(bounds) > 2:
                return self._parallel(bounds)
            return self._sequential()
        except _ZeroPivotError:
            self.sink.reset()
            return _ControlledSteps(self.root, self.dispatch, self.hours, self.tol,
                                    self.controls, self.recorder, self.sink, self.window,
                                    self.start, progress=self.progress).run(chunk)

    def _segments(self) -> list[int]:
        """The first step of each segment, and the number of steps."""
        n = self.hours.size
        k = min(self.workers * SEGMENTS_PER_WORKER, n // MIN_SEGMENT_STEPS)
        row_bytes = 8 * (12 + self.net.regs.n + len(self.net.banks) + self.rec.nodes.size
                         + len(self.recorder.element_labels))
        if self.workers < 2 or k < 2 or n * row_bytes > PARALLEL_MEMORY_BYTES:
            return [0, n]
        return [round(n * s / k) for s in range(k + 1)]

    def _output(self, steps: int) -> SeriesOutput:
        return series_output(self.net, steps, self.recorder.nodes.size,
                             len(self.recorder.element_labels))

    def _begin(self, cold: bool) -> tuple[ControlledState, SeriesProgress]:
        """A control state and progress before the first step: from the network's taps
        and banks and OpenDSS's no-load voltages, or (unless ``cold``) the snapshot the
        script solved first."""
        net = self.net
        state = net.state()
        progress = series_progress(net, state)
        if self.start is not None and not cold:
            net.set_state(state, self.start.compiled.tap_pu,
                          self.start.compiled.capacitor_states)
            progress.v_last[:] = self.start.v
            progress.scale_last[:] = 1.0  # the snapshot's loads are the compiled ones
            progress.counters[HAS_LAST] = 1
        return state, progress

    def _steps(self, state: ControlledState, progress: SeriesProgress, lo: int, hi: int,
               out: SeriesOutput) -> PowerFlowResult | None:
        """Solve steps ``lo … hi−1`` into the rows of ``out``, going on from ``state``
        and ``progress``; the full result of the series' last step if
        :func:`~feederos.powerflow.solve` solved it."""
        net, final = self.net, None
        with self.lock:
            scales = np.ascontiguousarray(np.concatenate(
                [m if m is not None else np.ones((len(s.names), hi - lo))
                 for s, m in zip(self.root.injections, self.dispatch.load_span(lo, hi),
                                 strict=True)]))
        progress.counters[NEXT] = 0
        while True:
            status = run_series(net.arrays, state, scales, progress, out, self.rec, self.tol,
                                MAX_ITERATIONS, self.limit)
            if status == SOLVED:
                return final
            if status == ZERO_PIVOT:
                raise _ZeroPivotError
            j = int(progress.counters[NEXT])
            with self.lock:
                result = self._solve_begun(progress, lo + j)
            _record(out, j, net, result, self.recorder)
            net.set_state(state, result.compiled.tap_pu, result.compiled.capacitor_states)
            progress.v_last[:] = result.v
            progress.scale_last[:] = scales[:, j]
            progress.counters[HAS_LAST] = 1
            progress.counters[HAS_TREND] = 0  # its first solve is not known
            progress.counters[NEXT] = j + 1
            final = result if lo + j == self.hours.size - 1 else None

    def _sequential(self) -> TimeSeriesResult:
        n = self.hours.size
        state, progress = self._begin(cold=False)
        final: PowerFlowResult | None = None
        for lo in range(0, n, self.window):
            hi = min(n, lo + self.window)
            out = self._output(hi - lo)
            final = self._steps(state, progress, lo, hi, out)
            self.sink.add(lo, self._frames(out, lo, hi))
            self.report(hi)
        if final is None:
            final = self._solve_begun(progress, n - 1)
        return self.result(final)  # every window is with the sink: nothing left to flush

    def _parallel(self, bounds: list[int]) -> TimeSeriesResult:
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            futures = [pool.submit(self._segment, lo, hi)
                       for lo, hi in itertools.pairwise(bounds)]
            done = 0
            for future in as_completed(futures):  # on this thread, as segments finish
                done += future.result().out.iterations.size
                self.report(done)
            tracks = [f.result() for f in futures]
        for s in range(1, len(tracks)):
            tracks[s] = self._splice(tracks[s - 1], tracks[s])
        n = self.hours.size
        for lo in range(0, n, self.window):
            hi = min(n, lo + self.window)
            parts = [SeriesOutput._make(a[max(lo, t.lo) - t.lo:hi - t.lo] for a in t.out)
                     for t in tracks if t.lo < hi and t.lo + t.out.iterations.size > lo]
            out = SeriesOutput._make(np.concatenate(a) for a in zip(*parts, strict=True))
            self.sink.add(lo, self._frames(out, lo, hi))
        last = tracks[-1]
        final = last.final if last.final is not None else self._solve_begun(last.progress,
                                                                            n - 1)
        return self.result(final)

    def _segment(self, lo: int, hi: int) -> _Track:
        """Steps ``lo … hi−1`` solved from :data:`WARM_UP_STEPS` before ``lo`` (the
        first segment: as a sequential run)."""
        state, progress = self._begin(cold=lo > 0)
        if lo > 0:
            warm = max(0, lo - WARM_UP_STEPS)
            self._steps(state, progress, warm, lo, self._output(lo - warm))
        entry = self._controls(state)
        out = self._output(hi - lo)
        final = self._steps(state, progress, lo, hi, out)
        return _Track(state, progress, lo, out, entry, final)

    def _controls(self, state: ControlledState) -> tuple[IntArray, IntArray]:
        """The taps and the bank steps in service at ``state``, as a step reports them."""
        taps = np.zeros(self.net.regs.n, dtype=np.int64)
        a = self.net.arrays
        tap_numbers(a.regs, a.sensors.reg_transformer, state.tap_pu, taps)
        return taps, state.cap_states.sum(axis=1)

    def _splice(self, before: _Track, track: _Track) -> _Track:
        """``track`` as if it had gone on from where ``before`` ended: its steps solved
        again from there until one ends with the taps and bank steps it ended with in
        ``track``."""
        steps = track.out.iterations.size
        end = (before.out.taps[-1], before.out.steps_in[-1])
        if all(np.array_equal(a, b) for a, b in zip(end, track.entry, strict=True)):
            return track
        state, progress, final = before.state, before.progress, None
        for j in range(steps):
            one = self._output(1)
            final = self._steps(state, progress, track.lo + j, track.lo + j + 1, one)
            agree = (np.array_equal(one.taps[0], track.out.taps[j])
                     and np.array_equal(one.steps_in[0], track.out.steps_in[j]))
            for mine, again in zip(track.out, one, strict=True):
                mine[j] = again[0]
            if agree and j < steps - 1:
                return track
        return _Track(state, progress, track.lo, track.out, track.entry, final)

    def _solve_begun(self, progress: SeriesProgress, k: int) -> PowerFlowResult:
        """Step ``k`` solved by :func:`~feederos.powerflow.solve` from the state and
        voltages the series began it with."""
        net = self.net
        state = self.root.with_state(
            tap_pu=net.tap_pu(progress.step_tap_pu),
            capacitor_states=net.capacitor_states(progress.step_cap_states))
        return solve(self.stepped(state, k), tolerance_pu=self.tol,
                     max_iterations=MAX_ITERATIONS, controls=self.controls,
                     initial=progress.v_start.copy())

    def _frames(self, out: SeriesOutput, lo: int, hi: int) -> dict[str, pd.DataFrame]:
        net = self.net
        n = hi - lo
        steps = pd.DataFrame({
            "hour": self.hours[lo:hi].astype(np.float64),
            "source_p_kw": out.source_va.real / 1e3, "source_q_kvar": out.source_va.imag / 1e3,
            "losses_kw": out.losses_va.real / 1e3, "losses_kvar": out.losses_va.imag / 1e3,
            "v_min_pu": out.v_min_pu, "v_max_pu": out.v_max_pu,
            "loading_max_pu": out.loading_max_pu, "converged": out.converged,
            "iterations": out.iterations,
            "control_iterations": out.control_iterations,
        })
        taps = pd.DataFrame(out.taps, columns=list(net.regs.names)) if net.regs.n else (
            pd.DataFrame(index=pd.RangeIndex(n)))
        banks = {name: c for c, name in enumerate(net.banks)}
        caps = pd.DataFrame({
            name: out.steps_in[:, banks[name]] if name in banks
            else np.full(n, sum(states), dtype=np.int64)
            for name, states in self.root.capacitor_states.items()
        }, index=pd.RangeIndex(n))
        soc = self._soc_frame(np.tile(self.dispatch.soc_pct, n), n)  # loads only: no battery
        return _frames(steps, taps, caps, self.recorder, out.v_pu, out.i_a, soc)


def _frames(steps: pd.DataFrame, taps: pd.DataFrame, caps: pd.DataFrame, r: Recorder,
            v_pu: FloatArray, i_a: FloatArray, soc: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """A window's frames, as :class:`~feederos.timeseries.sink.SeriesSink` takes them."""
    loading = np.where(r.inv_rating > 0, i_a * r.inv_rating, np.nan)
    return {"steps": steps, "taps": taps, "capacitors": caps, "soc_pct": soc,
            "voltages_pu": pd.DataFrame(v_pu, columns=list(r.node_labels)),
            "currents_a": pd.DataFrame(i_a, columns=list(r.element_labels)),
            "loadings_pu": pd.DataFrame(loading, columns=list(r.element_labels))}


def _record(out: SeriesOutput, k: int, net: ControlledNetwork, result: PowerFlowResult,
            recorder: Recorder) -> None:
    """Step ``k`` of ``out`` from a result of :func:`~feederos.powerflow.solve`."""
    out.source_va[k] = complex(result.source_p_kw, result.source_q_kvar) * 1e3
    out.losses_va[k] = complex(result.total_losses_kw, result.total_losses_kvar) * 1e3
    out.v_min_pu[k] = result.v_min_pu
    out.v_max_pu[k] = result.v_max_pu
    out.loading_max_pu[k] = result.loading_max_pu
    out.converged[k] = result.converged
    out.iterations[k] = result.iterations
    out.control_iterations[k] = result.control_iterations
    out.taps[k] = [result.regulator_taps[name] for name in net.regs.names]
    out.steps_in[k] = [sum(result.capacitor_states[name]) for name in net.banks]
    v_pu, i_a = recorder.take(result.compiled, result.v[:, None])
    out.v_pu[k], out.i_a[k] = v_pu[0], i_a[0]


def _row(hour: float, source_va: complex, losses_va: complex, v_min_pu: float,
         v_max_pu: float, loading_max_pu: float, converged: bool, iterations: int,
         control_iterations: int) -> dict[str, object]:
    return {
        "hour": float(hour), "source_p_kw": source_va.real / 1e3,
        "source_q_kvar": source_va.imag / 1e3, "losses_kw": losses_va.real / 1e3,
        "losses_kvar": losses_va.imag / 1e3, "v_min_pu": float(v_min_pu),
        "v_max_pu": float(v_max_pu), "loading_max_pu": float(loading_max_pu),
        "converged": converged, "iterations": iterations,
        "control_iterations": control_iterations,
    }
