"""Migration scripts, one per schema revision (loaded by alembic, not imported)."""
