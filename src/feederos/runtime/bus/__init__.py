"""Message buses: the :class:`Bus` contract and its transports.

:class:`InMemoryBus` runs inside one process (the twin, tests);
:class:`~feederos.runtime.bus.mqtt.MqttBus` speaks MQTT to Mosquitto or the embedded
broker. Import the MQTT one from its module: it needs paho-mqtt.
"""

from feederos.runtime.bus.base import Bus, BusMessage, Handler, QoS, Subscription
from feederos.runtime.bus.memory import InMemoryBus

__all__ = ["Bus", "BusMessage", "Handler", "InMemoryBus", "QoS", "Subscription"]
