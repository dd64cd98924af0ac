"""The bus contract every transport implements: publish, subscribe, unsubscribe, close.

Apps never see a transport; the runtime hands them one of these. Delivery guarantees:

- a handler is called once per matching message (per subscription), on the bus's own
  delivery thread, never re-entrantly for the same bus;
- a handler that raises is logged and counted, and the bus goes on;
- a subscription also receives the retained message of each matching topic.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

__all__ = ["Bus", "BusMessage", "Handler", "QoS", "Subscription", "call_handler"]

QoS = Literal[0, 1, 2]

_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class BusMessage:
    """A message as delivered: topic, raw payload and the MQTT flags it arrived with."""

    topic: str
    payload: bytes
    qos: QoS = 0
    retain: bool = False


Handler = Callable[[BusMessage], None]
"""A subscriber's callback; it must not block for long (it holds the delivery thread)."""


@dataclass(frozen=True, slots=True, eq=False)
class Subscription:
    """A handle to one subscription, given back to :meth:`Bus.unsubscribe`."""

    topic_filter: str
    handler: Handler
    qos: QoS
    id: int = field(default_factory=lambda: next(_ids))


@runtime_checkable
class Bus(Protocol):
    """A publish/subscribe message bus with MQTT topic semantics."""

    def publish(self, topic: str, payload: bytes, *, qos: QoS = 1, retain: bool = False) -> None:
        """Send ``payload`` on ``topic`` (concrete, no wildcards); a retained message
        is kept and handed to later subscribers; an empty retained payload clears it."""
        ...

    def subscribe(self, topic_filter: str, handler: Handler, *, qos: QoS = 1) -> Subscription:
        """Call ``handler`` for every message whose topic matches ``topic_filter``
        (``+`` one level, ``#`` the rest)."""
        ...

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop a subscription; unknown or already-stopped handles are ignored."""
        ...

    def close(self) -> None:
        """Release the transport; publishing afterwards raises."""
        ...


_log = logging.getLogger(__name__)


def call_handler(subscription: Subscription, message: BusMessage) -> bool:
    """Hand ``message`` to the subscription's handler; ``False`` if the handler raised.

    The exception is logged, never passed on: a faulty subscriber must not stop delivery
    to the others, nor a transport's network thread.
    """
    try:
        subscription.handler(message)
    except Exception:
        _log.exception("handler for %s failed on %s", subscription.topic_filter, message.topic)
        return False
    return True
