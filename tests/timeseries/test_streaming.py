"""A run streamed to Parquet a window at a time writes what the run in memory returns,
holds no more than a window of its recorded frames, and leaves no file half-written."""

from __future__ import annotations

import importlib
from pathlib import Path

import pandas as pd
import pytest

from feederos.feeders import load_feeder
from feederos.model import LoadShape, Network
from feederos.powerflow.controlled import ControlledNetwork
from feederos.timeseries import Record, run

# the module, not the function the package exports under the same name
run_module = importlib.import_module("feederos.timeseries.run")
dispatch = importlib.import_module("feederos.timeseries.dispatch")

RECORD = Record(buses=("675", "rg60"), elements=("Line.650632", "Transformer.Reg1"))
FRAMES = ("steps", "taps", "capacitors", "soc_pct", "voltages_pu", "currents_a",
          "loadings_pu")


def _day() -> Network:
    network = load_feeder("ieee13")
    network.load_shapes.append(LoadShape(name="day", interval_h=1.0,
                                         p_mult=[0.4, 0.7, 1.0, 1.3, 0.9, 0.5, 0.3]))
    for load in network.loads:
        load.daily_shape = "day"
    return network


@pytest.mark.parametrize("path", ["compiled", "stepped", "free"])
def test_streamed_files_hold_what_the_run_returns(path: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    if path == "stepped":  # the series stepped with ``solve``
        monkeypatch.setattr(ControlledNetwork, "supports", staticmethod(lambda root: False))
    kw = {"steps": 30, "mode": "daily", "record": RECORD, "controls": path != "free"}
    whole = run(_day(), **kw)  # type: ignore[arg-type]
    streamed = run(_day(), out=tmp_path, window=7, **kw)  # type: ignore[arg-type]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{f}.parquet" for f in FRAMES)
    for name in FRAMES:
        on_disk = pd.read_parquet(tmp_path / f"{name}.parquet")
        assert on_disk.step.tolist() == list(range(30))
        expected = getattr(whole, name)
        pd.testing.assert_frame_equal(on_disk.drop(columns="step"), expected,
                                      check_dtype=False, check_column_type=False, rtol=1e-12)
    # the small per-step frames stay in memory, the recorded ones went to disk only
    pd.testing.assert_frame_equal(streamed.steps, whole.steps)
    pd.testing.assert_frame_equal(streamed.taps, whole.taps)
    assert streamed.voltages_pu.empty and list(streamed.voltages_pu.columns) == list(
        whole.voltages_pu.columns)
    assert streamed.summary() == whole.summary()
    if path != "free":
        assert whole.tap_changes.sum() > 0  # the regulators act across the windows


@pytest.mark.parametrize("controls", [True, False])
def test_a_run_holds_one_window(controls: bool, monkeypatch: pytest.MonkeyPatch,
                                tmp_path: Path) -> None:
    outputs, multipliers = [], []
    series_output, shape_multipliers = run_module.series_output, dispatch.shape_multipliers

    def sized(net: object, steps: int, *args: int) -> object:
        outputs.append(steps)
        return series_output(net, steps, *args)

    def counted(shape: object, hours: object) -> object:
        multipliers.append(len(hours))  # type: ignore[arg-type]
        return shape_multipliers(shape, hours)

    monkeypatch.setattr(run_module, "series_output", sized)
    monkeypatch.setattr(dispatch, "shape_multipliers", counted)
    run(_day(), steps=30, mode="daily", record=RECORD, out=tmp_path, window=8, chunk=4,
        controls=controls)
    # the compiled stepper's outputs and everyone's load multipliers, a window at a time
    assert outputs == ([8, 8, 8, 6] if controls else [])
    assert multipliers == [8, 8, 8, 6]


def test_a_failed_run_leaves_the_last_files_as_they_were(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    run(_day(), steps=10, mode="daily", record=RECORD, out=tmp_path, window=4)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    calls = []
    run_series = run_module.run_series

    def fails_later(*args: object) -> int:
        calls.append(1)
        if len(calls) > 2:
            raise MemoryError("the machine ran out")
        return run_series(*args)

    monkeypatch.setattr(run_module, "run_series", fails_later)
    with pytest.raises(MemoryError):
        run(_day(), steps=20, mode="daily", record=RECORD, out=tmp_path, window=4)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_window_must_hold_a_step() -> None:
    with pytest.raises(ValueError, match="window"):
        run(_day(), steps=2, window=0)
