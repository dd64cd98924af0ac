"""``/simulate`` and ``/jobs`` on SQLite and PostgreSQL: the API's results equal the
library's for the same network (power flow, time series, hosting capacity)."""

from __future__ import annotations

import io
import time
from typing import Any

import numpy as np
import pandas as pd
import pytest

from feederos.analysis.cost import capex, default_unit_costs
from feederos.analysis.hosting_capacity import hosting_capacity
from feederos.io.native import network_from_dict
from feederos.powerflow import solve
from feederos.powerflow.result_document import records
from feederos.timeseries import run

from .conftest import Api

DONE = {"succeeded", "failed", "cancelled", "timed_out"}


def _wait(api: Api, job_id: str, timeout_s: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        job: dict[str, Any] = api.viewer.get(f"/jobs/{job_id}").json()
        if job["status"] in DONE:
            return job
        if time.monotonic() > deadline:
            pytest.fail(f"job {job_id} still {job['status']} after {timeout_s} s: {job}")
        time.sleep(0.1)


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame.from_records(rows)


def test_powerflow_equals_the_library(api: Api, documents: dict[str, Any]) -> None:
    nid = api.create(documents["ieee123"])["network"]["id"]
    r = api.engineer.post("/simulate/powerflow", json={"network_id": nid})
    assert r.status_code == 200, r.text
    body = r.json()
    network = network_from_dict(documents["ieee123"])
    expected = solve(network)
    assert body["version"] == 1 and body["summary"]["converged"]
    for name, table in (
        ("voltages", expected.voltages),
        ("branches", expected.branches),
        ("losses", expected.losses),
        ("violations", expected.violations()),
    ):
        assert body[name] == records(table), name
    assert body["summary"]["source_p_kw"] == expected.source_p_kw
    assert body["summary"]["regulator_taps"] == expected.regulator_taps
    assert body["cost"] == capex(network, default_unit_costs()).to_dict()
    # Range B, no controls, only the summary and violations: also the library's.
    r = api.engineer.post(
        "/simulate/powerflow",
        json={
            "network_id": nid,
            "version": 1,
            "controls": False,
            "voltage_range": "B",
            "include": ["violations"],
        },
    )
    body = r.json()
    fixed = solve(network, controls=False)
    assert body["voltages"] is None and body["violations"] == records(fixed.violations(range="B"))
    assert body["summary"]["v_min_pu"] == fixed.v_min_pu


def test_powerflow_of_unknown_or_invalid_versions(api: Api, documents: dict[str, Any]) -> None:
    r = api.engineer.post("/simulate/powerflow", json={"network_id": "nope"})
    assert r.status_code == 404
    nid = api.create(documents["ieee13"])["network"]["id"]
    assert (
        api.engineer.post("/simulate/powerflow", json={"network_id": nid, "version": 9}).status_code
        == 404
    )
    assert api.viewer.post("/simulate/powerflow", json={"network_id": nid}).status_code == 403


def test_scenario_run_job_equals_the_library(api: Api, documents: dict[str, Any]) -> None:
    nid = api.create(documents["ieee13"])["network"]["id"]
    options = {"steps": 24, "step_s": 3600, "mode": "daily", "controls": True}
    r = api.engineer.post("/simulate/scenario-run", json={"network_id": nid, "options": options})
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"/jobs/{r.json()['id']}"
    job = _wait(api, r.json()["id"])
    assert job["status"] == "succeeded", job
    assert job["network_id"] == nid and job["version"] == 1 and job["progress"] == 1.0
    expected = run(
        network_from_dict(documents["ieee13"]),
        steps=24,
        step_s=3600,
        mode="daily",
        controls=True,
        workers=1,
    )
    summary = job["summary"]
    assert summary["steps"] == 24
    for key, value in expected.summary().items():
        if isinstance(value, float) and np.isnan(value):
            assert summary[key] is None
        else:
            assert summary[key] == pytest.approx(value, rel=1e-12, abs=1e-12), key
    assert summary["cost"] == capex(network_from_dict(documents["ieee13"])).to_dict()
    assert {"steps.csv", "steps.parquet"} <= set(job["files"])
    parquet = api.viewer.get(f"/jobs/{job['id']}/files/steps.parquet")
    assert parquet.status_code == 200
    steps = pd.read_parquet(io.BytesIO(parquet.content))
    np.testing.assert_allclose(steps.v_min_pu, expected.steps.v_min_pu, rtol=0, atol=1e-12)
    csv = api.viewer.get(f"/jobs/{job['id']}/files/steps.csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert len(pd.read_csv(io.StringIO(csv.text))) == 24
    assert api.viewer.get(f"/jobs/{job['id']}/files/..%2Fx").status_code == 404
    assert api.viewer.get(f"/jobs/{job['id']}/files/nope.csv").status_code == 404
    assert job["id"] in {j["id"] for j in api.viewer.get("/jobs").json()}


def test_hosting_capacity_job_equals_the_library(api: Api, documents: dict[str, Any]) -> None:
    nid = api.create(documents["ieee13"])["network"]["id"]
    options = {"buses": ["675", "634", "652"], "levels": {"peak": 1.0}}
    r = api.engineer.post(
        "/simulate/hosting-capacity", json={"network_id": nid, "options": options}
    )
    assert r.status_code == 202, r.text
    job = _wait(api, r.json()["id"])
    assert job["status"] == "succeeded", job
    expected = hosting_capacity(
        network_from_dict(documents["ieee13"]),
        buses=["675", "634", "652"],
        levels={"peak": 1.0},
        workers=1,
    )
    table = pd.read_parquet(
        io.BytesIO(api.viewer.get(f"/jobs/{job['id']}/files/hosting_capacity.parquet").content)
    )
    np.testing.assert_allclose(table.kw, expected.table.kw, rtol=0, atol=1e-9)
    assert list(table.bus) == list(expected.table.bus)
    assert job["summary"]["min_kw"] == pytest.approx(float(expected.table.kw.min()), abs=1e-9)


def test_a_running_job_is_cancelled(api: Api, documents: dict[str, Any]) -> None:
    nid = api.create(documents["ieee123"])["network"]["id"]
    options = {"steps": 8760, "step_s": 3600, "mode": "yearly"}
    job = api.engineer.post(
        "/simulate/scenario-run", json={"network_id": nid, "options": options}
    ).json()
    deadline = time.monotonic() + 60
    while api.viewer.get(f"/jobs/{job['id']}").json()["status"] == "queued":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    cancelled = api.engineer.post(f"/jobs/{job['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["files"] == []
    # The worker was replaced: the next job runs.
    small = api.engineer.post(
        "/simulate/scenario-run",
        json={"network_id": nid, "options": {"steps": 2, "mode": "snapshot"}},
    ).json()
    assert _wait(api, small["id"])["status"] == "succeeded"


def test_bad_job_options_are_422(api: Api, documents: dict[str, Any]) -> None:
    nid = api.create(documents["ieee13"])["network"]["id"]
    for options in ({"steps": 0}, {"mode": "weekly"}, {"step_s": -1}):
        r = api.engineer.post(
            "/simulate/scenario-run", json={"network_id": nid, "options": options}
        )
        assert r.status_code == 422, (options, r.text)
    r = api.engineer.post(
        "/simulate/hosting-capacity", json={"network_id": nid, "options": {"max_kw": -5}}
    )
    assert r.status_code == 422
