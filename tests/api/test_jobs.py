"""The job runner on a real job store (SQLite file): outcomes, cancel, time limits,
dying workers, a full queue, progress, stop.

The tasks are the functions below; worker processes import them from this module by the
name pytest gave it (spawned processes inherit ``sys.path``). One runner with two workers
serves the module; each test that kills a worker costs a fresh one (about a second).
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from feederos.api.jobs import (
    JobKindError,
    JobRunner,
    Progress,
    QueueFullError,
    RunnerStoppedError,
)
from feederos.store.database import Database
from feederos.store.jobs import JobInfo, JobStatus, JobStore

WAIT_S = 60.0
"""Longest a test waits for a job to reach a state (a fresh worker imports for ~1 s)."""


# -- tasks, run in the worker processes ---------------------------------------------------


def double(request: dict[str, Any], out_dir: Path, progress: Progress) -> dict[str, Any]:
    (out_dir / "answer.json").write_text(json.dumps({"x2": 2 * request["x"]}))
    return {"x2": 2 * request["x"], "secret": request.get("secret")}


def refuse(request: dict[str, Any], out_dir: Path, progress: Progress) -> dict[str, Any]:
    (out_dir / "partial.csv").write_text("half a table")
    raise ValueError(f"x = {request['x']} is not allowed; give x > 0")


def sleep(request: dict[str, Any], out_dir: Path, progress: Progress) -> dict[str, Any]:
    Path(request["pid_file"]).write_text(str(os.getpid()))
    progress(0.25, "dozing")
    time.sleep(request.get("sleep_s", 120.0))
    return {}


def die(request: dict[str, Any], out_dir: Path, progress: Progress) -> dict[str, Any]:
    os._exit(request["code"])


def report(request: dict[str, Any], out_dir: Path, progress: Progress) -> dict[str, Any]:
    """Report half, wait for the test to see it (a file appears), then chatter."""
    progress(0.5, "half way")
    go = Path(request["go_file"])
    deadline = time.monotonic() + WAIT_S
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    t0 = time.monotonic()
    while time.monotonic() - t0 < request["chatter_s"]:
        progress(0.5 + 0.4 * (time.monotonic() - t0) / request["chatter_s"], "chatter")
    return {"reported": True}


def flood(request: dict[str, Any], out_dir: Path, progress: Progress) -> dict[str, Any]:
    while True:  # reports past the send throttle, as fast as it can
        progress(1.0, "done, or so it says")
        progress(0.99, "nearly")


def bad_summary(request: dict[str, Any], out_dir: Path, progress: Progress) -> Any:
    return {"nan": float("nan")} if request["what"] == "nan" else [1, 2]


TASKS = {
    name: f"{__name__}:{name}"
    for name in ("double", "refuse", "sleep", "die", "report", "flood", "bad_summary")
}


# -- fixtures -----------------------------------------------------------------------------


class CountingJobStore(JobStore):
    """The job store, noting each progress write."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.progress_writes: list[tuple[str, float, float]] = []

    def set_progress(self, job_id: str, progress: float, message: str = "") -> None:
        self.progress_writes.append((job_id, progress, time.monotonic()))
        super().set_progress(job_id, progress, message)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('jobs') / 'feederos.db'}")
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def store(db: Database) -> CountingJobStore:
    return CountingJobStore(db)


@pytest.fixture(scope="module")
def runner(
    store: CountingJobStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[JobRunner]:
    with JobRunner(
        store,
        tmp_path_factory.mktemp("results"),
        workers=2,
        max_queued=3,
        timeout_s=WAIT_S,
        tasks=TASKS,
        progress_interval_s=0.2,
    ) as jobs:
        yield jobs


def _wait(store: JobStore, job_id: str, *statuses: JobStatus) -> JobInfo:
    """The job once it has one of ``statuses`` (default: any final one)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        info = store.get(job_id)
        if (info.status in statuses) if statuses else info.status.finished:
            return info
        assert time.monotonic() < deadline, f"job {job_id} still {info.status}"
        time.sleep(0.02)


def _sleeper(runner: JobRunner, tmp_path: Path, name: str = "pid", **kw: Any) -> JobInfo:
    return runner.submit("sleep", {"pid_file": str(tmp_path / name), **kw}, actor="ana")


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _double_works(runner: JobRunner, store: JobStore, x: int = 21) -> None:
    job = runner.submit("double", {"x": x}, actor="ana")
    done = _wait(store, job.id)
    assert (done.status, done.summary) == (JobStatus.SUCCEEDED, {"x2": 2 * x, "secret": None})


# -- tests --------------------------------------------------------------------------------


def test_a_task_succeeds_with_its_summary_and_files(
    runner: JobRunner, store: CountingJobStore
) -> None:
    job = runner.submit("double", {"x": 21}, actor="ana", inputs={"secret": "document"})
    assert (job.status, job.kind, job.created_by) == (JobStatus.QUEUED, "double", "ana")
    done = _wait(store, job.id)
    assert done.status is JobStatus.SUCCEEDED
    assert done.summary == {"x2": 42, "secret": "document"}  # the inputs reach the task
    assert done.request == {"x": 21}  # but are not stored
    assert done.progress == 1.0 and done.error is None
    assert done.started_at is not None and done.finished_at is not None
    assert runner.result_files(job.id) == ["answer.json"]
    assert json.loads(runner.result_path(job.id, "answer.json").read_text()) == {"x2": 42}


def test_a_failing_task_fails_with_its_error_not_its_traceback(
    runner: JobRunner, store: CountingJobStore, caplog: pytest.LogCaptureFixture
) -> None:
    job = runner.submit("refuse", {"x": -1}, actor="ana")
    done = _wait(store, job.id)
    assert done.status is JobStatus.FAILED
    assert done.error == "ValueError: x = -1 is not allowed; give x > 0"
    assert "Traceback" in caplog.text and "refuse" in caplog.text  # the server's log has it
    assert runner.result_files(job.id) == []  # no half-written results


@pytest.mark.parametrize(
    ("what", "error"), [("nan", "ValueError: Out of range float"), ("list", "TypeError: task ")]
)
def test_a_summary_must_be_a_json_object(
    what: str, error: str, runner: JobRunner, store: CountingJobStore
) -> None:
    done = _wait(store, runner.submit("bad_summary", {"what": what}, actor="ana").id)
    assert done.status is JobStatus.FAILED
    assert done.error is not None and done.error.startswith(error)


def test_cancel_a_running_job_then_the_next_runs(
    runner: JobRunner, store: CountingJobStore, tmp_path: Path
) -> None:
    job = _sleeper(runner, tmp_path)
    _wait(store, job.id, JobStatus.RUNNING)
    deadline = time.monotonic() + WAIT_S
    while not (tmp_path / "pid").exists():  # the worker has it in hand
        assert time.monotonic() < deadline
        time.sleep(0.02)
    pid = int((tmp_path / "pid").read_text())
    t0 = time.monotonic()
    done = runner.cancel(job.id, actor="bo")
    assert time.monotonic() - t0 < 10.0
    assert (done.status, done.error) == (JobStatus.CANCELLED, "cancelled by bo")
    assert _gone(pid)  # the worker was terminated
    assert runner.result_files(job.id) == []
    assert runner.cancel(job.id, actor="cy") == done  # ended: nothing changes
    _double_works(runner, store)


def test_a_full_queue_refuses_and_a_queued_job_cancels(
    runner: JobRunner, store: CountingJobStore, tmp_path: Path
) -> None:
    busy = [_sleeper(runner, tmp_path, f"pid{i}") for i in range(2)]
    for job in busy:
        _wait(store, job.id, JobStatus.RUNNING)
    waiting = [runner.submit("double", {"x": i}, actor="ana") for i in range(3)]
    assert runner.queued == 3 and sorted(runner.running) == sorted(j.id for j in busy)
    with pytest.raises(QueueFullError, match="3 jobs waiting"):
        runner.submit("double", {"x": 9}, actor="ana")
    dropped = runner.cancel(waiting[0].id, actor="bo")
    assert (dropped.status, dropped.error) == (JobStatus.CANCELLED, "cancelled by bo before it ran")
    assert dropped.started_at is None
    runner.submit("double", {"x": 9}, actor="ana")  # room again
    for job in busy:
        assert runner.cancel(job.id, actor="bo").status is JobStatus.CANCELLED
    for job in waiting[1:]:
        assert _wait(store, job.id).status is JobStatus.SUCCEEDED
    assert store.get(waiting[0].id).status is JobStatus.CANCELLED  # never ran after all


def test_a_job_past_its_time_limit_times_out(
    runner: JobRunner, store: CountingJobStore, tmp_path: Path
) -> None:
    job = runner.submit("sleep", {"pid_file": str(tmp_path / "pid")}, actor="ana", timeout_s=1.5)
    done = _wait(store, job.id)
    assert done.status is JobStatus.TIMED_OUT
    assert done.error == "the job ran longer than its time limit of 1.5 s"
    assert done.started_at is not None and done.finished_at is not None
    assert 1.4 < (done.finished_at - done.started_at).total_seconds() < 10.0
    assert _gone(int((tmp_path / "pid").read_text()))
    _double_works(runner, store)


@pytest.mark.parametrize("code", [3, 0])
def test_a_dying_worker_fails_its_job_and_is_replaced(
    code: int, runner: JobRunner, store: CountingJobStore
) -> None:
    done = _wait(store, runner.submit("die", {"code": code}, actor="ana").id)
    assert (done.status, done.error) == (
        JobStatus.FAILED,
        f"worker process died (exit code {code})",
    )
    _double_works(runner, store)
    _double_works(runner, store, 5)  # both workers, whichever died, take jobs


def test_progress_is_stored_and_throttled(
    runner: JobRunner, store: CountingJobStore, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    job = runner.submit("report", {"go_file": str(go), "chatter_s": 1.2}, actor="ana")
    seen = _wait(store, job.id, JobStatus.RUNNING)
    deadline = time.monotonic() + WAIT_S
    while seen.progress != 0.5:
        assert time.monotonic() < deadline
        seen = store.get(job.id)
    assert (seen.status, seen.message) == (JobStatus.RUNNING, "half way")
    go.touch()
    done = _wait(store, job.id)
    assert (done.status, done.progress) == (JobStatus.SUCCEEDED, 1.0)
    writes = [(p, t) for j, p, t in store.progress_writes if j == job.id]
    # thousands of reports in 1.2 s, a write at most every 0.2 s
    assert 3 <= len(writes) <= 1.2 / 0.2 + 3
    assert all(b[1] - a[1] >= 0.19 for a, b in itertools.pairwise(writes))
    assert [p for p, _ in writes] == sorted(p for p, _ in writes)


def test_a_task_flooding_progress_is_still_cancelled(
    runner: JobRunner, store: CountingJobStore
) -> None:
    job = runner.submit("flood", {}, actor="ana")
    deadline = time.monotonic() + WAIT_S
    while store.get(job.id).message != "done, or so it says":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    t0 = time.monotonic()
    assert runner.cancel(job.id, actor="bo").status is JobStatus.CANCELLED
    assert time.monotonic() - t0 < 10.0
    _double_works(runner, store)


def test_submits_from_many_threads(runner: JobRunner, store: CountingJobStore) -> None:
    ids: list[str] = []
    refused: list[Exception] = []

    def submit(x: int) -> None:
        try:
            ids.append(runner.submit("double", {"x": x}, actor="ana").id)
        except QueueFullError as exc:
            refused.append(exc)

    threads = [threading.Thread(target=submit, args=(x,)) for x in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) + len(refused) == 4 and len(ids) >= 3 and len(set(ids)) == len(ids)
    assert all(_wait(store, i).status is JobStatus.SUCCEEDED for i in ids)


def test_bad_kinds_and_names_are_refused(runner: JobRunner) -> None:
    with pytest.raises(JobKindError, match="no job kind 'fly'; the kinds are bad_summary, "):
        runner.submit("fly", {}, actor="ana")
    for name in ("../db.sqlite", "a/b", "..", "", "a\\b"):
        with pytest.raises(ValueError, match="not a plain name"):
            runner.result_path("0" * 32, name)
    with pytest.raises(ValueError, match="job id"):
        runner.result_path("..", "steps.csv")
    assert runner.result_path("0" * 32, "steps.csv") == runner.results_dir / ("0" * 32) / (
        "steps.csv"
    )
    with pytest.raises(ValueError, match="timeout_s"):
        runner.submit("double", {"x": 1}, actor="ana", timeout_s=0)


def test_stop_cancels_what_is_queued_and_running(store: CountingJobStore, tmp_path: Path) -> None:
    threads = threading.active_count()
    runner = JobRunner(store, tmp_path / "results", workers=1, tasks=TASKS)
    queued_early = runner.submit("double", {"x": 1}, actor="ana")  # before start: waits
    runner.start()
    _wait(store, queued_early.id, JobStatus.SUCCEEDED)
    running = _sleeper(runner, tmp_path)
    _wait(store, running.id, JobStatus.RUNNING)
    queued = runner.submit("double", {"x": 2}, actor="ana")
    deadline = time.monotonic() + WAIT_S
    while not (tmp_path / "pid").exists():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    runner.stop()
    assert _gone(int((tmp_path / "pid").read_text()))
    assert threading.active_count() == threads
    ran, waited = store.get(running.id), store.get(queued.id)
    assert (ran.status, ran.error) == (JobStatus.CANCELLED, "the service stopped while the job ran")
    assert (waited.status, waited.error) == (
        JobStatus.CANCELLED,
        "the service stopped before the job ran",
    )
    with pytest.raises(RunnerStoppedError):
        runner.submit("double", {"x": 3}, actor="ana")
    with pytest.raises(RunnerStoppedError):
        runner.start()
    runner.stop()  # a second stop does nothing


def test_a_runner_never_started_stops(store: CountingJobStore, tmp_path: Path) -> None:
    runner = JobRunner(store, tmp_path / "results", tasks=TASKS)
    job = runner.submit("double", {"x": 1}, actor="ana")
    runner.stop()
    assert store.get(job.id).status is JobStatus.CANCELLED
    assert not (tmp_path / "results").exists()
