"""Long simulations as background jobs, run one at a time by each of a few worker processes.

:class:`JobRunner` takes jobs (:meth:`~JobRunner.submit`), keeps them in a bounded queue,
and hands each to one of ``workers`` long-lived worker processes (``spawn`` start method:
a worker imports feederos and compiles its numba code once, seconds, not per job). The
job's row in the :class:`~feederos.store.jobs.JobStore` follows it: QUEUED, RUNNING with
its progress, then one of

- SUCCEEDED, with the task's summary (a JSON object) and the files it wrote in
  ``results_dir/<job id>/`` (:meth:`~JobRunner.result_path`);
- FAILED, with the task's error as ``Type: text`` (its traceback goes to this module's
  log, not to the client), or ``worker process died (exit code N)`` where the process
  itself died (a crash, ``os._exit``); a fresh worker takes its place;
- CANCELLED (:meth:`~JobRunner.cancel`: a queued job leaves the queue, a running one's
  worker is terminated and replaced; or :meth:`~JobRunner.stop`);
- TIMED_OUT: it ran past its time limit, and its worker was terminated and replaced.

A job that did not succeed leaves no result files.

What a job does is a *task*: a function ``task(request, out_dir, progress) -> summary``
named by ``"module:function"`` for each job kind (default
:data:`feederos.api.job_tasks.TASK_PATHS`), which the worker imports (its module at
start-up, so that the first job does not wait for the imports). The task calls
``progress(fraction, message)`` as it goes; the worker sends it at most every
:data:`PROGRESS_SEND_S` and the runner stores it at most every ``progress_interval_s``
per job, through the same pipe as the job's outcome, so that a progress report never
lands after it.

The runner is safe to call from many threads (FastAPI runs synchronous endpoints in a
thread pool): one thread per worker drives its process, and the queue and the jobs in
hand are guarded by one lock.

Examples
--------
Used by the service as (a doctest would spawn processes, seconds each)::

    runner = JobRunner(JobStore(db), Path("results"), workers=2, max_queued=16)
    runner.start()
    job = runner.submit("scenario-run", {"steps": 24}, actor="ana",
                        inputs={"network": document})
    ...
    runner.cancel(job.id, actor="ana")
    runner.stop()

Names a result file may have:

>>> JobRunner.check_name("steps.parquet", what="file name")
'steps.parquet'
>>> JobRunner.check_name("../etc/passwd", what="file name")
Traceback (most recent call last):
...
ValueError: file name '../etc/passwd' is not a plain name: give a name without '/', '\\' or '..'
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import math
import multiprocessing
import shutil
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from feederos.errors import FeederosError
from feederos.store.errors import JobStateError
from feederos.store.jobs import JobInfo, JobStatus, JobStore

__all__ = [
    "PROGRESS_SEND_S",
    "JobKindError",
    "JobRunner",
    "Progress",
    "QueueFullError",
    "RunnerStoppedError",
    "TaskFunction",
    "resolve_task",
]

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
"""What a task calls to report progress: ``progress(fraction_done, message)``."""

TaskFunction = Callable[[dict[str, Any], Path, Progress], dict[str, Any]]
"""A task: ``task(request, out_dir, progress) -> summary`` (a JSON object)."""

PROGRESS_SEND_S = 0.1
"""Least time between two progress reports a worker sends for a job [s] (a task may call
``progress`` far more often)."""

STOP_WAIT_S = 5.0
"""How long a worker has to exit when asked, or after being terminated, before it is
killed [s]."""

RESTART_DELAY_S = 1.0
"""Wait before starting a worker again after one died while starting [s]."""


class QueueFullError(FeederosError):
    """The job queue holds ``max_queued`` jobs already (an API answers 429 or 503)."""

    def __init__(self, queued: int) -> None:
        self.queued = queued
        super().__init__(
            f"the job queue is full ({queued} jobs waiting); submit again when some have finished"
        )


class JobKindError(FeederosError, ValueError):
    """No task is registered for the job kind asked for."""

    def __init__(self, kind: str, kinds: Iterable[str]) -> None:
        self.kind = kind
        super().__init__(f"no job kind {kind!r}; the kinds are {', '.join(sorted(kinds))}")


class RunnerStoppedError(FeederosError):
    """The runner was stopped: it takes no more jobs and cannot start again."""


def resolve_task(path: str) -> TaskFunction:
    """The task function named ``"package.module:function"``.

    Raises
    ------
    ValueError
        If ``path`` does not name a function as ``module:function``.
    ImportError, AttributeError
        If the module or the function does not exist.

    Examples
    --------
    >>> resolve_task("json:dumps").__name__
    'dumps'
    >>> resolve_task("json.dumps")
    Traceback (most recent call last):
    ...
    ValueError: task 'json.dumps': give it as 'module:function'
    """
    module, sep, name = path.partition(":")
    if not (sep and module and name):
        raise ValueError(f"task {path!r}: give it as 'module:function'")
    function = getattr(importlib.import_module(module), name)
    if not callable(function):
        raise ValueError(f"task {path!r} is not a function")
    task: TaskFunction = function
    return task


@dataclass(eq=False)
class _Job:
    """A job in the runner's hands: queued, or running in a slot."""

    id: str
    task: str
    request: dict[str, Any]
    timeout_s: float
    done: threading.Event = field(default_factory=threading.Event)


@dataclass(eq=False)
class _Slot:
    """One worker process and the thread that drives it."""

    index: int
    wake_r: Connection
    wake_w: Connection
    thread: threading.Thread | None = None
    process: BaseProcess | None = None
    conn: Connection | None = None
    job: _Job | None = None
    cancelled_by: str | None = None

    def nudge(self) -> None:
        """Wake the slot's thread from its wait (a cancel, or stop)."""
        with contextlib.suppress(OSError):  # closed: the thread has ended already
            self.wake_w.send_bytes(b"!")

    def drain(self) -> None:
        while self.wake_r.poll():
            self.wake_r.recv_bytes()


class JobRunner:
    """Runs jobs in a pool of worker processes (see the module docstring).

    Parameters
    ----------
    jobs
        Where the jobs' rows are kept.
    results_dir
        Each job's task writes its files in ``results_dir/<job id>/``.
    workers
        Worker processes, each running one job at a time.
    max_queued
        Jobs that may wait for a worker; :meth:`submit` refuses more.
    timeout_s
        Longest a job may run, unless :meth:`submit` says otherwise [s].
    tasks
        The task of each job kind, as ``"module:function"``; default
        :data:`feederos.api.job_tasks.TASK_PATHS`.
    progress_interval_s
        Least time between two progress writes of a job to the store [s].
    """

    def __init__(
        self,
        jobs: JobStore,
        results_dir: Path,
        *,
        workers: int = 2,
        max_queued: int = 16,
        timeout_s: float = 3600.0,
        tasks: Mapping[str, str] | None = None,
        progress_interval_s: float = 0.5,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers = {workers}; give at least 1 worker process")
        if max_queued < 0:
            raise ValueError(f"max_queued = {max_queued}; give 0 or more")
        if not (timeout_s > 0 and math.isfinite(timeout_s)):
            raise ValueError(f"timeout_s = {timeout_s}; give a time limit > 0 [s]")
        if tasks is None:
            from feederos.api.job_tasks import TASK_PATHS  # its solver imports: only if used

            tasks = TASK_PATHS
        self.jobs = jobs
        self.results_dir = Path(results_dir)
        self.workers = workers
        self.max_queued = max_queued
        self.timeout_s = timeout_s
        self.tasks = dict(tasks)
        self.progress_interval_s = progress_interval_s
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._wanted = threading.Condition(self._lock)  # a job was queued, or stop
        self._queue: deque[_Job] = deque()
        self._slots: list[_Slot] = []
        self._started = False
        self._stopping = False

    # -- the service's side --------------------------------------------------------

    def start(self) -> None:
        """Start the worker processes and their threads (a second call does nothing).

        Jobs a previous server left QUEUED or RUNNING are not this runner's: mark them
        with :meth:`JobStore.fail_unfinished <feederos.store.jobs.JobStore.fail_unfinished>`
        first.
        """
        with self._lock:
            if self._stopping:
                raise RunnerStoppedError("this job runner was stopped; make a new one")
            if self._started:
                return
            self._started = True
            self.results_dir.mkdir(parents=True, exist_ok=True)
            for i in range(self.workers):
                wake_r, wake_w = self._context.Pipe(duplex=False)
                slot = _Slot(i, wake_r, wake_w)
                slot.thread = threading.Thread(
                    target=self._serve, args=(slot,), name=f"feederos-jobs-{i}", daemon=True
                )
                self._slots.append(slot)
            for slot in self._slots:
                assert slot.thread is not None
                slot.thread.start()

    def stop(self) -> None:
        """Cancel the queued and running jobs (their workers terminated), stop the
        workers and join the threads. The runner cannot start again."""
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
            queued = list(self._queue)
            self._queue.clear()
            for job in queued:
                self._finish(
                    job, JobStatus.CANCELLED, error="the service stopped before the job ran"
                )
            self._wanted.notify_all()
            for slot in self._slots:
                slot.nudge()
        for slot in self._slots:
            if slot.thread is not None:
                slot.thread.join()
            slot.wake_r.close()
            slot.wake_w.close()

    def __enter__(self) -> JobRunner:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def submit(
        self,
        kind: str,
        request: dict[str, Any],
        *,
        actor: str,
        timeout_s: float | None = None,
        inputs: Mapping[str, Any] | None = None,
    ) -> JobInfo:
        """Queue a job of ``kind``: its row is created QUEUED and returned.

        Parameters
        ----------
        kind
            A job kind of :attr:`tasks`.
        request
            What the task is asked (a JSON object), stored with the job.
        actor
            Who asks.
        timeout_s
            This job's time limit [s]; default the runner's.
        inputs
            More of the request, given to the task but not stored with the job (e.g.
            the network document of a stored version: the job's request names the
            version, the task gets the document).

        Raises
        ------
        JobKindError
            If ``kind`` has no task.
        QueueFullError
            If ``max_queued`` jobs are waiting already.
        RunnerStoppedError
            After :meth:`stop`.
        """
        if kind not in self.tasks:
            raise JobKindError(kind, list(self.tasks))
        limit = self.timeout_s if timeout_s is None else timeout_s
        if not (limit > 0 and math.isfinite(limit)):
            raise ValueError(f"timeout_s = {timeout_s}; give a time limit > 0 [s]")
        with self._lock:
            if self._stopping:
                raise RunnerStoppedError("the job runner is stopping; no job is taken")
            if len(self._queue) >= self.max_queued:
                raise QueueFullError(len(self._queue))
            info = self.jobs.create(kind, request, actor=actor)
            self._queue.append(
                _Job(info.id, self.tasks[kind], {**request, **(inputs or {})}, limit)
            )
            self._wanted.notify()
        logger.info("job %s (%s) queued by %s", info.id, kind, actor)
        return info

    def cancel(self, job_id: str, *, actor: str, wait_s: float = 30.0) -> JobInfo:
        """Cancel a job: a queued one leaves the queue, a running one's worker is
        terminated (and replaced); both become CANCELLED, ``error`` naming ``actor``.

        A job that has finished is returned as it is. Waits up to ``wait_s`` for a
        running job's worker to be stopped.

        Raises
        ------
        JobNotFoundError
            If there is no such job.
        """
        done: threading.Event | None = None
        with self._lock:
            queued = next((j for j in self._queue if j.id == job_id), None)
            if queued is not None:
                self._queue.remove(queued)
                logger.info("job %s cancelled by %s before it ran", job_id, actor)
                return self._finish(
                    queued, JobStatus.CANCELLED, error=f"cancelled by {actor} before it ran"
                )
            for slot in self._slots:
                if slot.job is not None and slot.job.id == job_id:
                    slot.cancelled_by = actor
                    done = slot.job.done
                    slot.nudge()
        if done is not None:
            done.wait(wait_s)
        return self.jobs.get(job_id)

    @property
    def queued(self) -> int:
        """Jobs waiting for a worker."""
        with self._lock:
            return len(self._queue)

    @property
    def running(self) -> list[str]:
        """Ids of the jobs running now."""
        with self._lock:
            return [s.job.id for s in self._slots if s.job is not None]

    def result_path(self, job_id: str, name: str) -> Path:
        """Where job ``job_id``'s result file ``name`` is (it may not exist: a job that
        has not succeeded, or a name its task did not write).

        Raises
        ------
        ValueError
            If the id or the name is not a plain file name (a path separator, ``..``):
            nothing outside the job's folder is ever named.
        """
        self.check_name(job_id, what="job id")
        self.check_name(name, what="file name")
        return self.results_dir / job_id / name

    def result_files(self, job_id: str) -> list[str]:
        """The names of the files in job ``job_id``'s folder, sorted: what it wrote once
        it has succeeded (a running job's files are still being written; a job that
        did not succeed has none)."""
        folder = self.results_dir / self.check_name(job_id, what="job id")
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_file())

    @staticmethod
    def check_name(name: str, *, what: str) -> str:
        """``name`` if it is a plain file name, else :class:`ValueError`."""
        if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
            raise ValueError(
                f"{what} {name!r} is not a plain name: give a name without '/', '\\' or '..'"
            )
        return name

    # -- a slot's thread -----------------------------------------------------------

    def _serve(self, slot: _Slot) -> None:
        """Keep a worker ready and give it jobs, one at a time, until stop."""
        try:
            while True:
                if not self._ready(slot):
                    break
                job = self._take(slot)
                if job is None:
                    break
                try:
                    self._run(slot, job)
                except Exception as exc:  # the store failed: the slot must go on
                    logger.exception("job %s: the runner failed while it ran", job.id)
                    self._kill(slot)
                    with self._lock:
                        try:
                            self._finish(
                                job, JobStatus.FAILED, error=f"the job runner failed: {exc}"
                            )
                        except Exception:
                            logger.exception("job %s: cannot record its failure", job.id)
                        self._end(slot, job)
        except Exception:  # e.g. a process could not start: say so; the others go on
            logger.exception("job worker %d: its thread failed and has ended", slot.index)
        finally:
            self._shut(slot)

    def _ready(self, slot: _Slot) -> bool:
        """A running worker that has made its imports; False when stopping."""
        while True:
            if slot.process is not None and slot.process.is_alive():
                return True
            self._kill(slot)
            parent, child = self._context.Pipe()
            process = self._context.Process(
                target=_worker_main,
                args=(child, sorted(set(self.tasks.values()))),
                name=f"feederos-job-worker-{slot.index}",
                daemon=True,
            )
            with self._lock:
                if self._stopping:
                    parent.close()
                    child.close()
                    return False
                process.start()
            child.close()
            slot.process, slot.conn = process, parent
            while True:
                ready = wait([parent, process.sentinel, slot.wake_r])
                if slot.wake_r in ready:
                    slot.drain()
                    if self._stopping:
                        return False
                if parent in ready:
                    try:
                        if parent.recv() == ("ready",):
                            logger.info("job worker %d ready (pid %s)", slot.index, process.pid)
                            return True
                        continue
                    except (EOFError, OSError):  # it died: its exit code tells
                        pass
                elif process.sentinel not in ready:
                    continue
                process.join(STOP_WAIT_S)
                logger.error(
                    "job worker %d died while starting (exit code %s%s)",
                    slot.index,
                    process.exitcode,
                    _signal_name(process.exitcode),
                )
                self._kill(slot)
                slot.wake_r.poll(RESTART_DELAY_S)  # a stop cuts the wait short
                break

    def _take(self, slot: _Slot) -> _Job | None:
        """The next queued job, now the slot's; None when stopping."""
        with self._lock:
            while not self._queue and not self._stopping:
                self._wanted.wait()
            if self._stopping:
                return None
            job = self._queue.popleft()
            slot.job, slot.cancelled_by = job, None
            return job

    def _run(self, slot: _Slot, job: _Job) -> None:
        """Run ``job`` on the slot's worker and record how it ended."""
        out_dir = self.results_dir / job.id
        out_dir.mkdir(parents=True, exist_ok=True)
        process, conn = slot.process, slot.conn
        assert process is not None and conn is not None
        try:
            self.jobs.set_running(job.id)
        except JobStateError:  # ended meanwhile (another server's cancel): not to run
            logger.info("job %s ended before it could start; skipped", job.id)
            shutil.rmtree(out_dir, ignore_errors=True)
            with self._lock:
                self._end(slot, job)
            return
        deadline = time.monotonic() + job.timeout_s
        stored = _StoredProgress(self.jobs, job.id, self.progress_interval_s)
        with contextlib.suppress(OSError):  # it died between jobs: its sentinel tells below
            conn.send(("run", job.id, job.task, job.request, str(out_dir)))
        gone = False  # the worker's end of the pipe closed: it died
        while True:
            timeout = max(0.0, min(deadline, stored.due) - time.monotonic())
            ready = wait([conn, process.sentinel, slot.wake_r], timeout)
            if conn in ready:
                try:
                    message = conn.recv()
                except (EOFError, OSError):  # its exit code tells below
                    gone = True
                else:
                    if message[0] == "progress":  # then see to a cancel or the time limit
                        stored.offer(message[2], message[3])
                    elif message[0] == "done":
                        self._close(slot, job, JobStatus.SUCCEEDED, summary=message[2])
                        return
                    elif message[0] == "failed":
                        logger.error("job %s failed: %s\n%s", job.id, message[2], message[3])
                        self._close(slot, job, JobStatus.FAILED, error=message[2])
                        return
            if slot.wake_r in ready:
                slot.drain()
            with self._lock:
                by, stopping = slot.cancelled_by, self._stopping
            if by is not None or stopping:
                self._kill(slot)
                self._close(
                    slot,
                    job,
                    JobStatus.CANCELLED,
                    error=(
                        f"cancelled by {by}"
                        if by is not None
                        else "the service stopped while the job ran"
                    ),
                )
                return
            if gone or (process.sentinel in ready and not conn.poll()):  # all read first
                process.join(STOP_WAIT_S)
                code = process.exitcode
                self._kill(slot)
                logger.error(
                    "job %s: worker %d died (exit code %s%s)",
                    job.id,
                    slot.index,
                    code,
                    _signal_name(code),
                )
                self._close(
                    slot, job, JobStatus.FAILED, error=f"worker process died (exit code {code})"
                )
                return
            if time.monotonic() >= deadline:
                self._kill(slot)
                self._close(
                    slot,
                    job,
                    JobStatus.TIMED_OUT,
                    error=f"the job ran longer than its time limit of {job.timeout_s:g} s",
                )
                return
            stored.write_due()

    def _close(
        self,
        slot: _Slot,
        job: _Job,
        status: JobStatus,
        *,
        summary: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        with self._lock:
            self._finish(job, status, summary=summary, error=error)
            self._end(slot, job)
        logger.info("job %s %s", job.id, status.value)

    def _end(self, slot: _Slot, job: _Job) -> None:
        """The slot is free again (under the lock)."""
        slot.job, slot.cancelled_by = None, None
        job.done.set()

    def _finish(
        self,
        job: _Job,
        status: JobStatus,
        *,
        summary: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> JobInfo:
        """Record the job's end (under the lock); a job that did not succeed leaves no
        files."""
        if status is not JobStatus.SUCCEEDED:
            shutil.rmtree(self.results_dir / job.id, ignore_errors=True)
        info = self.jobs.finish(job.id, status, summary=summary, error=error)
        job.done.set()
        return info

    def _kill(self, slot: _Slot) -> None:
        """Terminate the slot's worker, if any, and release its pipe."""
        process, conn = slot.process, slot.conn
        slot.process, slot.conn = None, None
        if conn is not None:
            conn.close()
        if process is None:
            return
        if process.is_alive():
            process.terminate()
            process.join(STOP_WAIT_S)
        if process.is_alive():
            process.kill()
        process.join()
        process.close()

    def _shut(self, slot: _Slot) -> None:
        """Ask the slot's worker to exit; terminate it if it does not."""
        process, conn = slot.process, slot.conn
        if process is not None and conn is not None and process.is_alive():
            with contextlib.suppress(OSError):
                conn.send(None)
            process.join(STOP_WAIT_S)
        self._kill(slot)


class _StoredProgress:
    """A running job's progress, written to the store at most every ``interval_s``."""

    def __init__(self, jobs: JobStore, job_id: str, interval_s: float) -> None:
        self.jobs, self.job_id, self.interval_s = jobs, job_id, interval_s
        self.written = -math.inf
        self.pending: tuple[float, str] | None = None

    @property
    def due(self) -> float:
        """When the pending report is to be written (monotonic clock); inf if none."""
        return math.inf if self.pending is None else self.written + self.interval_s

    def offer(self, fraction: float, message: str) -> None:
        self.pending = (min(1.0, max(0.0, float(fraction))), str(message))
        self.write_due()

    def write_due(self) -> None:
        if self.pending is None or time.monotonic() < self.due:
            return
        fraction, message = self.pending
        self.pending, self.written = None, time.monotonic()
        try:
            self.jobs.set_progress(self.job_id, fraction, message)
        except Exception:  # progress is for show: a failed write must not end the job
            logger.exception("job %s: could not store its progress", self.job_id)


def _signal_name(code: int | None) -> str:
    if code is None or code >= 0:
        return ""
    try:
        return f", {signal.Signals(-code).name}"
    except ValueError:
        return ""


# -- the worker process ---------------------------------------------------------------


class _Reporter:
    """The ``progress`` a task is given: sends a report at most every
    :data:`PROGRESS_SEND_S`, and the first at fraction 1 whenever it comes."""

    def __init__(self, conn: Connection, job_id: str) -> None:
        self.conn, self.job_id = conn, job_id
        self.lock = threading.Lock()  # a task's threads may report at once
        self.sent = -math.inf
        self.complete = False

    def __call__(self, fraction: float, message: str = "") -> None:
        now = time.monotonic()
        with self.lock:
            first_complete = fraction >= 1.0 and not self.complete
            if now - self.sent < PROGRESS_SEND_S and not first_complete:
                return
            self.sent, self.complete = now, self.complete or fraction >= 1.0
            self.conn.send(("progress", self.job_id, float(fraction), str(message)))

    def send(self, message: tuple[Any, ...]) -> None:
        with self.lock:
            self.conn.send(message)


def _worker_main(conn: Connection, tasks: list[str]) -> None:
    """A worker process: import the tasks' modules, then run jobs as they come."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    for path in tasks:
        try:
            resolve_task(path)
        except Exception:  # said again, as the job's error, when a job asks for it
            logging.getLogger(__name__).exception("cannot load task %s", path)
    conn.send(("ready",))
    while True:
        try:
            order = conn.recv()
        except EOFError:  # the server is gone
            return
        if order is None:
            return
        _, job_id, path, request, out_dir = order
        reporter = _Reporter(conn, job_id)
        reporter.send(_run_task(job_id, path, request, Path(out_dir), reporter))


def _run_task(
    job_id: str, path: str, request: dict[str, Any], out_dir: Path, progress: Progress
) -> tuple[Any, ...]:
    """The ``done`` or ``failed`` message of one job."""
    try:
        summary = resolve_task(path)(request, out_dir, progress)
        if not isinstance(summary, dict):
            raise TypeError(f"task {path} returned a {type(summary).__name__}, not a dict")
        # a summary the store can hold: plain JSON, no NaN
        return ("done", job_id, json.loads(json.dumps(summary, allow_nan=False)))
    except BaseException as exc:  # every failure is the job's; the worker goes on
        return ("failed", job_id, f"{type(exc).__name__}: {exc}", traceback.format_exc())
