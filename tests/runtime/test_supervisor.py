"""The supervisor: backoff schedule, log rotation, restarts of a crashing app process."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from feederos.runtime.manifest import RestartPolicy
from feederos.runtime.metrics import RuntimeMetrics
from feederos.runtime.supervisor import Backoff, RotatingLog, Supervised, Supervisor, log_path

APPS = Path(__file__).parents[1] / "data" / "runtime" / "apps"


def test_backoff_doubles_to_the_cap() -> None:
    backoff = Backoff()
    assert [backoff.delay_s(n) for n in range(0, 10)] == [
        0.0,
        0.5,
        1.0,
        2.0,
        4.0,
        8.0,
        16.0,
        30.0,
        30.0,
        30.0,
    ]
    fast = Backoff(initial_s=0.1, factor=3.0, max_s=1.0)
    assert [fast.delay_s(n) for n in (1, 2, 3, 4)] == pytest.approx([0.1, 0.3, 0.9, 1.0])


class _Exited:
    """A stand-in for a Popen that ended with code 1."""

    pid = 4242
    returncode = 1
    stdout = None

    def poll(self) -> int:
        return 1


def test_failures_reset_after_a_healthy_period(tmp_path: Path) -> None:
    backoff = Backoff(initial_s=0.5, reset_after_s=30.0)
    supervisor = Supervisor(tmp_path, broker_url="mqtt://x", feeder_id="f1", backoff=backoff)
    try:
        entry = Supervised("echo", "1.0.0", RestartPolicy.ON_FAILURE, failures=5)
        entry.process = _Exited()  # type: ignore[assignment]
        entry.started_s = 100.0
        supervisor._step(entry, 110.0)  # crashed 10 s after start: sixth failure in a row
        assert entry.failures == 6 and entry.restart_at_s == 110.0 + backoff.delay_s(6)
        entry.restart_at_s, entry.started_s, entry.exit_seen = None, 200.0, False
        supervisor._step(entry, 260.0)  # ran 60 s: the count starts over
        assert entry.failures == 1 and entry.restart_at_s == 260.5
        entry.restart, entry.restart_at_s, entry.exit_seen = RestartPolicy.NEVER, None, False
        supervisor._step(entry, 300.0)
        supervisor._step(entry, 300.1)  # an exit is handled once
        assert entry.restart_at_s is None and entry.failures == 1
    finally:
        supervisor.close()


def test_rotating_log(tmp_path: Path) -> None:
    log = RotatingLog(tmp_path / "a.log", max_bytes=100, backups=2)
    for i in range(10):
        log.write(f"{i:02d}".encode() * 20 + b"\n")  # 41 bytes a line
    log.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["a.log", "a.log.1", "a.log.2"]
    assert all(p.stat().st_size <= 100 for p in tmp_path.iterdir())
    assert (tmp_path / "a.log").read_bytes().startswith(b"08")


def _install_crashing(home: Path) -> None:
    # Workers read the installed version from the state; the lifecycle is not needed.
    from feederos.runtime.manifest import read_manifest
    from feederos.runtime.state import RuntimeState

    manifest = read_manifest(APPS / "echo-2.0.0-crash")
    with RuntimeState.open(home / "state.db") as state:
        state.add_version(
            "echo",
            "2.0.0",
            path=APPS / "echo-2.0.0-crash",
            manifest=manifest.model_dump(mode="json"),
        )
        state.set_active("echo", "2.0.0", enabled=True)


def test_crashing_app_is_restarted_with_backoff(tmp_path: Path) -> None:
    _install_crashing(tmp_path)
    metrics = RuntimeMetrics()
    supervisor = Supervisor(
        tmp_path,
        broker_url="mqtt://127.0.0.1:1883",
        feeder_id=f"t-{uuid.uuid4().hex[:10]}",
        metrics=metrics,
        backoff=Backoff(initial_s=0.2, max_s=0.4),
    )
    try:
        entry = supervisor.start("echo", "2.0.0", restart=RestartPolicy.ON_FAILURE)
        deadline = time.monotonic() + 15.0
        while entry.restarts < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert entry.restarts >= 2
        assert entry.last_exit == 3  # on_start raised
        restarts = metrics.registry.get_sample_value("fos_app_restarts_total", {"app": "echo"})
        assert restarts == entry.restarts
        assert not supervisor.healthy("echo", "2.0.0")
    finally:
        supervisor.close()
    log = log_path(tmp_path, "echo", "2.0.0").read_text()
    assert log.count("calibration table") >= 2


def test_never_policy_leaves_it_down(tmp_path: Path) -> None:
    _install_crashing(tmp_path)
    supervisor = Supervisor(
        tmp_path,
        broker_url="mqtt://127.0.0.1:1883",
        feeder_id=f"t-{uuid.uuid4().hex[:10]}",
        backoff=Backoff(initial_s=0.05),
    )
    try:
        supervisor.start("echo", "2.0.0", restart=RestartPolicy.NEVER)
        outcome = supervisor.wait_healthy("echo", "2.0.0", timeout_s=10.0)
        assert outcome.health.value in ("exited", "failed")
        time.sleep(0.3)
        entry = supervisor.entry("echo", "2.0.0")
        assert entry is not None and entry.restarts == 0 and entry.pid is None
    finally:
        supervisor.close()
