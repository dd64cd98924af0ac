"""Alembic's environment for the store: runs the migrations on the connection that
:meth:`feederos.store.Database.migrate` hands over in ``config.attributes``.

Alembic executes this file; importing it (as ``pytest --doctest-modules`` does) runs
nothing.
"""

from __future__ import annotations

from alembic import context
from alembic.config import Config
from sqlalchemy import Connection, text

from feederos.store.database import MIGRATION_LOCK_KEY
from feederos.store.errors import StoreError
from feederos.store.tables import Base


def run_migrations(config: Config) -> None:
    """Upgrade (or downgrade) on the connection given by ``Database.migrate``."""
    connection = config.attributes.get("connection")
    if not isinstance(connection, Connection) or context.is_offline_mode():
        raise StoreError(
            "the store's migrations run only through feederos.store.Database(url).migrate()"
        )
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite runs DDL in transactions too once BEGIN is ours (see database.py): a
        # failed migration leaves the schema as it was.
        transactional_ddl=True,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Two servers starting at once: the second waits, then finds nothing to do.
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        context.run_migrations()


# Alembic sets context.config while it runs this file; a plain import has none.
_config = getattr(context, "config", None)
if _config is not None:
    run_migrations(_config)
