"""NetworkStore: versions, conflicts, concurrency, canonical JSON (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from feederos.store import (
    AuditLog,
    Database,
    NetworkNotFoundError,
    NetworkStore,
    StoreError,
    VersionConflictError,
    VersionNotFoundError,
)
from feederos.store.audit import AuditLog as AuditLogClass

DOC: dict[str, Any] = {
    "name": "Überlandwerk feeder",
    "schema_version": "1.0",
    "base_frequency_hz": 50.0,
    "buses": [{"name": "b1", "v_kv": 0.4}, {"name": "b2", "xy_m": [1.5, -2.25]}],
}


def _canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def assert_utc(moment: datetime) -> None:
    assert moment.tzinfo is not None
    assert moment.utcoffset() == timedelta(0)


def test_create_stores_version_1(db: Database) -> None:
    networks = NetworkStore(db)
    v1 = networks.create(DOC, author="alice", message="imported")
    assert len(v1.network_id) == 32 and int(v1.network_id, 16) >= 0
    assert (v1.version, v1.author, v1.message) == (1, "alice", "imported")
    assert v1.sha256 == hashlib.sha256(_canonical(DOC)).hexdigest()
    assert v1.size_bytes == len(_canonical(DOC))
    assert_utc(v1.created_at)
    info = networks.get(v1.network_id)
    assert (info.id, info.name, info.created_by, info.latest_version) == (
        v1.network_id,
        "Überlandwerk feeder",
        "alice",
        1,
    )
    assert info.created_at == v1.created_at
    assert_utc(info.created_at)
    stored = networks.version(v1.network_id)
    assert stored.info == v1
    assert stored.document == DOC


def test_stored_text_is_canonical_json(db: Database) -> None:
    networks = NetworkStore(db)
    v1 = networks.create(DOC, author="a", message="")
    reordered = dict(reversed(list(DOC.items())))
    v2 = networks.save(v1.network_id, reordered, author="a", message="same, reordered")
    assert v2.sha256 == v1.sha256
    with db.session(readonly=True) as session:
        stored = session.execute(
            text("SELECT document FROM network_versions WHERE version = 1")
        ).scalar_one()
    assert stored.encode() == _canonical(DOC)


def test_save_makes_the_next_version_and_keeps_the_old(db: Database) -> None:
    networks = NetworkStore(db)
    v1 = networks.create(DOC, author="alice", message="first")
    changed = {**DOC, "name": "renamed", "buses": DOC["buses"][:1]}
    v2 = networks.save(v1.network_id, changed, author="bob", message="trim", base_version=1)
    v3 = networks.save(v1.network_id, changed, author="carol", message="again")
    assert [v.version for v in (v1, v2, v3)] == [1, 2, 3]
    assert networks.versions(v1.network_id) == [v1, v2, v3]
    assert networks.version(v1.network_id, 1).document == DOC
    assert networks.version(v1.network_id, 2).document == changed
    assert networks.version(v1.network_id).info == v3
    info = networks.get(v1.network_id)
    assert (info.name, info.latest_version, info.created_by) == ("renamed", 3, "alice")
    assert v1.created_at <= v2.created_at <= v3.created_at


def test_list_shows_every_network_oldest_first(db: Database) -> None:
    networks = NetworkStore(db)
    assert networks.list() == []
    ids = [networks.create({"name": f"n{i}"}, author="a", message="").network_id for i in range(3)]
    networks.save(ids[0], {"name": "n0b"}, author="b", message="")
    listed = networks.list()
    assert [n.id for n in listed] == ids
    assert [(n.name, n.latest_version) for n in listed] == [("n0b", 2), ("n1", 1), ("n2", 1)]
    for n in listed:
        assert_utc(n.created_at)


def test_a_stale_base_version_is_a_conflict(db: Database) -> None:
    networks = NetworkStore(db)
    v1 = networks.create(DOC, author="a", message="")
    networks.save(v1.network_id, DOC, author="b", message="", base_version=1)
    with pytest.raises(VersionConflictError) as caught:
        networks.save(v1.network_id, DOC, author="c", message="", base_version=1)
    error = caught.value
    assert (error.network_id, error.expected, error.latest) == (v1.network_id, 1, 2)
    assert str(error).startswith(
        f"network {v1.network_id}: version conflict: the edit was based on version 1 but "
        "the latest version is 2"
    )
    with pytest.raises(VersionConflictError):  # a base from the future conflicts too
        networks.save(v1.network_id, DOC, author="c", message="", base_version=7)
    assert networks.get(v1.network_id).latest_version == 2


@pytest.mark.parametrize("base", [0, -1, 1.0, "1", True])
def test_a_bad_base_version_is_refused(db: Database, base: Any) -> None:
    networks = NetworkStore(db)
    v1 = networks.create(DOC, author="a", message="")
    with pytest.raises(StoreError, match="base_version must be a version number"):
        networks.save(v1.network_id, DOC, author="a", message="", base_version=base)


def test_unknown_ids_and_versions_are_named(db: Database) -> None:
    networks = NetworkStore(db)
    missing = "0" * 32
    calls: list[Callable[[], object]] = [
        lambda: networks.get(missing),
        lambda: networks.version(missing),
        lambda: networks.versions(missing),
        lambda: networks.save(missing, DOC, author="a", message=""),
    ]
    for call in calls:
        with pytest.raises(NetworkNotFoundError, match=f"no network with id '{missing}'") as e:
            call()
        assert e.value.network_id == missing
        assert isinstance(e.value, LookupError)
    with pytest.raises(NetworkNotFoundError, match="no network with id '42'"):
        networks.get(42)  # type: ignore[arg-type]
    with pytest.raises(NetworkNotFoundError):
        networks.save(42, DOC, author="a", message="")  # type: ignore[arg-type]
    v1 = networks.create(DOC, author="a", message="")
    for number in (0, 2, -1):
        with pytest.raises(
            VersionNotFoundError, match=f"no version {number}; its versions are 1 to 1"
        ) as caught:
            networks.version(v1.network_id, number)
        assert (caught.value.version, caught.value.latest) == (number, 1)
    with pytest.raises(StoreError, match="version must be a whole number or None"):
        networks.version(v1.network_id, "1")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ([], "must be a JSON object \\(dict\\), not list"),
        ({"buses": []}, "needs a non-empty string 'name', not None"),
        ({"name": "  "}, "needs a non-empty string 'name'"),
        ({"name": "n", "x": [1.0, float("nan")]}, r'network document\["x"\]\[1\]: nan is not JSON'),
        ({"name": "n", "x": {1: 2}}, "key 1 is not a string"),
        ({"name": "n", "x": ["a\x00b"]}, r'\["x"\]\[0\]: a string holds a NUL character'),
        ({"name": "n", "\x00": 1}, r'document key "\\u0000": a string holds a NUL'),
        ({"name": "n", "at": datetime(2024, 1, 1)}, r'\["at"\]: a datetime is not JSON'),
    ],
)
def test_bad_documents_are_refused_with_the_reason(
    db: Database, document: Any, expected: str
) -> None:
    networks = NetworkStore(db)
    with pytest.raises(StoreError, match=expected):
        networks.create(document, author="a", message="")
    assert networks.list() == []


def test_bad_author_or_message(db: Database) -> None:
    networks = NetworkStore(db)
    with pytest.raises(StoreError, match="author must be a non-empty string, not ''"):
        networks.create(DOC, author="", message="")
    with pytest.raises(StoreError, match="message must be a string, not NoneType"):
        networks.create(DOC, author="a", message=None)  # type: ignore[arg-type]
    with pytest.raises(StoreError, match=r"message 'a\\x00' holds a NUL character"):
        networks.create(DOC, author="a", message="a\x00")
    with pytest.raises(StoreError, match="author 'b\\\\x00' holds a NUL character"):
        networks.create(DOC, author="b\x00", message="")
    assert networks.list() == []


def test_every_write_is_audited_in_its_transaction(db: Database) -> None:
    networks = NetworkStore(db)
    v1 = networks.create(DOC, author="alice", message="")
    networks.save(v1.network_id, DOC, author="bob", message="", base_version=1)
    entries = AuditLog(db).entries(target=v1.network_id)
    assert [(e.actor, e.action, e.detail) for e in entries] == [
        ("bob", "network.save", {"version": 2, "base_version": 1, "sha256": v1.sha256}),
        ("alice", "network.create", {"version": 1, "name": DOC["name"], "sha256": v1.sha256}),
    ]


def test_a_failed_audit_write_undoes_the_save(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    networks = NetworkStore(db)
    v1 = networks.create(DOC, author="a", message="")

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("audit unavailable")

    monkeypatch.setattr(AuditLogClass, "record", broken)
    with pytest.raises(RuntimeError):
        networks.create(DOC, author="a", message="")
    with pytest.raises(RuntimeError):
        networks.save(v1.network_id, DOC, author="a", message="")
    assert [n.id for n in networks.list()] == [v1.network_id]
    assert networks.versions(v1.network_id) == [v1]


def test_concurrent_saves_get_distinct_consecutive_versions(db: Database) -> None:
    networks = NetworkStore(db)
    network_id = networks.create(DOC, author="a", message="").network_id
    threads_n, saves_n = 6, 4
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads_n)

    def saver(k: int) -> None:
        barrier.wait()
        try:
            for i in range(saves_n):
                networks.save(network_id, {**DOC, "k": k, "i": i}, author=f"t{k}", message="")
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=saver, args=(k,)) for k in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    versions = [v.version for v in networks.versions(network_id)]
    assert versions == list(range(1, threads_n * saves_n + 2))
    assert networks.get(network_id).latest_version == threads_n * saves_n + 1
    assert len(AuditLog(db).entries(target=network_id, limit=1000)) == len(versions)


def test_concurrent_saves_on_one_base_let_exactly_one_win(db: Database) -> None:
    networks = NetworkStore(db)
    network_id = networks.create(DOC, author="a", message="").network_id
    threads_n = 6
    outcomes: list[object] = []
    barrier = threading.Barrier(threads_n)

    def saver(k: int) -> None:
        barrier.wait()
        try:
            outcomes.append(
                networks.save(
                    network_id, {**DOC, "k": k}, author=f"t{k}", message="", base_version=1
                ).version
            )
        except VersionConflictError as exc:
            outcomes.append((exc.expected, exc.latest))

    threads = [threading.Thread(target=saver, args=(k,)) for k in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes, key=str) == sorted([2] + [(1, 2)] * (threads_n - 1), key=str)
    assert [v.version for v in networks.versions(network_id)] == [1, 2]


def test_a_document_altered_outside_feederos_is_detected(db: Database) -> None:
    networks = NetworkStore(db)
    v1 = networks.create(DOC, author="a", message="")
    if db.engine.dialect.name == "sqlite":
        bypass = ["DROP TRIGGER network_versions_no_update"]
    else:
        bypass = ["ALTER TABLE network_versions DISABLE TRIGGER network_versions_immutable"]
    with db.session() as session:
        for statement in bypass:
            session.execute(text(statement))
        session.execute(text('UPDATE network_versions SET document = \'{"name":"evil"}\''))
    with pytest.raises(
        StoreError,
        match=f"network {v1.network_id} version 1: the stored document does not match its sha256",
    ):
        networks.version(v1.network_id)


def test_results_are_frozen(db: Database) -> None:
    networks = NetworkStore(db)
    v1 = networks.create(DOC, author="a", message="")
    for value in (v1, networks.get(v1.network_id), networks.version(v1.network_id)):
        with pytest.raises(dataclasses.FrozenInstanceError):
            value.network_id = "x"  # type: ignore[misc, union-attr]
