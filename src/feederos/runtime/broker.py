"""An MQTT broker inside the process, for a laptop, a demo or a test without Mosquitto.

:class:`EmbeddedBroker` runs an amqtt broker (MQTT 3.1.1 only) on loopback, in a daemon
thread with its own asyncio loop, anonymous clients allowed. Its :attr:`~EmbeddedBroker.url`
is an :class:`~feederos.runtime.bus.mqtt.MqttBus` URL that selects MQTT 3.1.1. For
production use Mosquitto: amqtt keeps nothing across a restart and speaks no MQTT 5.

Examples
--------
>>> import threading
>>> from feederos.runtime.bus.mqtt import MqttBus
>>> got = threading.Event()
>>> with EmbeddedBroker() as broker, MqttBus(broker.url) as bus:
...     _ = bus.subscribe("feeder/f1/events/+", lambda m: got.set())
...     bus.publish("feeder/f1/events/info", b"{}")
...     got.wait(5.0)
True
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from amqtt.broker import Broker

from feederos.errors import FosError

__all__ = ["EmbeddedBroker", "EmbeddedBrokerError"]

_START_TIMEOUT_S = 10.0
_STOP_TIMEOUT_S = 10.0


class _Broker(Broker):  # type: ignore[misc]  # amqtt's Broker is untyped to mypy
    """amqtt's broker, closing every client stream it was handed when its handler ends.

    amqtt leaves the stream of a connection that never sent CONNECT (a port probe) or
    that is cut by shutdown open; its socket would outlive the loop (ResourceWarning).
    """

    async def stream_connected(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, listener_name: str
    ) -> None:
        try:
            await super().stream_connected(reader, writer, listener_name)
        finally:
            writer.close()


class EmbeddedBrokerError(FosError):
    """The embedded broker cannot start (port taken, bad address) or stop."""


class EmbeddedBroker:
    """An amqtt MQTT 3.1.1 broker on ``host:port`` in a background thread.

    Parameters
    ----------
    host
        Address to listen on; keep it loopback: the broker lets anyone in.
    port
        TCP port; 0 picks a free one (read it from :attr:`port` after :meth:`start`).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if not 0 <= port <= 65535:
            raise EmbeddedBrokerError(f"embedded broker port {port} is not in 0-65535")
        self.host = host
        self._requested_port = port
        self.port = port
        """The port listened on (the one picked when 0 was asked, once started)."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._broker: Broker | None = None

    @property
    def url(self) -> str:
        """The :class:`~feederos.runtime.bus.mqtt.MqttBus` URL of this broker."""
        if self._broker is None:
            raise EmbeddedBrokerError("the embedded broker is not started: call start() first")
        return f"mqtt://{self.host}:{self.port}?protocol=3.1.1"

    @property
    def running(self) -> bool:
        """Whether the broker is listening."""
        return self._broker is not None

    def start(self) -> EmbeddedBroker:
        """Start listening; return once the listener is bound (raise :class:`EmbeddedBrokerError`
        naming ``host:port`` if it cannot be)."""
        if self._broker is not None:
            return self
        loop = asyncio.new_event_loop()
        thread = threading.Thread(
            target=self._run, args=(loop,), name="feederos-broker", daemon=True
        )
        self._loop, self._thread = loop, thread
        thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), loop)
        try:
            self._broker = future.result(_START_TIMEOUT_S)
        except Exception as exc:
            self._stop_loop()
            reason = "timed out" if isinstance(exc, FutureTimeout) else str(exc)
            raise EmbeddedBrokerError(
                f"embedded MQTT broker cannot listen on {self.host}:{self._requested_port}: "
                f"{reason}; choose another port (0 picks a free one)"
            ) from None
        return self

    def stop(self) -> None:
        """Shut the broker down, close its connections and end its thread."""
        broker, loop = self._broker, self._loop
        self._broker = None
        if broker is not None and loop is not None:
            future = asyncio.run_coroutine_threadsafe(broker.shutdown(), loop)
            try:
                future.result(_STOP_TIMEOUT_S)
            except FutureTimeout:
                raise EmbeddedBrokerError(
                    f"embedded MQTT broker on {self.host}:{self.port} did not shut down "
                    f"within {_STOP_TIMEOUT_S:g} s"
                ) from None
            finally:
                self._stop_loop()
        self.port = self._requested_port

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"EmbeddedBroker({self.host!r}, port={self.port}, {state})"

    async def _start(self) -> Broker:
        config: dict[str, Any] = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            # Plugins named in the config, not found through EntryPoints (deprecated, and
            # a DeprecationWarning is an error under pytest); no $SYS plugin (psutil).
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
            },
        }
        broker = _Broker(config, loop=asyncio.get_running_loop())
        await broker.start()
        if self._requested_port == 0:
            self.port = _bound_port(broker)
        return broker

    @staticmethod
    def _run(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            # Cancel what amqtt left running so no "task was destroyed" warning follows.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _stop_loop(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(_STOP_TIMEOUT_S)


def _bound_port(broker: Broker) -> int:
    # amqtt does not report the port it bound; its asyncio server does.
    server = broker._servers["default"].instance
    sockets = getattr(server, "sockets", ())
    if not sockets:
        raise EmbeddedBrokerError("the embedded broker's listener has no socket")
    return int(sockets[0].getsockname()[1])
