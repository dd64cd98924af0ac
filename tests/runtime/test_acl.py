"""The Mosquitto ACL: its lines, and a private Mosquitto that enforces them."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from feederos.runtime.acl import RUNTIME_USER, acl_text, write_acl
from feederos.runtime.permissions import TopicPermissions

MOSQUITTO = Path("/usr/sbin/mosquitto")
ECHO = TopicPermissions(subscribe=("measurements/+",), publish=("commands/+", "events/#"))


def test_acl_lines_per_app() -> None:
    text = acl_text("f1", {"echo": ECHO, "volt-watt": TopicPermissions(publish=("commands/pv-1",))})
    blocks = text.split("\n\n")
    assert blocks[0].splitlines()[1:] == [f"user {RUNTIME_USER}", "topic readwrite feeder/f1/#"]
    assert blocks[1].splitlines() == [
        "user echo",
        "topic read feeder/f1/measurements/+",
        "topic write feeder/f1/commands/+",
        "topic write feeder/f1/events/#",
        "topic write feeder/f1/apps/echo/status",
        "topic read feeder/f1/apps/echo/config",
        "topic write feeder/f1/events/warning",
    ]
    assert blocks[2].splitlines()[:3] == [
        "user volt-watt",
        "topic write feeder/f1/commands/pv-1",
        "topic write feeder/f1/apps/volt-watt/status",
    ]


def test_acl_refuses_bad_names() -> None:
    with pytest.raises(ValueError, match="reserved"):
        acl_text("f1", {RUNTIME_USER: ECHO})
    with pytest.raises(ValueError, match="app name"):
        acl_text("f1", {"bad name": ECHO})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def acl_broker(tmp_path: Path) -> Iterator[tuple[int, str]]:
    if not MOSQUITTO.exists():
        pytest.fail(f"{MOSQUITTO} is needed for the broker-side ACL test")
    feeder = f"t-{uuid.uuid4().hex[:10]}"
    port = _free_port()
    acl = write_acl(tmp_path / "acl", feeder, {"echo": ECHO})
    conf = tmp_path / "mosquitto.conf"
    # Started as root, Mosquitto drops to user "mosquitto", which cannot read pytest's
    # private tmp folders; stay root then.
    stay = "user root\n" if os.geteuid() == 0 else ""
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nacl_file {acl}\n"
        f"persistence false\nlog_dest stderr\n{stay}"
    )
    proc = subprocess.Popen([str(MOSQUITTO), "-c", str(conf)], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None:
                    assert proc.stderr is not None
                    pytest.fail(f"mosquitto did not start: {proc.stderr.read().decode()}")
                time.sleep(0.05)
        yield port, feeder
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        assert proc.stderr is not None
        proc.stderr.close()


def _client(port: int, username: str) -> paho.Client:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"{username}-{uuid.uuid4().hex}")
    client.username_pw_set(username)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def test_broker_drops_publishes_outside_grants(acl_broker: tuple[int, str]) -> None:
    port, feeder = acl_broker
    seen: list[str] = []
    subscribed = threading.Event()
    runtime = _client(port, RUNTIME_USER)
    runtime.on_message = lambda c, u, m: seen.append(m.topic)
    runtime.on_subscribe = lambda *a: subscribed.set()
    runtime.subscribe(f"feeder/{feeder}/#", qos=1)
    assert subscribed.wait(5.0)
    app = _client(port, "echo")
    try:
        outside = app.publish(f"feeder/{feeder}/measurements/pv-1", b"{}", qos=1)
        other_status = app.publish(f"feeder/{feeder}/apps/other/status", b"{}", qos=1)
        granted = app.publish(f"feeder/{feeder}/commands/pv-1", b"{}", qos=1)
        for info in (outside, other_status, granted):
            info.wait_for_publish(5.0)
        deadline = time.monotonic() + 5.0
        while f"feeder/{feeder}/commands/pv-1" not in seen and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # an allowed message after the refused ones: they would be here by now
        assert seen == [f"feeder/{feeder}/commands/pv-1"]
    finally:
        for client in (app, runtime):
            client.disconnect()
            client.loop_stop()
