"""The Feeder OS runtime process (``fos run``): broker, apps, configs, events, metrics.

One object ties the pieces together for a feeder head or a street cabinet:

- the bus: MQTT to the broker the settings name, or — with none named — an embedded
  broker (:class:`~feederos.runtime.broker.EmbeddedBroker`) on loopback, so ``fos run``
  works on a laptop with nothing set up;
- the apps: :class:`~feederos.runtime.lifecycle.AppManager` runs the active version of
  every enabled app as a supervised process and watches their heartbeats;
- the configs: the current config bundle (:mod:`~feederos.runtime.config_store`) is
  published, retained, to every app at start and whenever one is applied;
- events from every app are written to the runtime's JSON log, and metrics are served
  for Prometheus on ``metrics_port``.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> settings = RuntimeSettings(home=Path(tempfile.mkdtemp()), feeder_id="f1")
>>> with FeederRuntime(settings) as runtime:       # embedded broker, no app installed
...     runtime.broker_url.startswith("mqtt://127.0.0.1:")
True
"""

from __future__ import annotations

import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from prometheus_client import start_http_server

from feederos.errors import PayloadError
from feederos.runtime.broker import EmbeddedBroker
from feederos.runtime.bus.base import BusMessage
from feederos.runtime.bus.mqtt import MqttBus
from feederos.runtime.clock import WallClock
from feederos.runtime.config_sources import fetch_bundle
from feederos.runtime.config_store import ConfigStore, ConfigVersion, publish_app_configs
from feederos.runtime.host import DEFAULT_HEARTBEAT_S
from feederos.runtime.lifecycle import AppManager
from feederos.runtime.logs import json_logger
from feederos.runtime.messages import Event, decode
from feederos.runtime.metrics import RuntimeMetrics
from feederos.runtime.topics import check_id, event_topic

__all__ = ["FeederRuntime", "RuntimeSettings"]

RUNTIME_CLIENT = "fos-runtime"
EVENTS_KEPT = 1000
"""Events the runtime keeps in memory: it runs for months, so not all of them."""


@dataclass(frozen=True, slots=True)
class RuntimeSettings:
    """Where the runtime keeps its state, which feeder it serves and how it is reached."""

    home: Path
    """Runtime home: ``state.db``, ``config.db``, ``apps/``, ``logs/``, ``trusted_keys/``."""
    feeder_id: str
    broker_url: str | None = None
    """``mqtt://host:port`` of the broker; ``None`` starts an embedded one on loopback."""
    metrics_port: int | None = None
    """Port to serve Prometheus metrics on (all interfaces); ``None`` for none."""
    heartbeat_s: float = DEFAULT_HEARTBEAT_S
    """Apps' heartbeat period [s]; an app is unhealthy after three missed."""


class FeederRuntime:
    """The running Feeder OS of one feeder; a context manager (start on enter)."""

    def __init__(self, settings: RuntimeSettings, *, log_stream: Any = None) -> None:
        check_id(settings.feeder_id, what="feeder id")
        self.settings = settings
        self.metrics = RuntimeMetrics()
        self.log = json_logger(
            log_stream or sys.stderr, component="runtime", feeder=settings.feeder_id
        )
        self.events: deque[Event] = deque(maxlen=EVENTS_KEPT)
        """The latest events seen on the feeder's event topics (the log has them all)."""
        self.configs = ConfigStore(settings.home)
        self._broker: EmbeddedBroker | None = None
        self._bus: MqttBus | None = None
        self._apps: AppManager | None = None
        self._metrics_server: Any = None

    @property
    def broker_url(self) -> str:
        if self.settings.broker_url is not None:
            return self.settings.broker_url
        if self._broker is None:
            raise RuntimeError("the runtime is not started")
        return self._broker.url

    @property
    def apps(self) -> AppManager:
        if self._apps is None:
            raise RuntimeError("the runtime is not started")
        return self._apps

    def start(self) -> Self:
        """Connect (or start the embedded broker), publish configs, start the apps."""
        s = self.settings
        s.home.mkdir(parents=True, exist_ok=True)
        if s.broker_url is None:
            self._broker = EmbeddedBroker().start()
            self.log.info("embedded broker started", url=self._broker.url)
        self._bus = MqttBus(
            self.broker_url, client_id=f"{RUNTIME_CLIENT}-{s.feeder_id}", username=RUNTIME_CLIENT
        )
        self._bus.subscribe(event_topic(s.feeder_id, "+"), self._on_event)
        self._apps = AppManager(
            s.home,
            bus=self._bus,
            feeder_id=s.feeder_id,
            broker_url=self.broker_url,
            metrics=self.metrics,
            heartbeat_s=s.heartbeat_s,
        )
        current = self.configs.current()
        if current is not None:
            self._publish_configs(current)
        started = self._apps.start_all()
        if s.metrics_port is not None:
            self._metrics_server, _ = start_http_server(
                s.metrics_port, registry=self.metrics.registry
            )
        self.log.info("runtime started", broker=self.broker_url, apps=started)
        return self

    def apply_config(
        self, source: str, *, ref: str | None = None, applied_by: str = "fos"
    ) -> ConfigVersion:
        """Fetch a config bundle, check it against the installed apps' schemas, record it
        as a new version and deliver it to the apps live. A bundle with any problem is
        refused (:class:`~feederos.errors.ConfigBundleError`) and the running config stays."""
        bundle = fetch_bundle(source, ref=ref)
        result = self.configs.apply(
            bundle, self._schemas(), applied_by=applied_by, feeder_id=self.settings.feeder_id
        )
        if result.created:
            self._publish_configs(result.record)
        return result.record

    def rollback_config(self, *, applied_by: str = "fos") -> ConfigVersion:
        """Return to the config applied before the current one, and deliver it."""
        record = self.configs.rollback(applied_by=applied_by, schemas=self._schemas())
        self._publish_configs(record)
        return record

    def stop(self) -> None:
        """Stop the apps, close the bus, stop the embedded broker and the metrics server."""
        if self._apps is not None:
            self._apps.close()
            self._apps = None
        if self._bus is not None:
            self._bus.close()
            self._bus = None
        if self._broker is not None:
            self._broker.stop()
            self._broker = None
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
            self._metrics_server.server_close()
            self._metrics_server = None
        self.log.info("runtime stopped")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _schemas(self) -> dict[str, dict[str, Any]]:
        apps = self.apps
        return {a.name: apps.manifest(a.name, a.active).config_schema for a in apps.list_apps()}

    def _publish_configs(self, record: ConfigVersion) -> None:
        assert self._bus is not None and self._apps is not None
        installed = [a.name for a in self._apps.list_apps()]
        publish_app_configs(
            self._bus,
            self.settings.feeder_id,
            record.bundle,
            record.version,
            clock=WallClock(),
            installed=installed,
        )
        self.log.info("config delivered", version=record.version, apps=installed)

    def _on_event(self, message: BusMessage) -> None:
        try:
            event = decode(message.payload, Event, topic=message.topic)
        except PayloadError as exc:
            self.log.warning("malformed event", topic=message.topic, error=str(exc))
            return
        self.events.append(event)
        self.log.info(
            "event",
            severity=event.severity.value,
            source=event.source,
            text=event.text,
            data=event.data,
        )
