"""The service's job tasks give what the library gives, in files and a JSON summary."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from feederos.analysis.cost import capex, default_unit_costs
from feederos.analysis.hosting_capacity import hosting_capacity
from feederos.api.job_tasks import (
    OPTIONS,
    REQUESTS,
    TASK_PATHS,
    TASKS,
    HostingCapacityOptions,
    HostingCapacityRequest,
    ScenarioRunOptions,
    ScenarioRunRequest,
    hosting_capacity_summary,
    run_hosting_capacity,
    run_scenario,
    scenario_summary,
)
from feederos.api.jobs import JobRunner, resolve_task
from feederos.errors import ModelFormatError
from feederos.feeders import load_feeder
from feederos.model import LoadShape, Network
from feederos.store.database import Database
from feederos.store.jobs import JobStatus, JobStore
from feederos.timeseries import run

HC_BUSES = ["675", "611", "652"]


def _day() -> Network:
    network = load_feeder("ieee13")
    network.load_shapes.append(
        LoadShape(name="day", interval_h=1.0, p_mult=[0.4, 0.7, 1.0, 1.3, 0.9, 0.5, 0.3])
    )
    for load in network.loads:
        load.daily_shape = "day"
    return network


class Reports:
    """A task's ``progress``, keeping every report."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, str]] = []

    def __call__(self, fraction: float, message: str) -> None:
        self.calls.append((fraction, message))

    @property
    def fractions(self) -> list[float]:
        return [f for f, _ in self.calls]


def _without_timing(summary: dict[str, Any]) -> dict[str, Any]:
    """The study's own figures: without the time, files, network name and CapEx (its
    test is test_the_summary_carries_the_capex_of_the_network)."""
    skip = ("elapsed_s", "files", "network", "cost")
    return {k: v for k, v in summary.items() if k not in skip}


def test_scenario_run_writes_and_sums_up_what_run_returns(tmp_path: Path) -> None:
    request = {
        "network": _day().model_dump(mode="json"),
        "steps": 40,
        "mode": "daily",
        "start_h": 2.0,
    }
    reports = Reports()
    summary = run_scenario(request, tmp_path, reports)
    direct = run(_day(), steps=40, mode="daily", start_h=2.0, workers=1)
    assert _without_timing(summary) == scenario_summary(direct)
    assert summary["network"] == "ieee13nodeckt" and summary["elapsed_s"] > 0
    assert summary["tap_operations"] == direct.summary()["tap_operations"] > 0
    assert summary["v_min_pu"] == direct.steps.v_min_pu.min()
    assert summary["v_min_hour"] == direct.steps.hour.to_numpy()[direct.steps.v_min_pu.argmin()]
    json.dumps(summary, allow_nan=False)  # plain JSON
    tables = ("steps", "taps", "capacitors")
    assert summary["files"] == sorted(f"{t}.{x}" for t in tables for x in ("csv", "parquet"))
    assert sorted(p.name for p in tmp_path.iterdir()) == summary["files"]
    for name in tables:
        expected = getattr(direct, name)
        on_disk = pd.read_parquet(tmp_path / f"{name}.parquet")
        assert on_disk.step.tolist() == list(range(40))
        pd.testing.assert_frame_equal(on_disk.drop(columns="step"), expected, check_dtype=False)
        as_csv = pd.read_csv(tmp_path / f"{name}.csv")
        assert list(as_csv.columns) == ["step", *expected.columns]
        assert np.allclose(
            as_csv.drop(columns="step").to_numpy(dtype=float),
            expected.to_numpy(dtype=float),
            rtol=1e-12,
        )
    assert reports.fractions[0] == 0.0 and reports.fractions[-1] == 1.0
    assert reports.fractions == sorted(reports.fractions)
    assert (1.0, "40 of 40 steps") in reports.calls


def test_a_long_scenario_reports_progress_often(tmp_path: Path) -> None:
    request = {"network": _day().model_dump(mode="json"), "steps": 1000, "mode": "daily"}
    reports = Reports()
    summary = run_scenario(request, tmp_path, reports)
    steps = [m for _, m in reports.calls if m.endswith("steps")]
    assert steps == [f"{k} of 1000 steps" for k in range(100, 1001, 100)]  # windows of 100
    assert _without_timing(summary) == scenario_summary(
        run(_day(), steps=1000, mode="daily", workers=1)
    )


def test_scenario_run_with_batteries_writes_their_charge(tmp_path: Path) -> None:
    from feederos.model import DerKind, PowerElectronicsConnection, Terminal

    network = _day()
    network.inverters.append(
        PowerElectronicsConnection(
            name="b",
            kind=DerKind.BATTERY,
            terminal=Terminal(bus="675"),
            v_kv=4.16,
            s_kva=250,
            p_rated_kw=200,
            energy_kwh=400,
            soc_pct=50.0,
        )
    )
    summary = run_scenario(
        {
            "network": network.model_dump(mode="json"),
            "steps": 3,
            "mode": "daily",
            "controls": False,
        },
        tmp_path,
        Reports(),
    )
    assert {"soc_pct.csv", "soc_pct.parquet"} <= set(summary["files"])
    assert list(pd.read_parquet(tmp_path / "soc_pct.parquet").columns) == ["step", "b"]


def test_hosting_capacity_writes_and_sums_up_what_the_study_returns(tmp_path: Path) -> None:
    network = load_feeder("ieee13")
    request = {
        "network": network.model_dump(mode="json"),
        "buses": HC_BUSES,
        "levels": {"peak": 1.0, "light": 0.4},
    }
    reports = Reports()
    summary = run_hosting_capacity(request, tmp_path, reports)
    direct = hosting_capacity(
        network, buses=HC_BUSES, levels={"peak": 1.0, "light": 0.4}, workers=1
    )
    assert _without_timing(summary) == hosting_capacity_summary(direct)
    assert summary["sites"] == 3 and summary["kind"] == "pv"
    assert summary["min_kw"] == direct.table.kw.min()
    assert summary["median_kw"] == direct.table.kw.median()
    assert sum(summary["constraints"].values()) == 3
    assert summary["least"][0]["kw"] == summary["min_kw"]
    json.dumps(summary, allow_nan=False)
    assert summary["files"] == sorted(
        [
            f"{t}.{x}"
            for t in ("hosting_capacity", "by_level", "standing")
            for x in ("csv", "parquet")
        ]
        + ["hosting_capacity.geojson"]
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == summary["files"]
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "hosting_capacity.parquet"), direct.table
    )
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "by_level.parquet"), direct.by_level)
    back = pd.read_csv(tmp_path / "hosting_capacity.csv", dtype={"bus": str})
    assert back.bus.tolist() == HC_BUSES and np.allclose(back.kw, direct.table.kw)
    geojson = json.loads((tmp_path / "hosting_capacity.geojson").read_text())
    assert geojson == direct.to_geojson()
    assert reports.fractions[0] == 0.0 and reports.fractions[-1] == 1.0
    assert reports.fractions == sorted(reports.fractions)
    assert any(m == "3 of 6 buses × levels found" for _, m in reports.calls)


def test_a_map_only_where_buses_have_coordinates(tmp_path: Path) -> None:
    network = load_feeder("ieee13")
    for bus in network.buses:
        bus.x = bus.y = None
    summary = run_hosting_capacity(
        {"network": network.model_dump(mode="json"), "buses": ["675"], "levels": {"peak": 1.0}},
        tmp_path,
        Reports(),
    )
    assert "hosting_capacity.geojson" not in summary["files"]
    assert not (tmp_path / "hosting_capacity.geojson").exists()


@pytest.mark.parametrize(
    ("task", "request_", "error", "match"),
    [
        (run_scenario, {"steps": 2}, ValidationError, "network"),
        (run_scenario, {"network": {}, "steps": 0}, ValidationError, "steps"),
        (
            run_scenario,
            {"network": {"name": "x", "buses": [{"name": ""}]}},
            ModelFormatError,
            "the job's network document: 1 problem",
        ),
        (run_hosting_capacity, {"network": {}, "kind": "wind"}, ValidationError, "kind"),
        (
            run_hosting_capacity,
            {"network": {}, "levels": {"peak": -1.0}},
            ValidationError,
            "levels",
        ),
        (run_hosting_capacity, {"network": {}, "buses": []}, ValidationError, "buses"),
    ],
)
def test_bad_requests_are_named(
    task: Any, request_: dict[str, Any], error: type[Exception], match: str, tmp_path: Path
) -> None:
    with pytest.raises(error, match=match):
        task(request_, tmp_path, Reports())


def test_options_refuse_unknown_keys_requests_ignore_them() -> None:
    with pytest.raises(ValidationError, match="stepz"):
        ScenarioRunOptions.model_validate({"stepz": 2})
    with pytest.raises(ValidationError, match="bus"):
        HostingCapacityOptions.model_validate({"bus": ["675"]})
    # the service keeps where the document is stored in the job's request
    asked = ScenarioRunRequest.model_validate(
        {"network": {}, "network_id": "9f0c", "version": 3, "steps": 2}
    )
    assert asked.steps == 2 and not hasattr(asked, "network_id")


def test_requests_are_the_options_and_a_network() -> None:
    for options, request in (
        (ScenarioRunOptions, ScenarioRunRequest),
        (HostingCapacityOptions, HostingCapacityRequest),
    ):
        assert set(request.model_fields) == {*options.model_fields, "network"}
        assert issubclass(request, options)
    assert OPTIONS["scenario-run"] is ScenarioRunOptions
    assert OPTIONS["hosting-capacity"] is HostingCapacityOptions
    assert REQUESTS["scenario-run"] is ScenarioRunRequest
    assert REQUESTS["hosting-capacity"] is HostingCapacityRequest
    assert sorted(OPTIONS) == sorted(REQUESTS) == sorted(TASKS)
    assert {kind: resolve_task(path) for kind, path in TASK_PATHS.items()} == TASKS
    assert ScenarioRunOptions.model_json_schema()["properties"]["step_s"]["description"]


def test_a_scenario_runs_as_a_job_in_a_worker_process(tmp_path: Path) -> None:
    """The default tasks, imported by a spawned worker, give what the task gives here."""
    network = _day()
    db = Database(f"sqlite:///{tmp_path / 'jobs.db'}")
    db.migrate()
    store = JobStore(db)
    options = {"network_id": "9f0c", "version": 1, "steps": 12, "mode": "daily"}
    try:
        with JobRunner(store, tmp_path / "results", workers=1) as runner:
            job = runner.submit(
                "scenario-run",
                options,
                actor="ana",
                inputs={"network": network.model_dump(mode="json")},
            )
            deadline = time.monotonic() + 120.0
            while not (info := store.get(job.id)).status.finished:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        here = run_scenario(
            {**options, "network": network.model_dump(mode="json")}, tmp_path / "here", Reports()
        )
        assert info.status is JobStatus.SUCCEEDED, info.error
        assert info.summary is not None
        assert _without_timing(info.summary) == _without_timing(here)
        assert info.request == options
        assert runner.result_files(job.id) == here["files"]
        pd.testing.assert_frame_equal(
            pd.read_parquet(runner.result_path(job.id, "steps.parquet")),
            pd.read_parquet(tmp_path / "here" / "steps.parquet"),
        )
    finally:
        db.dispose()


def test_the_summary_carries_the_capex_of_the_network(tmp_path: Path) -> None:
    network = load_feeder("ieee13")
    request = {"network": network.model_dump(mode="json"), "steps": 2, "mode": "snapshot"}
    assert run_scenario(request, tmp_path / "a", Reports())["cost"] == capex(network).to_dict()
    cheap = default_unit_costs().model_copy(update={"regulator_each": 1.0})
    request["unit_costs"] = cheap.model_dump(mode="json")
    assert run_scenario(request, tmp_path / "b", Reports())["cost"] == (
        capex(network, cheap).to_dict()
    )
