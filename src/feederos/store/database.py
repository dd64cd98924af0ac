"""The database a store lives in: an engine, sessions and migrations.

SQLite (a file, the default) or PostgreSQL, chosen by URL. The schema is made and
upgraded only by the alembic migrations shipped in this package
(:meth:`Database.migrate`); the stores (:mod:`feederos.store.networks`, ``tokens``,
``audit``, ``jobs``) run their work in :meth:`Database.session` transactions.

On SQLite every connection runs with WAL (readers never wait for the writer),
``foreign_keys=ON`` and a busy timeout of :data:`SQLITE_BUSY_TIMEOUT_MS`; a writing
session takes the write lock when it begins (``BEGIN IMMEDIATE``), so two writers queue
instead of one failing half-way with "database is locked". ``sqlite://`` (in memory) is
one connection shared by all threads, for examples and tests: use it from one thread at
a time.

Examples
--------
>>> with Database("sqlite://") as db:
...     db.migrate()
...     db.revision()
'0001'
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from threading import Lock
from types import TracebackType
from typing import Any, Self

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from feederos.store._json import canonical_json
from feederos.store.errors import DatabaseError, StoreError

__all__ = [
    "DEFAULT_URL_ENV",
    "MIGRATIONS_DIR",
    "MIGRATION_LOCK_KEY",
    "PG_CONNECT_TIMEOUT_S",
    "SQLITE_BUSY_TIMEOUT_MS",
    "Database",
    "alembic_config",
]

DEFAULT_URL_ENV = "FEEDEROS_DATABASE_URL"
"""Environment variable that holds the database URL of the service."""

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
"""The alembic scripts (``env.py``, ``versions/``) shipped in the package."""

SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long a SQLite connection waits for another's write lock before failing [ms]."""

PG_CONNECT_TIMEOUT_S = 10
"""How long to wait for a PostgreSQL server to answer a new connection [s]."""

_SQLITE_DRIVERS = {"sqlite", "sqlite+pysqlite"}
_PG_DRIVERS = {"postgresql", "postgresql+psycopg", "postgres"}
_URL_FORMS = "sqlite:///path/to/feederos.db or postgresql+psycopg://user@host:5432/dbname"
# Execution option of the engine that read-only sessions are bound to.
_READONLY = "feederos_readonly"
# PostgreSQL advisory lock key that serialises concurrent migrations ("feed").
MIGRATION_LOCK_KEY = 0x66656564
# Alembic keeps the running migration in module globals (alembic.context, alembic.op):
# two migrations in one process at once would mix them up.
_ALEMBIC_LOCK = Lock()


class Database:
    """One database: the engine (a connection pool usable from many threads),
    transactions and migrations.

    Parameters
    ----------
    url
        ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``, ``sqlite://``
        (in memory) or ``postgresql+psycopg://user:password@host:5432/dbname``
        (``postgresql://`` means the same). The parent directory of a SQLite file is
        created.

    Raises
    ------
    StoreError
        The URL cannot be parsed, names another database, or the SQLite directory
        cannot be created.

    Examples
    --------
    >>> Database("mysql://localhost/x")
    Traceback (most recent call last):
    ...
    feederos.store.errors.StoreError: database URL 'mysql://localhost/x': unsupported \
database 'mysql'; use sqlite:///path/to/feederos.db or \
postgresql+psycopg://user@host:5432/dbname
    """

    url: str
    """The URL as given."""
    engine: Engine
    """The SQLAlchemy engine (pool of connections)."""

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = _parse_url(url)
        self._shown = parsed.render_as_string(hide_password=True)
        if parsed.get_backend_name() == "sqlite":
            self.engine = _sqlite_engine(parsed, shown=self._shown)
        else:
            self.engine = _postgresql_engine(parsed)
        event.listen(self.engine, "begin", _on_begin)
        self._readonly_engine = self.engine.execution_options(**{_READONLY: True})
        self._sessions = sessionmaker(bind=self.engine, expire_on_commit=False)
        self._readonly_sessions = sessionmaker(bind=self._readonly_engine, expire_on_commit=False)
        event.listen(self._readonly_sessions, "before_flush", _refuse_flush)

    def __repr__(self) -> str:
        return f"Database({self._shown!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.dispose()

    @contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[Session]:
        """A session in one transaction: committed if the block ends normally, rolled
        back if it raises.

        Parameters
        ----------
        readonly
            Only read. On SQLite a writing session takes the write lock at its start
            (so writers queue, readers do not); a read-only one does not. A read-only
            session refuses to flush changes, and its transaction refuses any write
            (``READ ONLY`` on PostgreSQL, ``PRAGMA query_only`` on SQLite).

        Raises
        ------
        DatabaseError
            For a database error (unreachable, locked too long, schema missing),
            naming the database; the driver's error is the ``__cause__``.

        Examples
        --------
        >>> from sqlalchemy import text
        >>> with Database("sqlite://") as db, db.session(readonly=True) as s:
        ...     s.execute(text("SELECT 1 + 1")).scalar_one()
        2
        """
        maker = self._readonly_sessions if readonly else self._sessions
        try:
            with maker.begin() as session:
                yield session
        except DBAPIError as exc:
            raise self.database_error(exc) from exc

    def migrate(self) -> None:
        """Upgrade the schema to the newest migration (alembic ``upgrade head``).

        On an empty database this creates every table; on a current one it does
        nothing. Concurrent calls, from threads or from processes (several servers
        starting at once), are safe: they queue on a lock.

        Raises
        ------
        DatabaseError
            The database cannot be reached or a migration fails.
        """
        config = alembic_config()
        try:
            with _ALEMBIC_LOCK, self.engine.connect() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except DBAPIError as exc:
            raise self.database_error(exc) from exc

    def revision(self) -> str | None:
        """The schema's migration revision, or None for a database never migrated."""
        try:
            with self._readonly_engine.connect() as connection:
                revision = MigrationContext.configure(connection).get_current_revision()
                connection.rollback()
        except DBAPIError as exc:
            raise self.database_error(exc) from exc
        return revision

    def dispose(self) -> None:
        """Close every pooled connection (the Database can still be used after)."""
        self.engine.dispose()

    def database_error(self, exc: DBAPIError) -> DatabaseError:
        """The error to raise for a driver error: the database, the driver's message and,
        for a missing table, what to do."""
        message = " ".join(line.strip() for line in str(exc.orig).splitlines() if line.strip())
        sqlstate = getattr(exc.orig, "sqlstate", None)
        if "no such table" in message or sqlstate == "42P01":  # 42P01: undefined_table
            message += "; the schema is missing: call Database(url).migrate() first"
        return DatabaseError(f"database {self._shown!r}: {message}")


def alembic_config() -> Config:
    """The alembic configuration of the shipped migrations, built without an ini file."""
    config = Config()
    # ConfigParser interpolates "%": escape it in the (install) path.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    return config


def _parse_url(url: str) -> URL:
    if not isinstance(url, str) or not url.strip():
        raise StoreError(f"empty database URL {url!r}; use {_URL_FORMS}")
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(
            f"database URL {url!r} cannot be parsed ({exc}); use {_URL_FORMS}"
        ) from exc
    shown = parsed.render_as_string(hide_password=True)
    if parsed.drivername in _SQLITE_DRIVERS:
        return parsed
    if parsed.drivername in _PG_DRIVERS:
        return parsed.set(drivername="postgresql+psycopg")
    raise StoreError(
        f"database URL {shown!r}: unsupported database {parsed.drivername!r}; use {_URL_FORMS}"
    )


def _dumps(value: Any) -> str:
    return canonical_json(value, what="JSON column")


def _sqlite_engine(url: URL, *, shown: str) -> Engine:
    in_memory = url.database in (None, "", ":memory:")
    if not in_memory and not url.query.get("uri"):
        url = url.set(database=str(Path(str(url.database)).expanduser()))
        directory = Path(str(url.database)).parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"database URL {shown!r}: cannot create the directory {str(directory)!r} "
                f"({exc.strerror}); choose a path you can write"
            ) from exc
    if in_memory:
        # One connection shared by all threads: each new in-memory connection would be
        # a new, empty database.
        engine = create_engine(
            url,
            poolclass=StaticPool,
            connect_args={"check_same_thread": False},
            json_serializer=_dumps,
        )
    else:
        # File databases: the dialect's pool with check_same_thread off, so a
        # connection may be returned to the pool by another thread.
        engine = create_engine(url, json_serializer=_dumps)
    event.listen(engine, "connect", _sqlite_on_connect)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let BEGIN be ours (see _on_begin), not the sqlite3 module's, which defers it.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")  # in memory it stays "memory": fine
    cursor.close()


def _postgresql_engine(url: URL) -> Engine:
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
    # pre_ping: a connection broken by a server restart is replaced, not handed out.
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, json_serializer=_dumps)


def _on_begin(connection: Connection) -> None:
    readonly = bool(connection.get_execution_options().get(_READONLY, False))
    if connection.dialect.name == "sqlite":
        # query_only is per connection: set it at each begin, as pooled connections
        # serve both kinds of session.
        connection.exec_driver_sql(f"PRAGMA query_only = {int(readonly)}")
        # IMMEDIATE takes the write lock now (waiting up to the busy timeout); a
        # deferred transaction that read first could not upgrade to write once another
        # writer had committed, and would fail at once.
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")
    elif readonly:
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")


def _refuse_flush(session: Session, _context: Any, _instances: Any) -> None:
    raise StoreError("a read-only session cannot write; open db.session() to write")
