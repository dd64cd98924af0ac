"""JobStore: the life of a job, first end wins, start-up recovery (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from feederos.store import (
    AuditLog,
    Database,
    JobInfo,
    JobNotFoundError,
    JobStateError,
    JobStatus,
    JobStore,
    StoreError,
)

REQUEST: dict[str, Any] = {
    "network_id": "9f0c",
    "version": 3,
    "pv_kw": [0.0, 12.5],
    "options": {"steps": 96},
}


def test_create_records_a_queued_job_and_audits_it(db: Database) -> None:
    jobs = JobStore(db)
    job = jobs.create("scenario-run", REQUEST, actor="alice")
    assert (job.kind, job.status, job.progress, job.message, job.created_by) == (
        "scenario-run",
        JobStatus.QUEUED,
        0.0,
        "",
        "alice",
    )
    assert (job.started_at, job.finished_at, job.summary, job.error) == (None,) * 4
    assert job.request == REQUEST and job.request is not REQUEST
    assert job.created_at.utcoffset() == timedelta(0)
    assert jobs.get(job.id) == job
    [entry] = AuditLog(db).entries(target=job.id)
    assert (entry.actor, entry.action, entry.detail) == (
        "alice",
        "job.create",
        {"kind": "scenario-run"},
    )


def test_the_life_of_a_job(db: Database) -> None:
    jobs = JobStore(db)
    job = jobs.create("hosting-capacity", REQUEST, actor="a")
    jobs.set_running(job.id)
    running = jobs.get(job.id)
    assert running.status is JobStatus.RUNNING
    assert running.started_at is not None and running.started_at >= job.created_at
    assert running.started_at.utcoffset() == timedelta(0)
    jobs.set_progress(job.id, 0.25, "bus 6 of 24")
    jobs.set_progress(job.id, 1)
    assert (jobs.get(job.id).progress, jobs.get(job.id).message) == (1.0, "")
    jobs.set_progress(job.id, 0.5, "bus 12 of 24")
    assert (jobs.get(job.id).progress, jobs.get(job.id).message) == (0.5, "bus 12 of 24")
    done = jobs.finish(job.id, JobStatus.SUCCEEDED, summary={"hosting_capacity_kw": 420.0})
    assert (done.status, done.progress, done.summary, done.error) == (
        JobStatus.SUCCEEDED,
        1.0,
        {"hosting_capacity_kw": 420.0},
        None,
    )
    assert done.finished_at is not None and done.finished_at >= running.started_at
    assert jobs.get(job.id) == done
    assert done.status.finished and not JobStatus.RUNNING.finished


def test_a_failed_job_keeps_its_error_and_progress(db: Database) -> None:
    jobs = JobStore(db)
    job = jobs.create("k", {}, actor="a")
    jobs.set_running(job.id)
    jobs.set_progress(job.id, 0.4)
    failed = jobs.finish(job.id, JobStatus.FAILED, error="solver diverged at step 17")
    assert (failed.status, failed.progress, failed.error, failed.summary) == (
        JobStatus.FAILED,
        0.4,
        "solver diverged at step 17",
        None,
    )


def test_the_first_end_wins(db: Database) -> None:
    jobs = JobStore(db)
    job = jobs.create("k", {}, actor="a")
    cancelled = jobs.finish(job.id, "cancelled")  # type: ignore[arg-type]
    assert cancelled.status is JobStatus.CANCELLED and cancelled.started_at is None
    late = jobs.finish(job.id, JobStatus.SUCCEEDED, summary={"x": 1})
    assert late == cancelled
    jobs.set_progress(job.id, 0.9, "late report")  # ignored: the job has ended
    assert jobs.get(job.id) == cancelled
    with pytest.raises(
        JobStateError, match=f"job {job.id} is cancelled; it cannot become running"
    ) as caught:
        jobs.set_running(job.id)
    assert (caught.value.job_id, caught.value.status) == (job.id, "cancelled")


def test_racing_ends_agree(db: Database) -> None:
    jobs = JobStore(db)
    job = jobs.create("k", {}, actor="a")
    jobs.set_running(job.id)
    results: list[JobInfo] = []
    barrier = threading.Barrier(4)

    def end(status: JobStatus) -> None:
        barrier.wait()
        results.append(jobs.finish(job.id, status, error=status.value))

    statuses = [JobStatus.SUCCEEDED, JobStatus.CANCELLED, JobStatus.TIMED_OUT, JobStatus.FAILED]
    threads = [threading.Thread(target=end, args=(s,)) for s in statuses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = jobs.get(job.id)
    assert results == [stored] * 4
    assert stored.error == stored.status.value


def test_a_running_job_cannot_start_again(db: Database) -> None:
    jobs = JobStore(db)
    job = jobs.create("k", {}, actor="a")
    jobs.set_running(job.id)
    with pytest.raises(JobStateError, match="is running; it cannot become running"):
        jobs.set_running(job.id)


def test_unknown_jobs_are_named(db: Database) -> None:
    jobs = JobStore(db)
    calls: list[Callable[[], object]] = [
        lambda: jobs.get("nope"),
        lambda: jobs.set_running("nope"),
        lambda: jobs.set_progress("nope", 0.5),
        lambda: jobs.finish("nope", JobStatus.FAILED),
    ]
    for call in calls:
        with pytest.raises(JobNotFoundError, match="no job with id 'nope'") as caught:
            call()
        assert caught.value.job_id == "nope"
    with pytest.raises(JobNotFoundError, match="no job with id '3'"):
        jobs.get(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("progress", [-0.1, 1.5, float("nan"), True, "0.5", None])
def test_a_bad_progress_is_refused(db: Database, progress: Any) -> None:
    jobs = JobStore(db)
    job = jobs.create("k", {}, actor="a")
    jobs.set_running(job.id)
    with pytest.raises(StoreError, match=f"job {job.id}: progress must be a fraction 0 to 1"):
        jobs.set_progress(job.id, progress)
    with pytest.raises(StoreError, match="progress message must be a string"):
        jobs.set_progress(job.id, 0.5, None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "kwargs", "expected"),
    [
        (JobStatus.RUNNING, {}, "finish needs a final status .*not <JobStatus.RUNNING"),
        ("done", {}, "finish needs a final status \\(succeeded, failed, cancelled, timed_out"),
        (
            JobStatus.SUCCEEDED,
            {"summary": {"v_pu": float("nan")}},
            r'job summary\["v_pu"\]: nan is not JSON; store null',
        ),
        (JobStatus.SUCCEEDED, {"summary": [1]}, "job summary must be a JSON object"),
        (JobStatus.FAILED, {"error": 42}, "error must be a string, not int"),
    ],
)
def test_a_bad_finish_is_refused(
    db: Database, status: Any, kwargs: dict[str, Any], expected: str
) -> None:
    jobs = JobStore(db)
    job = jobs.create("k", {}, actor="a")
    with pytest.raises(StoreError, match=expected):
        jobs.finish(job.id, status, **kwargs)
    assert jobs.get(job.id).status is JobStatus.QUEUED


@pytest.mark.parametrize(
    ("kind", "request_", "actor", "expected"),
    [
        ("", {}, "a", "job kind must be a non-empty string"),
        ("k" * 65, {}, "a", "longer than 64 characters"),
        ("k", {}, " ", "actor must be a non-empty string"),
        ("k", "{}", "a", "job request must be a JSON object \\(dict\\), not str"),
        ("k", {"when": object()}, "a", r'job request\["when"\]: a object is not JSON'),
    ],
)
def test_a_bad_job_is_refused(
    db: Database, kind: str, request_: Any, actor: str, expected: str
) -> None:
    jobs = JobStore(db)
    with pytest.raises(StoreError, match=expected):
        jobs.create(kind, request_, actor=actor)
    assert jobs.list() == []


def test_list_is_newest_first_and_limited(db: Database) -> None:
    jobs = JobStore(db)
    assert jobs.list() == []
    made = [jobs.create("k", {"i": i}, actor="a") for i in range(4)]
    assert [j.request["i"] for j in jobs.list()] == [3, 2, 1, 0]
    assert jobs.list(limit=2) == [made[3], made[2]]
    with pytest.raises(StoreError, match="limit must be a positive whole number, not 0"):
        jobs.list(limit=0)


def test_fail_unfinished_at_start_up(db: Database) -> None:
    jobs = JobStore(db)
    queued = jobs.create("k", {}, actor="a")
    running = jobs.create("k", {}, actor="a")
    jobs.set_running(running.id)
    done = jobs.finish(jobs.create("k", {}, actor="a").id, JobStatus.SUCCEEDED)
    assert jobs.fail_unfinished("the server stopped before the job ended") == 2
    for job_id in (queued.id, running.id):
        job = jobs.get(job_id)
        assert (job.status, job.error) == (
            JobStatus.FAILED,
            "the server stopped before the job ended",
        )
        assert job.finished_at is not None and job.finished_at.utcoffset() == timedelta(0)
    assert jobs.get(done.id) == done
    assert jobs.fail_unfinished("again") == 0
    with pytest.raises(StoreError, match="reason must be a non-empty string"):
        jobs.fail_unfinished("")
