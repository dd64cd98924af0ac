"""``/jobs``: follow, cancel and download the results of asynchronous simulations.

A job is queued, then running (with ``progress`` 0–1 and a message), then one of
succeeded, failed, cancelled or timed out. A finished job's ``summary`` holds its headline
figures and ``files`` the result files (Parquet for programs, CSV for spreadsheets), each
downloaded from ``/jobs/{id}/files/{name}``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel

from feederos.api.auth import require
from feederos.api.problems import ProblemError, responses
from feederos.api.services import Services, services
from feederos.store.jobs import JobInfo, JobStatus
from feederos.store.tokens import Role, TokenInfo

__all__ = ["JobOut", "job_out", "router"]

router = APIRouter(prefix="/jobs", tags=["jobs"])

Svc = Annotated[Services, Depends(services)]
Viewer = Annotated[TokenInfo, Depends(require(Role.VIEWER))]
Engineer = Annotated[TokenInfo, Depends(require(Role.ENGINEER))]

_MEDIA = {
    ".parquet": "application/vnd.apache.parquet",
    ".csv": "text/csv",
    ".json": "application/json",
    ".geojson": "application/geo+json",
}


class JobOut(BaseModel):
    """A job: what it runs, where it stands, what it found."""

    id: str
    kind: str
    status: str
    progress: float
    message: str
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    network_id: str | None
    version: int | None
    options: dict[str, Any]
    summary: dict[str, Any] | None
    error: str | None
    files: list[str]


def job_out(job: JobInfo, files: list[str] | None = None) -> JobOut:
    """The API form of a stored job (its request without the network document)."""
    request = dict(job.request)
    request.pop("network", None)
    network_id = request.pop("network_id", None)
    version = request.pop("version", None)
    return JobOut(
        id=job.id,
        kind=job.kind,
        status=job.status.value,
        progress=job.progress,
        message=job.message,
        created_by=job.created_by,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        network_id=network_id,
        version=version,
        options=request,
        summary=job.summary,
        error=job.error,
        files=files or [],
    )


def _files(svc: Services, job: JobInfo) -> list[str]:
    # A running job's folder holds files still being written: listed once it succeeded.
    return svc.runner.result_files(job.id) if job.status is JobStatus.SUCCEEDED else []


@router.get("", responses=responses(401, 403))
def list_jobs(
    svc: Svc, caller: Viewer, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[JobOut]:
    """The latest jobs, newest first."""
    return [job_out(j) for j in svc.jobs.list(limit=limit)]


@router.get("/{job_id}", responses=responses(401, 403, 404))
def get_job(job_id: str, svc: Svc, caller: Viewer) -> JobOut:
    """One job, with its progress or results."""
    job = svc.jobs.get(job_id)
    return job_out(job, _files(svc, job))


@router.post("/{job_id}/cancel", responses=responses(401, 403, 404))
def cancel_job(job_id: str, svc: Svc, caller: Engineer) -> JobOut:
    """Cancel a queued or running job (a finished one is left as it is)."""
    job = svc.runner.cancel(job_id, actor=caller.name)
    return job_out(job, _files(svc, job))


@router.get(
    "/{job_id}/files/{name}",
    response_class=FileResponse,
    responses={
        200: {"content": {m: {} for m in _MEDIA.values()}, "description": "The file."},
        **responses(401, 403, 404),
    },
)
def job_file(job_id: str, name: str, svc: Svc, caller: Viewer) -> FileResponse:
    """Download one result file of a job."""
    job = svc.jobs.get(job_id)
    try:
        path: Path = svc.runner.result_path(job_id, name)
    except ValueError:
        path = Path("/nonexistent")
    if job.status is not JobStatus.SUCCEEDED or not path.is_file():
        raise ProblemError(
            404,
            "not-found",
            "Not found",
            f"job {job_id} has no result file {name!r}; see the job's 'files'",
        )
    return FileResponse(
        path, media_type=_MEDIA.get(path.suffix, "application/octet-stream"), filename=path.name
    )
