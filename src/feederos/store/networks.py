"""Networks and their versions: every save is a new, immutable version.

A network document (the JSON form of :class:`feederos.model.Network`) is stored as
canonical JSON text — sorted keys, no spaces, no NaN — with its sha256 and size, so two
equal documents have equal digests and a read can prove the text is what was written.
Version numbers count 1, 2, 3, ... per network; two saves at the same moment get
different numbers (the network's row is locked while the next number is taken). A save
may name the version it was based on: if another save came first, it is refused with
:class:`~feederos.store.errors.VersionConflictError` rather than silently overwriting.

Examples
--------
>>> from feederos.store.database import Database
>>> db = Database("sqlite://")
>>> db.migrate()
>>> networks = NetworkStore(db)
>>> v1 = networks.create({"name": "tiny", "buses": []}, author="alice", message="new")
>>> v2 = networks.save(v1.network_id, {"name": "tiny", "buses": [{"name": "b1"}]},
...                    author="bob", message="add b1", base_version=1)
>>> [(v.version, v.author, v.message) for v in networks.versions(v1.network_id)]
[(1, 'alice', 'new'), (2, 'bob', 'add b1')]
>>> networks.version(v1.network_id, 1).document
{'buses': [], 'name': 'tiny'}
>>> networks.save(v1.network_id, {"name": "tiny"}, author="carol", message="stale",
...               base_version=1)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
feederos.store.errors.VersionConflictError: network ...: version conflict: the edit was \
based on version 1 but the latest version is 2; reload version 2, reapply the edit and \
save again
>>> db.dispose()
"""

from __future__ import annotations

import builtins
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from feederos.store._common import new_id, plain_text, require_text, utc_now
from feederos.store._json import canonical_json
from feederos.store.audit import AuditLog
from feederos.store.database import Database
from feederos.store.errors import (
    NetworkNotFoundError,
    StoreError,
    VersionConflictError,
    VersionNotFoundError,
)
from feederos.store.tables import NetworkRow, VersionRow

__all__ = ["NetworkInfo", "NetworkStore", "StoredVersion", "VersionInfo"]


@dataclass(frozen=True)
class NetworkInfo:
    """A stored network.

    Attributes
    ----------
    id
        32 hex digits, given at creation.
    name
        The ``name`` of its latest version's document.
    created_at, created_by
        When (UTC) and by whom version 1 was saved.
    latest_version
        The number of its newest version.
    """

    id: str
    name: str
    created_at: datetime
    created_by: str
    latest_version: int


@dataclass(frozen=True)
class VersionInfo:
    """One version of a network, without its document.

    Attributes
    ----------
    network_id, version
        Which network, which version (1, 2, ...).
    author, created_at, message
        Who saved it, when (UTC), and why.
    sha256
        Hex digest of the canonical JSON text of the document.
    size_bytes
        Length of that text, UTF-8 encoded [bytes].
    """

    network_id: str
    version: int
    author: str
    created_at: datetime
    message: str
    sha256: str
    size_bytes: int


@dataclass(frozen=True)
class StoredVersion:
    """One version of a network with its document."""

    info: VersionInfo
    document: dict[str, Any]


class NetworkStore:
    """Creates, versions and reads networks of one database.

    Every write also records an audit entry (``network.create``, ``network.save``,
    actor = the author) in the same transaction.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._audit = AuditLog(db)

    def create(self, document: dict[str, Any], *, author: str, message: str) -> VersionInfo:
        """Store a new network as version 1.

        Parameters
        ----------
        document
            The network document: a JSON object with a non-empty ``name``.
        author
            Who saves it.
        message
            Why (may be empty).

        Returns
        -------
        VersionInfo
            Version 1 of the new network; ``network_id`` is its id.

        Raises
        ------
        StoreError
            The document is not a JSON object with a name, or the author is empty.
        """
        content = _Content.of(document)
        author = require_text(author, what="author")
        message = plain_text(message, what="message")
        network_id = new_id()
        now = utc_now()
        with self._db.session() as session:
            session.add(
                NetworkRow(
                    id=network_id,
                    name=content.name,
                    created_at=now,
                    created_by=author,
                    updated_at=now,
                    latest_version=1,
                )
            )
            session.flush()  # the network row before its version (foreign key)
            row = _add_version(session, network_id, 1, content, author, message, now)
            self._audit.record(
                author,
                "network.create",
                network_id,
                {"version": 1, "name": content.name, "sha256": content.sha256},
                session=session,
            )
        return _version_info(row)

    def save(
        self,
        network_id: str,
        document: dict[str, Any],
        *,
        author: str,
        message: str,
        base_version: int | None = None,
    ) -> VersionInfo:
        """Store ``document`` as the next version of a network.

        Parameters
        ----------
        network_id
            The network.
        document, author, message
            As for :meth:`create`.
        base_version
            The version the edit started from. If given and no longer the latest, the
            save is refused; if None, the document becomes the next version whatever
            was saved in between.

        Raises
        ------
        NetworkNotFoundError
            No network has this id.
        VersionConflictError
            ``base_version`` is not the latest version.
        StoreError
            A bad document, author or base version.
        """
        content = _Content.of(document)
        author = require_text(author, what="author")
        message = plain_text(message, what="message")
        if base_version is not None and (
            isinstance(base_version, bool) or not isinstance(base_version, int) or base_version < 1
        ):
            raise StoreError(
                f"base_version must be a version number (1, 2, ...) or None, not {base_version!r}"
            )
        if not isinstance(network_id, str) or "\x00" in network_id:  # NUL: no stored id
            raise NetworkNotFoundError(repr(network_id))
        now = utc_now()
        with self._db.session() as session:
            # The row lock (PostgreSQL; SQLite's write lock is taken at BEGIN) makes
            # concurrent saves of one network take their numbers one after the other.
            network = session.scalars(
                select(NetworkRow).where(NetworkRow.id == network_id).with_for_update()
            ).one_or_none()
            if network is None:
                raise NetworkNotFoundError(network_id)
            latest = network.latest_version
            if base_version is not None and base_version != latest:
                raise VersionConflictError(network_id, expected=base_version, latest=latest)
            version = latest + 1
            row = _add_version(session, network_id, version, content, author, message, now)
            network.latest_version = version
            network.name = content.name
            network.updated_at = now
            self._audit.record(
                author,
                "network.save",
                network_id,
                {"version": version, "base_version": base_version, "sha256": content.sha256},
                session=session,
            )
        return _version_info(row)

    def list(self) -> builtins.list[NetworkInfo]:
        """Every network, oldest first."""
        with self._db.session(readonly=True) as session:
            rows = session.scalars(
                select(NetworkRow).order_by(NetworkRow.created_at, NetworkRow.id)
            ).all()
            return [_network_info(r) for r in rows]

    def get(self, network_id: str) -> NetworkInfo:
        """One network; :class:`NetworkNotFoundError` if none has this id."""
        with self._db.session(readonly=True) as session:
            return _network_info(_network(session, network_id))

    def version(self, network_id: str, version: int | None = None) -> StoredVersion:
        """One version of a network with its document; the latest if ``version`` is None.

        Raises
        ------
        NetworkNotFoundError, VersionNotFoundError
            No such network, or no such version of it.
        StoreError
            The stored text does not match its sha256 (changed outside feederos).
        """
        with self._db.session(readonly=True) as session:
            latest = _network(session, network_id).latest_version
            number = latest if version is None else version
            if isinstance(number, bool) or not isinstance(number, int):
                raise StoreError(f"version must be a whole number or None, not {number!r}")
            row = session.get(VersionRow, (network_id, number))
            if row is None:
                raise VersionNotFoundError(network_id, number, latest)
            info = _version_info(row)
            text = row.document
        if hashlib.sha256(text.encode()).hexdigest() != info.sha256:
            raise StoreError(
                f"network {network_id} version {number}: the stored document does not "
                "match its sha256; it was altered outside feederos, restore it from a backup"
            )
        document: dict[str, Any] = json.loads(text)
        return StoredVersion(info, document)

    def versions(self, network_id: str) -> builtins.list[VersionInfo]:
        """Every version of a network, oldest first (without the documents)."""
        columns = [c for c in VersionRow.__table__.c if c.name != "document"]
        with self._db.session(readonly=True) as session:
            _network(session, network_id)
            rows = session.execute(
                select(*columns)
                .where(VersionRow.network_id == network_id)
                .order_by(VersionRow.version)
            ).all()
            return [VersionInfo(**r._asdict()) for r in rows]


@dataclass(frozen=True)
class _Content:
    """A document ready to store: its name, canonical text and digest."""

    name: str
    text: str
    sha256: str
    size_bytes: int

    @classmethod
    def of(cls, document: Any) -> _Content:
        if not isinstance(document, dict):
            raise StoreError(
                f"a network document must be a JSON object (dict), not {type(document).__name__}"
            )
        name = document.get("name")
        if not isinstance(name, str) or not name.strip():
            raise StoreError(f"the network document needs a non-empty string 'name', not {name!r}")
        plain_text(name, what="network name")
        text = canonical_json(document, what="network document")
        data = text.encode()
        return cls(name, text, hashlib.sha256(data).hexdigest(), len(data))


def _add_version(
    session: Session,
    network_id: str,
    version: int,
    content: _Content,
    author: str,
    message: str,
    now: datetime,
) -> VersionRow:
    row = VersionRow(
        network_id=network_id,
        version=version,
        author=author,
        created_at=now,
        message=message,
        sha256=content.sha256,
        size_bytes=content.size_bytes,
        document=content.text,
    )
    session.add(row)
    return row


def _network(session: Session, network_id: str) -> NetworkRow:
    if not isinstance(network_id, str) or "\x00" in network_id:  # NUL: no stored id
        raise NetworkNotFoundError(repr(network_id))
    row = session.get(NetworkRow, network_id)
    if row is None:
        raise NetworkNotFoundError(network_id)
    return row


def _network_info(row: NetworkRow) -> NetworkInfo:
    return NetworkInfo(row.id, row.name, row.created_at, row.created_by, row.latest_version)


def _version_info(row: VersionRow) -> VersionInfo:
    return VersionInfo(
        row.network_id,
        row.version,
        row.author,
        row.created_at,
        row.message,
        row.sha256,
        row.size_bytes,
    )
