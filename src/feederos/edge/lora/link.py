"""A simulated StreetGrid radio link: encoded frames carried between nodes over time.

Each node has one radio with a :class:`~feederos.edge.lora.duty_cycle.DutyCycleLimiter`;
frames share one :class:`~feederos.edge.lora.channel.Channel`. A frame handed over at
``t`` goes through::

    t  + tx_processing_s      encode, MIC, SPI to the modem, ramp-up      -> queued
    start (duty-cycle queue)  ... end = start + time on air               -> on air
    end + rx_processing_s     demodulated frame read out, MIC, decode     -> delivered

so the end-to-end latency is processing + queue wait + time on air (twice over, plus the
gateway's processing, in a star). Receivers decode with :func:`~feederos.edge.lora.codec.decode`
and their own :class:`~feederos.edge.lora.codec.ReplayGuard`; a frame that fails is
counted as a drop with the error's class name. In a star the gateway checks each frame
the same way and re-sends the ones it accepts, unchanged.

The default processing times (20 ms each side) are a deliberately generous allowance for
a Raspberry Pi (Python codec, Linux scheduling, SPI to the SX126x) rather than a
measurement; the codec itself takes tens of microseconds.

Examples
--------
>>> from feederos.edge.lora.channel import mesh_layout
>>> from feederos.edge.lora.codec import encode_telemetry
>>> from feederos.edge.messages import Telemetry
>>> keys = {1: bytes(16), 2: bytes(range(16))}
>>> link = RadioLink(mesh_layout({1: (0, 0), 2: (80, 0)}, range_m=500), keys, seed=1)
>>> t = Telemetry(node=1, seq=0, soc_pct=55, p_w=0, q_var=0, v_v=120, f_hz=60, flags=1)
>>> link.send(0.0, 1, encode_telemetry(t, keys[1], counter=0))
>>> [(d.receiver, d.message.soc_pct, round(d.latency_s, 4)) for d in link.run(10.0)]
[(2, 55.0, 0.1017)]
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from feederos.edge.lora.airtime import LoRaModulation, time_on_air_s
from feederos.edge.lora.channel import GATEWAY, Channel, Layout, LayoutKind, Transmission
from feederos.edge.lora.codec import ReplayGuard, decode
from feederos.edge.lora.duty_cycle import DutyCycleLimiter
from feederos.edge.lora.errors import FrameError, LinkError
from feederos.edge.messages import NodeCommand, Telemetry

__all__ = ["Delivery", "Drop", "LinkSettings", "RadioLink"]


@dataclass(frozen=True, slots=True)
class LinkSettings:
    """Radio settings shared by every node of a link.

    Attributes
    ----------
    modulation
        LoRa settings (default SF7, 125 kHz, CR 4/5, 8-symbol preamble, header, CRC).
    duty_cycle
        Allowed on-air fraction per radio and sub-band (EU868 g1: 1 %).
    window_s
        Duty-cycle observation window [s].
    tx_processing_s
        Time from handing a frame over to it being queued at the modem [s].
    rx_processing_s
        Time from the end of reception to the decoded message [s].
    loss_probability
        Independent per-receiver frame loss, 0..1.
    capture_db
        Capture margin [dB], None for no capture.
    """

    modulation: LoRaModulation = field(
        default_factory=lambda: LoRaModulation(sf=7, bw_hz=125_000.0, cr=1)
    )
    duty_cycle: float = 0.01
    window_s: float = 3600.0
    tx_processing_s: float = 0.020
    rx_processing_s: float = 0.020
    loss_probability: float = 0.0
    capture_db: float | None = 6.0


@dataclass(frozen=True, slots=True)
class Delivery:
    """A message decoded by a receiver.

    Attributes
    ----------
    origin
        The node that first sent the frame.
    receiver
        The node that decoded it.
    counter
        The frame counter.
    sent_s
        When the origin handed the frame over [s].
    delivered_s
        When the receiver had the decoded message [s].
    hops
        Radio hops (1 direct, 2 through the gateway).
    message
        The decoded Telemetry or NodeCommand.
    """

    origin: int
    receiver: int
    counter: int
    sent_s: float
    delivered_s: float
    hops: int
    message: Telemetry | NodeCommand

    @property
    def latency_s(self) -> float:
        """End-to-end latency [s]."""
        return self.delivered_s - self.sent_s


@dataclass(frozen=True, slots=True)
class Drop:
    """A frame a receiver heard but refused (or the gateway could not forward).

    Attributes
    ----------
    receiver
        Node id.
    t_s
        When [s].
    reason
        The error class name (``FrameAuthError``, ``ReplayError``, ...).
    """

    receiver: int
    t_s: float
    reason: str


class _Event(IntEnum):
    # At equal times, queue frames before resolving receptions: a frame that starts
    # exactly when another ends must be registered before that one is resolved.
    SUBMIT = 0
    TX_END = 1


@dataclass(frozen=True, slots=True)
class _Frame:
    frame: bytes
    origin: int
    sent_s: float
    hops: int


class RadioLink:
    """Nodes, their radios and the channel between them.

    Parameters
    ----------
    layout
        Mesh or star :class:`~feederos.edge.lora.channel.Layout`.
    keys
        Node id to key, known to every receiver (each node trusts the others' keys).
    settings
        :class:`LinkSettings`.
    seed
        Seed of the channel's loss draws.
    """

    def __init__(
        self,
        layout: Layout,
        keys: Mapping[int, bytes],
        settings: LinkSettings | None = None,
        *,
        seed: int = 0,
    ):
        self.layout = layout
        self.keys = dict(keys)
        self.settings = settings or LinkSettings()
        s = self.settings
        self.channel = Channel(
            layout,
            loss_probability=s.loss_probability,
            capture_db=s.capture_db,
            rng=np.random.default_rng(seed),
        )
        self.radios = {
            n: DutyCycleLimiter(duty_cycle=s.duty_cycle, window_s=s.window_s)
            for n in sorted(layout.nodes)
        }
        self._guards = {n: ReplayGuard() for n in layout.nodes}
        self._events: list[tuple[float, int, int, int, _Frame]] = []
        self._tx: dict[int, tuple[Transmission, _Frame]] = {}
        self._order = 0
        self._now_s = -np.inf
        self.deliveries: list[Delivery] = []
        self.drops: list[Drop] = []

    def airtime_s(self, frame: bytes) -> float:
        """Time on air of ``frame`` with the link's modulation [s]."""
        return time_on_air_s(len(frame), self.settings.modulation)

    def send(self, t_s: float, sender: int, frame: bytes) -> None:
        """Hand ``frame`` to ``sender``'s radio at ``t_s`` [s] (not before the clock)."""
        if sender not in self.radios:
            raise LinkError(f"node {sender} is not in the link's {self.layout.kind} layout")
        if t_s < self._now_s:
            raise LinkError(f"send at t = {t_s} s is before the link's clock {self._now_s} s")
        self._push(
            t_s + self.settings.tx_processing_s,
            _Event.SUBMIT,
            sender,
            _Frame(frame, sender, t_s, 1),
        )

    def run(self, until_s: float) -> list[Delivery]:
        """Advance the clock to ``until_s`` [s]; returns the deliveries made meanwhile."""
        first = len(self.deliveries)
        while self._events and self._events[0][0] <= until_s:
            t, kind, _, node, item = heapq.heappop(self._events)
            self._now_s = t
            if kind == _Event.SUBMIT:
                slot = self.radios[node].submit(t, self.airtime_s(item.frame))
                tx = self.channel.transmit(node, slot.start_s, slot.end_s)
                self._tx[tx.id] = (tx, item)
                self._push(slot.end_s, _Event.TX_END, tx.id, item)
            else:
                self._receive(t, node)
        self._now_s = max(self._now_s, until_s)
        return self.deliveries[first:]

    def _receive(self, t_s: float, tx_id: int) -> None:
        tx, item = self._tx.pop(tx_id)
        done_s = t_s + self.settings.rx_processing_s
        for r in self.channel.receivers(tx):
            try:
                got = decode(item.frame, self.keys, guard=self._guards[r])
            except FrameError as e:
                self.drops.append(Drop(r, done_s, type(e).__name__))
                continue
            if r == GATEWAY and self.layout.kind is LayoutKind.STAR:
                fwd = _Frame(item.frame, item.origin, item.sent_s, item.hops + 1)
                self._push(done_s + self.settings.tx_processing_s, _Event.SUBMIT, r, fwd)
                continue
            if r == item.origin:
                continue  # its own frame, echoed by the gateway
            self.deliveries.append(
                Delivery(item.origin, r, got.counter, item.sent_s, done_s, item.hops, got.message)
            )

    def _push(self, t_s: float, kind: _Event, key: int, item: _Frame) -> None:
        # (time, kind, key, order): SUBMIT events keep node id in `key`, TX_END the tx id.
        self._order += 1
        heapq.heappush(self._events, (t_s, int(kind), self._order, key, item))
