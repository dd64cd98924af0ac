"""``/simulate``: a snapshot power flow answered at once; time series and hosting capacity
as jobs (``202 Accepted`` with the job, followed at ``/jobs/{id}``).

Every simulation names a stored version (``network_id``, ``version``: latest if omitted),
so a result always says which design it belongs to. The power flow runs on the version's
cached compiled network, shared read-only by concurrent requests; its numbers are those of
:func:`feederos.powerflow.solve` on the same network, and its tables those of
``feederos solve --format json``. Results carry a CapEx estimate of the version
(:func:`feederos.analysis.cost.capex` with the service's unit-cost table).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Response

from feederos.analysis.cost import capex
from feederos.api.auth import require
from feederos.api.job_tasks import HostingCapacityOptions, ScenarioRunOptions
from feederos.api.problems import responses
from feederos.api.routes.jobs import JobOut, job_out
from feederos.api.schemas import PowerflowRequest, PowerflowResult, VersionRef
from feederos.api.services import Services, services
from feederos.powerflow import solve
from feederos.powerflow.result_document import summary_document
from feederos.store.tokens import Role, TokenInfo

__all__ = ["SimulateHostingCapacity", "SimulateScenarioRun", "router"]

router = APIRouter(prefix="/simulate", tags=["simulate"])

Svc = Annotated[Services, Depends(services)]
Engineer = Annotated[TokenInfo, Depends(require(Role.ENGINEER))]


class SimulateScenarioRun(VersionRef):
    """A time series of a stored version, as a job."""

    options: ScenarioRunOptions = ScenarioRunOptions()


class SimulateHostingCapacity(VersionRef):
    """A hosting-capacity study of a stored version, as a job."""

    options: HostingCapacityOptions = HostingCapacityOptions()


@router.post(
    "/powerflow",
    response_class=Response,
    responses={
        200: {"model": PowerflowResult, "description": "The solved snapshot."},
        **responses(401, 403, 404, 413, 422),
    },
)
def powerflow(body: PowerflowRequest, svc: Svc, caller: Engineer) -> Response:
    """Solve a snapshot power flow: node voltages, branch flows and loading, losses,
    violations, and a CapEx estimate (tables as lists of rows, units in the key names)."""
    start = time.perf_counter()
    # Versions never change nor go, so a cached (id, version) needs no database read.
    version = body.version or svc.networks.get(body.network_id).latest_version
    key = (body.network_id, version)
    before = svc.cache.misses
    cached = svc.cache.get(key, lambda: svc.networks.version(key[0], key[1]).document)
    svc.metrics.cache.labels("miss" if svc.cache.misses > before else "hit").inc()
    result = solve(cached.compiled, controls=body.controls)
    tables: dict[str, Callable[[], pd.DataFrame]] = {
        "voltages": lambda: result.voltages,
        "branches": lambda: result.branches,
        "losses": lambda: result.losses,
        "violations": lambda: result.violations(range=body.voltage_range),
    }
    # The tables are most of the answer (IEEE 123: ~190 kB): written by pandas straight
    # to JSON text (NaN as null), not through dicts and a response model — a third of
    # the time per request. The schema is still PowerflowResult's.
    parts = [
        f'"network_id":{json.dumps(key[0])}',
        f'"version":{key[1]}',
        f'"summary":{_json(summary_document(result))}',
        f'"cost":{_json(capex(cached.network, svc.unit_costs).to_dict())}',
    ]
    for name, table in tables.items():
        text = (
            table().to_json(orient="records", double_precision=15)
            if name in body.include
            else "null"
        )
        parts.append(f'"{name}":{text}')
    parts.append(f'"elapsed_ms":{(time.perf_counter() - start) * 1e3:.3f}')
    return Response("{" + ",".join(parts) + "}", media_type="application/json")


def _json(value: object) -> str:
    return json.dumps(value, allow_nan=False, separators=(",", ":"))


def _submit(
    svc: Services,
    kind: str,
    ref: VersionRef,
    options: dict[str, Any],
    actor: str,
    response: Response,
) -> JobOut:
    stored = svc.networks.version(ref.network_id, ref.version)
    request = {"network_id": stored.info.network_id, "version": stored.info.version, **options}
    # The document goes to the task, not into the job's row: the version names it. The
    # unit-cost table is the service's, for the CapEx figure in the job's summary.
    inputs = {"network": stored.document, "unit_costs": svc.unit_costs.model_dump(mode="json")}
    job = svc.runner.submit(kind, request, actor=actor, inputs=inputs)
    svc.metrics.jobs_submitted.labels(kind).inc()
    response.headers["Location"] = f"/jobs/{job.id}"
    return job_out(job)


@router.post("/scenario-run", status_code=202, responses=responses(401, 403, 404, 413, 422, 503))
def scenario_run(
    body: SimulateScenarioRun, svc: Svc, caller: Engineer, response: Response
) -> JobOut:
    """Start a time series (quasi-static, the version's load shapes) as a job."""
    options = body.options.model_dump(mode="json")
    return _submit(svc, "scenario-run", body, options, caller.name, response)


@router.post(
    "/hosting-capacity", status_code=202, responses=responses(401, 403, 404, 413, 422, 503)
)
def hosting_capacity(
    body: SimulateHostingCapacity, svc: Svc, caller: Engineer, response: Response
) -> JobOut:
    """Start a hosting-capacity study (largest DER per bus within the limits) as a job."""
    options = body.options.model_dump(mode="json")
    return _submit(svc, "hosting-capacity", body, options, caller.name, response)
