"""Background jobs as rows: what was asked, state, progress and outcome.

The runner (:mod:`feederos.api.jobs`) does the work; this module only keeps the record
so a job can be followed, listed and found again after a restart. A job moves
``queued → running → succeeded | failed | cancelled | timed_out`` (a queued job may also
end directly, e.g. cancelled). The first end recorded wins: a later :meth:`JobStore.finish`
returns the job unchanged, so a cancel racing a worker's finish cannot be overwritten.

Examples
--------
>>> from feederos.store.database import Database
>>> db = Database("sqlite://")
>>> db.migrate()
>>> jobs = JobStore(db)
>>> job = jobs.create("hosting-capacity", {"network_id": "9f0c"}, actor="alice")
>>> jobs.set_running(job.id)
>>> jobs.set_progress(job.id, 0.5, "bus 12 of 24")
>>> jobs.get(job.id).status, jobs.get(job.id).progress
(<JobStatus.RUNNING: 'running'>, 0.5)
>>> done = jobs.finish(job.id, JobStatus.SUCCEEDED, summary={"hosting_capacity_kw": 420.0})
>>> done.status.value, done.progress, done.summary
('succeeded', 1.0, {'hosting_capacity_kw': 420.0})
>>> jobs.fail_unfinished("server restarted")
0
>>> db.dispose()
"""

from __future__ import annotations

import builtins
import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from feederos.store._common import new_id, plain_text, require_text, utc_now
from feederos.store._json import json_object
from feederos.store.audit import AuditLog
from feederos.store.database import Database
from feederos.store.errors import JobNotFoundError, JobStateError, StoreError
from feederos.store.tables import JobRow

__all__ = ["KIND_MAX_LENGTH", "JobInfo", "JobStatus", "JobStore"]

KIND_MAX_LENGTH = 64
"""Longest job kind name, e.g. ``hosting-capacity``."""


class JobStatus(StrEnum):
    """Where a job is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"

    @property
    def finished(self) -> bool:
        """Whether the job has ended (no further change will happen)."""
        return self not in (JobStatus.QUEUED, JobStatus.RUNNING)


_UNFINISHED = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


@dataclass(frozen=True)
class JobInfo:
    """A job's record.

    Attributes
    ----------
    id
        32 hex digits.
    kind
        What it does (``scenario-run``, ``hosting-capacity``).
    status
        Where it is.
    progress
        Fraction done, 0 to 1 [-].
    message
        The latest progress message.
    created_by, created_at
        Who asked and when (UTC).
    started_at, finished_at
        When (UTC) it started and ended, or None.
    request
        What was asked (JSON object).
    summary
        The outcome of a finished job (JSON object), or None.
    error
        Why it failed, or None.
    """

    id: str
    kind: str
    status: JobStatus
    progress: float
    message: str
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    request: dict[str, Any]
    summary: dict[str, Any] | None
    error: str | None


class JobStore:
    """Records jobs of one database; :meth:`create` records an audit entry too."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._audit = AuditLog(db)

    def create(self, kind: str, request: dict[str, Any], *, actor: str) -> JobInfo:
        """Record a new, queued job.

        Raises
        ------
        StoreError
            An empty kind or actor, or a request that is not a JSON object.
        """
        kind = require_text(kind, what="job kind", max_length=KIND_MAX_LENGTH)
        actor = require_text(actor, what="actor")
        row = JobRow(
            id=new_id(),
            kind=kind,
            status=JobStatus.QUEUED.value,
            progress=0.0,
            message="",
            created_by=actor,
            created_at=utc_now(),
            started_at=None,
            finished_at=None,
            request=json_object(request, what="job request"),
            summary=None,
            error=None,
        )
        with self._db.session() as session:
            session.add(row)
            self._audit.record(actor, "job.create", row.id, {"kind": kind}, session=session)
        return _info(row)

    def get(self, job_id: str) -> JobInfo:
        """One job; :class:`JobNotFoundError` if none has this id."""
        with self._db.session(readonly=True) as session:
            return _info(_job(session, job_id))

    def list(self, *, limit: int = 100) -> builtins.list[JobInfo]:
        """The newest ``limit`` jobs, newest first."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise StoreError(f"limit must be a positive whole number, not {limit!r}")
        with self._db.session(readonly=True) as session:
            rows = session.scalars(
                select(JobRow).order_by(JobRow.created_at.desc(), JobRow.id.desc()).limit(limit)
            )
            return [_info(r) for r in rows]

    def set_running(self, job_id: str) -> None:
        """Mark a queued job running, now.

        Raises
        ------
        JobNotFoundError
            No job has this id.
        JobStateError
            The job is not queued (e.g. it was cancelled meanwhile): do not run it.
        """
        with self._db.session() as session:
            row = _job(session, job_id, lock=True)
            if row.status != JobStatus.QUEUED:
                raise JobStateError(job_id, row.status, JobStatus.RUNNING.value)
            row.status = JobStatus.RUNNING.value
            row.started_at = utc_now()

    def set_progress(self, job_id: str, progress: float, message: str = "") -> None:
        """Record how far a running job is; ignored once it has ended (a late report
        from a worker that was cancelled).

        Parameters
        ----------
        progress
            Fraction done, 0 to 1 [-].
        message
            What it is doing now.

        Raises
        ------
        JobNotFoundError
            No job has this id.
        StoreError
            ``progress`` is not a number from 0 to 1.
        """
        if (
            isinstance(progress, bool)
            or not isinstance(progress, int | float)
            or not math.isfinite(progress)
            or not 0.0 <= progress <= 1.0
        ):
            raise StoreError(f"job {job_id}: progress must be a fraction 0 to 1, not {progress!r}")
        message = plain_text(message, what=f"job {job_id}: progress message")
        with self._db.session() as session:
            # One UPDATE, no read first: progress may be reported often.
            result = session.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.status == JobStatus.RUNNING.value)
                .values(progress=float(progress), message=message)
                .execution_options(synchronize_session=False)
            )
            if _rowcount(result) == 0:
                _job(session, job_id)  # unknown id -> JobNotFoundError; ended -> ignored

    def finish(
        self,
        job_id: str,
        status: JobStatus,
        *,
        summary: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> JobInfo:
        """End a job with a final status (a succeeded job's progress becomes 1).

        If the job has already ended, nothing changes and its record is returned: the
        first end wins.

        Raises
        ------
        JobNotFoundError
            No job has this id.
        StoreError
            ``status`` is not a final status, or ``summary`` is not a JSON object.
        """
        try:
            final = JobStatus(status)
        except ValueError:
            final = JobStatus.QUEUED  # refused just below, with the same message
        if not final.finished:
            ends = ", ".join(s.value for s in JobStatus if s.finished)
            raise StoreError(f"job {job_id}: finish needs a final status ({ends}), not {status!r}")
        stored_summary = None if summary is None else json_object(summary, what="job summary")
        if error is not None:
            error = plain_text(error, what=f"job {job_id}: error")
        with self._db.session() as session:
            row = _job(session, job_id, lock=True)
            if JobStatus(row.status).finished:
                return _info(row)
            row.status = final.value
            row.finished_at = utc_now()
            row.summary = stored_summary
            row.error = error
            if final is JobStatus.SUCCEEDED:
                row.progress = 1.0
            return _info(row)

    def fail_unfinished(self, reason: str) -> int:
        """Mark every queued or running job failed with ``reason``; the number marked.

        For start-up: jobs left unfinished by a server that stopped will never end.
        """
        reason = require_text(reason, what="reason")
        with self._db.session() as session:
            result = session.execute(
                update(JobRow)
                .where(JobRow.status.in_(_UNFINISHED))
                .values(status=JobStatus.FAILED.value, finished_at=utc_now(), error=reason)
                .execution_options(synchronize_session=False)
            )
            return _rowcount(result)


def _rowcount(result: Any) -> int:
    return int(result.rowcount)


def _job(session: Session, job_id: str, *, lock: bool = False) -> JobRow:
    if not isinstance(job_id, str) or "\x00" in job_id:  # NUL: no stored id
        raise JobNotFoundError(repr(job_id))
    query = select(JobRow).where(JobRow.id == job_id)
    row = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if row is None:
        raise JobNotFoundError(job_id)
    return row


def _info(row: JobRow) -> JobInfo:
    return JobInfo(
        id=row.id,
        kind=row.kind,
        status=JobStatus(row.status),
        progress=row.progress,
        message=row.message,
        created_by=row.created_by,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        request=dict(row.request),
        summary=None if row.summary is None else dict(row.summary),
        error=row.error,
    )
