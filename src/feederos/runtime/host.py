"""The app host: connects one :class:`~feederos.runtime.app.App` to a bus and a clock.

The host is the app's :class:`~feederos.runtime.app.AppContext`. It subscribes to what
the app watches (within the app's topic grants), decodes payloads (a malformed one
becomes a warning event, never an exception in the app), runs timers, publishes the
app's heartbeat on ``feeder/<id>/apps/<app>/status`` and delivers live config. Callbacks
of one app run one at a time, whichever thread the bus or timer delivers on.

Timers and heartbeats fire from :meth:`AppHost.tick`: on the twin the co-simulation
calls it after moving the simulated clock; in the field :meth:`AppHost.run_until`
calls it on the wall clock.

Examples
--------
>>> from datetime import datetime, UTC
>>> from feederos.runtime.app import App
>>> from feederos.runtime.bus import InMemoryBus
>>> from feederos.runtime.clock import SimulatedClock
>>> from feederos.runtime.messages import Action, Measurement, encode
>>> class Opener(App):
...     def on_start(self) -> None:
...         self.ctx.watch("sw-1")
...     def on_measurement(self, m: Measurement) -> None:
...         self.ctx.command("sw-1", Action.OPEN)
>>> bus, clock = InMemoryBus(), SimulatedClock(datetime(2026, 1, 1, tzinfo=UTC))
>>> sent = []
>>> _ = bus.subscribe("feeder/f1/commands/+", lambda m: sent.append(m.topic))
>>> host = AppHost(Opener(), bus, feeder_id="f1", app_name="opener", clock=clock)
>>> host.start()
>>> bus.publish("feeder/f1/measurements/sw-1", encode(Measurement(
...     ts=clock.now(), asset="sw-1", quantity="i_a", value=412.0, unit="A")))
>>> sent
['feeder/f1/commands/sw-1']
>>> bus.publish("feeder/f1/measurements/sw-1", b"not json")  # reported, not raised
>>> host.malformed
1
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from feederos.errors import AppPermissionError, PayloadError
from feederos.runtime.app import App, timers_of
from feederos.runtime.bus.base import Bus, BusMessage, Subscription
from feederos.runtime.clock import Clock, WallClock
from feederos.runtime.logs import json_logger
from feederos.runtime.messages import (
    Action,
    AppConfig,
    AppState,
    AppStatus,
    Command,
    Event,
    Measurement,
    Message,
    Severity,
    decode,
    encode,
)
from feederos.runtime.metrics import RuntimeMetrics
from feederos.runtime.permissions import ALL_TOPICS, TopicPermissions
from feederos.runtime.topics import (
    app_config_topic,
    app_status_topic,
    check_id,
    command_topic,
    event_topic,
    measurement_topic,
)

__all__ = ["DEFAULT_HEARTBEAT_S", "AppHost"]

DEFAULT_HEARTBEAT_S = 2.0
"""Period of an app's status heartbeat [s]; the supervisor judges health by it."""


@dataclass(slots=True)
class _Timer:
    every_s: float
    call: Callable[[], None]
    next_s: float


class AppHost:
    """Runs one app on a bus; it is the app's context.

    Parameters
    ----------
    app
        The app object.
    bus
        Any :class:`~feederos.runtime.bus.base.Bus`.
    feeder_id, app_name, version
        Who the app is and where; they name its topics.
    clock
        Wall clock unless given (the twin passes a simulated one).
    permissions
        The app's topic grants (feeder-relative); everything if not given.
    config
        The app's initial config.
    heartbeat_s
        Status heartbeat period [s]; ``None`` for none (the twin).
    metrics, log_stream
        Where metrics go and where JSON logs are written (stderr).
    """

    def __init__(
        self,
        app: App,
        bus: Bus,
        *,
        feeder_id: str,
        app_name: str,
        version: str = "0.0.0",
        clock: Clock | None = None,
        permissions: TopicPermissions = ALL_TOPICS,
        config: Mapping[str, Any] | None = None,
        heartbeat_s: float | None = DEFAULT_HEARTBEAT_S,
        metrics: RuntimeMetrics | None = None,
        log_stream: Any = None,
    ) -> None:
        self.app = app
        self.bus = bus
        self._feeder_id = check_id(feeder_id, what="feeder id")
        self._app_name = check_id(app_name, what="app name")
        self.version = version
        self._clock: Clock = clock if clock is not None else WallClock()
        self.permissions = permissions
        self._config: dict[str, Any] = dict(config or {})
        self._config_version: int | None = None
        self.metrics = metrics if metrics is not None else RuntimeMetrics()
        # The app's own series, looked up once: labels() costs a dict lookup and a lock
        # on every message otherwise.
        m = self.metrics
        self._messages_in = m.messages_in.labels(app=app_name)
        self._messages_out = m.messages_out.labels(app=app_name)
        self._malformed = m.malformed.labels(app=app_name)
        self._handler_errors = m.handler_errors.labels(app=app_name)
        self._handler_latency = m.handler_latency.labels(app=app_name)
        self._log = json_logger(log_stream, app=app_name, version=version, feeder=feeder_id)
        self._lock = threading.RLock()
        self._subscriptions: dict[str, Subscription] = {}
        self._timers: list[_Timer] = []
        self._heartbeat_s = heartbeat_s
        self._next_heartbeat_s = 0.0
        self._state = AppState.STOPPED
        self.handled = 0
        """Messages handed to the app so far."""
        self.malformed = 0
        """Payloads refused as malformed so far."""
        self.commands: list[Command] = []
        """Every command the app sent, in order."""

    # -- AppContext ---------------------------------------------------------------
    @property
    def app_name(self) -> str:
        return self._app_name

    @property
    def feeder_id(self) -> str:
        return self._feeder_id

    @property
    def config(self) -> Mapping[str, Any]:
        return self._config

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def log(self) -> Any:
        return self._log

    def watch(self, asset: str) -> None:
        relative = f"measurements/{asset}"
        if not self.permissions.may_subscribe(relative):
            raise AppPermissionError(
                f"app {self._app_name!r} may not subscribe to {relative!r}; "
                f"its manifest grants subscribe={list(self.permissions.subscribe)}"
            )
        topic_filter = measurement_topic(self._feeder_id, asset)
        with self._lock:
            if topic_filter not in self._subscriptions:
                self._subscriptions[topic_filter] = self.bus.subscribe(
                    topic_filter, self._on_measurement_message, qos=1
                )

    def command(
        self,
        asset: str,
        action: Action,
        setpoint: float | None = None,
        *,
        expires_s: float | None = None,
    ) -> Command:
        ts = self._clock.now()
        expires = ts + timedelta(seconds=expires_s) if expires_s is not None else None
        command = Command(
            ts=ts,
            asset=asset,
            action=action,
            setpoint=setpoint,
            expires=expires,
            issuer=self._app_name,
        )
        self._publish(f"commands/{asset}", command_topic(self._feeder_id, asset), command)
        self.commands.append(command)
        return command

    def event(self, severity: Severity, text: str, **data: Any) -> Event:
        event = Event(
            ts=self._clock.now(), severity=severity, source=self._app_name, text=text, data=data
        )
        self._publish(f"events/{severity.value}", event_topic(self._feeder_id, severity), event)
        return event

    # -- lifecycle ----------------------------------------------------------------
    def start(self) -> None:
        """Hand the app its context, start it, its timers and heartbeat."""
        with self._lock:
            self.app.ctx = self
            self._state = AppState.STARTING
            now_s = self._clock.monotonic_s()
            self._timers = [
                _Timer(every_s, call, now_s + every_s) for every_s, call in timers_of(self.app)
            ]
            self._next_heartbeat_s = now_s
            self._timed("on_start", self.app.on_start)
            self._subscriptions["config"] = self.bus.subscribe(
                app_config_topic(self._feeder_id, self._app_name), self._on_config_message, qos=1
            )
            self._state = AppState.RUNNING
            self._log.info("app started")
            self._heartbeat()

    def stop(self) -> None:
        """Stop the app: ``on_stop``, unsubscribe, publish a final ``stopped`` status."""
        with self._lock:
            if self._state is AppState.STOPPED:
                return
            self._state = AppState.STOPPING
            self._timed("on_stop", self.app.on_stop)
            for subscription in self._subscriptions.values():
                self.bus.unsubscribe(subscription)
            self._subscriptions.clear()
            self._state = AppState.STOPPED
            self._publish_status()
            self._log.info("app stopped")

    def apply_config(self, config: Mapping[str, Any], *, bundle_version: int | None = None) -> None:
        """Make ``config`` current and tell the app (``on_config``) if it changed."""
        with self._lock:
            self._config_version = bundle_version
            if dict(config) == self._config:
                return  # a new bundle version that leaves this app's config as it was
            self._config = dict(config)
            if self._state is AppState.RUNNING:
                self._timed("on_config", lambda: self.app.on_config(self._config))

    def tick(self) -> int:
        """Fire the timers (and heartbeat) due by the clock's time; return how many fired.

        A timer that fell more than a period behind fires once and skips the missed
        runs, as a wall-clock scheduler would.
        """
        fired = 0
        with self._lock:
            if self._state is not AppState.RUNNING:
                return 0
            now_s = self._clock.monotonic_s()
            for timer in sorted(self._timers, key=lambda t: t.next_s):
                if timer.next_s <= now_s:
                    self._timed(getattr(timer.call, "__name__", "timer"), timer.call)
                    behind = int((now_s - timer.next_s) // timer.every_s) + 1
                    timer.next_s += behind * timer.every_s
                    fired += 1
            if self._heartbeat_s is not None and self._next_heartbeat_s <= now_s:
                self._heartbeat()
        return fired

    def next_due_s(self) -> float | None:
        """Monotonic time [s] of the next timer or heartbeat, or ``None``."""
        with self._lock:
            due = [t.next_s for t in self._timers]
            if self._heartbeat_s is not None:
                due.append(self._next_heartbeat_s)
            return min(due) if due else None

    def run_until(self, stop: threading.Event, *, max_sleep_s: float = 0.5) -> None:
        """Drive timers on the wall clock until ``stop`` is set."""
        while not stop.is_set():
            self.tick()
            due = self.next_due_s()
            wait_s = max_sleep_s if due is None else due - self._clock.monotonic_s()
            stop.wait(min(max(wait_s, 0.0), max_sleep_s))

    @property
    def state(self) -> AppState:
        return self._state

    # -- internals ----------------------------------------------------------------
    def _on_measurement_message(self, message: BusMessage) -> None:
        self._messages_in.inc()
        try:
            measurement = decode(message.payload, Measurement, topic=message.topic)
        except PayloadError as exc:
            self._refuse(message, exc)
            return
        with self._lock:
            if self._state is not AppState.RUNNING:
                return
            self.handled += 1
            self._timed("on_measurement", lambda: self.app.on_measurement(measurement))

    def _on_config_message(self, message: BusMessage) -> None:
        try:
            applied = decode(message.payload, AppConfig, topic=message.topic)
        except PayloadError as exc:
            self._refuse(message, exc)
            return
        self.apply_config(applied.config, bundle_version=applied.bundle_version)

    def _refuse(self, message: BusMessage, exc: PayloadError) -> None:
        self.malformed += 1
        self._malformed.inc()
        self._log.warning("malformed payload", topic=message.topic, error=str(exc))
        # The runtime's own report: not subject to the app's publish grants.
        event = Event(
            ts=self._clock.now(),
            severity=Severity.WARNING,
            source=self._app_name,
            text=f"malformed payload refused: {exc}",
            data={"topic": message.topic, "bytes": len(message.payload)},
        )
        self.bus.publish(event_topic(self._feeder_id, Severity.WARNING), encode(event), qos=1)

    def _timed(self, what: str, call: Callable[[], None]) -> None:
        start = time.perf_counter()
        try:
            call()
        except AppPermissionError:
            raise
        except Exception:
            # An app bug is logged and counted; it must not take down the host's thread.
            self._handler_errors.inc()
            self._log.exception("app callback failed", callback=what)
            if what == "on_start":
                self._state = AppState.FAILED
                self._publish_status()
                raise
        finally:
            self._handler_latency.observe(time.perf_counter() - start)

    def _publish(self, relative: str, topic: str, message: Message) -> None:
        if not self.permissions.may_publish(relative):
            raise AppPermissionError(
                f"app {self._app_name!r} may not publish on {relative!r}; "
                f"its manifest grants publish={list(self.permissions.publish)}"
            )
        self.bus.publish(topic, encode(message), qos=1)
        self._messages_out.inc()

    def _heartbeat(self) -> None:
        self._publish_status()
        if self._heartbeat_s is not None:
            self._next_heartbeat_s = self._clock.monotonic_s() + self._heartbeat_s

    def _publish_status(self) -> None:
        status = AppStatus(
            ts=self._clock.now(),
            app=self._app_name,
            version=self.version,
            state=self._state,
            pid=os.getpid(),
            handled=self.handled,
        )
        self.bus.publish(
            app_status_topic(self._feeder_id, self._app_name), encode(status), qos=1, retain=True
        )
