"""Time series against OpenDSS's answers for the same .dss scenarios, step by step."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from feederos.errors import NetworkValidationError
from feederos.feeders import load_feeder
from feederos.io.opendss import DssImportWarning, read_opendss
from feederos.model import LoadShape, Network
from feederos.timeseries import Record, TimeSeriesResult, run, shape_multipliers

POWER_RTOL = 1e-3
VOLTAGE_ATOL_PU = 1e-4
BAND_EDGE_STEPS = 4
"""Steps of the IEEE 123 year where a regulator may move one hour apart from OpenDSS.

At a handful of hours a regulator's compensated voltage lies within 1e-4 V (on the
120 V base) of its band edge. OpenDSS stops iterating at its default tolerance 1e-4,
up to ~1e-5 pu short of the solution, so its decision there falls either side; ours
is taken at the converged solution. Measured: 4 of the 61,320 regulator-hours, each
one tap apart for one hour.
"""


def _scenario(feeders_dir: Path, name: str) -> tuple[pd.DataFrame, Network]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DssImportWarning)
        network = read_opendss((feeders_dir / "scenarios" / f"{name}.dss").resolve())
    ref = pd.read_csv(feeders_dir / "reference" / "qsts" / f"{name}.csv")
    return ref, network


def _compare(ours: TimeSeriesResult, ref: pd.DataFrame, skip: np.ndarray) -> None:
    keep = ~skip
    assert ours.steps.converged.all()
    assert np.allclose(ours.steps.hour, ref.hour, atol=1e-4)
    for col in ("source_p_kw", "source_q_kvar"):
        rel = np.abs(ours.steps[col] - ref[col]) / np.abs(ref.source_p_kw)
        assert rel[keep].max() < POWER_RTOL, (col, rel[keep].idxmax())
    for col in ("v_min_pu", "v_max_pu"):
        err = np.abs(ours.steps[col] - ref[col])
        assert err[keep].max() < VOLTAGE_ATOL_PU, (col, err[keep].idxmax())


def _tap_mismatches(ours: TimeSeriesResult, ref: pd.DataFrame) -> np.ndarray:
    names = [c.removeprefix("tap_") for c in ref.columns if c.startswith("tap_")]
    diff = ours.taps[names].to_numpy() - ref[[f"tap_{n}" for n in names]].to_numpy()
    assert np.abs(diff).max() <= 1  # never more than one tap apart
    return np.asarray((diff != 0).any(axis=1))


# 1e-6: the tolerance bench/timeseries.py times ours at, a hundred times OpenDSS's
@pytest.mark.parametrize("tolerance_pu", [1e-9, 1e-6])
def test_ieee123_year_matches_opendss_hour_by_hour(feeders_dir: Path,
                                                   tolerance_pu: float) -> None:
    ref, network = _scenario(feeders_dir, "ieee123_yearly")
    ours = run(network, tolerance_pu=tolerance_pu)
    assert len(ours.steps) == len(ref) == 8760
    apart = _tap_mismatches(ours, ref)
    assert apart.sum() <= BAND_EDGE_STEPS, np.flatnonzero(apart)
    # an hour apart, then together again: the difference does not carry on
    assert not (apart[1:] & apart[:-1]).any()
    caps = [c for c in ref.columns if c.startswith("cap_")]
    assert (ours.capacitors[[c.removeprefix("cap_") for c in caps]].to_numpy()
            == ref[caps].to_numpy()).all()
    _compare(ours, ref, skip=apart)
    assert ours.tap_changes.sum() > 1000  # the regulators work all year
    assert (ours.steps.losses_kw > 0).all()


RECORD_123 = Record(buses=("83", "150r", "35"),
                    elements=("Line.L115", "Transformer.reg1a", "Line.L1", "Line.L35"))
"""A far end, the first regulator's output and a lateral; the feeder's head line, that
regulator's transformer, a single-phase lateral and a two-phase one."""


def _opendss_stepped(scenario: Path, steps: int,
                     record: Record) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """OpenDSS stepping the first ``steps`` steps of ``scenario`` one ``Solve`` at a time:
    after each, the largest terminal-1 phase current over ``NormAmps`` of any line or
    transformer, the ``record``'s bus voltages [pu] (node order) and its elements'
    largest terminal-1 phase currents [A]."""
    engine = pytest.importorskip("dss").DSS
    cwd = os.getcwd()
    try:
        engine.Text.Command = f'compile "{scenario}"'
    finally:
        os.chdir(cwd)  # OpenDSS's compile moves into the scenario's folder
    engine.Text.Command = "set number=1"
    circuit = engine.ActiveCircuit
    loading = np.zeros(steps)
    volts: list[list[float]] = []
    amps: list[list[float]] = []

    def max_phase_current() -> float:
        e = circuit.ActiveCktElement
        return float(np.asarray(e.CurrentsMagAng)[0::2][: e.NumPhases].max())

    for k in range(steps):
        circuit.Solution.Solve()
        elements = circuit.PDElements
        more = elements.First
        while more > 0:
            e = circuit.ActiveCktElement
            kind = elements.Name.split(".", 1)[0].lower()
            if kind in ("line", "transformer") and e.NormalAmps > 0:
                loading[k] = max(loading[k], max_phase_current() / e.NormalAmps)
            more = elements.Next
        row: list[float] = []
        for bus in record.buses:
            circuit.SetActiveBus(bus)
            order = np.argsort(circuit.ActiveBus.Nodes)
            row.extend(np.asarray(circuit.ActiveBus.puVmagAngle)[0::2][order])
        volts.append(row)
        currents = []
        for name in record.elements:
            circuit.SetActiveElement(name)
            currents.append(max_phase_current())
        amps.append(currents)
    return loading, np.array(volts), np.array(amps)


def test_ieee123_loading_matches_opendss_and_counts_overload_hours(feeders_dir: Path) -> None:
    scenario = (feeders_dir / "scenarios" / "ieee123_yearly.dss").resolve()
    _, network = _scenario(feeders_dir, "ieee123_yearly")
    steps = 48
    ours = run(network, steps=steps, record=RECORD_123)
    expected, volts, amps = _opendss_stepped(scenario, steps, RECORD_123)
    assert np.allclose(ours.steps.loading_max_pu, expected, rtol=1e-3)
    assert ours.final.loading_max_pu == pytest.approx(
        ours.final.loading.loading_pct.max() / 100, rel=1e-12)
    summary = ours.summary()
    assert summary["loading_max_pu"] == pytest.approx(expected.max(), rel=1e-3)
    assert summary["hours_above_normal_rating"] == float((expected > 1.0).sum())
    assert 0 < summary["hours_above_normal_rating"] < steps  # some lines run hot at peak
    # the recorded buses and elements, step by step
    assert ours.voltages_pu.shape == volts.shape == (steps, 9)
    # (OpenDSS's iterate stops within its 1e-4 tolerance: seen 5.4e-6 pu, 8.3e-5 relative)
    assert np.abs(ours.voltages_pu.to_numpy() - volts).max() < 5e-5
    assert np.allclose(ours.currents_a.to_numpy(), amps, rtol=5e-4)
    assert list(ours.currents_a.columns) == ["line.l115", "transformer.reg1a", "line.l1",
                                             "line.l35"]


@pytest.mark.parametrize("tolerance_pu", [1e-9, 1e-6])
def test_european_lv_day_matches_opendss_minute_by_minute(feeders_dir: Path,
                                                          tolerance_pu: float) -> None:
    ref, network = _scenario(feeders_dir, "european_lv_daily")
    ours = run(network, tolerance_pu=tolerance_pu)
    assert len(ours.steps) == len(ref) == 1440
    _compare(ours, ref, skip=np.zeros(len(ref), dtype=bool))
    rel = np.abs(ours.steps.losses_kw - ref.losses_kw) / ref.source_p_kw
    assert rel.max() < POWER_RTOL
    # 55 households, each on its own profile: the feeder's load swings through the day
    assert ours.steps.source_p_kw.max() > 3 * ours.steps.source_p_kw.min()


def test_interval_shapes_step_and_wrap() -> None:
    shape = LoadShape(name="s", interval_h=0.5, p_mult=[1.0, 2.0, 3.0])
    assert shape_multipliers(shape, [0.5, 1.0, 1.5, 2.0, 0.0]).tolist() == [1, 2, 3, 1, 3]
    timed = LoadShape(name="t", interval_h=None, hours=[0.0, 2.0, 4.0], p_mult=[0.0, 1.0, 0.0],
                      q_mult=[1.0, 1.0, 1.0])
    assert shape_multipliers(timed, [1.0, 3.0, 5.0]).tolist() == [0.5, 0.5, 0.5]
    assert shape_multipliers(timed, [1.0], reactive=True).tolist() == [1.0]


def test_actual_value_shapes_are_refused() -> None:
    shape = LoadShape(name="kw", interval_h=1.0, p_mult=[5.0], use_actual=True)
    with pytest.raises(ValueError, match="use_actual"):
        shape_multipliers(shape, [1.0])


def test_a_missing_shape_is_named() -> None:
    net = load_feeder("ieee13")
    net.loads[0].daily_shape = "nowhere"
    with pytest.raises(NetworkValidationError, match="nowhere"):
        run(net, steps=1, mode="daily")


def _ieee13_day() -> Network:
    net = load_feeder("ieee13")
    net.load_shapes.append(LoadShape(name="day", interval_h=1.0,
                                     p_mult=[0.4, 0.7, 1.0, 1.3, 0.9, 0.5, 0.3]))
    for load in net.loads:
        load.daily_shape = "day"
    return net


@pytest.mark.parametrize(("path", "steps", "chunk", "expected"), [
    ("free", 70, 32, [32, 64, 70]),  # a call per block of steps
    ("compiled", 70, 32, [30, 60, 70]),  # per window
    ("stepped", 70, 32, [32, 64, 70]),  # per chunk of steps
    ("parallel", 400, 32, [100, 200, 300, 400]),  # per segment, as they finish
])
def test_progress_is_reported_and_changes_nothing(path: str, steps: int, chunk: int,
                                                  expected: list[int],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from feederos.powerflow.controlled import ControlledNetwork

    if path == "stepped":  # the series stepped with ``solve``
        monkeypatch.setattr(ControlledNetwork, "supports", staticmethod(lambda root: False))
    kw = {"steps": steps, "mode": "daily", "chunk": chunk, "window": 30,
          "controls": path != "free", "workers": 2 if path == "parallel" else 1}
    calls: list[tuple[int, int]] = []
    seen = run(_ieee13_day(), progress=lambda done, total: calls.append((done, total)),
               **kw)  # type: ignore[arg-type]
    plain = run(_ieee13_day(), **kw)  # type: ignore[arg-type]
    assert [d for d, _ in calls] == expected
    assert {t for _, t in calls} == {steps}
    for name in ("steps", "taps", "capacitors", "soc_pct"):
        pd.testing.assert_frame_equal(getattr(seen, name), getattr(plain, name))
    assert seen.summary() == plain.summary()
