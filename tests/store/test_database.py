"""Database: URLs, SQLite settings, sessions, migrations (on SQLite and PostgreSQL)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, inspect, text

import feederos.store as store
from feederos.store import Database, DatabaseError, StoreError
from feederos.store.database import MIGRATIONS_DIR, SQLITE_BUSY_TIMEOUT_MS, alembic_config
from feederos.store.tables import Base

TABLES = {"networks", "network_versions", "api_tokens", "audit_log", "jobs"}


def _tables(db: Database) -> set[str]:
    with db.engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def _differences(db: Database, metadata: MetaData) -> list[object]:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def test_public_names() -> None:
    assert sorted(store.__all__) == sorted(
        [
            "DEFAULT_URL_ENV",
            "AuditEntry",
            "AuditLog",
            "Database",
            "DatabaseError",
            "JobInfo",
            "JobNotFoundError",
            "JobStateError",
            "JobStatus",
            "JobStore",
            "NetworkInfo",
            "NetworkNotFoundError",
            "NetworkStore",
            "NotFoundError",
            "Role",
            "StoreError",
            "StoredVersion",
            "TokenInfo",
            "TokenNotFoundError",
            "TokenStore",
            "VersionConflictError",
            "VersionInfo",
            "VersionNotFoundError",
        ]
    )
    for name in store.__all__:
        assert getattr(store, name) is not None
    assert store.DEFAULT_URL_ENV == "FEEDEROS_DATABASE_URL"


def test_migrate_creates_every_table_and_twice_is_a_no_op(db_url: str) -> None:
    with Database(db_url) as db:
        assert db.revision() is None
        assert _tables(db) == set()
        db.migrate()
        assert _tables(db) == TABLES | {"alembic_version"}
        assert db.revision() == "0001"
        with db.session() as session:
            session.execute(
                text(
                    "INSERT INTO jobs (id, kind, status, progress, message, created_by,"
                    " created_at, request) VALUES ('j1', 'k', 'queued', 0, '', 'a',"
                    " CURRENT_TIMESTAMP, '{}')"
                )
            )
        db.migrate()
        assert db.revision() == "0001"
        with db.session(readonly=True) as session:
            assert session.execute(text("SELECT id FROM jobs")).scalars().all() == ["j1"]


def test_migrated_schema_matches_the_orm_tables(db: Database) -> None:
    assert _differences(db, Base.metadata) == []


def test_schema_comparison_would_see_a_difference(db: Database) -> None:
    """The test above can fail: a column the migrations lack is reported."""
    metadata = MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(metadata)
    metadata.tables["jobs"].append_column(Column("priority", Integer, nullable=True))
    assert [d[0] for d in _differences(db, metadata)] == ["add_column"]  # type: ignore[index]


def test_concurrent_migrations_queue(db_url: str) -> None:
    """Three threads and two processes (servers starting at once) migrate together."""
    code = "import sys; from feederos.store import Database; Database(sys.argv[1]).migrate()"
    processes = [
        subprocess.Popen([sys.executable, "-c", code, db_url], stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    databases = [Database(db_url) for _ in range(3)]
    errors: list[BaseException] = []

    def migrate(db: Database) -> None:
        try:
            db.migrate()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=migrate, args=(db,)) for db in databases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes = [(p.wait(60), p.stderr.read().decode()) for p in processes if p.stderr]
    for process in processes:
        if process.stderr:
            process.stderr.close()
    try:
        assert errors == []
        assert outcomes == [(0, ""), (0, "")]
        assert databases[0].revision() == "0001"
        assert _tables(databases[0]) == TABLES | {"alembic_version"}
    finally:
        for db in databases:
            db.dispose()


def test_downgrade_to_base_and_upgrade_again(db: Database) -> None:
    config = alembic_config()
    with db.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert _tables(db) == {"alembic_version"}
    assert db.revision() is None
    db.migrate()
    assert _tables(db) == TABLES | {"alembic_version"}
    assert _differences(db, Base.metadata) == []


def test_migrations_refuse_to_run_without_a_connection() -> None:
    with pytest.raises(StoreError, match=r"only through feederos.store.Database\(url\).migrate"):
        command.upgrade(alembic_config(), "head")


def test_migration_scripts_are_in_the_package() -> None:
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0001_initial.py").is_file()


def test_production_code_never_creates_tables_itself() -> None:
    package = Path(store.__file__).parent
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if ".create_all(" in path.read_text()
    ]
    assert offenders == []


def test_using_a_database_never_migrated_says_to_migrate(db_url: str) -> None:
    with Database(db_url) as db, pytest.raises(DatabaseError) as caught:
        store.NetworkStore(db).list()
    message = str(caught.value)
    assert "call Database(url).migrate() first" in message
    assert message.startswith("database '")
    assert caught.value.__cause__ is not None


def test_session_commits_on_success_and_rolls_back_on_error(db: Database) -> None:
    insert = text(
        "INSERT INTO jobs (id, kind, status, progress, message, created_by, created_at,"
        " request) VALUES (:id, 'k', 'queued', 0, '', 'a', CURRENT_TIMESTAMP, '{}')"
    )
    with db.session() as session:
        session.execute(insert, {"id": "kept"})
    with pytest.raises(RuntimeError, match="boom"), db.session() as session:
        session.execute(insert, {"id": "dropped"})
        raise RuntimeError("boom")
    with db.session(readonly=True) as session:
        assert session.execute(text("SELECT id FROM jobs")).scalars().all() == ["kept"]


def test_a_readonly_session_refuses_to_write(db: Database) -> None:
    from feederos.store.tables import JobRow

    with (
        pytest.raises(StoreError, match="read-only session cannot write"),
        db.session(readonly=True) as session,
    ):
        session.add(JobRow(id="x"))
        session.flush()


def test_a_readonly_transaction_refuses_raw_writes(db: Database) -> None:
    with (
        pytest.raises(StoreError, match=r"read-only transaction|readonly database"),
        db.session(readonly=True) as session,
    ):
        session.execute(text("DELETE FROM jobs"))
    with db.session() as session:  # the connection, back in the pool, may write again
        session.execute(text("DELETE FROM jobs"))


def test_a_constraint_violation_is_a_database_error_naming_it(db: Database) -> None:
    with pytest.raises(DatabaseError, match=r"^database '.*(CHECK|check)"), db.session() as session:
        session.execute(
            text(
                "INSERT INTO jobs (id, kind, status, progress, message, created_by,"
                " created_at, request) VALUES ('j', 'k', 'lost', 0, '', 'a',"
                " CURRENT_TIMESTAMP, '{}')"
            )
        )


@pytest.mark.parametrize("table", ["network_versions", "audit_log"])
@pytest.mark.parametrize("statement", ["UPDATE {} SET {} = {}", "DELETE FROM {}"])
def test_history_tables_are_append_only(db: Database, table: str, statement: str) -> None:
    if table == "network_versions":
        store.NetworkStore(db).create({"name": "n"}, author="a", message="")
        column, value = "message", "'rewritten'"
    else:
        store.AuditLog(db).record("a", "x.y", "t")
        column, value = "actor", "'mallory'"
    with pytest.raises(StoreError, match=f"{table} rows are immutable"), db.session() as session:
        session.execute(text(statement.format(table, column, value)))


def test_postgresql_refuses_truncating_history(postgresql_db: Database) -> None:
    for table in ("network_versions", "audit_log"):
        with (
            pytest.raises(StoreError, match=f"{table} rows are immutable"),
            postgresql_db.session() as session,
        ):
            session.execute(text(f"TRUNCATE {table} CASCADE"))


# --- SQLite specifics -----------------------------------------------------------------


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "feederos.db"
    with Database(f"sqlite:///{path}") as db:
        assert path.parent.is_dir()  # made by Database
        with db.session(readonly=True) as session:
            pragma = {
                name: session.execute(text(f"PRAGMA {name}")).scalar_one()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            }
    assert pragma == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": SQLITE_BUSY_TIMEOUT_MS,
    }


def test_sqlite_foreign_keys_are_enforced(tmp_path: Path) -> None:
    with Database(f"sqlite:///{tmp_path / 'f.db'}") as db:
        db.migrate()
        with (
            pytest.raises(StoreError, match="FOREIGN KEY constraint failed"),
            db.session() as session,
        ):
            session.execute(
                text(
                    "INSERT INTO network_versions VALUES"
                    " ('nope', 1, 'a', CURRENT_TIMESTAMP, '', '', 0, '{}')"
                )
            )


def test_in_memory_sqlite_is_one_database_shared_by_threads() -> None:
    with Database("sqlite://") as db:
        db.migrate()
        seen: list[list[str]] = []

        def other_thread() -> None:
            seen.append([n.name for n in store.NetworkStore(db).list()])

        store.NetworkStore(db).create({"name": "shared"}, author="a", message="")
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        assert seen == [["shared"]]


def test_sqlite_directory_that_cannot_be_made(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    url = f"sqlite:///{blocker / 'sub' / 'x.db'}"
    with pytest.raises(StoreError, match=r"cannot create the directory .*choose a path"):
        Database(url)


# --- URLs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "mysql://u:secret@db.example/x",
            r"'mysql://u:\*\*\*@db.example/x': unsupported "
            r"database 'mysql'; use sqlite:///path/to/feederos.db or postgresql\+psycopg://",
        ),
        ("postgresql+psycopg2://h/x", r"unsupported database 'postgresql\+psycopg2'"),
        ("not a url", r"database URL 'not a url' cannot be parsed .*; use sqlite:///"),
        ("", r"empty database URL ''; use sqlite:///"),
    ],
)
def test_bad_urls_are_named_with_the_fix(url: str, expected: str) -> None:
    with pytest.raises(StoreError, match=expected) as caught:
        Database(url)
    assert "secret" not in str(caught.value)


def test_postgresql_urls_use_psycopg_3() -> None:
    for url in ("postgresql://u@h/x", "postgres://u@h/x", "postgresql+psycopg://u@h/x"):
        with Database(url) as db:  # no connection is made yet
            assert db.engine.dialect.driver == "psycopg"
            assert db.url == url


def test_repr_hides_the_password() -> None:
    with Database("postgresql://u:secret@h/x") as db:
        assert repr(db) == "Database('postgresql+psycopg://u:***@h/x')"


def test_an_unreachable_server_is_a_database_error_naming_it() -> None:
    with Database("postgresql+psycopg://u:secret@127.0.0.1:1/x?connect_timeout=2") as db:
        with pytest.raises(DatabaseError, match=r"^database 'postgresql\+psycopg://u:\*\*\*@127"):
            db.migrate()
        with pytest.raises(DatabaseError, match=r"127\.0\.0\.1"):
            db.revision()
        with pytest.raises(DatabaseError, match=r"127\.0\.0\.1"), db.session() as session:
            session.execute(text("SELECT 1"))


def test_a_naive_datetime_is_refused() -> None:
    from datetime import datetime

    from sqlalchemy.dialects import postgresql

    from feederos.store.tables import UTCDateTime

    with pytest.raises(StoreError, match="naive datetime 2024-05-01T12:00:00: give a timezone"):
        UTCDateTime().process_bind_param(datetime(2024, 5, 1, 12), postgresql.dialect())  # type: ignore[no-untyped-call]
