"""Fixtures of the store tests: every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from feederos.store import Database

from .databases import DATABASE_KINDS, database_url


@pytest.fixture(params=DATABASE_KINDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database (not migrated), SQLite then PostgreSQL."""
    with database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A migrated, empty database; disposed after the test."""
    database = Database(db_url)
    try:
        database.migrate()
        yield database
    finally:
        database.dispose()


@pytest.fixture
def postgresql_db(tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty PostgreSQL database, for what only PostgreSQL has."""
    with database_url("postgresql", tmp_path) as url:
        database = Database(url)
        try:
            database.migrate()
            yield database
        finally:
            database.dispose()
