"""The app host: permissions, malformed payloads, timers, heartbeat, config, stop."""

from __future__ import annotations

import io
import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from feederos.errors import AppPermissionError
from feederos.runtime.app import App, on_timer
from feederos.runtime.bus import InMemoryBus
from feederos.runtime.clock import SimulatedClock
from feederos.runtime.host import AppHost
from feederos.runtime.messages import (
    Action,
    AppConfig,
    AppState,
    AppStatus,
    Event,
    Measurement,
    Severity,
    decode,
    encode,
)
from feederos.runtime.permissions import TopicPermissions

T0 = datetime(2026, 6, 1, tzinfo=UTC)
GRANTS = TopicPermissions(subscribe=("measurements/+",), publish=("commands/+", "events/+"))


class Recorder(App):
    """Watches pv-1, answers each over-voltage with a curtailment; records callbacks."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.configs: list[dict] = []

    def on_start(self) -> None:
        self.calls.append("start")
        self.ctx.watch("pv-1")

    def on_measurement(self, m: Measurement) -> None:
        self.calls.append(f"m:{m.value}")
        if m.value < 0:
            raise RuntimeError("app bug")
        if m.value > 1.05:
            self.ctx.command("pv-1", Action.SET_P_LIMIT_PCT, 50.0, expires_s=900.0)

    def on_config(self, config) -> None:
        self.configs.append(dict(config))

    def on_stop(self) -> None:
        self.calls.append("stop")

    @on_timer(every=60.0)
    def poll(self) -> None:
        self.calls.append(f"timer@{self.ctx.clock.monotonic_s():.0f}")


@pytest.fixture
def rig():
    bus, clock = InMemoryBus(), SimulatedClock(T0)
    seen: dict[str, list] = {"commands": [], "events": [], "status": []}
    bus.subscribe("feeder/f1/commands/+", lambda m: seen["commands"].append(m))
    bus.subscribe("feeder/f1/events/+", lambda m: seen["events"].append(m))
    bus.subscribe("feeder/f1/apps/rec/status", lambda m: seen["status"].append(m))
    app = Recorder()
    log = io.StringIO()
    host = AppHost(
        app,
        bus,
        feeder_id="f1",
        app_name="rec",
        version="1.2.0",
        clock=clock,
        permissions=GRANTS,
        heartbeat_s=30.0,
        log_stream=log,
    )
    return bus, clock, app, host, seen, log


def _measure(bus, value, asset="pv-1"):
    m = Measurement(ts=T0, asset=asset, quantity="v_pu", value=value, unit="pu")
    bus.publish(f"feeder/f1/measurements/{asset}", encode(m))


def test_measurements_in_commands_out(rig):
    bus, _clock, app, host, seen, _ = rig
    host.start()
    _measure(bus, 1.02)
    _measure(bus, 1.07)
    _measure(bus, 1.09, asset="pv-2")  # not watched
    assert app.calls == ["start", "m:1.02", "m:1.07"]
    (message,) = seen["commands"]
    assert message.topic == "feeder/f1/commands/pv-1" and message.qos == 1
    command = decode(message.payload, type(host.commands[0]))
    assert command == host.commands[0]
    assert command.issuer == "rec" and command.setpoint == 50.0
    assert command.expires - command.ts == timedelta(seconds=900)
    assert host.handled == 2


def test_malformed_payload_becomes_a_warning_event(rig):
    bus, _, app, host, seen, log = rig
    host.start()
    bus.publish("feeder/f1/measurements/pv-1", b'{"v": 1, "asset": "pv-1"}')
    _measure(bus, 1.0)  # and the app goes on
    assert app.calls == ["start", "m:1.0"]
    (message,) = seen["events"]
    event = decode(message.payload, Event)
    assert message.topic == "feeder/f1/events/warning"
    assert event.severity is Severity.WARNING and event.source == "rec"
    assert "feeder/f1/measurements/pv-1" in event.text and "ts: Field required" in event.text
    assert host.malformed == 1
    assert host.metrics.malformed.labels(app="rec")._value.get() == 1
    assert any(
        json.loads(line)["event"] == "malformed payload" for line in log.getvalue().splitlines()
    )


def test_an_app_exception_is_logged_and_delivery_goes_on(rig):
    bus, _, app, host, _, log = rig
    host.start()
    _measure(bus, -1.0)
    _measure(bus, 1.0)
    assert app.calls[-2:] == ["m:-1.0", "m:1.0"]
    assert host.metrics.handler_errors.labels(app="rec")._value.get() == 1
    failure = [json.loads(x) for x in log.getvalue().splitlines() if "callback failed" in x]
    assert (
        failure
        and failure[0]["callback"] == "on_measurement"
        and "app bug" in failure[0]["exception"]
    )


def test_grants_are_enforced():
    class Greedy(App):
        def on_start(self) -> None:
            self.ctx.command("sw-1", Action.OPEN)

    host = AppHost(
        Greedy(),
        InMemoryBus(),
        feeder_id="f1",
        app_name="g",
        permissions=TopicPermissions(subscribe=("measurements/pv-1",)),
        heartbeat_s=None,
    )
    with pytest.raises(AppPermissionError, match="may not publish on 'commands/sw-1'"):
        host.start()
    with pytest.raises(AppPermissionError, match=r"may not subscribe to 'measurements/\+'"):
        host.watch("+")
    host.watch("pv-1")  # granted


def test_timers_fire_on_the_simulated_clock_and_skip_missed_runs(rig):
    _, clock, app, host, _, _ = rig
    host.start()
    assert host.tick() == 0
    clock.advance(60.0)
    assert host.tick() == 1
    clock.advance(59.0)
    assert host.tick() == 0
    clock.advance(301.0)  # five periods late: one call, then back on the 60 s grid
    assert host.tick() == 1
    assert host.next_due_s() == 450.0  # the heartbeat (every 30 s); the timer is next at 480 s
    assert [c for c in app.calls if c.startswith("timer")] == ["timer@60", "timer@420"]


def test_heartbeat_is_a_retained_status(rig):
    bus, clock, _, host, seen, _ = rig
    host.start()
    clock.advance(30.0)
    host.tick()
    states = [decode(m.payload, AppStatus) for m in seen["status"]]
    assert [s.state for s in states] == [AppState.RUNNING, AppState.RUNNING]
    assert states[-1].version == "1.2.0" and states[-1].ts == T0 + timedelta(seconds=30)
    late: list = []
    bus.subscribe("feeder/f1/apps/+/status", late.append)  # a late subscriber gets it at once
    assert len(late) == 1 and late[0].retain


def test_live_config_reaches_the_app_once(rig):
    bus, _, app, host, _, _ = rig
    host.start()
    applied = AppConfig(ts=T0, app="rec", bundle_version=3, config={"limit_pu": 1.05})
    bus.publish("feeder/f1/apps/rec/config", encode(applied), retain=True)
    bus.publish("feeder/f1/apps/rec/config", encode(applied), retain=True)  # repeated: no call
    assert app.configs == [{"limit_pu": 1.05}]
    assert host.config == {"limit_pu": 1.05}


def test_retained_config_is_current_at_start_without_an_on_config():
    bus = InMemoryBus()
    applied = AppConfig(ts=T0, app="rec", bundle_version=1, config={"x": 1})
    bus.publish("feeder/f1/apps/rec/config", encode(applied), retain=True)
    app = Recorder()
    host = AppHost(app, bus, feeder_id="f1", app_name="rec", heartbeat_s=None)
    host.start()
    assert host.config == {"x": 1}
    assert app.configs == []  # on_config is for changes while running; on_start sees ctx.config


def test_stop_unsubscribes_and_reports(rig):
    bus, _, app, host, seen, _ = rig
    host.start()
    host.stop()
    host.stop()  # idempotent
    _measure(bus, 1.09)
    assert app.calls == ["start", "stop"]
    assert decode(seen["status"][-1].payload, AppStatus).state is AppState.STOPPED
    assert host.tick() == 0


def test_a_failing_start_is_reported_as_failed():
    class Broken(App):
        def on_start(self) -> None:
            raise ValueError("no config")

    bus = InMemoryBus()
    statuses: list = []
    bus.subscribe("feeder/f1/apps/b/status", statuses.append)
    host = AppHost(
        Broken(), bus, feeder_id="f1", app_name="b", heartbeat_s=None, log_stream=io.StringIO()
    )
    with pytest.raises(ValueError, match="no config"):
        host.start()
    assert decode(statuses[-1].payload, AppStatus).state is AppState.FAILED


def test_callbacks_of_one_app_never_overlap():
    """Bus deliveries and timer ticks come on different threads; the app sees one at a time."""

    class Slow(App):
        def __init__(self) -> None:
            self.inside = 0
            self.overlaps = 0
            self.calls = 0

        def on_start(self) -> None:
            self.ctx.watch("+")

        def _work(self) -> None:
            self.inside += 1
            self.calls += 1
            if self.inside > 1:
                self.overlaps += 1
            time.sleep(0.0005)
            self.inside -= 1

        def on_measurement(self, m: Measurement) -> None:
            self._work()

        @on_timer(every=1.0)
        def poll(self) -> None:
            self._work()

    bus, clock, app = InMemoryBus(), SimulatedClock(T0), Slow()
    host = AppHost(app, bus, feeder_id="f1", app_name="s", clock=clock, heartbeat_s=None)
    host.start()

    def pump() -> None:
        for _ in range(60):
            _measure(bus, 1.0, asset="a")

    def tick() -> None:
        for _ in range(60):
            clock.advance(1.0)
            host.tick()

    threads = [threading.Thread(target=pump), threading.Thread(target=tick)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert app.calls == 120
    assert app.overlaps == 0
