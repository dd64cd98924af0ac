"""Small helpers the stores share: ids, the clock, argument checks.

Examples
--------
>>> len(new_id()), utc_now().tzinfo
(32, datetime.timezone.utc)
>>> require_text("", what="author")
Traceback (most recent call last):
...
feederos.store.errors.StoreError: author must be a non-empty string, not ''
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from feederos.store.errors import StoreError

__all__ = ["new_id", "plain_text", "require_text", "utc_now"]


def new_id() -> str:
    """A new record id: 32 hex digits of a random UUID."""
    return uuid.uuid4().hex


def utc_now() -> datetime:
    """Now, timezone-aware in UTC."""
    return datetime.now(UTC)


def require_text(value: Any, *, what: str, max_length: int | None = None) -> str:
    """``value`` if it is a non-empty string (of at most ``max_length`` characters)."""
    if not isinstance(value, str) or not value.strip():
        raise StoreError(f"{what} must be a non-empty string, not {value!r}")
    plain_text(value, what=what)
    if max_length is not None and len(value) > max_length:
        raise StoreError(f"{what} {value[:40]!r}... is longer than {max_length} characters")
    return value


def plain_text(value: Any, *, what: str) -> str:
    """``value`` if it is a string (may be empty) without NUL characters."""
    if not isinstance(value, str):
        raise StoreError(f"{what} must be a string, not {type(value).__name__}")
    if "\x00" in value:  # PostgreSQL text cannot hold NUL; refuse it on SQLite too
        raise StoreError(f"{what} {value!r} holds a NUL character (\\x00); remove it")
    return value
