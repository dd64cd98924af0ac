"""The supervisor: runs each app version as a child process, restarts it, judges its health.

Each app version runs as ``python -m feederos.runtime.worker --home H --app NAME
--version V --broker URL --feeder F``. The supervisor restarts a process that ended as
its restart policy says, after an exponential backoff (0.5 s doubling to 30 s, back to
0.5 s once a run stayed up for a healthy period), counting restarts in
``RuntimeMetrics.app_restarts``. A process is healthy when a ``running`` heartbeat from
its pid was seen within three heartbeat periods; the lifecycle feeds heartbeats in with
:meth:`Supervisor.note_status`. A process's stdout and stderr go to
``<home>/logs/<app>/<version>.log``, rotated by size.

Examples
--------
>>> backoff = Backoff()
>>> [backoff.delay_s(n) for n in range(1, 9)]
[0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO

from feederos.errors import LifecycleError
from feederos.runtime.host import DEFAULT_HEARTBEAT_S
from feederos.runtime.manifest import RestartPolicy
from feederos.runtime.messages import AppState, AppStatus
from feederos.runtime.metrics import RuntimeMetrics

__all__ = [
    "HEALTH_PERIODS",
    "Backoff",
    "Health",
    "HealthOutcome",
    "RotatingLog",
    "Supervised",
    "Supervisor",
    "log_path",
]

HEALTH_PERIODS = 3
"""A process is healthy if its last ``running`` heartbeat is at most this many periods old."""

_POLL_S = 0.05
_STOP_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential restart backoff: ``initial_s * factor**(n-1)``, capped at ``max_s``.

    ``n`` counts failures in a row; it resets once a run lasted ``reset_after_s`` [s].
    """

    initial_s: float = 0.5
    factor: float = 2.0
    max_s: float = 30.0
    reset_after_s: float = 30.0

    def delay_s(self, failures: int) -> float:
        """Wait before the restart that follows the ``failures``-th failure in a row [s]."""
        if failures < 1:
            return 0.0
        return float(min(self.initial_s * self.factor ** (failures - 1), self.max_s))


class Health(StrEnum):
    """How a wait for a process's health ended."""

    HEALTHY = "healthy"
    EXITED = "exited"
    FAILED = "failed"
    TIMEOUT = "timeout"


@dataclass(frozen=True, slots=True)
class HealthOutcome:
    """The result of :meth:`Supervisor.wait_healthy`, with the time it took [s]."""

    health: Health
    elapsed_s: float
    detail: str


def log_path(home: Path, app: str, version: str) -> Path:
    """Where an app version's output goes."""
    return Path(home) / "logs" / app / f"{version}.log"


class RotatingLog:
    """An append-only file rotated to ``.1`` … ``.<backups>`` when it passes ``max_bytes``."""

    def __init__(self, path: Path, *, max_bytes: int = 1024 * 1024, backups: int = 3) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backups = backups
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] = self.path.open("ab")
        self._lock = threading.Lock()

    def write(self, data: bytes) -> None:
        """Append ``data``; rotate first if it would pass the size limit."""
        with self._lock:
            if self._file.tell() and self._file.tell() + len(data) > self.max_bytes:
                self._rotate()
            self._file.write(data)
            self._file.flush()

    def _rotate(self) -> None:
        self._file.close()
        for i in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{i}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{i + 1}"))
        self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        self._file = self.path.open("ab")

    def close(self) -> None:
        with self._lock:
            self._file.close()


@dataclass(eq=False)
class Supervised:
    """One supervised app version: its current process, policy and restart count."""

    app: str
    version: str
    restart: RestartPolicy
    process: subprocess.Popen[bytes] | None = None
    started_s: float = 0.0
    failures: int = 0
    restarts: int = 0
    restart_at_s: float | None = None
    last_exit: int | None = None
    stopping: bool = False
    exit_seen: bool = False
    reader: threading.Thread | None = None
    log: RotatingLog | None = None
    heartbeats: dict[int, tuple[float, AppState]] = field(default_factory=dict)

    @property
    def pid(self) -> int | None:
        """Pid of the live process, if any."""
        p = self.process
        return p.pid if p is not None and p.returncode is None else None


class Supervisor:
    """Starts, watches, restarts and stops app processes.

    Parameters
    ----------
    home
        The runtime home (apps, state, logs).
    broker_url, feeder_id
        Passed to each worker.
    heartbeat_s
        Workers' heartbeat period [s]; health is judged on it.
    metrics
        Where restarts are counted.
    backoff
        Restart backoff.
    python
        The interpreter to run workers with.
    """

    def __init__(
        self,
        home: Path,
        *,
        broker_url: str,
        feeder_id: str,
        heartbeat_s: float = DEFAULT_HEARTBEAT_S,
        metrics: RuntimeMetrics | None = None,
        backoff: Backoff = Backoff(),
        python: str = sys.executable,
        on_restart: Callable[[Supervised], None] | None = None,
    ) -> None:
        self.home = Path(home)
        self.broker_url = broker_url
        self.feeder_id = feeder_id
        self.heartbeat_s = heartbeat_s
        self.metrics = metrics if metrics is not None else RuntimeMetrics()
        self.backoff = backoff
        self.python = python
        self._on_restart = on_restart
        self._lock = threading.RLock()
        self._procs: dict[tuple[str, str], Supervised] = {}
        self._closed = threading.Event()
        self._monitor = threading.Thread(target=self._watch, name="fos-supervisor", daemon=True)
        self._monitor.start()

    # -- public -------------------------------------------------------------------
    def start(self, app: str, version: str, *, restart: RestartPolicy) -> Supervised:
        """Start ``app`` ``version`` (once; starting a running one returns it)."""
        with self._lock:
            entry = self._procs.get((app, version))
            if entry is not None and entry.pid is not None:
                return entry
            entry = Supervised(app, version, restart)
            self._procs[(app, version)] = entry
            self._spawn(entry)
            return entry

    def stop(self, app: str, version: str, *, timeout_s: float = _STOP_TIMEOUT_S) -> int | None:
        """Stop a version (SIGTERM, SIGKILL after ``timeout_s``); return its exit code."""
        with self._lock:
            entry = self._procs.pop((app, version), None)
        if entry is None:
            return None
        entry.stopping = True
        code = self._terminate(entry, timeout_s)
        return code

    def entry(self, app: str, version: str) -> Supervised | None:
        """The supervised version, if started."""
        with self._lock:
            return self._procs.get((app, version))

    def running(self) -> list[Supervised]:
        """Every supervised version, by app and version."""
        with self._lock:
            return sorted(self._procs.values(), key=lambda e: (e.app, e.version))

    def note_status(self, status: AppStatus) -> None:
        """Record a heartbeat seen on the bus (called from the bus's thread)."""
        if status.pid is None:
            return
        with self._lock:
            entry = self._procs.get((status.app, status.version))
            if entry is not None:
                entry.heartbeats[status.pid] = (time.monotonic(), status.state)

    def healthy(self, app: str, version: str) -> bool:
        """Whether the version's live process sent a ``running`` heartbeat lately."""
        with self._lock:
            entry = self._procs.get((app, version))
            if entry is None or entry.pid is None:
                return False
            seen = entry.heartbeats.get(entry.pid)
        if seen is None:
            return False
        seen_s, state = seen
        return state is AppState.RUNNING and (
            time.monotonic() - seen_s <= HEALTH_PERIODS * self.heartbeat_s
        )

    def wait_healthy(self, app: str, version: str, *, timeout_s: float) -> HealthOutcome:
        """Wait until the version is healthy, its process ended or failed, or time is up."""
        start_s = time.monotonic()
        while True:
            elapsed_s = time.monotonic() - start_s
            if self.healthy(app, version):
                return HealthOutcome(Health.HEALTHY, elapsed_s, "running heartbeat seen")
            entry = self.entry(app, version)
            if entry is None:
                return HealthOutcome(Health.EXITED, elapsed_s, "process was stopped")
            process = entry.process
            if process is not None and process.poll() is not None:
                return HealthOutcome(
                    Health.EXITED, elapsed_s, f"process exited with code {process.returncode}"
                )
            pid = entry.pid
            seen = entry.heartbeats.get(pid) if pid is not None else None
            if seen is not None and seen[1] is AppState.FAILED:
                return HealthOutcome(Health.FAILED, elapsed_s, "app reported state failed")
            if elapsed_s >= timeout_s:
                return HealthOutcome(
                    Health.TIMEOUT, elapsed_s, f"no running heartbeat within {timeout_s:g} s"
                )
            time.sleep(_POLL_S)

    def close(self) -> None:
        """Stop every process and the monitor thread."""
        self._closed.set()
        self._monitor.join()
        for entry in self.running():
            self.stop(entry.app, entry.version)

    # -- internals ----------------------------------------------------------------
    def _argv(self, entry: Supervised) -> list[str]:
        return [
            self.python,
            "-m",
            "feederos.runtime.worker",
            "--home",
            str(self.home),
            "--app",
            entry.app,
            "--version",
            entry.version,
            "--broker",
            self.broker_url,
            "--feeder",
            self.feeder_id,
            "--heartbeat-s",
            repr(self.heartbeat_s),
        ]

    def _spawn(self, entry: Supervised) -> None:
        if entry.log is None:
            entry.log = RotatingLog(log_path(self.home, entry.app, entry.version))
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        try:
            process = subprocess.Popen(
                self._argv(entry),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            raise LifecycleError(
                f"cannot start {entry.app} {entry.version} with {self.python}: {exc}"
            ) from None
        entry.process = process
        entry.exit_seen = False
        entry.started_s = time.monotonic()
        entry.restart_at_s = None
        log = entry.log
        stdout = process.stdout
        assert stdout is not None
        entry.reader = threading.Thread(
            target=_copy_output, args=(stdout, log), name=f"fos-log-{entry.app}", daemon=True
        )
        entry.reader.start()

    def _terminate(self, entry: Supervised, timeout_s: float) -> int | None:
        process = entry.process
        code: int | None = None
        if process is not None:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=timeout_s)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            code = process.returncode
            self._reap(entry)
        if entry.log is not None:
            entry.log.close()
        return code

    def _reap(self, entry: Supervised) -> None:
        if entry.reader is not None:
            entry.reader.join()
            entry.reader = None
        if entry.process is not None and entry.process.stdout is not None:
            entry.process.stdout.close()

    def _watch(self) -> None:
        while not self._closed.wait(_POLL_S):
            now_s = time.monotonic()
            for entry in self.running():
                with self._lock:
                    if entry.stopping or (entry.app, entry.version) not in self._procs:
                        continue
                    self._step(entry, now_s)

    def _step(self, entry: Supervised, now_s: float) -> None:
        process = entry.process
        if process is None:
            return
        if entry.restart_at_s is not None:
            if now_s >= entry.restart_at_s:
                entry.restarts += 1
                self.metrics.app_restarts.labels(app=entry.app).inc()
                self._spawn(entry)
                if self._on_restart is not None:
                    self._on_restart(entry)
            return
        code = process.poll()
        if code is None or entry.exit_seen:
            return
        entry.exit_seen = True
        self._reap(entry)
        entry.last_exit = code
        if now_s - entry.started_s >= self.backoff.reset_after_s:
            entry.failures = 0
        entry.failures += 1
        wanted = entry.restart is RestartPolicy.ALWAYS or (
            entry.restart is RestartPolicy.ON_FAILURE and code != 0
        )
        if wanted:
            entry.restart_at_s = now_s + self.backoff.delay_s(entry.failures)


def _copy_output(stream: IO[bytes], log: RotatingLog) -> None:
    for line in iter(stream.readline, b""):
        log.write(line)
