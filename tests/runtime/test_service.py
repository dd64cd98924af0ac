"""The runtime process on its embedded broker: a signed app, live config, refusals, metrics."""

from __future__ import annotations

import io
import json
import shutil
import threading
import urllib.request
from pathlib import Path

import pytest

from feederos.errors import ConfigBundleError
from feederos.runtime.bundle import build_bundle
from feederos.runtime.bus.base import BusMessage
from feederos.runtime.bus.mqtt import MqttBus
from feederos.runtime.messages import AppConfig, AppState, AppStatus, decode
from feederos.runtime.service import FeederRuntime, RuntimeSettings
from feederos.runtime.signing import generate_keypair, load_private_key
from feederos.runtime.topics import app_config_topic, app_status_topic

ROOT = Path(__file__).resolve().parents[2]
GOOD = ROOT / "tests" / "data" / "runtime" / "config" / "good"
VW_CONFIG = {"ders": [{"asset": "inverter.pv675", "watch": "675"}]}


def _bundle(folder: Path, config: dict) -> Path:
    """A config bundle with the good topology and only a volt-watt config."""
    shutil.copytree(GOOD, folder)
    for extra in (folder / "apps").iterdir():
        extra.unlink()
    (folder / "apps" / "volt-watt.json").write_text(json.dumps(config))
    meta = folder / "bundle.toml"
    meta.write_text(meta.read_text().replace('"streetgrid-1"', '"svc"'))
    return folder


def _latest(bus: MqttBus, topic: str, kind, until, timeout_s: float = 15.0):
    seen: list = []
    ready = threading.Event()

    def on(message: BusMessage) -> None:
        seen.append(decode(message.payload, kind))
        if until(seen[-1]):
            ready.set()

    subscription = bus.subscribe(topic, on)
    try:
        assert ready.wait(timeout_s), f"no matching message on {topic}: {seen}"
    finally:
        bus.unsubscribe(subscription)
    return seen[-1]


def test_runtime_runs_a_signed_app_and_delivers_config_live(
    tmp_path: Path, unused_port: int
) -> None:
    private_pem, public = generate_keypair()
    (tmp_path / "dev.pem").write_bytes(private_pem)
    key = load_private_key(tmp_path / "dev.pem")
    home = tmp_path / "home"
    (home / "trusted_keys").mkdir(parents=True)
    (home / "trusted_keys" / "dev.pub.pem").write_bytes(public)
    bundle = build_bundle(ROOT / "examples" / "apps" / "volt-watt", tmp_path / "vw.fos", key=key)
    port = unused_port
    settings = RuntimeSettings(home=home, feeder_id="svc", heartbeat_s=0.5, metrics_port=port)
    with FeederRuntime(settings, log_stream=io.StringIO()) as runtime:
        runtime.apps.install(bundle)
        first = runtime.apply_config(str(_bundle(tmp_path / "one", VW_CONFIG)))
        runtime.apps.start_all()  # the app starts with the applied config
        probe = MqttBus(runtime.broker_url, client_id="probe")
        try:
            status = _latest(
                probe,
                app_status_topic("svc", "volt-watt"),
                AppStatus,
                lambda s: s.state is AppState.RUNNING,
            )
            assert status.version == "1.0.0"

            bad = _bundle(tmp_path / "bad", {"ders": [{"asset": "pv/1"}]})
            with pytest.raises(ConfigBundleError, match=r"volt-watt.*\$\.ders\[0\]\.asset"):
                runtime.apply_config(str(bad))
            assert runtime.configs.current().version == first.version  # the running one stays

            second_config = {"ders": [*VW_CONFIG["ders"], {"asset": "inverter.pv680"}]}
            second = runtime.apply_config(str(_bundle(tmp_path / "two", second_config)))
            delivered = _latest(
                probe,
                app_config_topic("svc", "volt-watt"),
                AppConfig,
                lambda c: c.bundle_version == second.version,
            )
            assert delivered.config == second_config
            back = runtime.rollback_config()
            delivered = _latest(
                probe,
                app_config_topic("svc", "volt-watt"),
                AppConfig,
                lambda c: c.bundle_version == back.version,
            )
            assert delivered.config == VW_CONFIG
            status = _latest(probe, app_status_topic("svc", "volt-watt"), AppStatus, lambda s: True)
            assert status.state is AppState.RUNNING  # took both configs live, no restart
            assert runtime.metrics.app_restarts.labels(app="volt-watt")._value.get() == 0

            metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
            assert b"fos_rollbacks_total" in metrics and b"fos_app_restarts_total" in metrics
        finally:
            probe.close()
