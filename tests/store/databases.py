"""Databases for tests: a SQLite file, or a private schema of the test PostgreSQL.

Each PostgreSQL use gets its own schema ``t_<uuid>`` (made here, dropped afterwards) and
a URL whose connections have it as ``search_path``, so parallel pytest-xdist workers and
concurrent runs never see each other's tables. An unreachable server fails the test
with how to start one; it is not skipped.

Other test packages reuse it (``tests/`` is on ``sys.path`` under pytest)::

    from store.databases import DATABASE_KINDS, database_url

    @pytest.fixture(params=DATABASE_KINDS)
    def db_url(request, tmp_path):
        with database_url(request.param, tmp_path) as url:
            yield url
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

__all__ = ["DATABASE_KINDS", "POSTGRESQL_URL_ENV", "database_url", "postgresql_server_url"]

DATABASE_KINDS = ("sqlite", "postgresql")
"""The databases every store test runs on."""

POSTGRESQL_URL_ENV = "FEEDEROS_TEST_POSTGRESQL_URL"
"""Environment variable with the test server's URL, if not the default below."""

_DEFAULT_POSTGRESQL_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

_HOW_TO_START = (
    "start it with `pg_ctlcluster 15 main start` (the Debian cluster; `pg_lsclusters` "
    "lists them) or `docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust "
    "-e POSTGRES_DB=test postgres:16`, or point {env} at another server"
)


def postgresql_server_url() -> str:
    """The test PostgreSQL server's URL (``$FEEDEROS_TEST_POSTGRESQL_URL`` or the default)."""
    return os.environ.get(POSTGRESQL_URL_ENV, _DEFAULT_POSTGRESQL_URL)


@contextmanager
def database_url(kind: str, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database of ``kind`` ("sqlite" or "postgresql") for one test.

    SQLite: a file in ``tmp_path``. PostgreSQL: a new schema, dropped with all it holds
    when the block ends.
    """
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'store' / 'feederos.db'}"
        return
    if kind != "postgresql":
        raise ValueError(f"unknown database kind {kind!r}; use one of {DATABASE_KINDS}")
    server = postgresql_server_url()
    schema = f"t_{uuid.uuid4().hex}"
    admin = create_engine(server, poolclass=NullPool)
    try:
        unreachable = ""
        try:
            with admin.begin() as connection:
                connection.execute(text(f"CREATE SCHEMA {schema}"))
        except OperationalError as exc:
            unreachable = " ".join(str(exc.orig).split())
        if unreachable:  # failed here, not in the except block, to keep the report short
            shown = make_url(server).render_as_string(hide_password=True)
            pytest.fail(
                f"PostgreSQL at {shown} is not reachable ({unreachable}); "
                + _HOW_TO_START.format(env=POSTGRESQL_URL_ENV),
                pytrace=False,
            )
        url = make_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
        try:
            yield url.render_as_string(hide_password=False)
        finally:
            with admin.begin() as connection:
                # A connection the test left inside a transaction would make DROP wait
                # for ever: fail after a while instead.
                connection.execute(text("SET LOCAL lock_timeout = '10s'"))
                connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    finally:
        admin.dispose()
