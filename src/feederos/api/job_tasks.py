"""The job kinds of the simulation service: what a worker process runs for each.

Each task is ``task(request, out_dir, progress) -> summary``
(:data:`feederos.api.jobs.TaskFunction`): it validates its request (a pydantic model
below), runs the study with one thread (two job processes on two cores must not each
start two more), writes its tables to ``out_dir`` as CSV and Parquet, reports progress
as it goes and returns a JSON summary that lists the files.

- ``scenario-run`` (:func:`run_scenario`): a quasi-static time series
  (:func:`feederos.timeseries.run`), writing ``steps``, ``taps``, ``capacitors`` (and
  ``soc_pct`` with batteries) ``.csv`` and ``.parquet``, one row per step numbered by
  ``step``;
- ``hosting-capacity`` (:func:`run_hosting_capacity`): each bus's hosting capacity
  (:func:`feederos.analysis.hosting_capacity.hosting_capacity`), writing
  ``hosting_capacity``, ``by_level`` and ``standing`` ``.csv`` and ``.parquet``, and
  ``hosting_capacity.geojson`` where buses have coordinates.

A request is the job's options (:class:`ScenarioRunOptions`,
:class:`HostingCapacityOptions`: what an API client sends; an unknown option is an
error) and the network document they apply to (:class:`ScenarioRunRequest`,
:class:`HostingCapacityRequest`; other keys, such as where the document is stored, are
ignored).

Examples
--------
>>> ScenarioRunOptions(steps=24, mode="daily").model_dump(mode="json")
{'steps': 24, 'step_s': None, 'mode': 'daily', 'start_h': 0.0, 'controls': True}
>>> HostingCapacityOptions(buses=["675"], levels={"peak": 1.0}).kind
<DerSiting.PV: 'pv'>
>>> HostingCapacityOptions(max_kw=-5)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for HostingCapacityOptions
max_kw
  Input should be greater than 0 ...
>>> sorted(TASKS) == sorted(TASK_PATHS) == sorted(REQUESTS)
True
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from feederos.analysis.cost import UnitCosts, capex, default_unit_costs
from feederos.analysis.hosting_capacity import DerSiting, HostingCapacity, hosting_capacity
from feederos.api.jobs import Progress, TaskFunction
from feederos.io.native import network_from_dict
from feederos.model import Network
from feederos.model.settings import SolveMode
from feederos.timeseries import TimeSeriesResult, run

__all__ = [
    "OPTIONS",
    "REQUESTS",
    "TASKS",
    "TASK_PATHS",
    "HostingCapacityOptions",
    "HostingCapacityRequest",
    "ScenarioRunOptions",
    "ScenarioRunRequest",
    "hosting_capacity_summary",
    "run_hosting_capacity",
    "run_scenario",
    "scenario_summary",
]

JOB_WORKERS = 1
"""Threads a study uses inside a job (the job processes share the machine's cores)."""

PROGRESS_WINDOWS = 50
"""Windows a long time series is handed over in, each a progress report (a window is at
least 100 steps and at most :func:`~feederos.timeseries.run`'s default 1000; its size
does not change the results)."""


class ScenarioRunOptions(BaseModel):
    """Options of a ``scenario-run`` job; each left out is the network's own setting."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    steps: int | None = Field(
        default=None, ge=1, description="Number of steps; default the network's settings.number."
    )
    step_s: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="Step length [s]; default the network's settings.step_s.",
    )
    mode: SolveMode | None = Field(
        default=None,
        description="Which shapes loads follow "
        "(daily, yearly); default the network's settings.mode.",
    )
    start_h: float = Field(
        default=0.0,
        allow_inf_nan=False,
        description="Clock before the first step [h]; the first step solves at start_h + step.",
    )
    controls: bool = Field(
        default=True, description="Let regulators and capacitor controls act at each step."
    )


class ScenarioRunRequest(ScenarioRunOptions):
    """A ``scenario-run`` job's request: its options and the network document; other
    keys (the service's ``network_id`` and ``version`` of the document) are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    network: dict[str, Any] = Field(description="The network document (feederos schema).")


Level = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class HostingCapacityOptions(BaseModel):
    """Options of a ``hosting-capacity`` job."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: DerSiting = Field(
        default=DerSiting.PV, description="pv (generation) or ev (charging load)."
    )
    buses: list[str] | None = Field(
        default=None,
        min_length=1,
        description="Buses to study; default every one- and three-phase bus.",
    )
    levels: dict[str, Level] | None = Field(
        default=None,
        min_length=1,
        description="Load levels {name: multiplier of every "
        "load's rated power}; default peak and minimum daytime from the loads' shapes.",
    )
    max_kw: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="Largest size tried [kW]; default twice the feeder's rated load.",
    )
    controls: bool = Field(
        default=False,
        description="Let regulators and capacitors "
        "respond to the DER (slower), or hold them as without it.",
    )


class HostingCapacityRequest(HostingCapacityOptions):
    """A ``hosting-capacity`` job's request: its options and the network document; other
    keys (the service's ``network_id`` and ``version`` of the document) are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    network: dict[str, Any] = Field(description="The network document (feederos schema).")


def run_scenario(request: dict[str, Any], out_dir: Path, progress: Progress) -> dict[str, Any]:
    """The ``scenario-run`` task: run the time series, write its tables, summarise it.

    Raises
    ------
    pydantic.ValidationError
        If the request is not a :class:`ScenarioRunRequest`.
    ModelFormatError
        If the network document is not a valid network.
    NetworkValidationError, ValueError
        As :func:`feederos.timeseries.run` does.
    """
    t0 = time.perf_counter()
    asked = ScenarioRunRequest.model_validate(request)
    progress(0.0, "reading the network")
    network = network_from_dict(asked.network, source="the job's network document")
    n_steps = asked.steps if asked.steps is not None else network.settings.number
    window = min(1000, max(100, math.ceil(n_steps / PROGRESS_WINDOWS)))
    result = run(
        network,
        steps=asked.steps,
        step_s=asked.step_s,
        mode=asked.mode,
        start_h=asked.start_h,
        controls=asked.controls,
        workers=JOB_WORKERS,
        window=window,
        progress=lambda done, total: progress(done / total, f"{done} of {total} steps"),
    )
    progress(1.0, "writing the results")
    tables = {"steps": result.steps, "taps": result.taps, "capacitors": result.capacitors}
    if len(result.soc_pct.columns):
        tables["soc_pct"] = result.soc_pct
    files = _write_tables(out_dir, tables, index="step")
    return {
        **scenario_summary(result),
        "network": network.name,
        "cost": job_cost(network, request),
        "files": files,
        "elapsed_s": time.perf_counter() - t0,
    }


def scenario_summary(result: TimeSeriesResult) -> dict[str, Any]:
    """A time series' totals (:meth:`~feederos.timeseries.TimeSeriesResult.summary`), the
    hours of its voltage extremes [h] and each regulator's tap operations, as JSON (no
    NaN: ``None``).

    Examples
    --------
    >>> from feederos.feeders import load_feeder
    >>> s = scenario_summary(run(load_feeder("ieee13"), steps=2, mode="snapshot"))
    >>> s["steps"], s["v_min_hour"] in (1.0, 2.0), sorted(s["tap_operations_by_regulator"])
    (2, True, ['reg1', 'reg2', 'reg3'])
    """
    steps = result.steps
    out: dict[str, Any] = dict(result.summary())
    out["v_min_hour"] = float(steps.hour.iloc[int(steps.v_min_pu.to_numpy().argmin())])
    out["v_max_hour"] = float(steps.hour.iloc[int(steps.v_max_pu.to_numpy().argmax())])
    out["tap_operations_by_regulator"] = {str(k): int(v) for k, v in result.tap_changes.items()}
    out["capacitor_operations_by_capacitor"] = {
        str(k): int(v) for k, v in result.capacitor_changes.items()
    }
    return _json_numbers(out)


def run_hosting_capacity(
    request: dict[str, Any], out_dir: Path, progress: Progress
) -> dict[str, Any]:
    """The ``hosting-capacity`` task: study the buses, write the tables, summarise them.

    Raises
    ------
    pydantic.ValidationError
        If the request is not a :class:`HostingCapacityRequest`.
    ModelFormatError
        If the network document is not a valid network.
    ValueError, PowerFlowError
        As :func:`~feederos.analysis.hosting_capacity.hosting_capacity` does.
    """
    t0 = time.perf_counter()
    asked = HostingCapacityRequest.model_validate(request)
    progress(0.0, "reading the network")
    network = network_from_dict(asked.network, source="the job's network document")
    hc = hosting_capacity(
        network,
        kind=asked.kind,
        buses=asked.buses,
        levels=asked.levels,
        max_kw=asked.max_kw,
        controls=asked.controls,
        workers=JOB_WORKERS,
        progress=lambda done, total: progress(
            done / total if total else 1.0, f"{done} of {total} buses × levels found"
        ),
    )
    progress(1.0, "writing the results")
    files = _write_tables(
        out_dir, {"hosting_capacity": hc.table, "by_level": hc.by_level, "standing": hc.standing}
    )
    if hc.to_geojson()["features"]:
        hc.to_geojson(out_dir / "hosting_capacity.geojson")
        files.append("hosting_capacity.geojson")
    return {
        **hosting_capacity_summary(hc),
        "network": network.name,
        "cost": job_cost(network, request),
        "files": sorted(files),
        "elapsed_s": time.perf_counter() - t0,
    }


def job_cost(network: Network, request: dict[str, Any]) -> dict[str, Any]:
    """The CapEx estimate of the job's network, with the ``unit_costs`` table the
    service passed (its configured one) or the built-in table.

    >>> from feederos.feeders import load_feeder
    >>> job_cost(load_feeder("ieee13"), {})["currency"]
    'USD'
    """
    table = request.get("unit_costs")
    costs = UnitCosts.model_validate(table) if table is not None else default_unit_costs()
    estimate: dict[str, Any] = capex(network, costs).to_dict()
    return estimate


def hosting_capacity_summary(hc: HostingCapacity, *, least: int = 5) -> dict[str, Any]:
    """A hosting-capacity study in numbers: buses, smallest, median and largest capacity
    [kW], how many buses each constraint binds, limits broken without DER, and the
    ``least`` buses that take least.

    Examples
    --------
    >>> from feederos.feeders import load_feeder
    >>> hc = hosting_capacity(load_feeder("ieee13"), buses=["675"], levels={"peak": 1.0})
    >>> s = hosting_capacity_summary(hc)
    >>> s["sites"], s["kind"], s["min_kw"] == s["max_kw"], s["least"][0]["bus"]
    (1, 'pv', True, '675')
    """
    t = hc.table
    kw = t.kw.to_numpy()
    lowest = t.sort_values("kw", kind="stable").head(least)
    return _json_numbers(
        {
            "kind": hc.kind.value,
            "sites": len(t),
            "levels": sorted(set(hc.by_level.level)),
            "min_kw": float(kw.min()) if len(kw) else None,
            "median_kw": float(pd.Series(kw).median()) if len(kw) else None,
            "max_kw": float(kw.max()) if len(kw) else None,
            "constraints": {str(k): int(v) for k, v in t.constraint.value_counts().items()},
            "standing_violations": len(hc.standing),
            "least": [
                {
                    "bus": str(r["bus"]),
                    "kw": float(r["kw"]),
                    "constraint": str(r["constraint"]),
                    "element": str(r["element"]),
                    "level": str(r["level"]),
                }
                for r in lowest.to_dict("records")
            ],
        }
    )


def _write_tables(
    out_dir: Path, tables: dict[str, pd.DataFrame], index: str | None = None
) -> list[str]:
    """Write each table as ``name.csv`` and ``name.parquet``; the files' names.

    With ``index``, the frame's row number is written as a first column of that name
    (as :class:`~feederos.timeseries.sink.SeriesSink` streams a run's frames).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for name, frame in tables.items():
        if index is not None:
            frame = frame.reset_index(drop=True).rename_axis(index).reset_index()
        frame.to_csv(out_dir / f"{name}.csv", index=False)
        frame.to_parquet(out_dir / f"{name}.parquet", index=False)
        files += [f"{name}.csv", f"{name}.parquet"]
    return sorted(files)


def _json_numbers(summary: dict[str, Any]) -> dict[str, Any]:
    """``summary`` with every non-finite float as ``None`` (JSON has no NaN)."""
    return {k: _json_value(v) for k, v in summary.items()}


def _json_value(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    return value


TASKS: dict[str, TaskFunction] = {
    "scenario-run": run_scenario,
    "hosting-capacity": run_hosting_capacity,
}
"""Each job kind's task."""

TASK_PATHS: dict[str, str] = {kind: f"{__name__}:{task.__name__}" for kind, task in TASKS.items()}
"""Each job kind's task as ``"module:function"``, as a worker process imports it."""

REQUESTS: dict[str, type[BaseModel]] = {
    "scenario-run": ScenarioRunRequest,
    "hosting-capacity": HostingCapacityRequest,
}
"""Each job kind's request model (options and network document)."""

OPTIONS: dict[str, type[BaseModel]] = {
    "scenario-run": ScenarioRunOptions,
    "hosting-capacity": HostingCapacityOptions,
}
"""Each job kind's options (the request less its network document): an API's body."""
