"""AuditLog: append-only entries, newest first, in the caller's transaction."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from feederos.store import AuditEntry, AuditLog, Database, StoreError


def test_record_and_read_back_newest_first(db: Database) -> None:
    log = AuditLog(db)
    assert log.entries() == []
    log.record("alice", "network.export", "n1", {"format": "dss", "bytes": 1024})
    log.record("bob", "job.cancel", "j1")
    log.record("carol", "network.export", "n1", {"nested": {"a": [1, 2.5, None]}})
    entries = log.entries()
    assert [(e.actor, e.action, e.target, e.detail) for e in entries] == [
        ("carol", "network.export", "n1", {"nested": {"a": [1, 2.5, None]}}),
        ("bob", "job.cancel", "j1", {}),
        ("alice", "network.export", "n1", {"format": "dss", "bytes": 1024}),
    ]
    assert entries[0].id > entries[1].id > entries[2].id
    assert entries[0].at >= entries[2].at
    assert all(e.at.utcoffset() == timedelta(0) for e in entries)
    assert all(isinstance(e, AuditEntry) for e in entries)


def test_filter_by_target_and_limit(db: Database) -> None:
    log = AuditLog(db)
    for i in range(5):
        log.record("a", "x.y", f"t{i % 2}", {"i": i})
    assert [e.detail["i"] for e in log.entries(target="t0")] == [4, 2, 0]
    assert [e.detail["i"] for e in log.entries(limit=2)] == [4, 3]
    assert [e.detail["i"] for e in log.entries(target="t1", limit=1)] == [3]
    assert log.entries(target="nobody") == []


@pytest.mark.parametrize("limit", [0, -1, 2.5, True, "10"])
def test_a_bad_limit_is_refused(db: Database, limit: Any) -> None:
    with pytest.raises(StoreError, match="limit must be a positive whole number"):
        AuditLog(db).entries(limit=limit)


def test_record_in_the_callers_transaction(db: Database) -> None:
    log = AuditLog(db)
    with pytest.raises(RuntimeError), db.session() as session:
        log.record("a", "x.y", "t", session=session)
        raise RuntimeError("the caller's change failed")
    assert log.entries() == []
    with db.session() as session:
        log.record("a", "x.y", "t", session=session)
    assert [e.action for e in log.entries()] == ["x.y"]


@pytest.mark.parametrize(
    ("args", "detail", "expected"),
    [
        (("", "x.y", "t"), None, "audit actor must be a non-empty string"),
        (("a", "", "t"), None, "audit action must be a non-empty string"),
        (("a", "x" * 65, "t"), None, "audit action 'x+'... is longer than 64 characters"),
        (("a", "x.y", ""), None, "audit target must be a non-empty string"),
        (("a", "x.y", "t"), ["not", "a", "dict"], "audit detail must be a JSON object"),
        (("a", "x.y", "t"), {"v": float("inf")}, r'audit detail\["v"\]: inf is not JSON'),
    ],
)
def test_bad_entries_are_refused(
    db: Database, args: tuple[str, str, str], detail: Any, expected: str
) -> None:
    log = AuditLog(db)
    with pytest.raises(StoreError, match=expected):
        log.record(*args, detail)
    assert log.entries() == []
