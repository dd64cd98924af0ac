"""The LoRa gateway alone: telemetry to measurements, commands to frames, bad frames."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from feederos.edge.gateway import (
    P_LIMIT_NONE_W,
    EdgeBusClock,
    GatewaySettings,
    LoRaGateway,
    SimulatedStar,
)
from feederos.edge.lora import GATEWAY, ReplayGuard, decode, encode_command, encode_telemetry
from feederos.edge.messages import CommandKind, NodeCommand, Telemetry
from feederos.edge.sampling import SimClock
from feederos.runtime.bus import InMemoryBus
from feederos.runtime.messages import Action, Command, Event, Measurement, Quality, encode
from feederos.runtime.messages import decode as decode_message

FEEDER = "sg"
START = datetime(2026, 6, 21, 17, tzinfo=UTC)
KEYS = {3: bytes(range(16)), 4: bytes(range(16, 32))}
T = Telemetry(
    node=3, seq=5, soc_pct=81.5, p_w=1250.0, q_var=-40.0, v_v=121.3, f_hz=59.998, flags=0x0F
)


class Rig:
    def __init__(self, *, keepalive_s: float | None = None) -> None:
        self.clock = SimClock()
        self.star = SimulatedStar(self.clock, KEYS)
        self.bus = InMemoryBus()
        self.measurements: list[Measurement] = []
        self.events: list[Event] = []
        self.node_frames: dict[int, list[bytes]] = {n: [] for n in KEYS}
        self.bus.subscribe(
            f"feeder/{FEEDER}/measurements/+",
            lambda m: self.measurements.append(decode_message(m.payload, Measurement)),
        )
        self.bus.subscribe(
            f"feeder/{FEEDER}/events/+",
            lambda m: self.events.append(decode_message(m.payload, Event)),
        )
        self.bus_clock = EdgeBusClock(self.clock, START)
        self.gw = LoRaGateway(
            self.bus,
            self.star.port(GATEWAY),
            KEYS,
            settings=GatewaySettings(feeder_id=FEEDER, keepalive_s=keepalive_s),
            clock=self.bus_clock,
        )
        self.star.listen(GATEWAY, self.gw.on_frame)
        for n in KEYS:
            self.star.listen(n, self.node_frames[n].append)
        self.gw.start()

    def command(
        self,
        asset: str,
        action: Action,
        setpoint: float | None = None,
        expires_s: float | None = None,
    ) -> Command:
        ts = self.bus_clock.now()
        c = Command(
            ts=ts,
            asset=asset,
            action=action,
            setpoint=setpoint,
            issuer="test",
            expires=None if expires_s is None else ts + timedelta(seconds=expires_s),
        )
        self.bus.publish(f"feeder/{FEEDER}/commands/{asset}", encode(c))
        return c

    def commands_heard(self, node: int) -> list[NodeCommand]:
        guard = ReplayGuard()
        out = []
        for f in self.node_frames[node]:
            if f[1] == node:
                m = decode(f, {node: KEYS[node]}, guard=guard).message
                assert isinstance(m, NodeCommand)
                out.append(m)
        return out


def test_telemetry_becomes_measurements_of_the_house() -> None:
    rig = Rig()
    rig.clock.run_until(10.0)
    rig.star.port(3).transmit(encode_telemetry(T, KEYS[3], counter=0))
    rig.clock.run_until(11.0)
    got = {m.quantity: m for m in rig.measurements}
    assert {m.asset for m in rig.measurements} == {"house03"}
    assert got["soc_pct"].value == 81.5
    assert got["p_kw"].value == pytest.approx(1.25)
    assert got["q_kvar"].value == pytest.approx(-0.04)
    assert got["v_v"].value == pytest.approx(121.3)
    assert got["f_hz"].value == pytest.approx(59.998)
    assert got["flags"].value == 15.0
    # stamped when it arrived: 20 ms + 56 ms on air + 20 ms after it was handed over
    arrived_s = (got["p_kw"].ts - START).total_seconds()
    assert 10.05 < arrived_s < 10.2
    assert rig.gw.stats.frames_ok == 1 and rig.events == []


def test_measurement_fault_makes_electrical_quantities_invalid() -> None:
    rig = Rig()
    bad = Telemetry(node=3, seq=0, soc_pct=50, p_w=0, q_var=0, v_v=0, f_hz=60, flags=0x8F)
    rig.gw.on_frame(encode_telemetry(bad, KEYS[3], counter=0))
    quality = {m.quantity: m.quality for m in rig.measurements}
    assert quality["soc_pct"] is Quality.GOOD
    assert quality["p_kw"] is quality["f_hz"] is Quality.INVALID


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"\x11\x03\x00", "FrameFormatError"),  # truncated
        (encode_telemetry(T, KEYS[4], counter=0), "FrameAuthError"),  # node 3 with 4's key
        (
            encode_telemetry(
                Telemetry(node=9, seq=0, soc_pct=1, p_w=0, q_var=0, v_v=120, f_hz=60, flags=0),
                KEYS[3],
                counter=0,
            ),
            "FrameFormatError",
        ),  # unknown node
        (
            encode_command(
                NodeCommand(node=3, seq=0, kind=CommandKind.SHED, circuit=1), KEYS[3], counter=0
            ),
            "_WrongDirectionError",
        ),  # a command heard by the gateway
    ],
    ids=["truncated", "forged", "unknown-node", "command"],
)
def test_bad_frames_are_counted_and_reported_never_raised(frame: bytes, reason: str) -> None:
    rig = Rig()
    assert rig.gw.on_frame(frame) is None
    assert rig.gw.stats.frames_bad == {reason: 1}
    assert rig.measurements == []
    (event,) = rig.events
    assert event.severity == "warning" and event.data["reason"] == reason
    assert event.source == "lora-gateway"


def test_replayed_frame_is_refused() -> None:
    rig = Rig()
    frame = encode_telemetry(T, KEYS[3], counter=7)
    assert rig.gw.on_frame(frame) is not None
    assert rig.gw.on_frame(frame) is None
    assert rig.gw.on_frame(encode_telemetry(T, KEYS[3], counter=6)) is None
    assert rig.gw.stats.frames_bad == {"ReplayError": 2}
    assert rig.gw.stats.frames_ok == 1
    assert len(rig.measurements) == 6


def test_open_and_close_become_shed_and_restore_over_the_air() -> None:
    rig = Rig()
    rig.command("house03.c1", Action.OPEN)
    rig.command("house03.c1", Action.CLOSE)
    rig.command("house04", Action.SET_P_LIMIT_PCT, 25.0)
    rig.command("house04", Action.SET_P_LIMIT_PCT, 100.0)
    rig.command("anchor", Action.SET_P_KW, 5.0)  # not a node of ours: left alone
    rig.clock.run_until(2.0)
    got3 = [(c.kind, c.circuit, c.seq) for c in rig.commands_heard(3)]
    assert got3 == [(CommandKind.SHED, 1, 0), (CommandKind.RESTORE, 1, 1)]
    assert [c.value for c in rig.commands_heard(4)] == [6000.0, P_LIMIT_NONE_W]
    assert rig.gw.stats.commands_sent == 4 and rig.events == []
    # the gateway's radio is one queue: four frames back to back
    slots = [slot for _, _, slot in rig.gw.sent]
    assert all(b.start_s >= a.end_s for a, b in itertools.pairwise(slots))


@pytest.mark.parametrize(
    ("asset", "action", "text"),
    [
        ("house03.c0", Action.OPEN, "critical"),
        ("house03.c7", Action.OPEN, "does not exist"),
        ("house03.c1", Action.SET_TAP, "open or close"),
        ("house03", Action.OPEN, "set_p_limit_pct"),
    ],
)
def test_commands_a_node_cannot_take_are_refused(asset: str, action: Action, text: str) -> None:
    rig = Rig()
    rig.command(asset, action, 1.0 if action is Action.SET_TAP else None)
    rig.clock.run_until(2.0)
    assert rig.commands_heard(3) == [] and rig.gw.sent == []
    (event,) = rig.events
    assert text in event.text and event.data["asset"] == asset
    assert rig.gw.stats.commands_refused == 1


def test_command_that_would_expire_in_the_duty_cycle_queue_is_refused() -> None:
    rig = Rig()
    for _ in range(40):  # 40 x 46 ms: most of the 1 % budget of 36 s is still free
        rig.command("house04.c2", Action.OPEN)
    c = rig.command("house03.c1", Action.OPEN, expires_s=1.0)  # queued 1.9 s behind them
    assert rig.gw.stats.commands_refused == 1
    assert c.id in rig.events[0].data["command"]
    assert rig.command("house03.c1", Action.OPEN, expires_s=5.0) is not None
    rig.clock.run_until(5.0)
    assert [k.kind for k in rig.commands_heard(3)] == [CommandKind.SHED]


def test_keepalive_repeats_the_last_power_limit_to_silent_nodes() -> None:
    rig = Rig(keepalive_s=100.0)
    rig.clock.run_until(50.0)
    rig.command("house04", Action.SET_P_LIMIT_PCT, 50.0)
    for t in range(51, 400):
        rig.clock.run_until(float(t))
        rig.gw.tick()
    heard3 = rig.commands_heard(3)
    heard4 = rig.commands_heard(4)
    assert [c.value for c in heard3] == [P_LIMIT_NONE_W] * 3  # at 100, 200, 300 s
    assert [c.value for c in heard4] == [12_000.0] * 4  # 50 s, then 150, 250, 350 s
    assert rig.gw.stats.keepalives == 6
    assert [c.seq for c in heard4] == [0, 1, 2, 3]


def test_counters_survive_a_restart() -> None:
    rig = Rig()
    rig.command("house03.c1", Action.OPEN)
    saved = rig.gw.counters()
    assert saved == {3: 0, 4: -1}
    gw2 = LoRaGateway(
        rig.bus,
        rig.star.port(GATEWAY),
        KEYS,
        settings=GatewaySettings(feeder_id=FEEDER),
        clock=rig.bus_clock,
        counters=saved,
    )
    gw2.submit(Command(ts=rig.bus_clock.now(), asset="house03.c1", action=Action.CLOSE, issuer="t"))
    rig.clock.run_until(2.0)
    # node 3 accepts both: the second gateway went on from the saved counter
    assert [c.kind for c in rig.commands_heard(3)] == [CommandKind.SHED, CommandKind.RESTORE]
