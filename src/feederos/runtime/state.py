"""The runtime's persistent state: installed versions, active versions, history.

One SQLite file (``<home>/state.db``) in WAL mode, so app processes can read their
config while the runtime writes. Every change is one transaction: a crash mid-way leaves
the state as before or as after, never between. A schema version row guards against
opening a file written by another (newer) runtime.

Tables: ``versions`` (every installed app version), ``apps`` (active and previous version,
enabled flag, config), ``history`` (what was done, from which version to which, outcome).

Examples
--------
>>> import tempfile
>>> home = Path(tempfile.mkdtemp())
>>> with RuntimeState.open(home / "state.db") as state:
...     state.add_version("echo", "1.0.0", path=home / "apps/echo/1.0.0", manifest={})
...     state.set_active("echo", "1.0.0", enabled=True)
...     state.record("echo", "install", to_version="1.0.0", outcome="ok")
>>> with RuntimeState.open(home / "state.db") as state:
...     state.app("echo").active, [h.action for h in state.history("echo")]
('1.0.0', ['install'])
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from feederos.errors import RuntimeStateError

__all__ = [
    "SCHEMA_VERSION",
    "STATE_FILE",
    "AppRecord",
    "HistoryEntry",
    "RuntimeState",
    "VersionRecord",
]

STATE_FILE = "state.db"
"""The lifecycle state's file name in the runtime home."""

SCHEMA_VERSION = 1
"""Version of the tables below; a file of another version is refused."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS versions (
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    path TEXT NOT NULL,
    manifest TEXT NOT NULL,
    signed_by TEXT,
    installed_at TEXT NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS apps (
    name TEXT PRIMARY KEY,
    active TEXT NOT NULL,
    previous TEXT,
    enabled INTEGER NOT NULL DEFAULT 1,
    config TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts TEXT NOT NULL,
    app TEXT NOT NULL,
    action TEXT NOT NULL,
    from_version TEXT,
    to_version TEXT,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
"""


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """One installed version of an app."""

    name: str
    version: str
    path: Path
    manifest: dict[str, Any]
    signed_by: str | None
    installed_at: datetime


@dataclass(frozen=True, slots=True)
class AppRecord:
    """An app: the version that runs, the one before it, whether it is enabled, its config."""

    name: str
    active: str
    previous: str | None
    enabled: bool
    config: dict[str, Any]


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One lifecycle action and its outcome."""

    ts: datetime
    app: str
    action: str
    from_version: str | None
    to_version: str | None
    outcome: str
    detail: str


class RuntimeState:
    """The state database; open with :meth:`open`, use as a context manager.

    Methods are safe to call from several threads (one connection, one lock).
    """

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path
        self._lock = threading.RLock()

    @classmethod
    def open(cls, path: Path, *, read_only: bool = False) -> Self:
        """Open (creating unless ``read_only``) the state file at ``path``."""
        path = Path(path)
        try:
            if read_only:
                if not path.is_file():
                    raise RuntimeStateError(f"{path}: no runtime state; install an app first")
                db = sqlite3.connect(
                    f"file:{path}?mode=ro", uri=True, timeout=10.0, check_same_thread=False
                )
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(path, timeout=10.0, check_same_thread=False)
        except sqlite3.Error as exc:
            raise RuntimeStateError(f"{path}: cannot open runtime state: {exc}") from None
        # Autocommit mode; transactions are opened explicitly in _transaction().
        db.isolation_level = None
        try:
            db.execute("PRAGMA foreign_keys = ON")
            if not read_only:
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = FULL")
            cls._check_schema(db, path, create=not read_only)
        except sqlite3.DatabaseError as exc:
            db.close()
            raise RuntimeStateError(
                f"{path}: not a Feeder OS state database ({exc}); move it aside and reinstall"
            ) from None
        except RuntimeStateError:
            db.close()
            raise
        return cls(db, path)

    @staticmethod
    def _check_schema(db: sqlite3.Connection, path: Path, *, create: bool) -> None:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables and create:
            db.execute("BEGIN IMMEDIATE")
            try:
                # executescript() would commit early; run the statements in our transaction.
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
            db.execute("COMMIT")
            return
        if "schema_version" not in tables:
            raise RuntimeStateError(
                f"{path}: not a Feeder OS state database (no schema_version table); move it aside"
            )
        row = db.execute("SELECT version FROM schema_version").fetchone()
        if row is None or row[0] != SCHEMA_VERSION:
            raise RuntimeStateError(
                f"{path}: state schema version {row[0] if row else None}, this runtime "
                f"reads version {SCHEMA_VERSION}; use the matching runtime"
            )

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All statements inside commit together or not at all."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise RuntimeStateError(f"{self.path}: cannot write state: {exc}") from None
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._db.execute("ROLLBACK")
                raise RuntimeStateError(f"{self.path}: cannot commit state: {exc}") from None

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return list(self._db.execute(sql, args).fetchall())
            except sqlite3.Error as exc:
                raise RuntimeStateError(f"{self.path}: cannot read state: {exc}") from None

    # -- versions -------------------------------------------------------------------
    def add_version(
        self,
        name: str,
        version: str,
        *,
        path: Path,
        manifest: dict[str, Any],
        signed_by: str | None = None,
        db: sqlite3.Connection | None = None,
    ) -> None:
        """Record an installed version (inside ``db``'s transaction if given)."""
        row = (name, version, str(path), json.dumps(manifest), signed_by, _now())
        sql = "INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?)"
        try:
            if db is not None:
                db.execute(sql, row)
            else:
                with self.transaction() as tx:
                    tx.execute(sql, row)
        except sqlite3.IntegrityError:
            raise RuntimeStateError(
                f"{self.path}: {name} {version} is already installed; remove it first"
            ) from None

    def remove_version(self, name: str, version: str, *, db: sqlite3.Connection) -> None:
        """Forget an installed version (inside ``db``'s transaction)."""
        db.execute("DELETE FROM versions WHERE name = ? AND version = ?", (name, version))

    def versions(self, name: str | None = None) -> list[VersionRecord]:
        """Installed versions, of one app or all, by name then install order."""
        sql = "SELECT * FROM versions"
        rows = self._query(sql + " WHERE name = ?", (name,)) if name else self._query(sql)
        records = [
            VersionRecord(r[0], r[1], Path(r[2]), json.loads(r[3]), r[4], _dt(r[5])) for r in rows
        ]
        return sorted(records, key=lambda r: (r.name, r.installed_at))

    def version(self, name: str, version: str) -> VersionRecord | None:
        """One installed version, or ``None``."""
        found = [v for v in self.versions(name) if v.version == version]
        return found[0] if found else None

    # -- apps -----------------------------------------------------------------------
    def set_active(
        self,
        name: str,
        version: str,
        *,
        previous: str | None = None,
        enabled: bool | None = None,
        db: sqlite3.Connection | None = None,
    ) -> None:
        """Make ``version`` the app's active version (creating the app row if new)."""
        with contextlib.ExitStack() as stack:
            tx = db if db is not None else stack.enter_context(self.transaction())
            tx.execute(
                "INSERT INTO apps (name, active, previous, enabled) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET active = excluded.active, "
                "previous = excluded.previous",
                (name, version, previous, 1 if enabled is None else int(enabled)),
            )
            if enabled is not None:
                tx.execute("UPDATE apps SET enabled = ? WHERE name = ?", (int(enabled), name))

    def set_enabled(self, name: str, enabled: bool) -> None:
        """Enable or disable an app."""
        with self.transaction() as tx:
            tx.execute("UPDATE apps SET enabled = ? WHERE name = ?", (int(enabled), name))

    def set_config(self, name: str, config: dict[str, Any]) -> None:
        """Store an app's config."""
        with self.transaction() as tx:
            tx.execute("UPDATE apps SET config = ? WHERE name = ?", (json.dumps(config), name))

    def remove_app(self, name: str, *, db: sqlite3.Connection) -> None:
        """Forget an app (inside ``db``'s transaction)."""
        db.execute("DELETE FROM apps WHERE name = ?", (name,))

    def apps(self) -> list[AppRecord]:
        """Every app, by name."""
        rows = self._query("SELECT name, active, previous, enabled, config FROM apps ORDER BY name")
        return [AppRecord(r[0], r[1], r[2], bool(r[3]), json.loads(r[4])) for r in rows]

    def app(self, name: str) -> AppRecord | None:
        """One app, or ``None`` if it is not installed."""
        found = [a for a in self.apps() if a.name == name]
        return found[0] if found else None

    # -- history --------------------------------------------------------------------
    def record(
        self,
        app: str,
        action: str,
        *,
        from_version: str | None = None,
        to_version: str | None = None,
        outcome: str,
        detail: str = "",
        db: sqlite3.Connection | None = None,
    ) -> None:
        """Append a history entry."""
        row = (_now(), app, action, from_version, to_version, outcome, detail)
        sql = (
            "INSERT INTO history (ts, app, action, from_version, to_version, outcome, detail) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)"
        )
        if db is not None:
            db.execute(sql, row)
        else:
            with self.transaction() as tx:
                tx.execute(sql, row)

    def history(self, app: str | None = None) -> list[HistoryEntry]:
        """History entries, oldest first, of one app or all."""
        sql = "SELECT ts, app, action, from_version, to_version, outcome, detail FROM history"
        rows = (
            self._query(sql + " WHERE app = ? ORDER BY id", (app,))
            if app
            else self._query(sql + " ORDER BY id")
        )
        return [HistoryEntry(_dt(r[0]), *r[1:]) for r in rows]


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)
