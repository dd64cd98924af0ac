"""The config history: every applied bundle as a numbered version in SQLite, and its delivery.

:class:`ConfigStore` keeps ``<home>/config.db``. Applying a bundle checks it first
(:func:`~feederos.runtime.config_bundle.check_bundle`) and, if it passes, appends a
version (1, 2, 3, …) holding the whole bundle, when, from where and by whom, so a
rollback needs no refetch. A bundle whose digest equals the current one adds nothing.

History is append-only: :meth:`ConfigStore.rollback` re-applies the version that was
current before the current one as a *new* version marked ``restores=<n>``, so the
history says what ran when, and rolling back again walks further back (undo, not
toggle). The current version is always the newest entry.

:func:`publish_app_configs` hands a version to the running apps: one retained
:class:`~feederos.runtime.messages.AppConfig` per app on ``apps/<app>/config``, which
:class:`~feederos.runtime.host.AppHost` turns into ``on_config``.

Examples
--------
>>> import tempfile
>>> from feederos.runtime.config_bundle import ConfigBundle
>>> store = ConfigStore(tempfile.mkdtemp())
>>> schemas = {"echo": {"type": "object"}}
>>> def bundle(gain):
...     return ConfigBundle(feeder_id="f1", topology={"name": "n"},
...                         app_configs={"echo": {"gain": gain}})
>>> store.apply(bundle(1), schemas, applied_by="ana", check_topology=False).version
1
>>> store.apply(bundle(1), schemas, applied_by="ana", check_topology=False).created
False
>>> store.apply(bundle(2), schemas, applied_by="ana", check_topology=False).version
2
>>> back = store.rollback(applied_by="ana")
>>> (back.version, back.restores, back.bundle.app_configs["echo"])
(3, 1, {'gain': 1})
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from feederos.errors import ConfigBundleError, RuntimeStateError
from feederos.runtime.bus.base import Bus
from feederos.runtime.clock import Clock, WallClock
from feederos.runtime.config_bundle import (
    ConfigBundle,
    InvalidBundleError,
    SchemaProvider,
    bundle_problems,
)
from feederos.runtime.messages import AppConfig, encode
from feederos.runtime.topics import app_config_topic

__all__ = [
    "CONFIG_DB",
    "ApplyResult",
    "ConfigStore",
    "ConfigVersion",
    "publish_app_configs",
]

CONFIG_DB = "config.db"
"""File name of the config history under the runtime's home folder."""

_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS config_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS config_versions (
    version     INTEGER PRIMARY KEY,
    ts          TEXT NOT NULL,
    source      TEXT NOT NULL,
    digest      TEXT NOT NULL,
    applied_by  TEXT NOT NULL,
    feeder_id   TEXT NOT NULL,
    restores    INTEGER REFERENCES config_versions(version),
    parent      INTEGER REFERENCES config_versions(version),
    bundle      TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class ConfigVersion:
    """One entry of the config history."""

    version: int
    ts: datetime
    source: str
    digest: str
    applied_by: str
    restores: int | None
    """The version a rollback entry re-applied; ``None`` for a plain apply."""
    parent: int | None
    """The version a rollback from this one returns to (``None``: nothing before it)."""
    bundle: ConfigBundle


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What :meth:`ConfigStore.apply` did: the current version and whether it is new."""

    record: ConfigVersion
    created: bool
    """``False`` if the bundle's digest equalled the current one and nothing was added."""

    @property
    def version(self) -> int:
        return self.record.version


class ConfigStore:
    """The config history of one runtime home, in ``<home>/config.db``.

    Parameters
    ----------
    home
        The runtime's home folder (created if missing).
    clock
        Where entry times come from (the wall clock unless given).
    """

    def __init__(self, home: str | Path, *, clock: Clock | None = None) -> None:
        self.home = Path(home)
        self.path = self.home / CONFIG_DB
        self._clock: Clock = clock if clock is not None else WallClock()
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RuntimeStateError(f"{self.home}: cannot create the runtime home: {exc}") from None
        with self._connect() as db:
            db.executescript(_SCHEMA)
            row = db.execute("SELECT value FROM config_meta WHERE key = 'schema'").fetchone()
            if row is None:
                db.execute("INSERT INTO config_meta VALUES ('schema', ?)", (str(_SCHEMA_VERSION),))
            elif row[0] != str(_SCHEMA_VERSION):
                raise RuntimeStateError(
                    f"{self.path}: config history schema {row[0]} is not {_SCHEMA_VERSION}; "
                    "this runtime cannot read it"
                )

    # -- reading ----------------------------------------------------------------
    def current(self) -> ConfigVersion | None:
        """The version in force (the newest entry), or ``None`` before the first apply."""
        with self._connect() as db:
            row = db.execute(f"{_SELECT} ORDER BY version DESC LIMIT 1").fetchone()
        return None if row is None else self._record(row)

    def get(self, version: int) -> ConfigVersion:
        """Version ``version``; raise :class:`ConfigBundleError` if there is none."""
        with self._connect() as db:
            row = db.execute(f"{_SELECT} WHERE version = ?", (version,)).fetchone()
        if row is None:
            raise ConfigBundleError(
                f"{self.path}: no config version {version}; `fos config history` lists them"
            )
        return self._record(row)

    def history(self) -> list[ConfigVersion]:
        """Every version, oldest first."""
        with self._connect() as db:
            rows = db.execute(f"{_SELECT} ORDER BY version").fetchall()
        return [self._record(row) for row in rows]

    # -- changing ---------------------------------------------------------------
    def apply(
        self,
        bundle: ConfigBundle,
        schemas: SchemaProvider,
        *,
        applied_by: str,
        feeder_id: str | None = None,
        check_topology: bool = True,
    ) -> ApplyResult:
        """Check ``bundle`` against the installed apps' schemas and make it current.

        Parameters
        ----------
        bundle
            The bundle to apply; its ``source`` is recorded.
        schemas
            Installed app name → config JSON Schema.
        applied_by
            Who applies it (a user or service name), recorded.
        feeder_id
            The feeder this runtime serves, if a bundle for another must be refused.
        check_topology
            Run the network checks on the topology (skip only for bundles already checked).

        Raises
        ------
        InvalidBundleError
            Listing every problem; the history (and the running config) are unchanged.
        """
        problems = bundle_problems(
            bundle, schemas, feeder_id=feeder_id, check_topology=check_topology
        )
        if problems:
            raise InvalidBundleError(problems, source=bundle.source)
        with self._transaction() as db:
            row = db.execute(f"{_SELECT} ORDER BY version DESC LIMIT 1").fetchone()
            current = None if row is None else self._record(row)
            if current is not None and current.digest == bundle.digest:
                return ApplyResult(current, created=False)
            parent = None if current is None else current.version
            record = self._insert(db, bundle, applied_by=applied_by, restores=None, parent=parent)
        return ApplyResult(record, created=True)

    def rollback(
        self,
        *,
        applied_by: str,
        schemas: SchemaProvider | None = None,
    ) -> ConfigVersion:
        """Re-apply the version that was current before the current one, as a new version.

        Parameters
        ----------
        applied_by
            Who rolls back, recorded.
        schemas
            If given, the restored bundle must still pass the installed apps' schemas
            (an app may have been upgraded since); refused with every problem if not.

        Raises
        ------
        ConfigBundleError
            Nothing to roll back to (no history, or the current version is the first).
        """
        with self._transaction() as db:
            row = db.execute(f"{_SELECT} ORDER BY version DESC LIMIT 1").fetchone()
            if row is None:
                raise ConfigBundleError(f"{self.path}: no config applied yet; nothing to roll back")
            current = self._record(row)
            if current.parent is None:
                what = (
                    f"version {current.version} is"
                    if current.restores is None
                    else f"version {current.version} restores version {current.restores},"
                )
                raise ConfigBundleError(
                    f"{self.path}: {what} the first applied; there is nothing before it to "
                    "roll back to"
                )
            target_row = db.execute(f"{_SELECT} WHERE version = ?", (current.parent,)).fetchone()
            target = self._record(target_row)
            if schemas is not None:
                problems = bundle_problems(target.bundle, schemas, check_topology=False)
                if problems:
                    raise InvalidBundleError(
                        problems, source=f"version {target.version} ({target.bundle.source})"
                    )
            return self._insert(
                db,
                target.bundle,
                applied_by=applied_by,
                restores=target.version,
                parent=target.parent,
            )

    # -- internals --------------------------------------------------------------
    def _insert(
        self,
        db: sqlite3.Connection,
        bundle: ConfigBundle,
        *,
        applied_by: str,
        restores: int | None,
        parent: int | None,
    ) -> ConfigVersion:
        ts = self._clock.now()
        cursor = db.execute(
            "INSERT INTO config_versions (ts, source, digest, applied_by, feeder_id, restores, "
            "parent, bundle) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                ts.isoformat(),
                bundle.source,
                bundle.digest,
                applied_by,
                bundle.feeder_id,
                restores,
                parent,
                bundle.model_dump_json(),
            ),
        )
        version = cursor.lastrowid
        assert version is not None  # an INSERT into a rowid table always sets it
        return ConfigVersion(
            version, ts, bundle.source, bundle.digest, applied_by, restores, parent, bundle
        )

    def _record(self, row: tuple[object, ...]) -> ConfigVersion:
        version, ts, source, digest, applied_by, restores, parent, text = row
        try:
            bundle = ConfigBundle.model_validate_json(str(text))
        except ValidationError as exc:
            raise RuntimeStateError(
                f"{self.path}: config version {version}: stored bundle is damaged: "
                f"{exc.errors()[0]['msg']}"
            ) from None
        if bundle.digest != digest:
            raise RuntimeStateError(
                f"{self.path}: config version {version}: stored bundle digest "
                f"{bundle.digest} differs from its history entry's {digest}"
            )
        return ConfigVersion(
            int(str(version)),
            datetime.fromisoformat(str(ts)),
            str(source),
            str(digest),
            str(applied_by),
            None if restores is None else int(str(restores)),
            None if parent is None else int(str(parent)),
            bundle,
        )

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
        except sqlite3.Error as exc:
            raise RuntimeStateError(f"{self.path}: cannot open the config history: {exc}") from None
        try:
            yield db
        except sqlite3.DatabaseError as exc:
            raise RuntimeStateError(
                f"{self.path}: the config history is unreadable ({exc}); restore it from a "
                "backup or move it aside to start a new history"
            ) from None
        finally:
            db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock up front, so two appliers never read the same
        # current version and both append after it.
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")


_SELECT = (
    "SELECT version, ts, source, digest, applied_by, restores, parent, bundle FROM config_versions"
)


def publish_app_configs(
    bus: Bus,
    feeder_id: str,
    bundle: ConfigBundle,
    version: int,
    *,
    clock: Clock,
    installed: Iterable[str] = (),
) -> list[str]:
    """Publish each app's config of ``bundle`` (as config version ``version``), retained.

    One :class:`~feederos.runtime.messages.AppConfig` per app on
    ``feeder/<feeder_id>/apps/<app>/config``, QoS 1, retained so an app that starts
    later gets it too. Apps named in ``installed`` that the bundle has no config for get
    ``{}`` (their schema accepted it when the bundle was checked), so a rollback to a
    bundle without an app's file does not leave the newer config in force.

    Returns
    -------
    list[str]
        The topics published on, in app name order.

    Raises
    ------
    ConfigBundleError
        The bundle is for another feeder.
    """
    if bundle.feeder_id != feeder_id:
        raise ConfigBundleError(
            f"config bundle {bundle.source or bundle.digest} is for feeder "
            f"{bundle.feeder_id!r}, not {feeder_id!r}; not published"
        )
    topics: list[str] = []
    for app in sorted(set(bundle.app_configs) | set(installed)):
        message = AppConfig(
            ts=clock.now(), app=app, bundle_version=version, config=bundle.app_configs.get(app, {})
        )
        topic = app_config_topic(feeder_id, app)
        bus.publish(topic, encode(message), qos=1, retain=True)
        topics.append(topic)
    return topics
