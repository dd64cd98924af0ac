"""API tokens: a named secret with a role; only the secret's sha256 is stored.

A token's secret is shown once, when it is created. To authenticate, the store hashes
the secret presented and looks the hash up: no stored secret is compared character by
character, so response times tell nothing about it, and a stolen database holds no
usable secret. A revoked token never authenticates again.

Examples
--------
>>> from feederos.store.database import Database
>>> db = Database("sqlite://")
>>> db.migrate()
>>> tokens = TokenStore(db)
>>> info, secret = tokens.create("ci", Role.ENGINEER, actor="admin")
>>> secret.startswith("fos_"), tokens.authenticate(secret) == info
(True, True)
>>> info.role.allows(Role.VIEWER), info.role.allows(Role.ADMIN)
(True, False)
>>> tokens.revoke(info.id, actor="admin").revoked_at is not None
True
>>> tokens.authenticate(secret) is None
True
>>> db.dispose()
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from feederos.store._common import new_id, require_text, utc_now
from feederos.store.audit import AuditLog
from feederos.store.database import Database
from feederos.store.errors import StoreError, TokenNotFoundError
from feederos.store.tables import TokenRow

__all__ = ["SECRET_PREFIX", "Role", "TokenInfo", "TokenStore"]

SECRET_PREFIX = "fos_"
"""Every token secret starts so (it makes a leaked secret easy to scan for)."""

_SECRET_BYTES = 32


class Role(StrEnum):
    """What a token may do; each role may do all that the roles below it may."""

    VIEWER = "viewer"
    """Read networks, results, jobs."""
    ENGINEER = "engineer"
    """Also save networks and run jobs."""
    ADMIN = "admin"
    """Also manage tokens and read the audit log."""

    def allows(self, needed: Role) -> bool:
        """Whether this role may do what ``needed`` may (viewer < engineer < admin)."""
        return _RANK[self] >= _RANK[Role(needed)]


_RANK = {Role.VIEWER: 0, Role.ENGINEER: 1, Role.ADMIN: 2}


@dataclass(frozen=True)
class TokenInfo:
    """An API token, without its secret.

    Attributes
    ----------
    id
        32 hex digits.
    name
        What it is for (``ci``, ``alice-laptop``).
    role
        What it may do.
    created_at, created_by
        When (UTC) and by whom it was made.
    revoked_at
        When it was revoked (UTC), or None while it is valid.
    """

    id: str
    name: str
    role: Role
    created_at: datetime
    created_by: str
    revoked_at: datetime | None


class TokenStore:
    """Creates, authenticates, lists and revokes API tokens of one database.

    Creating and revoking record an audit entry (``token.create``, ``token.revoke``) in
    the same transaction.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._audit = AuditLog(db)

    def create(self, name: str, role: Role, *, actor: str) -> tuple[TokenInfo, str]:
        """Make a token.

        Returns
        -------
        tuple of TokenInfo and str
            The token and its secret (``fos_`` + 43 URL-safe characters). The secret
            is not stored and cannot be shown again.

        Raises
        ------
        StoreError
            An empty name or actor, or an unknown role.
        """
        name = require_text(name, what="token name")
        actor = require_text(actor, what="actor")
        role = _role(role)
        secret = SECRET_PREFIX + secrets.token_urlsafe(_SECRET_BYTES)
        row = TokenRow(
            id=new_id(),
            name=name,
            role=role.value,
            secret_sha256=_digest(secret),
            created_at=utc_now(),
            created_by=actor,
            revoked_at=None,
        )
        with self._db.session() as session:
            session.add(row)
            self._audit.record(
                actor,
                "token.create",
                row.id,
                {"name": name, "role": role.value},
                session=session,
            )
        return _info(row), secret

    def authenticate(self, secret: str) -> TokenInfo | None:
        """The valid token whose secret this is, or None (unknown, malformed, revoked)."""
        if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
            return None
        digest = _digest(secret)
        with self._db.session(readonly=True) as session:
            row = session.scalars(
                select(TokenRow).where(TokenRow.secret_sha256 == digest)
            ).one_or_none()
            if row is None or not hmac.compare_digest(row.secret_sha256, digest):
                return None
            return None if row.revoked_at is not None else _info(row)

    def list(self) -> builtins.list[TokenInfo]:
        """Every token, revoked ones too, oldest first."""
        with self._db.session(readonly=True) as session:
            rows = session.scalars(select(TokenRow).order_by(TokenRow.created_at, TokenRow.id))
            return [_info(r) for r in rows]

    def revoke(self, token_id: str, *, actor: str) -> TokenInfo:
        """Revoke a token for good; revoking a revoked token changes nothing.

        Raises
        ------
        TokenNotFoundError
            No token has this id.
        """
        actor = require_text(actor, what="actor")
        if not isinstance(token_id, str) or "\x00" in token_id:  # NUL: no stored id
            raise TokenNotFoundError(repr(token_id))
        with self._db.session() as session:
            row = session.scalars(
                select(TokenRow).where(TokenRow.id == token_id).with_for_update()
            ).one_or_none()
            if row is None:
                raise TokenNotFoundError(token_id)
            if row.revoked_at is None:
                row.revoked_at = utc_now()
                self._audit.record(
                    actor, "token.revoke", token_id, {"name": row.name}, session=session
                )
            return _info(row)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _role(role: Any) -> Role:
    try:
        return Role(role)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise StoreError(f"unknown role {role!r}; use one of {known}") from None


def _info(row: TokenRow) -> TokenInfo:
    return TokenInfo(
        row.id, row.name, Role(row.role), row.created_at, row.created_by, row.revoked_at
    )
