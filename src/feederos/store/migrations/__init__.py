"""Alembic migrations of the store, run by :meth:`feederos.store.Database.migrate`.

``env.py`` is alembic's environment; ``versions/`` holds one script per schema change,
named ``NNNN_what.py`` with revision ``"NNNN"``. A new migration is written by hand (or
drafted with alembic's ``compare_metadata``) and must keep the test that the migrated
schema matches :mod:`feederos.store.tables` green on SQLite and PostgreSQL.
"""
