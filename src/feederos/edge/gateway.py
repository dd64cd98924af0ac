"""The StreetGrid LoRa gateway: radio frames in, bus measurements out; bus commands in,
radio frames out. It runs on the gateway Pi, beside the runtime.

Up (node to orchestrator)
    Every frame the radio receives is checked by :func:`~feederos.edge.lora.codec.decode`
    against the node's key and the gateway's :class:`~feederos.edge.lora.codec.ReplayGuard`.
    A node's :class:`~feederos.edge.messages.Telemetry` becomes one
    :class:`~feederos.runtime.messages.Measurement` per quantity on
    ``feeder/<id>/measurements/houseNN`` (:func:`telemetry_measurements`): ``soc_pct``,
    ``p_kw`` (``p_w / 1000``, consumption positive), ``q_kvar``, ``v_v``, ``f_hz`` and
    ``flags``, stamped with the gateway's clock when the frame arrived (the report is the
    average over the node's last telemetry period, so it is that much older). With the
    measurement-fault flag (bit 7) set, the electrical quantities go out ``invalid``.
    A frame that fails (truncated, forged, replayed, from an unknown node) is counted by
    reason and reported as a ``warning`` event; it never raises out of :meth:`LoRaGateway.on_frame`.

Down (orchestrator to node)
    A :class:`~feederos.runtime.messages.Command` on ``feeder/<id>/commands/houseNN.cK``
    becomes a :class:`~feederos.edge.messages.NodeCommand` (:func:`node_command`): ``open``
    → SHED circuit K, ``close`` → RESTORE circuit K; ``set_p_limit_pct`` on ``houseNN``
    → SET_P_LIMIT of that share of the house rating (100 % lifts the limit). It is
    encoded with the node's key and the gateway's per-node frame counter and handed to
    the radio, whose duty-cycle limiter queues it. Commands to assets the gateway does
    not serve are left alone (another device serves them); commands it serves but cannot
    carry (``open`` of the critical circuit 0, an action the node does not know, one that
    would expire in the duty-cycle queue) are refused with a ``warning`` event.

Keep-alive
    A node goes fail-safe when it hears nothing from the orchestrator for its timeout
    (60 s by default). The frame format has no heartbeat, so a node that has not been
    sent anything for ``keepalive_s`` gets its last power limit again (SET_P_LIMIT with
    the value last sent, 32 kW = no limit, at first), which the node applies idempotently.
    At SF7 a command frame is about 50 ms on air; unicast keep-alives to ten nodes every
    50 s would take 37 s per hour, more than the 36 s a 1 % duty cycle allows, so the
    keep-alive period must be longer and the nodes' timeout with it (:meth:`LoRaGateway.tick`).

Radio side
    Anything with :class:`Radio`'s two methods: the SX126x driver on the Pi, or a port of
    :class:`SimulatedStar`, which carries frames between nodes and the gateway over a
    :class:`~feederos.edge.lora.channel.Channel` on an edge
    :class:`~feederos.edge.sampling.Clock` (one duty-cycle limiter per radio, collisions,
    loss). :class:`EdgeBusClock` lets the runtime's apps read that same simulated time.

Examples
--------
>>> from datetime import UTC, datetime
>>> from feederos.edge.lora import GATEWAY, encode_telemetry
>>> from feederos.edge.messages import Telemetry
>>> from feederos.edge.sampling import SimClock
>>> from feederos.runtime.bus import InMemoryBus
>>> from feederos.runtime.messages import Measurement, decode
>>> clock = SimClock()
>>> star = SimulatedStar(clock, [3])
>>> keys = {3: bytes(range(16))}
>>> bus = InMemoryBus()
>>> got = []
>>> _ = bus.subscribe("feeder/sg/measurements/+",
...                   lambda m: got.append(decode(m.payload, Measurement)))
>>> gw = LoRaGateway(bus, star.port(GATEWAY), keys, settings=GatewaySettings(feeder_id="sg"),
...                  clock=EdgeBusClock(clock, datetime(2026, 6, 21, tzinfo=UTC)))
>>> star.listen(GATEWAY, gw.on_frame)
>>> gw.start()
>>> t = Telemetry(node=3, seq=0, soc_pct=80, p_w=1250, q_var=0, v_v=121.3, f_hz=60, flags=15)
>>> _ = star.port(3).transmit(encode_telemetry(t, keys[3], counter=0))
>>> clock.run_until(1.0)
>>> [(m.asset, m.quantity, m.value) for m in got][:2]
[('house03', 'soc_pct', 80.0), ('house03', 'p_kw', 1.25)]
>>> gw.stats.frames_ok, gw.stats.frames_bad
(1, {})
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import numpy as np

from feederos.edge.errors import EdgeConfigError, EdgeError
from feederos.edge.lora.airtime import time_on_air_s
from feederos.edge.lora.channel import Channel, Layout, star_layout
from feederos.edge.lora.codec import ReplayGuard, decode, encode_command
from feederos.edge.lora.duty_cycle import DutyCycleLimiter, Slot
from feederos.edge.lora.errors import FrameError
from feederos.edge.lora.link import LinkSettings
from feederos.edge.messages import (
    FLAG_MEASUREMENT_FAULT,
    N_CIRCUITS,
    SEQ_MODULUS,
    CommandKind,
    NodeCommand,
    Telemetry,
)
from feederos.edge.sampling import Clock as EdgeClock
from feederos.errors import PayloadError
from feederos.runtime.bus.base import Bus, BusMessage, Subscription
from feederos.runtime.clock import Clock
from feederos.runtime.messages import (
    Action,
    Command,
    Event,
    Measurement,
    Quality,
    Severity,
    encode,
)
from feederos.runtime.messages import decode as decode_message
from feederos.runtime.topics import check_id, command_topic, event_topic, measurement_topic

__all__ = [
    "AirFrame",
    "CommandRefusedError",
    "EdgeBusClock",
    "GatewaySettings",
    "GatewayStats",
    "LoRaGateway",
    "Radio",
    "SimulatedStar",
    "StarPort",
    "house_asset",
    "node_command",
    "telemetry_measurements",
]

#: The SET_P_LIMIT value that lifts a node's limit (the wire maximum) [W].
P_LIMIT_NONE_W = 32_000.0

# Telemetry field -> (quantity, unit, scale to the bus unit, electrical?).
_QUANTITIES: tuple[tuple[str, str, str, float, bool], ...] = (
    ("soc_pct", "soc_pct", "%", 1.0, False),
    ("p_w", "p_kw", "kW", 1e-3, True),
    ("q_var", "q_kvar", "kvar", 1e-3, True),
    ("v_v", "v_v", "V", 1.0, True),
    ("f_hz", "f_hz", "Hz", 1.0, True),
)


class CommandRefusedError(EdgeError):
    """A bus command for a node the gateway serves that it cannot carry; says why."""


def house_asset(node: int) -> str:
    """The asset id of node ``node``'s house (``house03`` for node 3).

    >>> house_asset(3), house_asset(10)
    ('house03', 'house10')
    """
    return f"house{node:02d}"


def telemetry_measurements(t: Telemetry, *, asset: str, ts: datetime) -> list[Measurement]:
    """The bus measurements of one telemetry report (see the module notes).

    >>> from datetime import UTC, datetime
    >>> t = Telemetry(node=3, seq=0, soc_pct=80, p_w=-1250, q_var=40, v_v=121.3, f_hz=60,
    ...               flags=0x8F)
    >>> ms = telemetry_measurements(t, asset="house03", ts=datetime(2026, 1, 1, tzinfo=UTC))
    >>> [(m.quantity, m.value, m.quality.value) for m in ms][:3]
    [('soc_pct', 80.0, 'good'), ('p_kw', -1.25, 'invalid'), ('q_kvar', 0.04, 'invalid')]
    >>> ms[-1].quantity, ms[-1].value
    ('flags', 143.0)
    """
    fault = t.flag(FLAG_MEASUREMENT_FAULT)
    out = [
        Measurement(
            ts=ts,
            asset=asset,
            quantity=quantity,
            value=float(getattr(t, name)) * scale,
            unit=unit,
            quality=Quality.INVALID if fault and electrical else Quality.GOOD,
        )
        for name, quantity, unit, scale, electrical in _QUANTITIES
    ]
    out.append(Measurement(ts=ts, asset=asset, quantity="flags", value=float(t.flags), unit=""))
    return out


def node_command(
    command: Command, *, nodes: Mapping[str, int], seq: int, house_rating_w: float
) -> NodeCommand | None:
    """The node command that carries ``command``, or None if no served node is addressed.

    Parameters
    ----------
    command
        The bus command.
    nodes
        House asset id to node id, for the houses this gateway serves.
    seq
        The command sequence number to give it.
    house_rating_w
        What 100 % of ``set_p_limit_pct`` stands for [W]; 100 % lifts the limit.

    Raises
    ------
    CommandRefusedError
        The command is for a served node but cannot be carried (its reason says why).

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> from feederos.runtime.messages import Action, Command
    >>> ts = datetime(2026, 1, 1, tzinfo=UTC)
    >>> c = Command(ts=ts, asset="house03.c1", action=Action.OPEN, issuer="orch")
    >>> node_command(c, nodes={"house03": 3}, seq=7, house_rating_w=24_000.0)
    NodeCommand(node=3, seq=7, kind=<CommandKind.SHED: 1>, circuit=1, value=0.0)
    >>> c = Command(ts=ts, asset="house03", action=Action.SET_P_LIMIT_PCT, setpoint=25.0,
    ...             issuer="orch")
    >>> node_command(c, nodes={"house03": 3}, seq=8, house_rating_w=24_000.0).value
    6000.0
    >>> node_command(c.model_copy(update={"asset": "anchor"}), nodes={"house03": 3}, seq=9,
    ...              house_rating_w=24_000.0) is None
    True
    """
    house, dot, circuit_text = command.asset.partition(".")
    node = nodes.get(house)
    if node is None:
        return None
    if dot:
        if not (circuit_text[:1] == "c" and circuit_text[1:].isdigit()):
            raise CommandRefusedError(f"asset {command.asset!r}: a relay is <house>.cK, K 0..3")
        circuit = int(circuit_text[1:])
        if circuit >= N_CIRCUITS:
            raise CommandRefusedError(
                f"asset {command.asset!r}: circuit {circuit} does not exist (0..{N_CIRCUITS - 1})"
            )
        if command.action is Action.OPEN:
            if circuit == 0:
                raise CommandRefusedError(
                    f"asset {command.asset!r}: circuit 0 is the critical circuit; it is never shed"
                )
            return NodeCommand(node=node, seq=seq, kind=CommandKind.SHED, circuit=circuit)
        if command.action is Action.CLOSE:
            return NodeCommand(node=node, seq=seq, kind=CommandKind.RESTORE, circuit=circuit)
        raise CommandRefusedError(
            f"asset {command.asset!r}: a circuit relay takes open or close, "
            f"not {command.action.value}"
        )
    if command.action is Action.SET_P_LIMIT_PCT and command.setpoint is not None:
        pct = command.setpoint
        value = P_LIMIT_NONE_W if pct >= 100.0 else min(pct / 100.0 * house_rating_w, 31_990.0)
        return NodeCommand(node=node, seq=seq, kind=CommandKind.SET_P_LIMIT, value=value)
    raise CommandRefusedError(
        f"asset {command.asset!r}: a house node takes set_p_limit_pct, not {command.action.value}"
    )


class Radio(Protocol):
    """The gateway's radio: a transmit queue under a duty-cycle limit."""

    def transmit(self, frame: bytes) -> Slot:
        """Queue ``frame`` now; returns when it goes on air."""
        ...

    def wait_s(self, frame: bytes) -> float:
        """How long ``frame``, handed over now, would wait before it ends on air [s]."""
        ...


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    """Settings of a :class:`LoRaGateway`.

    Attributes
    ----------
    feeder_id
        The feeder whose topics it speaks.
    house_rating_w
        What 100 % of a ``set_p_limit_pct`` command stands for [W] (100 A at 240 V).
    keepalive_s
        Send a node its last power limit again after this long without any command [s];
        None for never. Must stay below the nodes' ``orchestrator_timeout_s``.
    source
        The name its events carry.
    """

    feeder_id: str
    house_rating_w: float = 24_000.0
    keepalive_s: float | None = 120.0
    source: str = "lora-gateway"

    def __post_init__(self) -> None:
        check_id(self.feeder_id, what="feeder id")
        if not 0.0 < self.house_rating_w <= P_LIMIT_NONE_W:
            raise EdgeConfigError(
                f"GatewaySettings.house_rating_w = {self.house_rating_w}; use 0 < w <= 32000"
            )
        if self.keepalive_s is not None and not self.keepalive_s > 0.0:
            raise EdgeConfigError(f"GatewaySettings.keepalive_s = {self.keepalive_s}; use > 0")


@dataclass(slots=True)
class GatewayStats:
    """What a :class:`LoRaGateway` has done so far."""

    frames_ok: int = 0
    """Frames accepted."""
    frames_bad: dict[str, int] = field(default_factory=dict)
    """Frames refused, by error class name (``FrameAuthError``, ``ReplayError``, ...)."""
    measurements: int = 0
    """Measurements published."""
    commands_sent: int = 0
    """Bus commands handed to the radio."""
    commands_refused: int = 0
    """Bus commands for served nodes that could not be carried."""
    keepalives: int = 0
    """Keep-alive frames sent."""


class LoRaGateway:
    """Bridge between a LoRa :class:`Radio` and a runtime :class:`~feederos.runtime.bus.base.Bus`.

    Parameters
    ----------
    bus
        Any bus (in-memory on the twin, MQTT on the Pi).
    radio
        The gateway's radio.
    keys
        Node id to its key, for the nodes this gateway serves.
    settings
        :class:`GatewaySettings`.
    clock
        The runtime clock measurements and events are stamped with; keep-alives are
        timed on its ``monotonic_s``.
    guard
        Replay guard of received frames (restore it after a restart); a new one if omitted.
    counters
        Node id to the last command frame counter used (persisted across restarts, or
        the nodes would refuse the gateway's frames as replays); -1 for none.
    """

    def __init__(
        self,
        bus: Bus,
        radio: Radio,
        keys: Mapping[int, bytes],
        *,
        settings: GatewaySettings,
        clock: Clock,
        guard: ReplayGuard | None = None,
        counters: Mapping[int, int] | None = None,
    ):
        self.bus = bus
        self.radio = radio
        self.keys = dict(keys)
        self.settings = settings
        self.clock = clock
        self.guard = guard if guard is not None else ReplayGuard()
        self._assets = {n: house_asset(n) for n in self.keys}
        self._nodes = {a: n for n, a in self._assets.items()}
        self._counter = {n: -1 for n in self.keys}
        self._counter.update(counters or {})
        self._seq = dict.fromkeys(self.keys, 0)
        self._p_limit_w = dict.fromkeys(self.keys, P_LIMIT_NONE_W)
        self._last_sent_s = dict.fromkeys(self.keys, clock.monotonic_s())
        self._subscription: Subscription | None = None
        self.stats = GatewayStats()
        self.sent: list[tuple[Command | None, NodeCommand, Slot]] = []
        """Every frame handed to the radio: (bus command or None for a keep-alive, the
        node command, its slot)."""

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Subscribe to the feeder's commands."""
        if self._subscription is None:
            topic = command_topic(self.settings.feeder_id, "+")
            self._subscription = self.bus.subscribe(topic, self._on_command_message, qos=1)

    def stop(self) -> None:
        """Unsubscribe."""
        if self._subscription is not None:
            self.bus.unsubscribe(self._subscription)
            self._subscription = None

    def counters(self) -> dict[int, int]:
        """The last command frame counter used per node, to persist."""
        return dict(self._counter)

    # ------------------------------------------------------------------ up
    def on_frame(self, frame: bytes) -> Telemetry | None:
        """Handle one received frame; returns its telemetry if it was accepted."""
        try:
            got = decode(frame, self.keys, guard=self.guard)
            if not isinstance(got.message, Telemetry):
                raise _WrongDirectionError(
                    f"frame from node {got.node} is a command, not telemetry"
                )
        except FrameError as e:
            reason = type(e).__name__
            self.stats.frames_bad[reason] = self.stats.frames_bad.get(reason, 0) + 1
            node = frame[1] if isinstance(frame, bytes | bytearray) and len(frame) > 1 else None
            self._event(f"radio frame refused: {e}", reason=reason, node=node, bytes=len(frame))
            return None
        self.stats.frames_ok += 1
        asset = self._assets[got.node]
        topic = measurement_topic(self.settings.feeder_id, asset)
        for m in telemetry_measurements(got.message, asset=asset, ts=self.clock.now()):
            self.bus.publish(topic, encode(m), qos=1)
            self.stats.measurements += 1
        return got.message

    # ------------------------------------------------------------------ down
    def _on_command_message(self, message: BusMessage) -> None:
        try:
            command = decode_message(message.payload, Command, topic=message.topic)
        except PayloadError as e:
            house = message.topic.rsplit("/", 1)[-1].partition(".")[0]
            if house in self._nodes:
                self._event(f"malformed command refused: {e}", topic=message.topic)
            return
        self.submit(command)

    def submit(self, command: Command) -> Slot | None:
        """Carry ``command`` to its node; returns the radio slot, None if not sent."""
        node = self._nodes.get(command.asset.partition(".")[0])
        if node is None:
            return None  # not a node of ours: another device serves it
        seq = self._seq[node]
        try:
            nc = node_command(
                command, nodes=self._nodes, seq=seq, house_rating_w=self.settings.house_rating_w
            )
            assert nc is not None  # the node is served
            frame = self._encode(nc, dry=True)
            if command.expires is not None:
                left_s = (command.expires - self.clock.now()).total_seconds()
                wait_s = self.radio.wait_s(frame)
                if wait_s > left_s:
                    raise CommandRefusedError(
                        f"command to {command.asset} would reach the air {wait_s:.2f} s from "
                        f"now, after it expires ({left_s:.2f} s); the duty-cycle queue is full"
                    )
        except CommandRefusedError as e:
            self.stats.commands_refused += 1
            self._event(f"command refused: {e}", asset=command.asset, command=command.id)
            return None
        if nc.kind is CommandKind.SET_P_LIMIT:
            self._p_limit_w[node] = nc.value
        self.stats.commands_sent += 1
        return self._send(command, nc)

    def tick(self) -> int:
        """Send the keep-alives that are due; returns how many. Call it every few seconds."""
        every_s = self.settings.keepalive_s
        if every_s is None:
            return 0
        now_s = self.clock.monotonic_s()
        due = [n for n, t in sorted(self._last_sent_s.items()) if now_s - t >= every_s]
        for n in due:
            nc = NodeCommand(
                node=n, seq=self._seq[n], kind=CommandKind.SET_P_LIMIT, value=self._p_limit_w[n]
            )
            self._send(None, nc)
            self.stats.keepalives += 1
        return len(due)

    def _send(self, command: Command | None, nc: NodeCommand) -> Slot:
        frame = self._encode(nc, dry=False)
        self._seq[nc.node] = (self._seq[nc.node] + 1) % SEQ_MODULUS
        slot = self.radio.transmit(frame)
        self._last_sent_s[nc.node] = self.clock.monotonic_s()
        self.sent.append((command, nc, slot))
        return slot

    def _encode(self, nc: NodeCommand, *, dry: bool) -> bytes:
        counter = self._counter[nc.node] + 1
        if not dry:
            self._counter[nc.node] = counter
        return encode_command(nc, self.keys[nc.node], counter)

    def _event(self, text: str, **data: Any) -> None:
        event = Event(
            ts=self.clock.now(),
            severity=Severity.WARNING,
            source=self.settings.source,
            text=text,
            data=data,
        )
        topic = event_topic(self.settings.feeder_id, Severity.WARNING)
        self.bus.publish(topic, encode(event), qos=1)


class _WrongDirectionError(FrameError):
    """A command frame heard by the gateway (it only receives telemetry)."""


class EdgeBusClock:
    """The runtime :class:`~feederos.runtime.clock.Clock` view of an edge clock.

    ``monotonic_s`` is the edge clock's ``now_s`` and ``now`` is ``start`` plus it, so
    the orchestrator's timers, the gateway's stamps and the nodes' radios share one
    simulated time.

    >>> from datetime import UTC, datetime
    >>> from feederos.edge.sampling import SimClock
    >>> sim = SimClock(); clock = EdgeBusClock(sim, datetime(2026, 1, 1, tzinfo=UTC))
    >>> sim.run_until(90.0); clock.now().isoformat(), clock.monotonic_s()
    ('2026-01-01T00:01:30+00:00', 90.0)
    """

    def __init__(self, clock: EdgeClock, start: datetime):
        if start.tzinfo is None:
            raise EdgeConfigError("EdgeBusClock needs a timezone-aware start time")
        self._clock = clock
        self._start = start

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._clock.now_s())

    def monotonic_s(self) -> float:
        return self._clock.now_s()


@dataclass(frozen=True, slots=True)
class AirFrame:
    """One frame sent over a :class:`SimulatedStar`.

    Attributes
    ----------
    sender
        Node id (:data:`~feederos.edge.lora.channel.GATEWAY` for the gateway).
    sent_s
        When it was handed to the radio [s].
    slot
        Its duty-cycle slot (on air from ``slot.start_s`` to ``slot.end_s``).
    """

    sender: int
    sent_s: float
    slot: Slot


class SimulatedStar:
    """Edge nodes and a gateway on a LoRa star, timed by an edge clock.

    Each radio has a duty-cycle limiter; every frame goes on the shared
    :class:`~feederos.edge.lora.channel.Channel` (collisions, capture, loss) and reaches
    each receiver that gets it intact ``rx_processing_s`` after it ends on air, through
    the callback given to :meth:`listen`. Unlike :class:`~feederos.edge.lora.link.RadioLink`
    the gateway does not re-send what it hears: it is an endpoint.

    Parameters
    ----------
    clock
        The edge clock (a :class:`~feederos.edge.sampling.SimClock` in tests).
    nodes
        Node ids 1..255.
    settings
        Radio settings (SF7/125 kHz, 1 %, one-hour window by default).
    positions_m
        Positions of the nodes and the gateway [m], for capture; equal power if omitted.
    seed
        Seed of the channel's loss draws.
    """

    def __init__(
        self,
        clock: EdgeClock,
        nodes: Iterable[int],
        settings: LinkSettings | None = None,
        *,
        positions_m: Mapping[int, tuple[float, float]] | None = None,
        seed: int = 0,
    ):
        self.clock = clock
        self.settings = s = settings or LinkSettings()
        self.layout: Layout = star_layout(nodes, positions_m=positions_m)
        self.channel = Channel(
            self.layout,
            loss_probability=s.loss_probability,
            capture_db=s.capture_db,
            rng=np.random.default_rng(seed),
        )
        self.radios = {
            n: DutyCycleLimiter(duty_cycle=s.duty_cycle, window_s=s.window_s)
            for n in sorted(self.layout.nodes)
        }
        self._listeners: dict[int, Callable[[bytes], object]] = {}
        self.frames: list[AirFrame] = []
        """Every frame sent, in order."""
        self.received: list[tuple[int, float, AirFrame]] = []
        """(receiver, time, frame) of every intact reception."""

    def port(self, node: int) -> StarPort:
        """The radio of ``node`` (a :class:`Radio`)."""
        if node not in self.radios:
            raise EdgeConfigError(
                f"node {node} is not on the star; nodes are {sorted(self.radios)}"
            )
        return StarPort(self, node)

    def listen(self, node: int, on_frame: Callable[[bytes], object]) -> None:
        """Hand the frames ``node`` receives to ``on_frame``."""
        self.port(node)
        self._listeners[node] = on_frame

    def airtime_s(self, frame: bytes) -> float:
        """Time on air of ``frame`` [s]."""
        return time_on_air_s(len(frame), self.settings.modulation)

    def used_fraction(self, node: int) -> float:
        """Worst duty cycle of ``node``'s radio over any window so far."""
        return self.radios[node].used_fraction()

    def _transmit(self, node: int, frame: bytes) -> Slot:
        now_s = self.clock.now_s()
        slot = self.radios[node].submit(
            now_s + self.settings.tx_processing_s, self.airtime_s(frame)
        )
        tx = self.channel.transmit(node, slot.start_s, slot.end_s)
        air = AirFrame(node, now_s, slot)
        self.frames.append(air)

        def done() -> None:
            t_s = self.clock.now_s()
            for r in self.channel.receivers(tx):
                self.received.append((r, t_s, air))
                listener = self._listeners.get(r)
                if listener is not None:
                    listener(frame)

        self.clock.call_at(slot.end_s + self.settings.rx_processing_s, done)
        return slot

    def _wait_s(self, node: int, frame: bytes) -> float:
        ready_s = self.clock.now_s() + self.settings.tx_processing_s
        airtime_s = self.airtime_s(frame)
        start_s = self.radios[node].next_start_s(ready_s, airtime_s)
        return start_s + airtime_s - self.clock.now_s()


@dataclass(frozen=True, slots=True)
class StarPort:
    """One radio of a :class:`SimulatedStar` (satisfies :class:`Radio`)."""

    star: SimulatedStar
    node: int

    def transmit(self, frame: bytes) -> Slot:
        """Queue ``frame`` at the clock's current time."""
        return self.star._transmit(self.node, frame)

    def wait_s(self, frame: bytes) -> float:
        """Time until ``frame``, handed over now, would end on air [s]."""
        return self.star._wait_s(self.node, frame)
