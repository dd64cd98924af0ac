"""TokenStore and Role: secrets hashed, authenticate, revoke (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from feederos.store import (
    AuditLog,
    Database,
    Role,
    StoreError,
    TokenInfo,
    TokenNotFoundError,
    TokenStore,
)


def test_create_returns_the_secret_once_and_stores_only_its_hash(db: Database) -> None:
    tokens = TokenStore(db)
    info, secret = tokens.create("ci", Role.ENGINEER, actor="root")
    assert secret.startswith("fos_") and len(secret) == 4 + 43
    assert (info.name, info.role, info.created_by, info.revoked_at) == (
        "ci",
        Role.ENGINEER,
        "root",
        None,
    )
    assert len(info.id) == 32
    assert info.created_at.utcoffset() == timedelta(0)
    with db.session(readonly=True) as session:
        row = session.execute(text("SELECT * FROM api_tokens")).mappings().one()
    assert row["secret_sha256"] == hashlib.sha256(secret.encode()).hexdigest()
    assert not any(secret in str(value) or secret[4:] in str(value) for value in row.values())


def test_two_tokens_have_different_secrets(db: Database) -> None:
    tokens = TokenStore(db)
    (_, a), (_, b) = (
        tokens.create("a", Role.VIEWER, actor="r"),
        tokens.create("a", Role.VIEWER, actor="r"),
    )
    assert a != b


def test_authenticate(db: Database) -> None:
    tokens = TokenStore(db)
    info, secret = tokens.create("laptop", Role.ADMIN, actor="root")
    assert tokens.authenticate(secret) == info
    other, other_secret = tokens.create("ci", Role.VIEWER, actor="root")
    assert tokens.authenticate(other_secret) == other
    for wrong in (secret[:-1], secret + "x", secret[4:], "fos_", "", "Bearer " + secret):
        assert tokens.authenticate(wrong) is None
    assert tokens.authenticate(None) is None  # type: ignore[arg-type]


def test_a_revoked_token_never_authenticates(db: Database) -> None:
    tokens = TokenStore(db)
    info, secret = tokens.create("ci", Role.ENGINEER, actor="root")
    revoked = tokens.revoke(info.id, actor="admin")
    assert revoked.revoked_at is not None
    assert revoked.revoked_at.utcoffset() == timedelta(0)
    assert revoked.revoked_at >= info.created_at
    assert tokens.authenticate(secret) is None
    again = tokens.revoke(info.id, actor="someone else")  # changes nothing
    assert again == revoked
    assert tokens.list() == [revoked]


def test_list_shows_every_token_oldest_first(db: Database) -> None:
    tokens = TokenStore(db)
    assert tokens.list() == []
    made = [tokens.create(f"t{i}", Role.VIEWER, actor="r")[0] for i in range(3)]
    revoked = tokens.revoke(made[1].id, actor="r")
    assert tokens.list() == [made[0], revoked, made[2]]


def test_revoking_an_unknown_token(db: Database) -> None:
    tokens = TokenStore(db)
    with pytest.raises(TokenNotFoundError, match="no API token with id 'nope'") as caught:
        tokens.revoke("nope", actor="r")
    assert caught.value.token_id == "nope"
    with pytest.raises(TokenNotFoundError, match="no API token with id '7'"):
        tokens.revoke(7, actor="r")  # type: ignore[arg-type]


def test_token_writes_are_audited(db: Database) -> None:
    tokens = TokenStore(db)
    info, _ = tokens.create("ci", Role.ENGINEER, actor="root")
    tokens.revoke(info.id, actor="admin")
    tokens.revoke(info.id, actor="admin")
    entries = AuditLog(db).entries(target=info.id)
    assert [(e.actor, e.action, e.detail) for e in entries] == [
        ("admin", "token.revoke", {"name": "ci"}),
        ("root", "token.create", {"name": "ci", "role": "engineer"}),
    ]


@pytest.mark.parametrize(
    ("name", "role", "actor", "expected"),
    [
        ("", Role.ADMIN, "r", "token name must be a non-empty string"),
        ("n", "superuser", "r", "unknown role 'superuser'; use one of viewer, engineer, admin"),
        ("n", Role.ADMIN, "", "actor must be a non-empty string"),
    ],
)
def test_bad_token_arguments(db: Database, name: str, role: Any, actor: str, expected: str) -> None:
    tokens = TokenStore(db)
    with pytest.raises(StoreError, match=expected):
        tokens.create(name, role, actor=actor)
    assert tokens.list() == []


def test_a_role_given_as_text_is_accepted(db: Database) -> None:
    info, _ = TokenStore(db).create("n", "admin", actor="r")  # type: ignore[arg-type]
    assert info.role is Role.ADMIN
    assert isinstance(info, TokenInfo)


def test_roles_are_ordered() -> None:
    order = [Role.VIEWER, Role.ENGINEER, Role.ADMIN]
    for i, have in enumerate(order):
        for j, needed in enumerate(order):
            assert have.allows(needed) is (i >= j), (have, needed)
    assert Role.ADMIN.allows("viewer")  # type: ignore[arg-type]
    assert Role("engineer") is Role.ENGINEER and str(Role.ENGINEER) == "engineer"
