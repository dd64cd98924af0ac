"""The store's tables as SQLAlchemy declarative classes.

The schema itself is made by the migrations in ``feederos/store/migrations`` (never by
``metadata.create_all``); a test checks these classes and the migrated schema agree.
Rows are internal: the stores hand out frozen dataclasses, not these objects.

Tables: ``networks`` (one row per network, its latest version), ``network_versions``
(immutable documents), ``api_tokens`` (sha256 of each secret), ``audit_log`` (append
only) and ``jobs``.

Examples
--------
>>> sorted(Base.metadata.tables)
['api_tokens', 'audit_log', 'jobs', 'network_versions', 'networks']

On SQLite a time is stored as UTC wall time and read back timezone-aware:

>>> from datetime import timedelta, timezone
>>> from sqlalchemy.dialects import sqlite
>>> two_pm_cest = datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
>>> stored = UTCDateTime().process_bind_param(two_pm_cest, sqlite.dialect())
>>> stored.isoformat(), UTCDateTime().process_result_value(stored, sqlite.dialect()).isoformat()
('2024-05-01T12:00:00', '2024-05-01T12:00:00+00:00')
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from feederos.store.errors import StoreError

__all__ = [
    "ID_LENGTH",
    "AuditRow",
    "Base",
    "JobRow",
    "NetworkRow",
    "TokenRow",
    "UTCDateTime",
    "VersionRow",
]

ID_LENGTH = 32
"""Length of the generated ids (``uuid4().hex``)."""

# Named constraints, so migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so the UTC wall time is
    stored and UTC attached again on reading. A naive datetime is refused rather than
    guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise StoreError(f"naive datetime {value.isoformat()}: give a timezone-aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _json() -> Any:
    """JSON on SQLite, JSONB on PostgreSQL; ``None`` is SQL NULL, not JSON ``null``."""
    return JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class Base(DeclarativeBase):
    """Declarative base of the store's tables."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class NetworkRow(Base):
    """One network: its name (of the latest version) and latest version number."""

    __tablename__ = "networks"
    __table_args__ = (CheckConstraint("latest_version >= 1", name="latest_version_positive"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    latest_version: Mapped[int] = mapped_column(Integer)


class VersionRow(Base):
    """One immutable version of a network: the canonical JSON document and its digest."""

    __tablename__ = "network_versions"
    __table_args__ = (
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("size_bytes >= 0", name="size_nonnegative"),
    )

    network_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("networks.id"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    author: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    message: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    document: Mapped[str] = mapped_column(Text)


class TokenRow(Base):
    """One API token; only the sha256 of its secret is kept."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint("role IN ('viewer', 'engineer', 'admin')", name="role_known"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(Text)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditRow(Base):
    """One audit entry; the table is append only."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "target", "id"),)

    # BIGINT on PostgreSQL; SQLite autoincrements only an INTEGER primary key.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(_json())


class JobRow(Base):
    """One background job: what was asked, its state and outcome."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out')",
            name="status_known",
        ),
        CheckConstraint("progress >= 0 AND progress <= 1", name="progress_fraction"),
        Index(None, "status"),
        Index(None, "created_at"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    progress: Mapped[float] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    request: Mapped[dict[str, Any]] = mapped_column(_json())
    summary: Mapped[dict[str, Any] | None] = mapped_column(_json())
    error: Mapped[str | None] = mapped_column(Text)
