"""Storage of the simulation service: networks and their versions, API tokens, the
audit log and jobs, in SQLite (default) or PostgreSQL through SQLAlchemy.

Open a :class:`Database` by URL, call :meth:`Database.migrate` once at start-up, and
hand it to the stores. Every store method is one transaction and returns frozen
dataclasses; every write also records an :class:`AuditEntry` in that transaction.

Examples
--------
>>> from feederos.store import Database, NetworkStore, AuditLog
>>> with Database("sqlite://") as db:
...     db.migrate()
...     v1 = NetworkStore(db).create({"name": "tiny"}, author="alice", message="first")
...     [(e.action, e.target == v1.network_id) for e in AuditLog(db).entries()]
[('network.create', True)]
"""

from feederos.store.audit import AuditEntry, AuditLog
from feederos.store.database import DEFAULT_URL_ENV, Database
from feederos.store.errors import (
    DatabaseError,
    JobNotFoundError,
    JobStateError,
    NetworkNotFoundError,
    NotFoundError,
    StoreError,
    TokenNotFoundError,
    VersionConflictError,
    VersionNotFoundError,
)
from feederos.store.jobs import JobInfo, JobStatus, JobStore
from feederos.store.networks import NetworkInfo, NetworkStore, StoredVersion, VersionInfo
from feederos.store.tokens import Role, TokenInfo, TokenStore

__all__ = [
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
