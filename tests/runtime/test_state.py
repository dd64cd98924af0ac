"""The state database: persistence across reopen, atomic transactions, bad files refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from feederos.errors import RuntimeStateError
from feederos.runtime.state import RuntimeState


def test_state_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with RuntimeState.open(path) as state:
        with state.transaction() as tx:
            state.add_version("echo", "1.0.0", path=tmp_path / "a", manifest={"k": 1}, db=tx)
            state.set_active("echo", "1.0.0", enabled=True, db=tx)
            state.record("echo", "install", to_version="1.0.0", outcome="ok", db=tx)
        state.add_version("echo", "2.0.0", path=tmp_path / "b", manifest={}, signed_by="abc")
        state.set_active("echo", "2.0.0", previous="1.0.0")
        state.set_config("echo", {"gain": 2.0})
        state.record(
            "echo",
            "upgrade",
            from_version="1.0.0",
            to_version="2.0.0",
            outcome="rolled_back",
            detail="exited",
        )
    assert (tmp_path / "state.db-wal").exists() or path.exists()
    with RuntimeState.open(path, read_only=True) as state:
        app = state.app("echo")
        assert app is not None
        assert (app.active, app.previous, app.enabled, app.config) == (
            "2.0.0",
            "1.0.0",
            True,
            {"gain": 2.0},
        )
        assert [(v.version, v.signed_by, v.manifest) for v in state.versions("echo")] == [
            ("1.0.0", None, {"k": 1}),
            ("2.0.0", "abc", {}),
        ]
        history = state.history("echo")
        assert [(h.action, h.outcome) for h in history] == [
            ("install", "ok"),
            ("upgrade", "rolled_back"),
        ]
        assert history[0].ts <= history[1].ts
        assert state.app("other") is None
        mode = state._db.execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"


def test_failed_transaction_changes_nothing(tmp_path: Path) -> None:
    with RuntimeState.open(tmp_path / "state.db") as state:
        state.add_version("echo", "1.0.0", path=tmp_path, manifest={})
        with pytest.raises(RuntimeError, match="crash"), state.transaction() as tx:
            state.set_active("echo", "1.0.0", db=tx)
            state.record("echo", "install", outcome="ok", db=tx)
            raise RuntimeError("crash mid-operation")
        assert state.apps() == [] and state.history() == []
        with pytest.raises(RuntimeStateError, match=r"echo 1\.0\.0 is already installed"):
            state.add_version("echo", "1.0.0", path=tmp_path, manifest={})


def test_corrupt_and_foreign_files_are_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(RuntimeStateError, match=r"junk\.db: not a Feeder OS state database"):
        RuntimeState.open(junk)
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE t (x)")
    db.close()
    with pytest.raises(RuntimeStateError, match=r"foreign\.db: .*no schema_version"):
        RuntimeState.open(foreign)
    newer = tmp_path / "newer.db"
    RuntimeState.open(newer).close()
    with sqlite3.connect(newer) as db:
        db.execute("UPDATE schema_version SET version = 99")
    db.close()
    with pytest.raises(RuntimeStateError, match="schema version 99"):
        RuntimeState.open(newer)
    with pytest.raises(RuntimeStateError, match="no runtime state"):
        RuntimeState.open(tmp_path / "absent.db", read_only=True)
