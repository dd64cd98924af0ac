"""The config history in SQLite, and live delivery of a version to running apps."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from feederos.errors import ConfigBundleError, RuntimeStateError
from feederos.runtime.app import App
from feederos.runtime.bus import InMemoryBus
from feederos.runtime.clock import SimulatedClock
from feederos.runtime.config_bundle import ConfigBundle, InvalidBundleError, read_bundle
from feederos.runtime.config_store import ConfigStore, publish_app_configs
from feederos.runtime.host import AppHost
from feederos.runtime.messages import AppConfig, decode

DATA = Path(__file__).resolve().parents[1] / "data" / "runtime" / "config"
SCHEMAS: dict[str, dict[str, Any]] = {
    "volt-watt": json.loads((DATA / "schemas" / "volt-watt.schema.json").read_text()),
    "logger": json.loads((DATA / "schemas" / "logger.schema.json").read_text()),
}
START = datetime(2026, 3, 1, 8, tzinfo=UTC)


def bundle(v1_pu: Any, *, source: str = "test") -> ConfigBundle:
    good = read_bundle(DATA / "good")
    configs = {**good.app_configs, "volt-watt": {**good.app_configs["volt-watt"], "v1_pu": v1_pu}}
    return ConfigBundle(
        feeder_id=good.feeder_id, topology=good.topology, app_configs=configs, source=source
    )


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


@pytest.fixture
def store(tmp_path: Path, clock: SimulatedClock) -> ConfigStore:
    return ConfigStore(tmp_path / "home", clock=clock)


def test_versions_history_and_reopen(store: ConfigStore, clock: SimulatedClock) -> None:
    assert store.current() is None and store.history() == []
    first = store.apply(bundle(1.06, source="git+/srv/cfg@aaa"), SCHEMAS, applied_by="ana")
    clock.advance(60.0)
    second = store.apply(bundle(1.07), SCHEMAS, applied_by="ben")
    assert (first.version, first.created, second.version, second.created) == (1, True, 2, True)
    reopened = ConfigStore(store.home)
    entries = reopened.history()
    assert [(e.version, e.applied_by, e.source, e.parent) for e in entries] == [
        (1, "ana", "git+/srv/cfg@aaa", None),
        (2, "ben", "test", 1),
    ]
    assert entries[1].ts == datetime(2026, 3, 1, 8, 1, tzinfo=UTC)
    current = reopened.current()
    assert current is not None and current.version == 2
    assert current.bundle == bundle(1.07)
    assert reopened.get(1).bundle.app_configs["volt-watt"]["v1_pu"] == 1.06
    with pytest.raises(ConfigBundleError, match="no config version 7"):
        reopened.get(7)


def test_identical_digest_adds_no_version(store: ConfigStore) -> None:
    store.apply(bundle(1.06), SCHEMAS, applied_by="ana")
    again = store.apply(bundle(1.06, source="elsewhere"), SCHEMAS, applied_by="ben")
    assert (again.version, again.created, again.record.applied_by) == (1, False, "ana")
    assert len(store.history()) == 1


def test_a_refused_bundle_changes_nothing(store: ConfigStore) -> None:
    store.apply(bundle(1.06), SCHEMAS, applied_by="ana")
    with pytest.raises(InvalidBundleError) as caught:
        store.apply(bundle("high"), SCHEMAS, applied_by="ana")
    assert [str(p) for p in caught.value.problems] == [
        "apps/volt-watt.json: $.v1_pu: 'high' is not of type 'number'"
    ]
    with pytest.raises(InvalidBundleError, match="'streetgrid-1' but this runtime serves 'f9'"):
        store.apply(bundle(1.07), SCHEMAS, applied_by="ana", feeder_id="f9")
    assert [e.version for e in store.history()] == [1]


def test_rollback_walks_back_as_new_entries(store: ConfigStore) -> None:
    with pytest.raises(ConfigBundleError, match="no config applied yet"):
        store.rollback(applied_by="ana")
    for v1_pu in (1.05, 1.06, 1.07):
        store.apply(bundle(v1_pu), SCHEMAS, applied_by="ana")
    back = store.rollback(applied_by="ben")
    assert (back.version, back.restores, back.bundle.digest) == (4, 2, store.get(2).digest)
    back = store.rollback(applied_by="ben")
    assert (back.version, back.restores) == (5, 1)
    with pytest.raises(ConfigBundleError, match="restores version 1, the first applied"):
        store.rollback(applied_by="ben")
    # Applying after a rollback: rolling back from it returns to what was current.
    store.apply(bundle(1.08), SCHEMAS, applied_by="ana")
    back = store.rollback(applied_by="ana")
    assert (back.version, back.restores, back.bundle.digest) == (7, 5, store.get(1).digest)
    assert [e.restores for e in ConfigStore(store.home).history()] == [
        None,
        None,
        None,
        2,
        1,
        None,
        5,
    ]


def test_rollback_checks_current_schemas(store: ConfigStore) -> None:
    store.apply(bundle(1.05), SCHEMAS, applied_by="ana")
    store.apply(bundle(1.06), SCHEMAS, applied_by="ana")
    upgraded = {
        **SCHEMAS,
        "volt-watt": {**SCHEMAS["volt-watt"], "properties": {"v1_pu": {"minimum": 1.055}}},
    }
    with pytest.raises(InvalidBundleError, match=r"\$.v1_pu: 1.05 is less than the minimum"):
        store.rollback(applied_by="ana", schemas=upgraded)
    assert len(store.history()) == 2


def test_concurrent_appliers_get_distinct_versions(store: ConfigStore) -> None:
    errors: list[BaseException] = []

    def apply(v1_pu: float) -> None:
        try:
            ConfigStore(store.home).apply(
                bundle(v1_pu), SCHEMAS, applied_by="t", check_topology=False
            )
        except BaseException as exc:  # reported below; a thread must not swallow it
            errors.append(exc)

    threads = [threading.Thread(target=apply, args=(1.0 + i / 100,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    entries = store.history()
    assert [e.version for e in entries] == list(range(1, 9))
    # Each entry's parent is the one before it: no two appliers saw the same current.
    assert [e.parent for e in entries] == [None, *range(1, 8)]


def test_corrupt_database_names_the_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(
        RuntimeStateError, match=f"{home / 'config.db'}: the config history is unreadable"
    ):
        ConfigStore(home)


def test_tampered_stored_bundle_is_refused(store: ConfigStore) -> None:
    store.apply(bundle(1.06), SCHEMAS, applied_by="ana")
    with sqlite3.connect(store.path) as db:
        text = db.execute("SELECT bundle FROM config_versions").fetchone()[0]
        db.execute(
            "UPDATE config_versions SET bundle = ?", (text.replace('"v1_pu":1.06', '"v1_pu":1.2'),)
        )
    db.close()
    with pytest.raises(RuntimeStateError, match="config version 1: stored bundle is damaged"):
        store.current()


# ------------------------------------------------------------------ live delivery


class Recorder(App):
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def on_config(self, config: Mapping[str, Any]) -> None:
        self.seen.append(dict(config))


def test_apply_refuse_rollback_reach_a_running_app(
    store: ConfigStore, clock: SimulatedClock
) -> None:
    bus = InMemoryBus()
    feeder = "streetgrid-1"
    app = Recorder()
    host = AppHost(app, bus, feeder_id=feeder, app_name="volt-watt", clock=clock, heartbeat_s=None)
    host.start()
    sent: list[AppConfig] = []
    bus.subscribe(
        f"feeder/{feeder}/apps/+/config", lambda m: sent.append(decode(m.payload, AppConfig))
    )

    v1 = store.apply(bundle(1.05), SCHEMAS, applied_by="ana")
    topics = publish_app_configs(bus, feeder, v1.record.bundle, v1.version, clock=clock)
    assert topics == [
        f"feeder/{feeder}/apps/logger/config",
        f"feeder/{feeder}/apps/volt-watt/config",
    ]
    assert [c["v1_pu"] for c in app.seen] == [1.05]

    v2 = store.apply(bundle(1.06), SCHEMAS, applied_by="ana")
    publish_app_configs(bus, feeder, v2.record.bundle, v2.version, clock=clock)
    assert [c["v1_pu"] for c in app.seen] == [1.05, 1.06]

    with pytest.raises(InvalidBundleError):
        store.apply(bundle("high"), SCHEMAS, applied_by="ana")
    current = store.current()
    assert current is not None and current.version == 2
    assert [c["v1_pu"] for c in app.seen] == [1.05, 1.06]
    assert host.config["v1_pu"] == 1.06

    back = store.rollback(applied_by="ana", schemas=SCHEMAS)
    publish_app_configs(bus, feeder, back.bundle, back.version, clock=clock)
    assert [c["v1_pu"] for c in app.seen] == [1.05, 1.06, 1.05]
    assert [(c.app, c.bundle_version) for c in sent[-2:]] == [("logger", 3), ("volt-watt", 3)]

    # Retained: an app started now gets the rolled-back config at once.
    late = Recorder()
    late_host = AppHost(
        late, bus, feeder_id=feeder, app_name="volt-watt", clock=clock, heartbeat_s=None
    )
    late_host.start()
    assert late_host.config["v1_pu"] == 1.05
    host.stop()
    late_host.stop()
    bus.close()


def test_publish_fills_installed_apps_without_config_and_checks_feeder() -> None:
    bus = InMemoryBus()
    clock = SimulatedClock(START)
    seen: dict[str, dict[str, Any]] = {}
    bus.subscribe(
        "feeder/f1/apps/+/config",
        lambda m: seen.update({m.topic: decode(m.payload, AppConfig).config}),
    )
    only_vw = ConfigBundle(
        feeder_id="f1", topology={"name": "n"}, app_configs={"volt-watt": {"v1_pu": 1.0}}
    )
    publish_app_configs(bus, "f1", only_vw, 4, clock=clock, installed=["logger"])
    assert seen == {
        "feeder/f1/apps/logger/config": {},
        "feeder/f1/apps/volt-watt/config": {"v1_pu": 1.0},
    }
    with pytest.raises(ConfigBundleError, match="is for feeder 'f1', not 'f2'"):
        publish_app_configs(bus, "f2", only_vw, 4, clock=clock)
    bus.close()


def test_store_home_that_cannot_be_made(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RuntimeStateError, match="cannot create the runtime home"):
        ConfigStore(blocker / "home")
    shutil.rmtree(tmp_path, ignore_errors=True)
