"""The app lifecycle against the real Mosquitto on 127.0.0.1:1883.

v1 of an echo app (each measurement answered by a command) is installed and answers;
the upgrade to v2, which raises in ``on_start``, is rolled back automatically with an
alarm event naming the app and both versions, and v1 answers again. Tampered and
unsigned bundles are refused and change nothing.
"""

from __future__ import annotations

import queue
import shutil
import time
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feederos.errors import BundleError, LifecycleError
from feederos.runtime.bundle import build_bundle, public_pem
from feederos.runtime.bus.base import BusMessage
from feederos.runtime.bus.mqtt import MqttBus
from feederos.runtime.lifecycle import AppManager, split_ref
from feederos.runtime.messages import Command, Event, Measurement, Severity, decode, encode
from feederos.runtime.signing import generate_keypair, load_private_key
from feederos.runtime.supervisor import Health
from feederos.runtime.topics import command_topic, event_topic, measurement_topic

BROKER_URL = "mqtt://127.0.0.1:1883"
APPS = Path(__file__).parents[1] / "data" / "runtime" / "apps"
HEARTBEAT_S = 0.5


class Probe:
    """A test client: sends measurements, collects commands and alarms."""

    def __init__(self, feeder_id: str) -> None:
        self.feeder_id = feeder_id
        self.bus = MqttBus(BROKER_URL, client_id=f"probe-{uuid.uuid4().hex}")
        self.commands: queue.Queue[Command] = queue.Queue()
        self.alarms: queue.Queue[Event] = queue.Queue()
        self.bus.subscribe(command_topic(feeder_id, "+"), self._command)
        self.bus.subscribe(event_topic(feeder_id, "alarm"), self._alarm)

    def _command(self, message: BusMessage) -> None:
        self.commands.put(decode(message.payload, Command))

    def _alarm(self, message: BusMessage) -> None:
        self.alarms.put(decode(message.payload, Event))

    def answered(self, value: float, *, timeout_s: float = 5.0) -> bool:
        """Publish a measurement; whether a command with ``value`` as setpoint comes back."""
        asset = f"pv-{uuid.uuid4().hex[:6]}"
        m = Measurement(ts=datetime.now(UTC), asset=asset, quantity="p_kw", value=value, unit="kW")
        self.bus.publish(measurement_topic(self.feeder_id, asset), encode(m))
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                command = self.commands.get(timeout=left)
            except queue.Empty:
                return False
            if command.asset == asset and command.setpoint == value and command.issuer == "echo":
                return True
        return False


def _with_version(src: Path, dest: Path, version: str) -> Path:
    shutil.copytree(src, dest)
    toml = dest / "app.toml"
    toml.write_text(
        "\n".join(
            f'version = "{version}"' if line.startswith("version") else line
            for line in toml.read_text().splitlines()
        )
        + "\n"
    )
    return dest


def _tamper(bundle: Path, member: str) -> None:
    """Change one byte of ``member`` inside the zip, keeping its SIGNATURE."""
    with zipfile.ZipFile(bundle) as z:
        entries = [(info, z.read(info)) for info in z.infolist()]
    with zipfile.ZipFile(bundle, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for info, data in entries:
            if info.filename == member:
                data = data.replace(b"gain", b"gaim", 1)
            z.writestr(info, data)


def _snapshot(manager: AppManager) -> tuple[object, ...]:
    return (
        manager.state.apps(),
        [(v.name, v.version) for v in manager.state.versions()],
        manager.state.history(),
        sorted(p.name for p in (manager.home / "apps" / "echo").iterdir()),
    )


@pytest.fixture
def feeder_id() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def setup(tmp_path: Path, feeder_id: str) -> Iterator[tuple[AppManager, Probe, Path]]:
    home = tmp_path / "home"
    private_pem, public = generate_keypair()
    (home / "trusted_keys").mkdir(parents=True)
    (home / "trusted_keys" / "dev.pem").write_bytes(public)
    key_file = tmp_path / "dev.key.pem"
    key_file.write_bytes(private_pem)
    runtime_bus = MqttBus(BROKER_URL, client_id=f"runtime-{uuid.uuid4().hex}")
    probe = Probe(feeder_id)
    manager = AppManager(
        home,
        bus=runtime_bus,
        feeder_id=feeder_id,
        broker_url=BROKER_URL,
        heartbeat_s=HEARTBEAT_S,
    )
    try:
        yield manager, probe, key_file
    finally:
        manager.close()
        probe.bus.close()
        runtime_bus.close()


def test_failed_upgrade_rolls_back_and_bad_bundles_are_refused(
    setup: tuple[AppManager, Probe, Path], tmp_path: Path
) -> None:
    manager, probe, key_file = setup
    key = load_private_key(key_file)
    assert public_pem(key) == (manager.home / "trusted_keys" / "dev.pem").read_bytes()
    v1 = build_bundle(APPS / "echo-1.0.0", tmp_path / "echo-1.0.0.fos", key=key)
    build_bundle(APPS / "echo-2.0.0-crash", manager.home / "store" / "echo-2.0.0.fos", key=key)

    manager.install(v1)
    manager.start_all()
    started = manager.supervisor.wait_healthy("echo", "1.0.0", timeout_s=10.0)
    assert started.health is Health.HEALTHY, started
    assert probe.answered(11.0)

    t0 = time.monotonic()
    result = manager.upgrade("echo")  # newest: 2.0.0 from the store
    rollback_s = time.monotonic() - t0
    print(
        f"v1 healthy after {started.elapsed_s:.2f} s; failed upgrade detected after "
        f"{result.health.elapsed_s:.2f} s, rolled back in {rollback_s:.2f} s"
    )
    assert (result.from_version, result.to_version, result.active) == ("1.0.0", "2.0.0", "1.0.0")
    assert not result.ok
    assert result.health.health in (Health.EXITED, Health.FAILED)
    assert rollback_s < 8.0  # within the manifest's grace period

    alarm = probe.alarms.get(timeout=3.0)
    assert alarm.severity is Severity.ALARM and alarm.source == "runtime"
    assert "echo" in alarm.text and "1.0.0" in alarm.text and "2.0.0" in alarm.text
    assert probe.answered(12.0)

    app = manager.state.app("echo")
    assert app is not None and app.active == "1.0.0"
    last = manager.history("echo")[-1]
    assert (last.action, last.from_version, last.to_version, last.outcome) == (
        "upgrade",
        "1.0.0",
        "2.0.0",
        "rolled_back",
    )
    registry = manager.metrics.registry
    assert registry.get_sample_value("fos_rollbacks_total", {"app": "echo"}) == 1.0
    assert "calibration table" in manager.logs("echo", "2.0.0")

    # One byte changed in a source file after signing: refused, nothing changes.
    src = _with_version(APPS / "echo-1.0.0", tmp_path / "echo-1.1.0", "1.1.0")
    tampered = build_bundle(src, tmp_path / "echo-1.1.0.fos", key=key)
    _tamper(tampered, "echo.py")
    before = _snapshot(manager)
    with pytest.raises(BundleError, match=r"echo\.py was changed after signing"):
        manager.install(tampered)
    assert _snapshot(manager) == before

    # Unsigned: refused unless allowed.
    unsigned = build_bundle(src, tmp_path / "echo-1.1.0-unsigned.fos", key=None)
    with pytest.raises(BundleError, match="unsigned bundle"):
        manager.install(unsigned)
    assert _snapshot(manager) == before
    record = manager.install(unsigned, allow_unsigned=True)
    assert record.version == "1.1.0" and record.signed_by is None
    app = manager.state.app("echo")
    assert app is not None and app.active == "1.0.0"  # a new version waits for upgrade

    # A healthy upgrade replaces v1; a restarted manager resumes it.
    result = manager.upgrade("echo", to="1.1.0")
    assert result.ok and result.health.health is Health.HEALTHY
    assert manager.supervisor.entry("echo", "1.0.0") is None
    assert probe.answered(13.0)
    print(f"healthy upgrade took {result.health.elapsed_s:.2f} s")


def test_manager_resumes_enabled_apps_after_restart(
    setup: tuple[AppManager, Probe, Path], tmp_path: Path
) -> None:
    manager, probe, key_file = setup
    key = load_private_key(key_file)
    manager.install(build_bundle(APPS / "echo-1.0.0", tmp_path / "e.fos", key=key))
    with pytest.raises(LifecycleError, match="active version of an enabled app"):
        manager.remove("echo", "1.0.0")
    manager.close()
    resumed = AppManager(
        manager.home,
        bus=manager.bus,
        feeder_id=manager.feeder_id,
        broker_url=BROKER_URL,
        heartbeat_s=HEARTBEAT_S,
    )
    try:
        assert resumed.start_all() == ["echo"]
        health = resumed.supervisor.wait_healthy("echo", "1.0.0", timeout_s=10.0)
        assert health.health is Health.HEALTHY
        assert probe.answered(3.0)
        resumed.disable("echo")
        assert resumed.supervisor.entry("echo", "1.0.0") is None
        resumed.remove("echo")
        assert resumed.list_apps() == []
        assert not (resumed.home / "apps" / "echo" / "1.0.0").exists()
    finally:
        resumed.close()


def test_silent_version_is_rolled_back_after_its_grace_period(
    setup: tuple[AppManager, Probe, Path], tmp_path: Path
) -> None:
    manager, probe, key_file = setup
    key = load_private_key(key_file)
    manager.install(build_bundle(APPS / "echo-1.0.0", tmp_path / "v1.fos", key=key))
    silent = _with_version(APPS / "echo-1.0.0", tmp_path / "silent", "1.5.0")
    toml = silent / "app.toml"
    toml.write_text(toml.read_text().replace("grace_s = 8.0", "grace_s = 1.5"))
    (silent / "echo.py").write_text(
        "import time\nfrom feederos.runtime.app import App\n\n\n"
        "class Echo(App):\n    def on_start(self) -> None:\n        time.sleep(60)\n"
    )
    manager.install(build_bundle(silent, tmp_path / "v15.fos", key=key))
    manager.start_all()
    assert manager.supervisor.wait_healthy("echo", "1.0.0", timeout_s=10.0).health.value == (
        "healthy"
    )
    t0 = time.monotonic()
    result = manager.upgrade("echo", to="1.5.0")
    total_s = time.monotonic() - t0
    print(
        f"silent version: timed out after {result.health.elapsed_s:.2f} s, "
        f"stopped and rolled back in {total_s:.2f} s"
    )
    assert result.health.health is Health.TIMEOUT and result.active == "1.0.0"
    assert 1.5 <= result.health.elapsed_s < 2.5 and total_s < 4.0  # SIGTERM ends a hung start
    assert "1.5.0" in probe.alarms.get(timeout=3.0).text
    assert probe.answered(5.0)


def test_split_ref() -> None:
    assert split_ref("echo@2.0.0-rc.1") == ("echo", "2.0.0-rc.1")
    with pytest.raises(ValueError, match="semantic versioning"):
        split_ref("echo@2")
