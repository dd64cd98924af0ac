"""The audit log: who did what to which record, when; append only.

The stores record their writes here in the same transaction as the write itself, so the
log holds an entry exactly for each change that was committed. Rows cannot be updated or
deleted (a database trigger refuses it).

Examples
--------
>>> from feederos.store.database import Database
>>> with Database("sqlite://") as db:
...     db.migrate()
...     log = AuditLog(db)
...     log.record("alice", "network.export", "9f0c", {"format": "dss"})
...     [(e.actor, e.action, e.target, e.detail) for e in log.entries()]
[('alice', 'network.export', '9f0c', {'format': 'dss'})]
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from feederos.store._common import require_text, utc_now
from feederos.store._json import json_object
from feederos.store.database import Database
from feederos.store.errors import StoreError
from feederos.store.tables import AuditRow

__all__ = ["ACTION_MAX_LENGTH", "AuditEntry", "AuditLog"]

ACTION_MAX_LENGTH = 64
"""Longest action name, e.g. ``network.create``."""


@dataclass(frozen=True)
class AuditEntry:
    """One entry of the audit log.

    Attributes
    ----------
    id
        Increasing number; a later entry has a larger id.
    at
        When, in UTC.
    actor
        Who (a user or token name, or ``system``).
    action
        What, as ``<record>.<verb>`` (``network.create``, ``token.revoke``).
    target
        The id of the record acted on.
    detail
        Anything else worth keeping (version number, role, ...).
    """

    id: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any]


class AuditLog:
    """Records and lists audit entries of one database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def record(
        self,
        actor: str,
        action: str,
        target: str,
        detail: dict[str, Any] | None = None,
        *,
        session: Session | None = None,
    ) -> None:
        """Add an entry.

        Parameters
        ----------
        actor, action, target, detail
            See :class:`AuditEntry`; ``detail`` must be a JSON object.
        session
            The caller's session: the entry is written in its transaction, so it is
            kept only if the caller's change is committed. Without one the entry is
            committed on its own.

        Raises
        ------
        StoreError
            An empty actor, action or target, or a detail that is not JSON.
        """
        row = AuditRow(
            at=utc_now(),
            actor=require_text(actor, what="audit actor"),
            action=require_text(action, what="audit action", max_length=ACTION_MAX_LENGTH),
            target=require_text(target, what="audit target"),
            detail=json_object({} if detail is None else detail, what="audit detail"),
        )
        if session is not None:
            session.add(row)
            return
        with self._db.session() as own:
            own.add(row)

    def entries(self, *, target: str | None = None, limit: int = 100) -> list[AuditEntry]:
        """The newest ``limit`` entries, newest first; only those of ``target`` if given."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise StoreError(f"limit must be a positive whole number, not {limit!r}")
        query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        if target is not None:
            if "\x00" in target:  # no stored target holds NUL (PostgreSQL cannot)
                return []
            query = query.where(AuditRow.target == target)
        with self._db.session(readonly=True) as session:
            rows = session.scalars(query).all()
            return [
                AuditEntry(r.id, r.at, r.actor, r.action, r.target, dict(r.detail)) for r in rows
            ]
