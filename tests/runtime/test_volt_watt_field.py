"""The example app gives the same commands on the twin and over a real Mosquitto.

The co-simulation of a sunny day (tests/runtime/test_cosim.py) records every measurement
the twin published to the volt-watt app. Here the same payloads go, in the same order
and at the same (simulated) times, through the real broker on 127.0.0.1:1883 to the same
app class in an :class:`AppHost` on an :class:`MqttBus`; the commands that come back
over the broker must equal the twin's, field for field but the random command id.
"""

from __future__ import annotations

import io
import threading
from datetime import timedelta

from feederos.runtime.bus.base import BusMessage
from feederos.runtime.bus.mqtt import MqttBus
from feederos.runtime.clock import SimulatedClock
from feederos.runtime.host import AppHost
from feederos.runtime.manifest import read_manifest
from feederos.runtime.messages import Command, decode

from .test_cosim import ROOT, START, STEP_S, VOLT_WATT, VW_CONFIG, day

WAIT_S = 10.0


def _wait(condition, what: str) -> None:
    done = threading.Event()
    for _ in range(int(WAIT_S / 0.002)):
        if condition():
            return
        done.wait(0.002)
    raise AssertionError(f"timed out after {WAIT_S} s waiting for {what}")


def test_twin_and_mosquitto_give_identical_commands(mosquitto_url: str, feeder_id: str) -> None:
    twin = day({"volt-watt": VOLT_WATT})
    twin_commands = twin.commands[["step", "asset", "action", "setpoint"]].values.tolist()
    assert len(twin_commands) >= 10  # the day curtails: the comparison has substance

    manifest = read_manifest(ROOT / "examples" / "apps" / "volt-watt")
    clock = SimulatedClock(START)
    app_bus = MqttBus(mosquitto_url, client_id=f"{feeder_id}-volt-watt")
    field_bus = MqttBus(mosquitto_url, client_id=f"{feeder_id}-field")
    received: list[BusMessage] = []
    lock = threading.Lock()

    def collect(message: BusMessage) -> None:
        with lock:
            received.append(message)

    try:
        field_bus.subscribe(f"feeder/{feeder_id}/commands/+", collect)
        host = AppHost(
            VOLT_WATT(),
            app_bus,
            feeder_id=feeder_id,
            app_name=manifest.name,
            version=str(manifest.version),
            clock=clock,
            permissions=manifest.permissions,
            config=VW_CONFIG,
            heartbeat_s=None,
            log_stream=io.StringIO(),
        )
        host.start()
        sent_by_step: dict[int, list[bytes]] = {}
        for m in twin.measurements_sent:
            sent_by_step.setdefault(m.step, []).append(m)
        field_steps: list[int] = []
        for k in range(len(twin.steps)):
            clock.set(START + timedelta(seconds=k * STEP_S))
            for m in sent_by_step.get(k, []):
                topic = m.topic.replace("feeder/cosim-test/", f"feeder/{feeder_id}/", 1)
                field_bus.publish(topic, m.payload, qos=1)
            expected = sum(len(v) for s, v in sent_by_step.items() if s <= k)
            _wait(lambda n=expected: host.handled >= n, f"step {k}'s measurements")
            before = len(host.commands)
            host.tick()
            field_steps += [k] * (len(host.commands) - before)
            _wait(lambda: len(received) >= len(host.commands), f"step {k}'s commands")
        host.stop()
    finally:
        app_bus.close()
        field_bus.close()

    over_broker = [decode(m.payload, Command) for m in received]
    assert [c.id for c in over_broker] == [c.id for c in host.commands]  # none lost, in order
    field_commands = [
        [k, c.asset, c.action.value, c.setpoint]
        for k, c in zip(field_steps, over_broker, strict=True)
    ]
    assert field_commands == twin_commands
    twin_times = twin.commands[["expires"]].values.ravel().tolist()
    assert [c.expires for c in over_broker] == [t.to_pydatetime() for t in twin_times]
