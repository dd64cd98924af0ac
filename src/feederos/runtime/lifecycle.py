"""App lifecycle: install, upgrade with automatic rollback, enable, disable, remove.

:class:`AppManager` keeps apps under ``<home>/apps/<name>/<version>/`` side by side, their
state in ``<home>/state.db`` and runs the active version of each enabled app through a
:class:`~feederos.runtime.supervisor.Supervisor`. It watches every app's heartbeat on
the bus (``feeder/<id>/apps/+/status``) to judge health.

An upgrade starts the new version beside the old one and waits (up to the new
manifest's ``[health] grace_s``) for a ``running`` heartbeat from it. Healthy: the old
version is stopped and the new one becomes active. Not healthy (it crashed on start,
reported ``failed`` or stayed silent): the new process is stopped, the old keeps
running, the history records the rollback, ``fos_rollbacks`` counts it and an alarm
:class:`~feederos.runtime.messages.Event` naming the app and both versions goes out on
``feeder/<id>/events/alarm``.

Home layout::

    <home>/state.db            installed versions, active versions, history
    <home>/apps/<name>/<ver>/  extracted, verified bundles
    <home>/trusted_keys/*.pem  public keys whose bundles install
    <home>/store/*.fos         the local app store ``install NAME[@VERSION]`` reads
    <home>/logs/<name>/<ver>.log

Examples
--------
>>> split_ref("echo@1.2.0"), split_ref("echo")
(('echo', '1.2.0'), ('echo', None))
"""

from __future__ import annotations

import shutil
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from feederos.errors import ConfigBundleError, LifecycleError, PayloadError
from feederos.runtime.acl import acl_text
from feederos.runtime.bundle import (
    BUNDLE_SUFFIX,
    OpenedBundle,
    extract_bundle,
    load_trusted_keys,
    open_bundle,
)
from feederos.runtime.bus.base import Bus, BusMessage, Subscription
from feederos.runtime.clock import Clock, WallClock
from feederos.runtime.host import DEFAULT_HEARTBEAT_S
from feederos.runtime.manifest import Manifest, RestartPolicy, Version
from feederos.runtime.messages import AppStatus, Event, Severity, decode, encode
from feederos.runtime.metrics import RuntimeMetrics
from feederos.runtime.state import STATE_FILE, AppRecord, HistoryEntry, RuntimeState, VersionRecord
from feederos.runtime.supervisor import (
    Backoff,
    Health,
    HealthOutcome,
    Supervisor,
    log_path,
)
from feederos.runtime.topics import app_status_topic, check_id, event_topic

__all__ = [
    "RUNTIME_SOURCE",
    "AppManager",
    "AppReport",
    "UpgradeResult",
    "split_ref",
]

RUNTIME_SOURCE = "runtime"
"""``source`` of the events the runtime itself raises."""


def split_ref(ref: str) -> tuple[str, str | None]:
    """Split ``NAME[@VERSION]`` into name and version (``None`` if not given)."""
    name, _, version = ref.partition("@")
    check_id(name, what="app name")
    if version:
        Version.parse(version)
    return name, version or None


@dataclass(frozen=True, slots=True)
class UpgradeResult:
    """How an upgrade (or a manual rollback) ended."""

    app: str
    from_version: str
    to_version: str
    active: str
    """The version active afterwards."""
    health: HealthOutcome

    @property
    def ok(self) -> bool:
        """Whether the new version took over."""
        return self.active == self.to_version


@dataclass(frozen=True, slots=True)
class AppReport:
    """What ``fos app status`` shows of one app."""

    record: AppRecord
    versions: list[VersionRecord]
    pid: int | None
    healthy: bool
    restarts: int


class AppManager:
    """Installs, runs, upgrades and rolls back apps; the runtime's side of the lifecycle.

    Parameters
    ----------
    home
        The runtime home (see the module docstring).
    bus
        The runtime's own bus connection: heartbeats are read and alarms published on
        it. ``None`` for offline work (install, list, remove); running apps needs one.
    feeder_id, broker_url
        The feeder served and the broker app processes connect to.
    metrics, clock
        Where restarts and rollbacks are counted; the clock of event timestamps.
    heartbeat_s
        App heartbeat period [s]; health is judged on three of them.
    store_dir
        The local app store (``<home>/store`` unless given).
    backoff
        Restart backoff of crashed app processes.
    """

    def __init__(
        self,
        home: Path,
        *,
        bus: Bus | None,
        feeder_id: str,
        broker_url: str,
        metrics: RuntimeMetrics | None = None,
        clock: Clock | None = None,
        heartbeat_s: float = DEFAULT_HEARTBEAT_S,
        store_dir: Path | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.home = Path(home)
        self.bus = bus
        self.feeder_id = check_id(feeder_id, what="feeder id")
        self.broker_url = broker_url
        self.metrics = metrics if metrics is not None else RuntimeMetrics()
        self.clock: Clock = clock if clock is not None else WallClock()
        self.heartbeat_s = heartbeat_s
        self.store_dir = Path(store_dir) if store_dir is not None else self.home / "store"
        self.state = RuntimeState.open(self.home / STATE_FILE)
        self._backoff = backoff if backoff is not None else Backoff()
        self._supervisor: Supervisor | None = None
        self._status_sub: Subscription | None = None
        self._lock = threading.RLock()

    # -- where things are -------------------------------------------------------------
    @property
    def apps_dir(self) -> Path:
        return self.home / "apps"

    @property
    def trusted_keys_dir(self) -> Path:
        return self.home / "trusted_keys"

    @property
    def supervisor(self) -> Supervisor:
        """The supervisor of app processes (started on first use; needs a bus)."""
        with self._lock:
            if self._supervisor is None:
                if self.bus is None:
                    raise LifecycleError(
                        "running apps needs a broker connection: give --broker "
                        "(or AppManager(bus=...))"
                    )
                self._supervisor = Supervisor(
                    self.home,
                    broker_url=self.broker_url,
                    feeder_id=self.feeder_id,
                    heartbeat_s=self.heartbeat_s,
                    metrics=self.metrics,
                    backoff=self._backoff,
                )
                self._status_sub = self.bus.subscribe(
                    app_status_topic(self.feeder_id, "+"), self._on_status, qos=1
                )
            return self._supervisor

    # -- install / remove ---------------------------------------------------------------
    def install(self, source: str | Path, *, allow_unsigned: bool = False) -> VersionRecord:
        """Install a bundle file, or ``NAME[@VERSION]`` from the local store.

        A new app becomes active and enabled (and starts if apps are running); a new
        version of a known app waits for :meth:`upgrade`. Nothing changes if the bundle
        is refused.
        """
        opened = open_bundle(
            self._bundle_path(source),
            trusted_keys=load_trusted_keys(self.trusted_keys_dir),
            allow_unsigned=allow_unsigned,
        )
        manifest = opened.manifest
        name, version = manifest.name, manifest.version
        if self.state.version(name, version) is not None:
            raise LifecycleError(f"{name} {version} is already installed")
        dest = self.apps_dir / name / version
        extract_bundle(opened, dest)
        is_new = self.state.app(name) is None
        try:
            with self.state.transaction() as tx:
                self.state.add_version(
                    name,
                    version,
                    path=dest,
                    manifest=manifest.model_dump(mode="json"),
                    signed_by=opened.signed_by,
                    db=tx,
                )
                if is_new:
                    self.state.set_active(name, version, enabled=True, db=tx)
                self.state.record(
                    name,
                    "install",
                    to_version=version,
                    outcome="ok",
                    detail=_signer(opened),
                    db=tx,
                )
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)
            raise
        if is_new and self._supervisor is not None:
            self._start(name, version)
        record = self.state.version(name, version)
        assert record is not None
        return record

    def _bundle_path(self, source: str | Path) -> Path:
        path = Path(source)
        if path.suffix == BUNDLE_SUFFIX or path.exists():
            return path
        name, version = split_ref(str(source))
        candidates: list[tuple[Version, Path]] = []
        for bundle in sorted(self.store_dir.glob(f"{name}-*{BUNDLE_SUFFIX}")):
            found = bundle.name.removeprefix(f"{name}-").removesuffix(BUNDLE_SUFFIX)
            try:
                candidates.append((Version.parse(found), bundle))
            except ValueError:
                continue
        if version is not None:
            candidates = [c for c in candidates if c[0] == Version.parse(version)]
        if not candidates:
            raise LifecycleError(
                f"no bundle {name}-{version or '<version>'}{BUNDLE_SUFFIX} in the app store "
                f"{self.store_dir}"
            )
        return max(candidates)[1]

    def remove(self, name: str, version: str | None = None, *, force: bool = False) -> None:
        """Remove one version, or every version (the app) if ``version`` is not given.

        The active version of an enabled app is kept unless ``force``.
        """
        app = self._app(name)
        versions = [v.version for v in self.state.versions(name)]
        doomed = versions if version is None else [version]
        if version is not None and version not in versions:
            raise LifecycleError(f"{name} {version} is not installed; installed: {versions}")
        if app.active in doomed and app.enabled and not force:
            raise LifecycleError(
                f"{name} {app.active} is the active version of an enabled app: disable it "
                "first, upgrade/rollback to another version, or pass --force"
            )
        for v in doomed:
            self._stop(name, v)
        left = [v for v in versions if v not in doomed]
        with self.state.transaction() as tx:
            for v in doomed:
                self.state.remove_version(name, v, db=tx)
            if not left:
                self.state.remove_app(name, db=tx)
            elif app.active in doomed:
                newest = max(left, key=Version.parse)
                successor = app.previous if app.previous in left else newest
                self.state.set_active(name, successor, previous=None, db=tx)
            elif app.previous in doomed:
                self.state.set_active(name, app.active, previous=None, db=tx)
            self.state.record(name, "remove", from_version=",".join(doomed), outcome="ok", db=tx)
        for v in doomed:
            shutil.rmtree(self.apps_dir / name / v, ignore_errors=True)
        if left and app.active in doomed and app.enabled and self._supervisor is not None:
            active = self._app(name).active
            self._start(name, active)

    # -- running ------------------------------------------------------------------------
    def start_all(self) -> list[str]:
        """Start the active version of every enabled app; return their names."""
        started = []
        for app in self.state.apps():
            if app.enabled:
                self._start(app.name, app.active)
                started.append(app.name)
        return started

    def stop_all(self) -> None:
        """Stop every app process."""
        if self._supervisor is not None:
            for entry in self._supervisor.running():
                self._supervisor.stop(entry.app, entry.version)

    def enable(self, name: str) -> None:
        """Enable an app (and start it if apps are running)."""
        app = self._app(name)
        self.state.set_enabled(name, True)
        self.state.record(name, "enable", to_version=app.active, outcome="ok")
        if self._supervisor is not None:
            self._start(name, app.active)

    def disable(self, name: str) -> None:
        """Disable an app and stop it."""
        app = self._app(name)
        self.state.set_enabled(name, False)
        self._stop(name, app.active)
        self.state.record(name, "disable", from_version=app.active, outcome="ok")

    def set_config(self, name: str, config: dict[str, Any]) -> None:
        """Store an app's config after checking it against the active version's schema."""
        app = self._app(name)
        problems = self.manifest(name, app.active).validate_config(config)
        if problems:
            raise ConfigBundleError(
                f"config of {name} {app.active}: " + "; ".join(str(p) for p in problems)
            )
        self.state.set_config(name, config)

    def upgrade(self, name: str, *, to: str | None = None) -> UpgradeResult:
        """Move ``name`` to version ``to`` (newest installed or in the store if not given).

        The new version must report healthy within its grace period, else it is
        stopped and the current version stays (an automatic rollback).
        """
        app = self._app(name)
        target = to if to is not None else self._newest(name)
        if self.state.version(name, target) is None:
            self.install(f"{name}@{target}")
        if target == app.active:
            raise LifecycleError(f"{name} is already at {target}")
        return self._switch(app, target, action="upgrade")

    def rollback(self, name: str) -> UpgradeResult:
        """Go back to the previous version (health-checked like an upgrade)."""
        app = self._app(name)
        if app.previous is None or self.state.version(name, app.previous) is None:
            raise LifecycleError(f"{name} has no previous version to roll back to")
        result = self._switch(app, app.previous, action="rollback")
        if result.ok:
            self.metrics.rollbacks.labels(app=name).inc()
        return result

    def _switch(self, app: AppRecord, target: str, *, action: str) -> UpgradeResult:
        name, current = app.name, app.active
        grace_s = self.manifest(name, target).health.grace_s
        supervisor = self.supervisor
        was_running = supervisor.entry(name, current) is not None
        # No restarts during the trial: a crash must end it, not be retried.
        supervisor.start(name, target, restart=RestartPolicy.NEVER)
        outcome = supervisor.wait_healthy(name, target, timeout_s=grace_s)
        if outcome.health is Health.HEALTHY:
            if was_running:
                supervisor.stop(name, current)
            entry = supervisor.entry(name, target)
            if entry is not None:
                entry.restart = self.manifest(name, target).health.restart
            with self.state.transaction() as tx:
                self.state.set_active(name, target, previous=current, db=tx)
                self.state.record(
                    name,
                    action,
                    from_version=current,
                    to_version=target,
                    outcome="ok",
                    detail=f"healthy after {outcome.elapsed_s:.2f} s",
                    db=tx,
                )
            if not app.enabled:
                supervisor.stop(name, target)
            return UpgradeResult(name, current, target, target, outcome)
        supervisor.stop(name, target)
        detail = f"{target} not healthy: {outcome.detail} after {outcome.elapsed_s:.2f} s"
        self.state.record(
            name,
            action,
            from_version=current,
            to_version=target,
            outcome="rolled_back",
            detail=detail,
        )
        self.metrics.rollbacks.labels(app=name).inc()
        if app.enabled and self._supervisor is not None and was_running:
            self._start(name, current)
        self._alarm(
            f"app {name}: {action} from {current} to {target} failed ({outcome.detail}); "
            f"rolled back to {current}",
            app=name,
            from_version=current,
            to_version=target,
            health=outcome.health.value,
            elapsed_s=round(outcome.elapsed_s, 3),
        )
        return UpgradeResult(name, current, target, current, outcome)

    # -- reading ------------------------------------------------------------------------
    def list_apps(self) -> list[AppRecord]:
        """Every installed app."""
        return self.state.apps()

    def status(self, name: str) -> AppReport:
        """An app's record, versions and live process."""
        app = self._app(name)
        entry = self._supervisor.entry(name, app.active) if self._supervisor else None
        return AppReport(
            record=app,
            versions=self.state.versions(name),
            pid=entry.pid if entry is not None else None,
            healthy=self._supervisor.healthy(name, app.active) if self._supervisor else False,
            restarts=entry.restarts if entry is not None else 0,
        )

    def acl(self) -> str:
        """The Mosquitto ACL of the active versions' grants (see :mod:`feederos.runtime.acl`)."""
        grants = {a.name: self.manifest(a.name, a.active).permissions for a in self.list_apps()}
        return acl_text(self.feeder_id, grants)

    def history(self, name: str | None = None) -> list[HistoryEntry]:
        """Lifecycle history, oldest first."""
        return self.state.history(name)

    def logs(self, name: str, version: str | None = None, *, lines: int = 100) -> str:
        """The last ``lines`` lines of an app version's log (the active version's)."""
        version = version or self._app(name).active
        path = log_path(self.home, name, version)
        if not path.is_file():
            return ""
        with path.open("r", encoding="utf-8", errors="replace") as f:
            return "".join(deque(f, maxlen=lines))

    def close(self) -> None:
        """Stop every app process, the supervisor and the state."""
        if self._status_sub is not None and self.bus is not None:
            self.bus.unsubscribe(self._status_sub)
            self._status_sub = None
        if self._supervisor is not None:
            self._supervisor.close()
            self._supervisor = None
        self.state.close()

    def __enter__(self) -> AppManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------
    def _app(self, name: str) -> AppRecord:
        app = self.state.app(name)
        if app is None:
            known = [a.name for a in self.state.apps()]
            raise LifecycleError(f"app {name!r} is not installed; installed apps: {known}")
        return app

    def manifest(self, name: str, version: str) -> Manifest:
        """The manifest of an installed version."""
        record = self.state.version(name, version)
        if record is None:
            raise LifecycleError(f"{name} {version} is not installed")
        return Manifest.model_validate(record.manifest)

    def _newest(self, name: str) -> str:
        versions = [Version.parse(v.version) for v in self.state.versions(name)]
        try:
            stored = self._bundle_path(name)
            versions.append(
                Version.parse(stored.name.removeprefix(f"{name}-").removesuffix(BUNDLE_SUFFIX))
            )
        except LifecycleError:
            pass  # no store copy: the installed versions are all there is
        return str(max(versions))

    def _start(self, name: str, version: str) -> None:
        restart = self.manifest(name, version).health.restart
        self.supervisor.start(name, version, restart=restart)

    def _stop(self, name: str, version: str) -> None:
        if self._supervisor is not None:
            self._supervisor.stop(name, version)

    def _on_status(self, message: BusMessage) -> None:
        try:
            status = decode(message.payload, AppStatus, topic=message.topic)
        except PayloadError:
            return  # a foreign or stale payload on a status topic says nothing of health
        if self._supervisor is not None:
            self._supervisor.note_status(status)

    def _alarm(self, text: str, **data: Any) -> None:
        if self.bus is None:
            return
        event = Event(
            ts=self.clock.now(),
            severity=Severity.ALARM,
            source=RUNTIME_SOURCE,
            text=text,
            data=data,
        )
        self.bus.publish(event_topic(self.feeder_id, Severity.ALARM), encode(event), qos=1)


def _signer(opened: OpenedBundle) -> str:
    return f"signed by {opened.signed_by}" if opened.signed_by else "unsigned (allowed)"
