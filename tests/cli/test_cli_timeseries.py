"""``feederos timeseries``: a scenario as written, its files, and its failures."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from feederos.cli.main import app

runner = CliRunner()


def test_a_scenario_runs_as_written_and_writes_its_files(feeders_dir: Path,
                                                           tmp_path: Path) -> None:
    scenario = feeders_dir / "scenarios" / "european_lv_daily.dss"
    result = runner.invoke(app, ["timeseries", str(scenario), "--steps", "30",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    steps = pd.read_csv(tmp_path / "steps.csv")
    assert len(steps) == 30 and steps.converged.all()
    ref = pd.read_csv(feeders_dir / "reference" / "qsts" / "european_lv_daily.csv").iloc[:30]
    assert ((steps.source_p_kw - ref.source_p_kw).abs() / ref.source_p_kw).max() < 1e-3
    def no_nan(token: str) -> None:
        raise AssertionError(f"summary.json holds {token}, which JSON does not allow")

    summary = json.loads((tmp_path / "summary.json").read_text(), parse_constant=no_nan)
    assert summary["steps"] == 30
    assert summary["energy_kwh"] == steps.source_p_kw.sum() / 60
    assert summary["loading_max_pu"] == steps.loading_max_pu.max()
    assert summary["hours_above_normal_rating"] == (steps.loading_max_pu > 1).sum() / 60


def test_built_in_feeder_with_controls(tmp_path: Path) -> None:
    result = runner.invoke(app, ["timeseries", "ieee13", "--steps", "3", "--mode", "daily",
                                 "--out", str(tmp_path), "--record-bus", "675",
                                 "--record-element", "Line.650632",
                                 "--record-element", "Transformer.Reg1"])
    assert result.exit_code == 0, result.output
    taps = pd.read_csv(tmp_path / "taps.csv")
    assert list(taps.columns) == ["step", "reg1", "reg2", "reg3"]
    assert taps.iloc[-1].tolist()[1:] == [9, 6, 9]  # no shapes: the snapshot's taps
    assert not (tmp_path / "soc.csv").exists()  # no batteries
    volts = pd.read_csv(tmp_path / "voltages.csv")
    assert list(volts.columns) == ["step", "675.1", "675.2", "675.3"]
    assert volts.iloc[:, 1:].to_numpy().min() > 0.95  # behind the regulators
    loadings = pd.read_csv(tmp_path / "loadings.csv")
    currents = pd.read_csv(tmp_path / "currents.csv")
    assert list(currents.columns) == ["step", "line.650632", "transformer.reg1"]
    assert ((loadings.iloc[:, 1:] > 0) & (loadings.iloc[:, 1:] < 2)).all().all()


def test_parquet_streams_every_frame(tmp_path: Path) -> None:
    result = runner.invoke(app, ["timeseries", "ieee13", "--steps", "3", "--out", str(tmp_path),
                                 "--parquet", "--record-bus", "675"])
    assert result.exit_code == 0, result.output
    names = {p.name for p in tmp_path.iterdir()}
    assert {"steps.parquet", "taps.parquet", "voltages_pu.parquet", "summary.json"} <= names
    volts = pd.read_parquet(tmp_path / "voltages_pu.parquet")
    assert list(volts.columns) == ["step", "675.1", "675.2", "675.3"] and len(volts) == 3
    assert not any(name.endswith(".csv") for name in names)


def test_parquet_without_a_directory_exits_2() -> None:
    result = runner.invoke(app, ["timeseries", "ieee13", "--parquet"])
    assert result.exit_code == 2
    assert "--out" in result.output


def test_an_unknown_recorded_element_exits_2() -> None:
    result = runner.invoke(app, ["timeseries", "ieee13", "--steps", "1",
                                 "--record-element", "Line.nowhere"])
    assert result.exit_code == 2
    assert "Line.nowhere" in result.output


def test_unreadable_feeder_exits_2() -> None:
    result = runner.invoke(app, ["timeseries", "no/such/feeder.dss"])
    assert result.exit_code == 2
    assert "no such file" in result.output


def test_a_der_scenario_writes_the_batteries_charge(tmp_path: Path) -> None:
    scenario = (Path(__file__).resolve().parents[1] / "data" / "timeseries" / "der"
                / "ieee13_der_daily.dss")
    if not (scenario.parents[5] / "shared" / "feeders" / "13Bus").exists():
        pytest.skip("shared IEEE 13 feeder not available")
    result = runner.invoke(app, ["timeseries", str(scenario), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    soc = pd.read_csv(tmp_path / "soc.csv")
    assert list(soc.columns) == ["step", "b671", "b652"] and len(soc) == 24
    assert soc.b671.iloc[-1] == pytest.approx(15.0)


def test_workers_cut_a_long_run_into_segments_with_the_same_taps(feeders_dir: Path,
                                                                 tmp_path: Path) -> None:
    scenario = feeders_dir / "scenarios" / "ieee123_yearly.dss"
    taps = []
    for workers in ("1", "2"):
        out = tmp_path / workers
        result = runner.invoke(app, ["timeseries", str(scenario), "--steps", "400",
                                     "--workers", workers, "--out", str(out)])
        assert result.exit_code == 0, result.output
        taps.append(pd.read_csv(out / "taps.csv"))
    pd.testing.assert_frame_equal(taps[0], taps[1])
    assert taps[0].drop(columns="step").diff().abs().to_numpy()[1:].sum() > 10  # they move
    result = runner.invoke(app, ["timeseries", str(scenario), "--workers", "0"])
    assert result.exit_code == 2
