"""An in-process bus with deterministic delivery, for the twin and for tests.

Messages are delivered in publish order, subscribers in subscription order. A message
published from inside a handler is queued and delivered after the current one, so
delivery never recurses and a co-simulation step is reproducible run to run.

Examples
--------
>>> bus = InMemoryBus()
>>> seen = []
>>> sub = bus.subscribe("feeder/f1/events/+", lambda m: seen.append(m.topic))
>>> bus.publish("feeder/f1/events/alarm", b"{}")
>>> bus.publish("feeder/f2/events/alarm", b"{}")
>>> seen
['feeder/f1/events/alarm']
"""

from __future__ import annotations

import threading
from collections import deque

from feederos.errors import FosError
from feederos.runtime.bus.base import BusMessage, Handler, QoS, Subscription, call_handler
from feederos.runtime.topics import check_filter, check_topic, topic_matches

__all__ = ["InMemoryBus"]

_MAX_CACHED_TOPICS = 10_000
"""Distinct topics whose subscribers are remembered; past it the memo starts afresh."""


class InMemoryBus:
    """A :class:`~feederos.runtime.bus.base.Bus` inside one process."""

    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []
        # Topic → subscriptions it reaches, valid until the subscriptions change: a twin
        # publishes the same few hundred topics every step, and matching each against
        # every filter was most of a step's bus time.
        self._targets: dict[str, tuple[Subscription, ...]] = {}
        self._retained: dict[str, BusMessage] = {}
        self._queue: deque[tuple[BusMessage, tuple[Subscription, ...]]] = deque()
        self._lock = threading.RLock()
        self._delivering = False
        self._closed = False
        self.delivered = 0
        """Handler calls made so far."""
        self.handler_errors = 0
        """Handler calls that raised."""

    def publish(self, topic: str, payload: bytes, *, qos: QoS = 1, retain: bool = False) -> None:
        if topic not in self._targets:  # a cached topic was checked when first published
            check_topic(topic)
        message = BusMessage(topic, bytes(payload), qos, retain)
        with self._lock:
            self._check_open()
            if retain:
                if payload:
                    self._retained[topic] = message
                else:
                    self._retained.pop(topic, None)
            targets = self._targets.get(topic)
            if targets is None:
                targets = tuple(
                    s for s in self._subscriptions if topic_matches(s.topic_filter, topic)
                )
                if len(self._targets) >= _MAX_CACHED_TOPICS:
                    self._targets.clear()
                self._targets[topic] = targets
            self._queue.append((BusMessage(topic, message.payload, qos, False), targets))
        self._drain()

    def subscribe(self, topic_filter: str, handler: Handler, *, qos: QoS = 1) -> Subscription:
        check_filter(topic_filter)
        subscription = Subscription(topic_filter, handler, qos)
        with self._lock:
            self._check_open()
            self._subscriptions.append(subscription)
            self._targets.clear()
            for topic, message in self._retained.items():
                if topic_matches(topic_filter, topic):
                    self._queue.append((message, (subscription,)))
        self._drain()
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            if subscription in self._subscriptions:
                self._subscriptions.remove(subscription)
                self._targets.clear()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._subscriptions.clear()
            self._targets.clear()
            self._queue.clear()

    def subscribed_filters(self) -> tuple[str, ...]:
        """Every live subscription's filter, in subscription order."""
        with self._lock:
            return tuple(s.topic_filter for s in self._subscriptions)

    def has_subscriber(self, topic: str) -> bool:
        """Whether any live subscription matches ``topic``."""
        with self._lock:
            return any(topic_matches(s.topic_filter, topic) for s in self._subscriptions)

    def _drain(self) -> None:
        with self._lock:
            if self._delivering:
                return
            self._delivering = True
        try:
            while True:
                with self._lock:
                    if not self._queue:
                        return
                    message, targets = self._queue.popleft()
                for subscription in targets:
                    with self._lock:
                        live = subscription in self._subscriptions
                    if live:
                        self._call(subscription, message)
        finally:
            with self._lock:
                self._delivering = False

    def _call(self, subscription: Subscription, message: BusMessage) -> None:
        self.delivered += 1
        if not call_handler(subscription, message):
            self.handler_errors += 1

    def _check_open(self) -> None:
        if self._closed:
            raise FosError("the bus is closed")
