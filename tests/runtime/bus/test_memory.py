"""InMemoryBus behaviour, and the Bus contract checked on InMemoryBus and MqttBus alike."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from feederos.errors import FosError, TopicError
from feederos.runtime.bus.base import Bus, BusMessage
from feederos.runtime.bus.memory import InMemoryBus
from feederos.runtime.bus.mqtt import MqttBus
from feederos.runtime.messages import Measurement, decode, encode, utc_now
from feederos.runtime.topics import measurement_topic

from .test_mqtt import Inbox


def test_delivery_order_publish_then_subscription_order() -> None:
    bus = InMemoryBus()
    seen: list[str] = []
    bus.subscribe("a/#", lambda m: seen.append(f"first {m.topic}"))
    bus.subscribe("a/+", lambda m: seen.append(f"second {m.topic}"))
    bus.publish("a/1", b"")
    bus.publish("a/2", b"")
    assert seen == ["first a/1", "second a/1", "first a/2", "second a/2"]


def test_publish_from_a_handler_is_queued_not_recursive() -> None:
    bus = InMemoryBus()
    seen: list[str] = []

    def relay(message: BusMessage) -> None:
        seen.append(f"in {message.topic}")
        if message.topic == "a/1":
            bus.publish("a/2", b"")
            seen.append("relay returns")

    bus.subscribe("a/+", relay)
    bus.publish("a/1", b"")
    assert seen == ["in a/1", "relay returns", "in a/2"]


def test_retained_messages() -> None:
    bus = InMemoryBus()
    bus.publish("s/x", b"old", retain=True)
    bus.publish("s/x", b"new", retain=True)
    bus.publish("s/y", b"y", retain=True)
    bus.publish("s/y", b"", retain=True)  # cleared
    inbox = Inbox()
    bus.subscribe("s/+", inbox)
    assert inbox.messages == [BusMessage("s/x", b"new", 1, True)]
    bus.publish("s/x", b"live", retain=True)
    assert inbox.messages[-1] == BusMessage("s/x", b"live", 1, False)


def test_unsubscribe_and_unknown_handles() -> None:
    bus = InMemoryBus()
    inbox = Inbox()
    sub = bus.subscribe("a/b", inbox)
    bus.publish("a/b", b"1")
    bus.unsubscribe(sub)
    bus.unsubscribe(sub)
    bus.publish("a/b", b"2")
    assert inbox.payloads() == [b"1"]
    assert not bus.has_subscriber("a/b") and bus.subscribed_filters() == ()


def test_unsubscribe_inside_delivery_stops_pending_calls() -> None:
    bus = InMemoryBus()
    later = Inbox()
    subs = []
    subs.append(bus.subscribe("a/b", lambda m: bus.unsubscribe(subs[1])))
    subs.append(bus.subscribe("a/b", later))
    bus.publish("a/b", b"")
    assert later.messages == []


def test_handler_errors_are_counted() -> None:
    bus = InMemoryBus()
    inbox = Inbox()

    def boom(message: BusMessage) -> None:
        raise ValueError("boom")

    bus.subscribe("a/#", boom)
    bus.subscribe("a/#", inbox)
    bus.publish("a/1", b"")
    bus.publish("a/2", b"")
    assert bus.handler_errors == 2 and bus.delivered == 4
    assert len(inbox.messages) == 2


def test_closed_bus_refuses() -> None:
    bus = InMemoryBus()
    bus.close()
    with pytest.raises(FosError, match="closed"):
        bus.publish("a/b", b"")


# -- the contract, on both transports --------------------------------------------------


@pytest.fixture(params=["memory", "mqtt"])
def any_bus(request: pytest.FixtureRequest) -> Iterator[Bus]:
    if request.param == "memory":
        bus: Bus = InMemoryBus()
    else:
        bus = MqttBus(request.getfixturevalue("mosquitto_url"))
    try:
        yield bus
    finally:
        bus.close()


def test_contract_pub_sub_overlap_retain_unsubscribe(any_bus: Bus, feeder_id: str) -> None:
    bus = any_bus
    assert isinstance(bus, Bus)
    topic = measurement_topic(feeder_id, "675")
    payload = encode(Measurement(ts=utc_now(), asset="675", quantity="v_pu", value=0.98, unit="pu"))
    bus.publish(topic, payload, retain=True)
    wide, narrow = Inbox(), Inbox()
    s_wide = bus.subscribe(f"feeder/{feeder_id}/#", wide)
    s_narrow = bus.subscribe(f"feeder/{feeder_id}/measurements/+", narrow)
    # Each subscription gets the retained message once, flagged retained.
    for inbox in (wide, narrow):
        (first,) = inbox.wait_count(1)
        assert first.retain and decode(first.payload, Measurement).value == 0.98
    bus.publish(topic, b"live")
    for inbox in (wide, narrow):
        inbox.wait_count(2)
    bus.unsubscribe(s_narrow)
    bus.publish(topic, b"after")
    wide.wait_count(3)
    assert wide.payloads() == [payload, b"live", b"after"]
    assert narrow.payloads() == [payload, b"live"]
    assert [m.retain for m in wide.messages] == [True, False, False]
    with pytest.raises(TopicError):
        bus.publish(f"feeder/{feeder_id}/#", b"")
    bus.publish(topic, b"", retain=True)  # leave no retained message behind
    bus.unsubscribe(s_wide)
    if isinstance(bus, MqttBus):
        assert bus.flush(5.0)
