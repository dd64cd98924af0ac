"""MqttBus against the real Mosquitto on 127.0.0.1:1883 and against private Mosquittos."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Protocol

import pytest

from feederos.errors import FosError, TopicError
from feederos.runtime.bus.base import Bus, BusMessage
from feederos.runtime.bus.mqtt import BusConnectionError, MqttBus, MqttTls, parse_mqtt_url
from feederos.runtime.messages import (
    Action,
    AppState,
    AppStatus,
    Command,
    Measurement,
    decode,
    encode,
    utc_now,
)
from feederos.runtime.topics import app_status_topic, command_topic, measurement_topic


class Restartable(Protocol):
    """What the ``private_mosquitto`` fixtures of tests/runtime/conftest.py give."""

    url: str

    def start(self) -> None: ...

    def stop(self) -> None: ...


TIMEOUT_S = 5.0


class Inbox:
    """A handler that records what it gets and lets a test wait for it."""

    def __init__(self) -> None:
        self.messages: list[BusMessage] = []
        self._changed = threading.Condition()

    def __call__(self, message: BusMessage) -> None:
        with self._changed:
            self.messages.append(message)
            self._changed.notify_all()

    def wait_for(
        self, condition: Callable[[list[BusMessage]], bool], timeout_s: float = TIMEOUT_S
    ) -> list[BusMessage]:
        with self._changed:
            if not self._changed.wait_for(lambda: condition(self.messages), timeout_s):
                pytest.fail(f"timed out after {timeout_s} s; got {self.messages}")
            return list(self.messages)

    def wait_count(self, n: int, timeout_s: float = TIMEOUT_S) -> list[BusMessage]:
        return self.wait_for(lambda m: len(m) >= n, timeout_s)

    def payloads(self) -> list[bytes]:
        with self._changed:
            return [m.payload for m in self.messages]


def eventually(condition: Callable[[], bool], timeout_s: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout_s} s")
        time.sleep(0.01)


@pytest.fixture
def bus(mosquitto_url: str) -> Iterator[MqttBus]:
    with MqttBus(mosquitto_url) as b:
        yield b


def _measurement(asset: str, value: float) -> bytes:
    return encode(Measurement(ts=utc_now(), asset=asset, quantity="v_pu", value=value, unit="pu"))


def _command(asset: str, n: int) -> Command:
    return Command(
        ts=utc_now(), asset=asset, action=Action.SET_TAP, setpoint=float(n), issuer="test"
    )


# -- URLs and options ---------------------------------------------------------------------


def test_url_forms() -> None:
    assert parse_mqtt_url("mqtt://h").port == 1883
    assert parse_mqtt_url("mqtts://h").port == 8883
    url = parse_mqtt_url("mqtt://u%40x:p%3Aw@10.0.0.1:1999/?protocol=3.1.1")
    assert (url.host, url.port, url.tls, url.protocol) == ("10.0.0.1", 1999, False, "3.1.1")
    assert (url.username, url.password) == ("u@x", "p:w")
    assert parse_mqtt_url("mqtt://h?protocol=5").protocol == "5"


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("http://h", "scheme 'http'"),
        ("mqtt://", "names no host"),
        ("mqtt://h:99999", "malformed"),
        ("mqtt://h/topic", "path"),
        ("mqtt://h?protocol=4", "protocol '4'"),
        ("mqtt://h?qos=1", "unknown option"),
    ],
)
def test_bad_urls_say_what_to_fix(url: str, needle: str) -> None:
    with pytest.raises(BusConnectionError, match=needle) as info:
        MqttBus(url)
    assert repr(url) in str(info.value)
    assert isinstance(info.value, FosError)


def test_no_broker_times_out_naming_host_and_port(unused_port: int) -> None:
    port = unused_port
    t0 = time.monotonic()
    with pytest.raises(BusConnectionError, match=rf"127\.0\.0\.1:{port} within 0\.3 s"):
        MqttBus(f"mqtt://127.0.0.1:{port}", connect_timeout_s=0.3)
    assert time.monotonic() - t0 < 3.0


def test_tls_missing_ca_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(BusConnectionError, match=r"ca_file .*nope\.pem.* does not exist"):
        MqttBus("mqtts://127.0.0.1", tls=MqttTls(ca_file=missing))


def test_tls_garbage_ca_file_is_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "ca.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(BusConnectionError, match=r"ca\.pem.*cannot be loaded"):
        MqttBus("mqtts://127.0.0.1", tls=MqttTls(ca_file=garbage))


def test_tls_settings_need_an_mqtts_url(tmp_path: Path) -> None:
    with pytest.raises(BusConnectionError, match="use mqtts://"):
        MqttBus("mqtt://127.0.0.1", tls=MqttTls())


def test_tls_half_a_client_key_pair(tmp_path: Path) -> None:
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    with pytest.raises(BusConnectionError, match="both cert_file and key_file"):
        MqttBus("mqtts://127.0.0.1", tls=MqttTls(cert_file=cert))


def test_username_and_password_connect(mosquitto_url: str, feeder_id: str) -> None:
    # The system broker is anonymous and ignores credentials: this checks the path only.
    with (
        MqttBus("mqtt://fos:s3cret@127.0.0.1:1883") as b1,
        MqttBus(mosquitto_url, username="app", password="pw") as b2,
    ):
        assert b1.connected and b2.connected
        inbox = Inbox()
        b1.subscribe(measurement_topic(feeder_id, "+"), inbox)
        b2.publish(measurement_topic(feeder_id, "a1"), b"{}")
        inbox.wait_count(1)


# -- publish / subscribe ------------------------------------------------------------------


def test_is_a_bus(bus: MqttBus) -> None:
    assert isinstance(bus, Bus)
    assert bus.connected and bus.protocol == "5"


def test_publish_subscribe_measurement(bus: MqttBus, feeder_id: str) -> None:
    inbox = Inbox()
    bus.subscribe(measurement_topic(feeder_id, "675"), inbox)
    payload = _measurement("675", 1.02)
    bus.publish(measurement_topic(feeder_id, "675"), payload)
    (message,) = inbox.wait_count(1)
    assert message == BusMessage(measurement_topic(feeder_id, "675"), payload, 1, False)
    assert decode(message.payload, Measurement).value == 1.02
    assert bus.flush(TIMEOUT_S) and bus.unacknowledged == 0


def test_two_clients_and_qos(mosquitto_url: str, feeder_id: str) -> None:
    with MqttBus(mosquitto_url) as sub_bus, MqttBus(mosquitto_url) as pub_bus:
        q0, q1 = Inbox(), Inbox()
        sub_bus.subscribe(f"feeder/{feeder_id}/q0/#", q0, qos=0)
        sub_bus.subscribe(f"feeder/{feeder_id}/q1/#", q1, qos=1)
        for i in range(50):
            pub_bus.publish(f"feeder/{feeder_id}/q1/x", str(i).encode(), qos=1)
        pub_bus.publish(f"feeder/{feeder_id}/q0/x", b"zero", qos=1)
        assert pub_bus.flush(TIMEOUT_S)
        got = q1.wait_count(50)
        assert [m.payload for m in got] == [str(i).encode() for i in range(50)]  # in order
        assert {m.qos for m in got} == {1}
        # The subscription's QoS caps the delivery QoS.
        assert q0.wait_count(1)[0].qos == 0


def test_wildcards(bus: MqttBus, feeder_id: str) -> None:
    plus, hash_, exact = Inbox(), Inbox(), Inbox()
    bus.subscribe(f"feeder/{feeder_id}/measurements/+", plus)
    bus.subscribe(f"feeder/{feeder_id}/#", hash_)
    bus.subscribe(f"feeder/{feeder_id}/events/alarm", exact)
    topics = [
        measurement_topic(feeder_id, "a"),
        f"feeder/{feeder_id}/measurements/a/deeper",
        f"feeder/{feeder_id}/events/alarm",
        f"feeder/{feeder_id}",
    ]
    for topic in topics:
        bus.publish(topic, topic.encode())
    hash_.wait_count(4)
    bus.publish(f"feeder/{feeder_id}/end", b"end")  # the last message: all before it are in
    hash_.wait_count(5)
    assert [m.topic for m in hash_.messages[:4]] == topics
    assert [m.topic for m in plus.messages] == [topics[0]]
    assert [m.topic for m in exact.messages] == [topics[2]]


def test_overlapping_filters_deliver_once_per_subscription(bus: MqttBus, feeder_id: str) -> None:
    # Mosquitto sends one copy per matching filter; each subscription still gets one.
    a, b, c, d = Inbox(), Inbox(), Inbox(), Inbox()
    topic = measurement_topic(feeder_id, "x")
    bus.subscribe(f"feeder/{feeder_id}/measurements/+", a)
    bus.subscribe(f"feeder/{feeder_id}/#", b)
    bus.subscribe(topic, c)
    bus.subscribe(topic, d)  # same filter twice: one broker subscription, two handlers
    bus.publish(topic, b"1")
    bus.publish(topic, b"2")
    for inbox in (a, b, c, d):
        inbox.wait_for(lambda m: any(x.payload == b"2" for x in m))
    bus.publish(topic + "-end", b"end")  # later copies of 1 or 2 would come before this
    b.wait_for(lambda m: any(x.payload == b"end" for x in m))
    a.wait_for(lambda m: any(x.payload == b"end" for x in m))
    assert a.payloads() == [b"1", b"2", b"end"]
    assert b.payloads() == [b"1", b"2", b"end"]
    assert c.payloads() == [b"1", b"2"]
    assert d.payloads() == [b"1", b"2"]


def test_retain_and_clear(bus: MqttBus, feeder_id: str) -> None:
    topic = app_status_topic(feeder_id, "volt-var")
    status = encode(AppStatus(ts=utc_now(), app="volt-var", version="1", state=AppState.RUNNING))
    bus.publish(topic, status, retain=True)
    assert bus.flush(TIMEOUT_S)
    first = Inbox()
    bus.subscribe(topic, first)
    (message,) = first.wait_count(1)
    assert message.retain and message.payload == status
    # A second subscription of the same filter gets the retained message too; the first
    # does not get it again.
    second = Inbox()
    bus.subscribe(topic, second)
    assert second.wait_count(1)[0].retain
    bus.publish(topic, b"marker")
    first.wait_count(2)
    assert first.payloads() == [status, b"marker"]
    assert not first.messages[1].retain  # a live message, though its topic has a retained one
    # An empty retained payload clears it: a new subscriber gets nothing before the marker.
    bus.publish(topic, b"", retain=True)
    bus.unsubscribe(bus.subscribe(topic, lambda m: None))
    third = Inbox()
    bus.subscribe(topic, third)
    bus.publish(topic, b"marker2")
    assert [m.payload for m in third.wait_count(1)] == [b"marker2"]


def test_unsubscribe(bus: MqttBus, feeder_id: str) -> None:
    topic = command_topic(feeder_id, "sw1")
    kept, dropped, same = Inbox(), Inbox(), Inbox()
    s_kept = bus.subscribe(f"feeder/{feeder_id}/commands/+", kept)
    s_dropped = bus.subscribe(topic, dropped)
    s_same = bus.subscribe(topic, same)
    bus.publish(topic, b"1")
    dropped.wait_count(1)
    bus.unsubscribe(s_dropped)  # `same` still holds the filter at the broker
    bus.publish(topic, b"2")
    same.wait_count(2)
    bus.unsubscribe(s_same)  # the last one of the filter: UNSUBSCRIBE goes out
    bus.unsubscribe(s_same)  # twice is harmless
    bus.publish(topic, b"3")
    kept.wait_count(3)
    assert kept.payloads() == [b"1", b"2", b"3"]
    assert dropped.payloads() == [b"1"]
    assert same.payloads() == [b"1", b"2"]
    bus.unsubscribe(s_kept)
    assert bus.subscribe(topic, Inbox()) is not None  # the filter can come back


def test_malformed_topics_raise_topic_error(bus: MqttBus) -> None:
    with pytest.raises(TopicError, match="wildcard"):
        bus.publish("feeder/+/commands/x", b"{}")
    with pytest.raises(TopicError, match="empty"):
        bus.publish("", b"{}")
    with pytest.raises(TopicError, match="must stand alone"):
        bus.subscribe("feeder/f1/meas+", lambda m: None)
    with pytest.raises(TopicError, match="whole last level"):
        bus.subscribe("feeder/#/x", lambda m: None)


def test_handler_exception_is_counted_and_delivery_goes_on(
    bus: MqttBus, feeder_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(message: BusMessage) -> None:
        raise RuntimeError("boom")

    inbox = Inbox()
    bus.subscribe(f"feeder/{feeder_id}/events/+", explode)
    bus.subscribe(f"feeder/{feeder_id}/events/+", inbox)
    for i in range(3):
        bus.publish(f"feeder/{feeder_id}/events/info", str(i).encode())
    inbox.wait_count(3)
    eventually(lambda: bus.handler_errors == 3)
    assert bus.connected
    assert "handler for" in caplog.text and "boom" in caplog.text


def test_publish_and_subscribe_from_a_handler(bus: MqttBus, feeder_id: str) -> None:
    replies = Inbox()

    def echo(message: BusMessage) -> None:
        bus.subscribe(f"feeder/{feeder_id}/late", replies)  # does not wait for the SUBACK
        bus.publish(f"feeder/{feeder_id}/reply", message.payload)

    bus.subscribe(f"feeder/{feeder_id}/reply", replies)
    bus.subscribe(f"feeder/{feeder_id}/ask", echo)
    bus.publish(f"feeder/{feeder_id}/ask", b"ping")
    assert replies.wait_count(1)[0].payload == b"ping"
    bus.publish(f"feeder/{feeder_id}/late", b"late")
    replies.wait_count(2)


def test_close_is_clean_and_final(mosquitto_url: str) -> None:
    before = {t.ident for t in threading.enumerate()}
    b = MqttBus(mosquitto_url)
    b.close()
    b.close()
    assert not b.connected
    assert {t.ident for t in threading.enumerate()} <= before
    with pytest.raises(BusConnectionError, match="closed"):
        b.publish("feeder/f1/x", b"")
    with pytest.raises(BusConnectionError, match="closed"):
        b.subscribe("feeder/f1/x", lambda m: None)


# -- last will ----------------------------------------------------------------------------

_DYING_CLIENT = """
import sys, time
from feederos.runtime.bus.base import BusMessage
from feederos.runtime.bus.mqtt import MqttBus
will = BusMessage(sys.argv[1], sys.argv[2].encode(), 1, True)
bus = MqttBus(sys.argv[3], will=will, keepalive_s=5)
print("connected", flush=True)
time.sleep(60)
"""


def test_last_will_on_sigkill(bus: MqttBus, mosquitto_url: str, feeder_id: str) -> None:
    topic = app_status_topic(feeder_id, "dying")
    will = encode(AppStatus(ts=utc_now(), app="dying", version="1", state=AppState.OFFLINE))
    process = subprocess.Popen(
        [sys.executable, "-c", _DYING_CLIENT, topic, will.decode(), mosquitto_url],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == b"connected\n"
        inbox = Inbox()
        bus.subscribe(topic, inbox)
        assert inbox.messages == []  # no will while the client lives
        process.send_signal(signal.SIGKILL)  # no DISCONNECT: the socket just closes
        (message,) = inbox.wait_count(1)
        assert decode(message.payload, AppStatus).state is AppState.OFFLINE
    finally:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()
        bus.publish(topic, b"", retain=True)  # the will was retained: clear it
        bus.flush(TIMEOUT_S)


def test_clean_close_sends_no_will(bus: MqttBus, mosquitto_url: str, feeder_id: str) -> None:
    topic = app_status_topic(feeder_id, "tidy")
    inbox = Inbox()
    bus.subscribe(f"feeder/{feeder_id}/apps/#", inbox)
    with MqttBus(mosquitto_url, will=BusMessage(topic, b"offline", 1, False)) as tidy:
        tidy.publish(f"feeder/{feeder_id}/apps/tidy/bye", b"bye")
        tidy.flush(TIMEOUT_S)
    inbox.wait_count(1)
    bus.publish(f"feeder/{feeder_id}/apps/marker", b"marker")
    inbox.wait_count(2)
    assert inbox.payloads() == [b"bye", b"marker"]


# -- broker restarts ----------------------------------------------------------------------


def _ids(inbox: Inbox) -> set[str]:
    return {decode(m.payload, Command).id for m in inbox.messages if m.payload}


def test_queued_publishes_and_subscriptions_survive_a_broker_restart(
    private_mosquitto: Restartable, mosquitto_url: str, feeder_id: str
) -> None:
    # One bus publishes and subscribes: on reconnect its SUBSCRIBEs go out before the
    # publishes it queued, so none of them can miss the subscription.
    n = 30
    inbox = Inbox()
    with (
        MqttBus(private_mosquitto.url, reconnect_max_s=0.2) as b,
        MqttBus(private_mosquitto.url, reconnect_max_s=0.2) as other,
    ):
        b.subscribe(command_topic(feeder_id, "+"), inbox)
        private_mosquitto.stop()
        eventually(lambda: not b.connected and not other.connected)
        sent = [_command("reg1", i) for i in range(n)]
        for command in sent:
            b.publish(command_topic(feeder_id, "reg1"), encode(command))
        assert b.unacknowledged == n
        assert not b.flush(0.05)
        private_mosquitto.start()
        assert b.flush(TIMEOUT_S)
        inbox.wait_for(lambda m: len(_ids_of(m)) == n)
        assert _ids(inbox) == {c.id for c in sent}
        assert b.connects == 2
        # The subscription is back at the broker: another client's message arrives.
        assert b.wait_connected(TIMEOUT_S) and other.wait_connected(TIMEOUT_S)
        late = _command("reg1", 99)
        other.publish(command_topic(feeder_id, "reg1"), encode(late))
        inbox.wait_for(lambda m: late.id in _ids_of(m))


def _ids_of(messages: list[BusMessage]) -> set[str]:
    return {decode(m.payload, Command).id for m in messages if m.payload}


def test_persistent_session_gets_commands_published_while_broker_down(
    persistent_mosquitto: Restartable, feeder_id: str
) -> None:
    # A subscriber with a persistent session and a separate publisher. The broker keeps
    # the session across its restart (persistence on). The subscriber waits 2 s before
    # reconnecting, so the publisher is back first and every command reaches the broker
    # while the subscriber is away: only the restored session can hold them for it.
    # QoS 1 is at least once, so unique ids are counted.
    n = 40
    inbox = Inbox()
    url = persistent_mosquitto.url
    with (
        MqttBus(
            url,
            client_id=f"sub-{uuid.uuid4().hex}",
            session_expiry_s=60,
            reconnect_min_s=2.0,
            reconnect_max_s=2.0,
        ) as sub,
        MqttBus(url, reconnect_max_s=0.2) as pub,
    ):
        sub.subscribe(command_topic(feeder_id, "+"), inbox)
        persistent_mosquitto.stop()
        eventually(lambda: not sub.connected and not pub.connected)
        sent = [_command(f"pv-{i % 4}", i) for i in range(n)]
        for command in sent:
            pub.publish(command_topic(feeder_id, command.asset), encode(command))
        assert pub.unacknowledged == n
        persistent_mosquitto.start()
        assert pub.flush(TIMEOUT_S)
        assert not sub.connected and not inbox.messages
        inbox.wait_for(lambda m: len(_ids_of(m)) == n)
        assert _ids(inbox) == {c.id for c in sent}
        assert len(inbox.messages) >= n
        assert sub.wait_connected(TIMEOUT_S)
        late = _command("pv-0", 1)
        pub.publish(command_topic(feeder_id, "pv-0"), encode(late))
        inbox.wait_for(lambda m: late.id in _ids_of(m))


def test_expiring_command_round_trip(bus: MqttBus, feeder_id: str) -> None:
    inbox = Inbox()
    bus.subscribe(command_topic(feeder_id, "+"), inbox)
    command = Command(
        ts=utc_now(),
        asset="pv-1",
        action=Action.SET_P_LIMIT_PCT,
        setpoint=50.0,
        expires=utc_now() + timedelta(seconds=30),
        issuer="vw",
    )
    bus.publish(command_topic(feeder_id, "pv-1"), encode(command))
    assert decode(inbox.wait_count(1)[0].payload, Command) == command
