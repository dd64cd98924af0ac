"""An id or target holding NUL names nothing: a not-found answer, never a database error
(PostgreSQL refuses NUL in text, so such a query would fail, not miss)."""

from __future__ import annotations

import pytest

from feederos.store import AuditLog, Database, JobStore, NetworkStore, TokenStore
from feederos.store.errors import JobNotFoundError, NetworkNotFoundError, TokenNotFoundError

NUL_ID = "ab\x00cd"


def test_nul_ids_are_not_found(db: Database) -> None:
    networks = NetworkStore(db)
    with pytest.raises(NetworkNotFoundError):
        networks.get(NUL_ID)
    with pytest.raises(NetworkNotFoundError):
        networks.version(NUL_ID)
    with pytest.raises(NetworkNotFoundError):
        networks.versions(NUL_ID)
    with pytest.raises(NetworkNotFoundError):
        networks.save(NUL_ID, {"name": "n"}, author="a", message="")
    with pytest.raises(JobNotFoundError):
        JobStore(db).get(NUL_ID)
    with pytest.raises(TokenNotFoundError):
        TokenStore(db).revoke(NUL_ID, actor="a")
    assert AuditLog(db).entries(target=NUL_ID) == []
    assert TokenStore(db).authenticate("fos_\x00") is None
