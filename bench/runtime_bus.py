"""Message bus throughput and latency: InMemoryBus, Mosquitto and the embedded broker.

Run ``python -m bench.runtime_bus`` from the repository root (Mosquitto must listen on
127.0.0.1:1883; ``--quick`` for small counts). Prints one table:

1. **InMemoryBus**: messages per second from ``publish`` to the handler, for
   ``--messages`` encoded :class:`~feederos.runtime.messages.Measurement` payloads; once
   with a handler that only counts, once with one that decodes the payload.
2. **MQTT latency**: ``--paced`` QoS 1 messages, one every ``--interval-ms``, from one
   :class:`~feederos.runtime.bus.mqtt.MqttBus` to another through the loopback broker;
   publish-to-handler latency percentiles [ms]. Then ``--unpaced`` messages published
   as fast as they go: messages per second until the last is handled, and how many
   the broker dropped (Mosquitto drops QoS 1 messages beyond ``max_queued_messages``,
   1000 by default, queued for a subscriber that falls behind).
3. The same through :class:`~feederos.runtime.broker.EmbeddedBroker` (amqtt, MQTT 3.1.1).

Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import logging
import struct
import threading
import time
import uuid
from collections.abc import Sequence

import numpy as np

from feederos.runtime.broker import EmbeddedBroker
from feederos.runtime.bus.base import BusMessage
from feederos.runtime.bus.memory import InMemoryBus
from feederos.runtime.bus.mqtt import MqttBus
from feederos.runtime.messages import Measurement, decode, encode, utc_now
from feederos.runtime.topics import measurement_topic

MOSQUITTO_URL = "mqtt://127.0.0.1:1883"
SETTLE_S = 2.0
"""Quiet time after which an unpaced run counts the missing messages as lost [s]."""
_STAMP = struct.Struct("<d")
"""The send time [s, perf_counter] leads each latency payload."""


def _payloads(n: int) -> list[bytes]:
    ts = utc_now()
    return [
        encode(Measurement(ts=ts, asset=f"pv-{i % 100}", quantity="p_kw", value=i * 0.5, unit="kW"))
        for i in range(n)
    ]


def memory_rate(n: int, *, decode_payload: bool) -> float:
    """InMemoryBus messages per second, publish to handler."""
    bus = InMemoryBus()
    payloads = _payloads(n)
    topics = [measurement_topic("f1", f"pv-{i % 100}") for i in range(n)]
    count = 0

    def handler(message: BusMessage) -> None:
        nonlocal count
        if decode_payload:
            decode(message.payload, Measurement)
        count += 1

    bus.subscribe("feeder/f1/measurements/+", handler)
    t0 = time.perf_counter()
    for topic, payload in zip(topics, payloads, strict=True):
        bus.publish(topic, payload)
    seconds = time.perf_counter() - t0
    assert count == n
    return n / seconds


def mqtt_latency_ms(url: str, n: int, interval_ms: float) -> np.ndarray:
    """Publish-to-handler latencies [ms] of ``n`` QoS 1 messages sent ``interval_ms`` apart."""
    topic = measurement_topic(f"bench-{uuid.uuid4().hex[:8]}", "pv-1")
    body = _payloads(1)[0]
    latencies = np.full(n, np.nan)
    done = threading.Event()
    received = 0

    def handler(message: BusMessage) -> None:
        nonlocal received
        (sent,) = _STAMP.unpack_from(message.payload)
        latencies[received] = (time.perf_counter() - sent) * 1e3
        received += 1
        if received == n:
            done.set()

    with MqttBus(url) as sub_bus, MqttBus(url) as pub_bus:
        sub_bus.subscribe(topic, handler)
        start = time.perf_counter()
        for i in range(n):
            # Pace against the clock, not by sleeping a fixed time after each send.
            wait_s = start + i * interval_ms / 1e3 - time.perf_counter()
            if wait_s > 0:
                time.sleep(wait_s)
            pub_bus.publish(topic, _STAMP.pack(time.perf_counter()) + body, qos=1)
        if not done.wait(30.0):
            raise RuntimeError(f"only {received} of {n} messages arrived through {url}")
    return latencies


def mqtt_rate(url: str, n: int) -> tuple[float, int]:
    """QoS 1 messages per second, published unpaced, from the first publish to the last
    message handled; and how many never arrived.

    A broker may drop QoS 1 messages for a subscriber that falls behind: Mosquitto does
    beyond ``max_queued_messages`` (default 1000) queued for one client. The count is
    settled once no message arrived for :data:`SETTLE_S`.
    """
    topic = measurement_topic(f"bench-{uuid.uuid4().hex[:8]}", "pv-1")
    payloads = _payloads(n)
    done = threading.Event()
    received = 0
    last = 0.0

    def handler(message: BusMessage) -> None:
        nonlocal received, last
        received += 1
        last = time.perf_counter()
        if received == n:
            done.set()

    with MqttBus(url) as sub_bus, MqttBus(url) as pub_bus:
        sub_bus.subscribe(topic, handler)
        t0 = time.perf_counter()
        for payload in payloads:
            pub_bus.publish(topic, payload, qos=1)
        if not pub_bus.flush(120.0):
            raise RuntimeError(f"the broker at {url} did not acknowledge {n} publishes")
        seen = -1
        while not done.wait(SETTLE_S) and received != seen:
            seen = received
        return received / (last - t0), n - received


def _row(
    name: str,
    n: int,
    rate: float | None,
    latencies: np.ndarray | None = None,
    lost: int | None = None,
) -> None:
    rate_text = f"{rate:>12,.0f}" if rate is not None else f"{'':>12}"
    if latencies is None:
        lat = f"{'':>9}{'':>9}{'':>9}"
    else:
        p50, p99 = np.percentile(latencies, [50, 99])
        lat = f"{p50:>9.3f}{p99:>9.3f}{latencies.max():>9.3f}"
    lost_text = f"{lost:>7,}" if lost is not None else f"{'':>7}"
    print(f"{name:<52}{n:>9,}{rate_text}{lat}{lost_text}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table; return an exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000, help="InMemoryBus messages")
    parser.add_argument("--paced", type=int, default=5_000, help="MQTT latency messages")
    parser.add_argument("--interval-ms", type=float, default=1.0, help="pacing [ms]")
    parser.add_argument("--unpaced", type=int, default=20_000, help="MQTT throughput messages")
    parser.add_argument("--quick", action="store_true", help="small counts, to see it works")
    parser.add_argument(
        "--no-mosquitto",
        action="store_true",
        help="skip the lines through Mosquitto on 127.0.0.1:1883",
    )
    args = parser.parse_args(argv)
    # amqtt warns on stderr about PUBACKs that cross a closing connection; not our figures.
    logging.getLogger("amqtt").setLevel(logging.ERROR)
    if args.quick:
        args.messages, args.paced, args.unpaced = 2_000, 200, 500
    print(
        f"{'bus':<52}{'messages':>9}{'msg/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'lost':>7}"
    )
    _row(
        "InMemoryBus, handler counts",
        args.messages,
        memory_rate(args.messages, decode_payload=False),
    )
    _row(
        "InMemoryBus, handler decodes Measurement",
        args.messages,
        memory_rate(args.messages, decode_payload=True),
    )
    brokers: list[tuple[str, str]] = []
    if not args.no_mosquitto:
        brokers.append(("Mosquitto :1883, MQTT 5", MOSQUITTO_URL))
    with EmbeddedBroker() as embedded:
        brokers.append(("EmbeddedBroker (amqtt), MQTT 3.1.1", embedded.url))
        for name, url in brokers:
            latencies = mqtt_latency_ms(url, args.paced, args.interval_ms)
            _row(f"{name}, QoS 1, {args.interval_ms:g} ms apart", args.paced, None, latencies)
            rate, lost = mqtt_rate(url, args.unpaced)
            _row(f"{name}, QoS 1, unpaced", args.unpaced, rate, lost=lost)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
