"""The radio frame: size, quantisation, authentication and replay protection."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import struct

import numpy as np
import pytest

from feederos.edge.errors import MessageFieldError
from feederos.edge.lora import messages_pb2 as pb
from feederos.edge.lora.codec import (
    FRAME_MAX_BYTES,
    TELEMETRY_RESOLUTION,
    FrameKind,
    ReplayGuard,
    decode,
    encode_command,
    encode_telemetry,
)
from feederos.edge.lora.errors import (
    FrameAuthError,
    FrameError,
    FrameFormatError,
    ReplayError,
)
from feederos.edge.messages import CommandKind, NodeCommand, Telemetry
from feederos.errors import FeederosError

KEY = bytes(range(16))
KEYS = {1: KEY, 7: bytes(range(16, 32)), 255: b"k" * 32}

EXTREMES = {
    "node": (1, 255),
    "seq": (0, 65535),
    "soc_pct": (0.0, 100.0),
    "p_w": (-32000.0, 32000.0),
    "q_var": (-32000.0, 32000.0),
    "v_v": (0.0, 300.0),
    "f_hz": (55.0, 65.0),
    "flags": (0, 255),
}


def _telemetry(**kw: float) -> Telemetry:
    base = dict(node=7, seq=1, soc_pct=50.0, p_w=0.0, q_var=0.0, v_v=120.0, f_hz=60.0, flags=0)
    base.update(kw)
    return Telemetry(**base)  # type: ignore[arg-type]


def test_every_extreme_telemetry_fits_24_bytes() -> None:
    sizes = []
    for combo in itertools.product(*EXTREMES.values()):
        t = Telemetry(**dict(zip(EXTREMES, combo, strict=True)))  # type: ignore[arg-type]
        key = KEYS.get(t.node, KEY)
        frame = encode_telemetry(t, key, counter=2**32 - 1)
        sizes.append(len(frame))
        guard = ReplayGuard()
        guard.restore({(FrameKind.TELEMETRY, t.node): 2**32 - 2})
        got = decode(frame, {t.node: key}, guard=guard).message
        assert got == t  # the extremes sit on the wire grid, so they are exact
    assert max(sizes) <= FRAME_MAX_BYTES
    assert max(sizes) == 24  # the layout's worst case, as computed in messages.proto


def test_worst_case_command_fits() -> None:
    c = NodeCommand(node=255, seq=65535, kind=CommandKind.SET_P_LIMIT, circuit=3, value=32000.0)
    frame = encode_command(c, KEYS[255], counter=2**32 - 1)
    assert len(frame) <= FRAME_MAX_BYTES
    guard = ReplayGuard()
    guard.restore({(FrameKind.COMMAND, 255): 2**32 - 2})
    assert decode(frame, KEYS, guard=guard).message == c


def test_quantisation_error_is_at_most_half_a_step() -> None:
    rng = np.random.default_rng(7)
    guard = ReplayGuard()
    worst = dict.fromkeys(TELEMETRY_RESOLUTION, 0.0)
    for counter in range(2000):
        t = _telemetry(
            seq=int(rng.integers(0, 65536)),
            soc_pct=float(rng.uniform(0, 100)),
            p_w=float(rng.uniform(-32000, 32000)),
            q_var=float(rng.uniform(-32000, 32000)),
            v_v=float(rng.uniform(0, 300)),
            f_hz=float(rng.uniform(55, 65)),
            flags=int(rng.integers(0, 256)),
        )
        got = decode(encode_telemetry(t, KEYS[7], counter), KEYS, guard=guard).message
        assert isinstance(got, Telemetry)
        assert (got.node, got.seq, got.flags) == (t.node, t.seq, t.flags)
        for name in TELEMETRY_RESOLUTION:
            worst[name] = max(worst[name], abs(getattr(got, name) - getattr(t, name)))
    for name, step in TELEMETRY_RESOLUTION.items():
        assert worst[name] <= step / 2 + 1e-9, name
        assert worst[name] > step / 4, name  # the sample really exercised the rounding


def test_command_roundtrip_and_value_resolution() -> None:
    guard = ReplayGuard()
    for counter, (kind, circuit, value) in enumerate(
        [
            (CommandKind.SHED, 2, 0.0),
            (CommandKind.RESTORE, 1, 0.0),
            (CommandKind.SET_P_LIMIT, 0, 2344.9),
        ]
    ):
        c = NodeCommand(node=1, seq=counter, kind=kind, circuit=circuit, value=value)
        got = decode(encode_command(c, KEY, counter), KEYS, guard=guard)
        assert got.kind is FrameKind.COMMAND
        assert isinstance(got.message, NodeCommand)
        assert got.message.kind is kind and got.message.circuit == circuit
        assert abs(got.message.value - value) <= 5.0


def test_replay_and_old_counters_are_refused() -> None:
    guard = ReplayGuard()
    f5 = encode_telemetry(_telemetry(), KEYS[7], 5)
    f4 = encode_telemetry(_telemetry(), KEYS[7], 4)
    assert decode(f5, KEYS, guard=guard).counter == 5
    with pytest.raises(ReplayError) as e:
        decode(f5, KEYS, guard=guard)
    assert (e.value.node, e.value.counter, e.value.last) == (7, 5, 5)
    with pytest.raises(ReplayError):
        decode(f4, KEYS, guard=guard)
    # Telemetry and commands of one node are separate senders.
    c = encode_command(NodeCommand(node=7, seq=0, kind=CommandKind.SHED, circuit=1), KEYS[7], 1)
    assert decode(c, KEYS, guard=guard).counter == 1
    assert guard.last(FrameKind.TELEMETRY, 7) == 5


def test_counter_crosses_the_16_bit_boundary() -> None:
    guard = ReplayGuard()
    for counter in (65534, 65535, 65536, 65537, 131071):
        f = encode_telemetry(_telemetry(), KEYS[7], counter)
        assert decode(f, KEYS, guard=guard).counter == counter
    # An old frame whose low 16 bits look new is caught by the MIC, not accepted.
    stale = encode_telemetry(_telemetry(), KEYS[7], 2)
    with pytest.raises(FrameAuthError):
        decode(stale, KEYS, guard=guard)


def test_restored_guard_refuses_what_it_had_accepted() -> None:
    g = ReplayGuard()
    decode(encode_telemetry(_telemetry(), KEYS[7], 100), KEYS, guard=g)
    g2 = ReplayGuard()
    g2.restore(g.snapshot())
    with pytest.raises(ReplayError):
        decode(encode_telemetry(_telemetry(), KEYS[7], 100), KEYS, guard=g2)


def test_every_single_bit_flip_is_rejected() -> None:
    frame = encode_telemetry(_telemetry(p_w=1234.0), KEYS[7], 9)
    for i in range(len(frame) * 8):
        bad = bytearray(frame)
        bad[i // 8] ^= 1 << (i % 8)
        with pytest.raises(FrameError):
            decode(bytes(bad), KEYS, guard=ReplayGuard())


def test_truncated_and_garbage_frames_raise_frame_errors_only() -> None:
    frame = encode_telemetry(_telemetry(), KEYS[7], 9)
    for n in range(len(frame)):
        with pytest.raises(FrameError):
            decode(frame[:n], KEYS, guard=ReplayGuard())
    with pytest.raises(FrameFormatError, match="exceeds 24"):
        decode(frame + bytes(25 - len(frame)), KEYS, guard=ReplayGuard())
    rng = np.random.default_rng(3)
    for _ in range(3000):
        junk = rng.integers(0, 256, size=int(rng.integers(0, 30)), dtype=np.uint8).tobytes()
        if junk[:1] in (b"\x11", b"\x12") and len(junk) > 1:
            junk = junk[:1] + bytes([7]) + junk[2:]  # also reach the MIC check
        with pytest.raises(FrameError):
            decode(junk, KEYS, guard=ReplayGuard())
    with pytest.raises(FrameFormatError):
        decode("not bytes", KEYS, guard=ReplayGuard())  # type: ignore[arg-type]


def test_wrong_key_unknown_node_and_kind_swap() -> None:
    frame = encode_telemetry(_telemetry(), KEYS[7], 9)
    with pytest.raises(FrameAuthError, match="node 7"):
        decode(frame, {7: KEY}, guard=ReplayGuard())
    with pytest.raises(FrameFormatError, match="no key"):
        decode(frame, {1: KEY}, guard=ReplayGuard())
    as_command = bytes([0x12]) + frame[1:]  # the kind nibble is covered by the MIC
    with pytest.raises(FrameAuthError):
        decode(as_command, KEYS, guard=ReplayGuard())


def _forge(kind: int, node: int, counter: int, payload: bytes, key: bytes) -> bytes:
    head = bytes([0x10 | kind, node])
    mic = hmac.new(key, head + struct.pack(">I", counter) + payload, hashlib.sha256)
    return head + struct.pack(">H", counter) + payload + mic.digest()[:4]


@pytest.mark.parametrize(
    ("kind", "payload", "match"),
    [
        (1, b"\x08\x80", "not a valid protobuf"),
        (1, pb.Telemetry(state=201).SerializeToString(), "soc_pct"),
        (1, pb.Telemetry(state=3001 << 8).SerializeToString(), "v_v"),
        (1, pb.Telemetry(power=6401).SerializeToString(), "p_w"),
        (1, pb.Telemetry(seq_flags=1 << 24).SerializeToString(), "above bit 23"),
        (2, pb.NodeCommand(circuit=4, kind=pb.COMMAND_KIND_SHED).SerializeToString(), "circuit"),
        (2, pb.NodeCommand(kind=pb.COMMAND_KIND_UNSPECIFIED).SerializeToString(), "kind"),
        (
            2,
            pb.NodeCommand(kind=pb.COMMAND_KIND_SHED, value_10w=3201).SerializeToString(),
            "value_10w",
        ),
    ],
)
def test_authentic_but_invalid_payloads_are_format_errors(
    kind: int, payload: bytes, match: str
) -> None:
    frame = _forge(kind, 7, 1, payload, KEYS[7])
    with pytest.raises(FrameFormatError, match=match) as e:
        decode(frame, KEYS, guard=ReplayGuard())
    assert isinstance(e.value, FeederosError)


def test_encode_rejects_bad_counter_and_key() -> None:
    with pytest.raises(MessageFieldError, match="counter"):
        encode_telemetry(_telemetry(), KEY, 2**32)
    with pytest.raises(MessageFieldError, match="counter"):
        encode_telemetry(_telemetry(), KEY, -1)
    with pytest.raises(MessageFieldError, match="key"):
        encode_telemetry(_telemetry(), b"short", 0)
