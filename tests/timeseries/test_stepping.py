"""The compiled time series gives what stepping with ``solve`` gives, step by step: the
totals, taps, capacitor steps and the final result, also where a step falls back to
``solve`` (a fixed point that does not converge) or the whole series does; cut into
segments solved on two threads, it gives what it gives in one piece."""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from feederos.io.opendss import DssImportWarning, read_opendss
from feederos.model import Network
from feederos.powerflow.controlled import ZERO_PIVOT, ControlledNetwork
from feederos.timeseries import Record, TimeSeriesResult, run

# the module, not the function the package exports under the same name
run_module = importlib.import_module("feederos.timeseries.run")

SCENARIO = """Compile "{master}"
RegControl.Reg3.vlimit=126
New CapControl.cc1 Capacitor=cap1 element=Line.692675 terminal=1 type=voltage ON=119
~ OFF=124 ptratio=20 ptphase=max Delay=10 delayoff=5 deadtime=100
New CapControl.cc2 Capacitor=cap2 element=Line.684611 terminal=2 type=current ON=80
~ OFF=20 ctratio=60 Delay=12 delayoff=12
New LoadShape.day npts=24 interval=1 mult=({day})
BatchEdit Load..* daily=day
Set mode=daily number=48 stepsize=1h
"""
"""IEEE 13 over two days: its regulators and two capacitor controls act through the day."""
RECORD = Record(buses=("675", "RG60", "611"),
                elements=("Line.650632", "Transformer.Reg1", "Line.684611"))
"""Buses and elements behind a regulator, at its output and on a lateral; a regulator's
own transformer, whose admittance moves with its tap."""
DAY = (0.3, 0.25, 0.25, 0.3, 0.4, 0.6, 0.8, 1.0, 1.1, 1.0, 0.9, 0.85, 0.8, 0.85, 0.9, 1.0, 1.2,
       1.4, 1.5, 1.3, 1.0, 0.7, 0.5, 0.4)


@pytest.fixture(scope="module")
def network(feeders_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Network:
    master = (feeders_dir / "13Bus" / "IEEE13Nodeckt.dss").resolve()
    if not master.exists():
        pytest.skip(f"{master} not available")
    path = tmp_path_factory.mktemp("stepping") / "ieee13_day.dss"
    path.write_text(SCENARIO.format(master=master, day=" ".join(map(str, DAY))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DssImportWarning)
        network = read_opendss(path)
    # From the taps and steps as written, not the master's full-load snapshot: the
    # capacitor controls then have work from the first hours.
    network.settings.snapshot_first = False
    return network


def _with_solve(network: Network, monkeypatch: pytest.MonkeyPatch,
                **kw: object) -> TimeSeriesResult:
    """The series stepped with ``solve`` (the compiled stepper switched off)."""
    with monkeypatch.context() as m:
        m.setattr(ControlledNetwork, "supports", staticmethod(lambda root: False))
        return run(network, **kw)  # type: ignore[arg-type]


def _assert_same(ours: TimeSeriesResult, ref: TimeSeriesResult) -> None:
    exact = ["hour", "converged", "control_iterations"]
    pd.testing.assert_frame_equal(ours.steps[exact], ref.steps[exact])
    floats = ["source_p_kw", "source_q_kvar", "losses_kw", "losses_kvar"]
    pd.testing.assert_frame_equal(ours.steps[floats], ref.steps[floats], rtol=1e-9, atol=1e-6)
    for col in ("v_min_pu", "v_max_pu"):
        assert np.abs(ours.steps[col] - ref.steps[col]).max() < 1e-9
    # the compiled loop carries its Anderson rows from solve to solve and starts a step on
    # the loads' trend: no more iterations in all, a few more where the trend turns
    assert ours.steps.iterations.sum() <= ref.steps.iterations.sum()
    assert (ours.steps.iterations - ref.steps.iterations).max() <= 3
    pd.testing.assert_frame_equal(ours.taps, ref.taps)
    pd.testing.assert_frame_equal(ours.capacitors, ref.capacitors)
    assert ours.final.control_actions == ref.final.control_actions
    assert ours.final.regulator_taps == ref.final.regulator_taps
    assert ours.final.capacitor_states == ref.final.capacitor_states
    pd.testing.assert_frame_equal(ours.voltages_pu, ref.voltages_pu, rtol=0, atol=1e-9)
    pd.testing.assert_frame_equal(ours.currents_a, ref.currents_a, rtol=1e-8, atol=1e-6)
    pd.testing.assert_frame_equal(ours.loadings_pu, ref.loadings_pu, rtol=1e-8, atol=1e-9)
    base = ref.final.compiled.nodes.v_base_ln_v
    live = base > 0
    assert np.abs(ours.final.v - ref.final.v)[live].max() / base[live].min() < 1e-9


def test_the_compiled_series_is_the_series_stepped_with_solve(
        network: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    ours = run(network, record=RECORD)
    ref = _with_solve(network, monkeypatch, record=RECORD)
    _assert_same(ours, ref)
    assert ours.steps.iterations.sum() < 0.9 * ref.steps.iterations.sum()
    assert ours.voltages_pu.shape == (48, 7) and ours.currents_a.shape == (48, 3)
    # the day makes the controls work: taps move and a bank switches
    assert ours.tap_changes.sum() > 0 and ours.capacitor_changes.sum() > 0
    assert (ours.steps.control_iterations > 1).sum() > 5


def test_steps_whose_fixed_point_fails_are_solved_by_solve(
        network: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    # Three iterations are too few for some steps: those go on with Newton-Raphson in
    # ``solve``, as they do when the whole series steps with ``solve``.
    monkeypatch.setattr(run_module, "MAX_ITERATIONS", 3)
    solved = []
    solve_begun = run_module._CompiledSteps._solve_begun

    def counted(self: object, progress: object, k: int) -> object:
        solved.append(k)
        return solve_begun(self, progress, k)

    monkeypatch.setattr(run_module._CompiledSteps, "_solve_begun", counted)
    ours = run(network, steps=24, record=RECORD)
    assert len(set(solved)) > 3  # steps handed to ``solve``, besides the last for ``final``
    ref = _with_solve(network, monkeypatch, steps=24, record=RECORD)
    _assert_same(ours, ref)


def test_a_zero_pivot_hands_the_series_to_solve(
        network: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    def zero_pivot(*args: object) -> int:
        return ZERO_PIVOT

    ref = _with_solve(network, monkeypatch, steps=12, record=RECORD)
    monkeypatch.setattr(run_module, "run_series", zero_pivot)
    _assert_same(run(network, steps=12, record=RECORD), ref)


def _assert_same_controls(ours: TimeSeriesResult, ref: TimeSeriesResult) -> None:
    """Two compiled runs took the same control actions at every step and agree to the
    tolerance (1e-9) elsewhere."""
    exact = ["hour", "converged", "control_iterations"]
    pd.testing.assert_frame_equal(ours.steps[exact], ref.steps[exact])
    pd.testing.assert_frame_equal(ours.taps, ref.taps)
    pd.testing.assert_frame_equal(ours.capacitors, ref.capacitors)
    floats = ["source_p_kw", "source_q_kvar", "losses_kw", "losses_kvar", "v_min_pu",
              "v_max_pu"]
    pd.testing.assert_frame_equal(ours.steps[floats], ref.steps[floats], rtol=1e-8, atol=1e-8)
    pd.testing.assert_frame_equal(ours.voltages_pu, ref.voltages_pu, rtol=0, atol=1e-8)
    pd.testing.assert_frame_equal(ours.currents_a, ref.currents_a, rtol=1e-8, atol=1e-6)
    assert ours.final.regulator_taps == ref.final.regulator_taps
    assert ours.final.capacitor_states == ref.final.capacitor_states


def _segments_of(steps: int, warm_up: int, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Cut a parallel series into segments of ``steps`` begun ``warm_up`` early; the
    steps solved again where a segment began with other controls, one list entry per
    step."""
    monkeypatch.setattr(run_module, "MIN_SEGMENT_STEPS", steps)
    monkeypatch.setattr(run_module, "WARM_UP_STEPS", warm_up)
    again: list[int] = []
    splice = run_module._CompiledSteps._splice

    def counted(self: object, before: object, track: object) -> object:
        out = splice(self, before, track)
        again.append(int(track.lo) if out is not track else -1)  # type: ignore[attr-defined]
        return out

    monkeypatch.setattr(run_module._CompiledSteps, "_splice", counted)
    return again


@pytest.mark.parametrize("warm_up", [0, 2, 12])
def test_a_series_in_segments_on_two_threads_is_the_series_in_one_piece(
        network: Network, monkeypatch: pytest.MonkeyPatch, warm_up: int) -> None:
    ref = run(network, record=RECORD, workers=1)
    spliced = _segments_of(6, warm_up, monkeypatch)  # 8 segments of 6 hours
    ours = run(network, record=RECORD, workers=2)
    assert len(spliced) == 7
    _assert_same_controls(ours, ref)
    if warm_up == 0:
        # from the written taps and banks the segments begin with other controls than
        # the hours before leave: their steps were solved again from there
        assert any(lo >= 0 for lo in spliced)


def test_a_segment_solved_again_to_its_end_carries_its_end_on(
        network: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    # two-hour segments from cold: some never come to agree within their two hours, so
    # the segment after them is judged by where the steps solved again left off
    ref = run(network, steps=24, workers=1)
    _segments_of(2, 0, monkeypatch)
    monkeypatch.setattr(run_module, "SEGMENTS_PER_WORKER", 6)  # 12 segments
    seen = []
    track = run_module._Track

    def made(*args: object, **kw: object) -> object:
        seen.append(args[2] if len(args) > 2 else kw["lo"])
        return track(*args, **kw)

    monkeypatch.setattr(run_module, "_Track", made)
    ours = run(network, steps=24, workers=2)
    _assert_same_controls(ours, ref)
    assert len(seen) > 12  # the 12 segments, and the ones solved again to their end


def test_segments_fall_back_to_solve_and_to_a_whole_series_stepped(
        network: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_module, "MAX_ITERATIONS", 3)
    ref = run(network, steps=24, record=RECORD, workers=1)
    _segments_of(6, 2, monkeypatch)
    _assert_same_controls(run(network, steps=24, record=RECORD, workers=2), ref)

    def zero_pivot(*args: object) -> int:
        return ZERO_PIVOT

    monkeypatch.setattr(run_module, "run_series", zero_pivot)
    _assert_same_controls(run(network, steps=24, record=RECORD, workers=2), ref)


def test_a_series_too_big_to_hold_runs_in_one_piece(
        network: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    _segments_of(6, 2, monkeypatch)
    monkeypatch.setattr(run_module, "PARALLEL_MEMORY_BYTES", 48 * 8 * 20)

    def refused(*args: object) -> None:
        raise AssertionError("ran in segments")

    monkeypatch.setattr(run_module._CompiledSteps, "_parallel", refused)
    out = run(network, record=RECORD, workers=2)
    assert out.steps.converged.all()
    with pytest.raises(ValueError, match="workers"):
        run(network, workers=0)
