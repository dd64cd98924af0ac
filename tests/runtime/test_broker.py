"""The embedded amqtt broker: start, MqttBus pub/sub/retain through it, stop."""

from __future__ import annotations

import socket
import threading

import pytest

from feederos.errors import FosError
from feederos.runtime.broker import EmbeddedBroker, EmbeddedBrokerError
from feederos.runtime.bus.base import BusMessage
from feederos.runtime.bus.mqtt import MqttBus
from feederos.runtime.messages import Action, Command, decode, encode, utc_now
from feederos.runtime.topics import app_status_topic, command_topic

from .bus.test_mqtt import TIMEOUT_S, Inbox


@pytest.fixture
def broker() -> EmbeddedBroker:
    with EmbeddedBroker() as b:
        yield b  # type: ignore[misc]


def test_start_picks_a_free_port_and_gives_a_3_1_1_url(broker: EmbeddedBroker) -> None:
    assert broker.running and broker.port > 0
    assert broker.url == f"mqtt://127.0.0.1:{broker.port}?protocol=3.1.1"
    with socket.create_connection(("127.0.0.1", broker.port), timeout=1.0):
        pass


def test_pub_sub_and_retain_through_it(broker: EmbeddedBroker, feeder_id: str) -> None:
    with MqttBus(broker.url) as sub_bus, MqttBus(broker.url) as pub_bus:
        assert sub_bus.protocol == "3.1.1"
        inbox = Inbox()
        sub_bus.subscribe(command_topic(feeder_id, "+"), inbox)
        command = Command(ts=utc_now(), asset="sw1", action=Action.OPEN, issuer="t")
        pub_bus.publish(command_topic(feeder_id, "sw1"), encode(command))
        (message,) = inbox.wait_count(1)
        assert decode(message.payload, Command) == command and message.qos == 1

        status_topic = app_status_topic(feeder_id, "a1")
        pub_bus.publish(status_topic, b'{"state": "running"}', retain=True)
        assert pub_bus.flush(TIMEOUT_S)
        late = Inbox()
        sub_bus.subscribe(status_topic, late)
        got = late.wait_count(1)[0]
        assert got == BusMessage(status_topic, b'{"state": "running"}', 1, True)


def test_stop_closes_connections_and_thread() -> None:
    before = {t.ident for t in threading.enumerate()}
    broker = EmbeddedBroker().start()
    port = broker.port
    bus = MqttBus(broker.url, reconnect_max_s=0.2)
    broker.stop()
    assert not broker.running
    with pytest.raises(EmbeddedBrokerError, match="not started"):
        _ = broker.url
    bus.close()
    assert {t.ident for t in threading.enumerate()} <= before
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        pass


def test_port_in_use_is_a_clear_error() -> None:
    with EmbeddedBroker() as first:
        with pytest.raises(EmbeddedBrokerError, match=rf"127\.0\.0\.1:{first.port}") as info:
            EmbeddedBroker(port=first.port).start()
        assert isinstance(info.value, FosError)


def test_bad_port_number() -> None:
    with pytest.raises(EmbeddedBrokerError, match="70000"):
        EmbeddedBroker(port=70000)
