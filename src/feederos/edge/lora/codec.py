"""The StreetGrid radio frame: scaled-integer protobuf payload, frame counter and MIC.

A frame is at most :data:`FRAME_MAX_BYTES` (24) bytes::

    byte 0      version (high nibble, 1) | frame kind (low nibble: 1 telemetry, 2 command)
    byte 1      node id (the sender of telemetry, the target of a command)
    bytes 2-3   frame counter, low 16 bits, big-endian
    bytes 4..   protobuf payload (messages.proto), at most 16 bytes
    last 4      MIC: HMAC-SHA256(node key, bytes 0-1 | 32-bit counter | payload)[:4]

As in LoRaWAN 1.0.x (LoRa Alliance specification, §4.3.1.5 FCnt and §4.4 MIC) only the low 16 bits
of the 32-bit counter are sent and the MIC covers all 32 bits, so the receiver
reconstructs the high bits from the last counter it accepted and the MIC confirms the
guess. A 4-byte truncated tag gives a forger a 2**-32 chance per try, the LoRaWAN
trade-off. HMAC-SHA256 comes from the standard library, so the codec needs no crypto
package; the payload is authenticated, not encrypted (telemetry is not secret, forged
shed commands are the threat).

Scaling (the resolutions of :mod:`feederos.edge.messages`): SOC 0.5 %, P 10 W, Q 10 var,
V 0.1 V, f 1 mHz as an offset from 60 Hz; rounding to the nearest step bounds the
quantisation error by half a step (:data:`TELEMETRY_RESOLUTION`).

Examples
--------
>>> from feederos.edge.messages import Telemetry
>>> key = bytes(range(16))
>>> t = Telemetry(node=3, seq=12, soc_pct=81.5, p_w=1254.0, q_var=-40.0, v_v=121.34,
...               f_hz=59.9981, flags=0x0F)
>>> frame = encode_telemetry(t, key, counter=1)
>>> len(frame) <= FRAME_MAX_BYTES
True
>>> guard = ReplayGuard()
>>> got = decode(frame, {3: key}, guard=guard)
>>> got.message.p_w, got.message.v_v, got.message.f_hz, got.counter
(1250.0, 121.3, 59.998, 1)
>>> try:
...     decode(frame, {3: key}, guard=guard)      # the same frame again
... except ReplayError as e:
...     print(type(e).__name__, e.counter, e.last)
ReplayError 1 1
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum

from google.protobuf.message import DecodeError

from feederos.edge.errors import MessageFieldError
from feederos.edge.lora import messages_pb2 as pb
from feederos.edge.lora.errors import FrameAuthError, FrameFormatError, ReplayError
from feederos.edge.messages import CommandKind, NodeCommand, Telemetry

__all__ = [
    "COUNTER_MAX",
    "FRAME_MAX_BYTES",
    "HEADER_BYTES",
    "MIC_BYTES",
    "TELEMETRY_RESOLUTION",
    "DecodedFrame",
    "FrameKind",
    "ReplayGuard",
    "decode",
    "encode_command",
    "encode_telemetry",
]

#: Largest frame the link sends [bytes].
FRAME_MAX_BYTES = 24
#: Version/kind, node, counter low 16 bits [bytes].
HEADER_BYTES = 4
#: Truncated HMAC-SHA256 tag [bytes].
MIC_BYTES = 4
#: Frame counters are 32-bit, as in LoRaWAN.
COUNTER_MAX = 2**32 - 1
#: Key length accepted [bytes]; 16 is a LoRaWAN AppSKey/NwkSKey size.
KEY_MIN_BYTES = 16
_VERSION = 1
_PAYLOAD_MAX_BYTES = FRAME_MAX_BYTES - HEADER_BYTES - MIC_BYTES

#: One wire step of each telemetry quantity, in its own unit; the round-trip error is at
#: most half of it.
TELEMETRY_RESOLUTION: Mapping[str, float] = {
    "soc_pct": 0.5,
    "p_w": 10.0,
    "q_var": 10.0,
    "v_v": 0.1,
    "f_hz": 0.001,
}

# Offsets that make the signed quantities non-negative inside the packed words.
_P_OFFSET = 3200  # ±32 kW in 10 W steps
_F_OFFSET = 5000  # ±5 Hz around 60 Hz in 1 mHz steps
_F_NOMINAL_HZ = 60.0
# (shift, width, max code) of each packed field; see messages.proto.
_SEQ = (0, 16, 65535)
_FLAGS = (16, 8, 255)
_P = (0, 13, 2 * _P_OFFSET)
_Q = (13, 13, 2 * _P_OFFSET)
_SOC = (0, 8, 200)
_V = (8, 12, 3000)
_F = (20, 14, 2 * _F_OFFSET)
_SEQ_FLAGS_BITS = 24
_POWER_BITS = 26
_STATE_BITS = 34
_VALUE_MAX_10W = 3200


class FrameKind(IntEnum):
    """What a frame carries (low nibble of byte 0)."""

    TELEMETRY = 1
    COMMAND = 2


@dataclass(frozen=True, slots=True)
class DecodedFrame:
    """A frame that passed the MIC and replay checks.

    Attributes
    ----------
    kind
        :class:`FrameKind`.
    node
        Node id of the header (sender of telemetry, target of a command).
    counter
        The reconstructed 32-bit frame counter.
    message
        The decoded :class:`~feederos.edge.messages.Telemetry` or
        :class:`~feederos.edge.messages.NodeCommand`.
    """

    kind: FrameKind
    node: int
    counter: int
    message: Telemetry | NodeCommand


@dataclass(slots=True)
class ReplayGuard:
    """The last accepted frame counter per sender, refusing anything not above it.

    A sender is a (frame kind, node) pair: node 3's telemetry and the orchestrator's
    commands to node 3 count separately. A receiver that restarts must restore the
    counters (:meth:`restore`) or it would accept old frames again.

    Examples
    --------
    >>> g = ReplayGuard()
    >>> g.last(FrameKind.TELEMETRY, 3) is None
    True
    >>> g.accept(FrameKind.TELEMETRY, 3, 10); g.last(FrameKind.TELEMETRY, 3)
    10
    """

    _last: dict[tuple[FrameKind, int], int] = field(default_factory=dict)

    def last(self, kind: FrameKind, node: int) -> int | None:
        """The last counter accepted from ``(kind, node)``, or None."""
        return self._last.get((kind, node))

    def accept(self, kind: FrameKind, node: int, counter: int) -> None:
        """Record ``counter`` as accepted; raise :class:`ReplayError` if not above the last."""
        last = self._last.get((kind, node))
        if last is not None and counter <= last:
            raise ReplayError(node=node, counter=counter, last=last)
        self._last[(kind, node)] = counter

    def restore(self, counters: Mapping[tuple[FrameKind, int], int]) -> None:
        """Load saved counters (e.g. after a restart)."""
        self._last.update(counters)

    def snapshot(self) -> dict[tuple[FrameKind, int], int]:
        """A copy of the counters, to persist."""
        return dict(self._last)


def encode_telemetry(t: Telemetry, key: bytes, counter: int) -> bytes:
    """Encode one node's telemetry as an authenticated frame.

    Parameters
    ----------
    t
        The report; its ``node`` goes into the header.
    key
        The node's key, at least 16 bytes.
    counter
        The node's frame counter, 0..2**32-1; must rise with every frame it sends.

    Returns
    -------
    bytes
        The frame, at most :data:`FRAME_MAX_BYTES` long.
    """
    seq_flags = _pack((_SEQ, t.seq), (_FLAGS, t.flags))
    power = _pack(
        (_P, round(t.p_w / 10.0) + _P_OFFSET),
        (_Q, round(t.q_var / 10.0) + _P_OFFSET),
    )
    state = _pack(
        (_SOC, round(t.soc_pct * 2.0)),
        (_V, round(t.v_v * 10.0)),
        (_F, round((t.f_hz - _F_NOMINAL_HZ) * 1000.0) + _F_OFFSET),
    )
    payload = pb.Telemetry(seq_flags=seq_flags, power=power, state=state).SerializeToString()
    return _seal(FrameKind.TELEMETRY, t.node, counter, payload, key)


def encode_command(c: NodeCommand, key: bytes, counter: int) -> bytes:
    """Encode a command to node ``c.node`` as an authenticated frame.

    ``key`` is the target node's key; ``counter`` the orchestrator's counter for that
    node (see :func:`encode_telemetry`). ``value`` is sent in 10 W steps.

    Examples
    --------
    >>> from feederos.edge.messages import CommandKind, NodeCommand
    >>> key = bytes(16)
    >>> f = encode_command(NodeCommand(node=9, seq=1, kind=CommandKind.SET_P_LIMIT,
    ...                                value=4995.0), key, counter=5)
    >>> d = decode(f, {9: key}, guard=ReplayGuard())
    >>> d.kind.name, d.message.value, d.counter
    ('COMMAND', 5000.0, 5)
    """
    payload = pb.NodeCommand(
        seq=c.seq,
        kind=int(c.kind),  # type: ignore[arg-type]  # the wire enum has the same numbers
        circuit=c.circuit,
        value_10w=round(c.value / 10.0),
    ).SerializeToString()
    return _seal(FrameKind.COMMAND, c.node, counter, payload, key)


def decode(frame: bytes, keys: Mapping[int, bytes], *, guard: ReplayGuard) -> DecodedFrame:
    """Check and decode a received frame.

    Parameters
    ----------
    frame
        The bytes received.
    keys
        Node id to key; the header's node picks the key.
    guard
        The receiver's replay guard; updated when the frame is accepted.

    Returns
    -------
    DecodedFrame

    Raises
    ------
    FrameFormatError
        Truncated, too long, unknown version/kind/node, or a payload that is not a valid
        message of its kind.
    FrameAuthError
        The MIC does not verify for either counter the 16 bits can stand for.
    ReplayError
        The MIC verifies but the counter is not above the last accepted.
    """
    if not isinstance(frame, bytes | bytearray):
        raise FrameFormatError(f"a frame must be bytes, not {type(frame).__name__}")
    frame = bytes(frame)
    if len(frame) < HEADER_BYTES + MIC_BYTES:
        raise FrameFormatError(
            f"frame of {len(frame)} bytes is truncated; the header and MIC alone take "
            f"{HEADER_BYTES + MIC_BYTES}"
        )
    if len(frame) > FRAME_MAX_BYTES:
        raise FrameFormatError(f"frame of {len(frame)} bytes exceeds {FRAME_MAX_BYTES}")
    version, kind_code = frame[0] >> 4, frame[0] & 0x0F
    if version != _VERSION:
        raise FrameFormatError(f"frame version {version} is not {_VERSION}")
    try:
        kind = FrameKind(kind_code)
    except ValueError:
        raise FrameFormatError(f"frame kind {kind_code} is unknown (1 or 2)") from None
    node = frame[1]
    key = keys.get(node)
    if key is None:
        raise FrameFormatError(f"frame names node {node}, for which no key is known")
    low = int.from_bytes(frame[2:4], "big")
    payload, tag = frame[HEADER_BYTES:-MIC_BYTES], frame[-MIC_BYTES:]

    last = guard.last(kind, node)
    epoch = 0 if last is None else last >> 16
    candidates = [(epoch << 16) | low]
    if last is not None and (epoch + 1) << 16 <= COUNTER_MAX:
        candidates.append(((epoch + 1) << 16) | low)
    counter = next(
        (c for c in candidates if hmac.compare_digest(_mic(key, frame[:2], c, payload), tag)),
        None,
    )
    if counter is None:
        raise FrameAuthError(
            f"frame from node {node}: MIC does not verify (tampered, or not this node's key)"
        )
    if last is not None and counter <= last:
        raise ReplayError(node=node, counter=counter, last=last)
    message = (
        _decode_telemetry(node, payload)
        if kind is FrameKind.TELEMETRY
        else _decode_command(node, payload)
    )
    guard.accept(kind, node, counter)
    return DecodedFrame(kind=kind, node=node, counter=counter, message=message)


def _seal(kind: FrameKind, node: int, counter: int, payload: bytes, key: bytes) -> bytes:
    _check_key(key)
    if isinstance(counter, bool) or not isinstance(counter, int) or not 0 <= counter <= COUNTER_MAX:
        raise MessageFieldError("frame", "counter", counter, f"0..{COUNTER_MAX}")
    head = bytes([(_VERSION << 4) | int(kind), node])
    frame = head + struct.pack(">H", counter & 0xFFFF) + payload
    frame += _mic(key, head, counter, payload)
    # Holds for every valid message (tests/edge/lora/test_codec.py checks the extremes).
    assert len(frame) <= FRAME_MAX_BYTES, len(frame)
    return frame


def _mic(key: bytes, head: bytes, counter: int, payload: bytes) -> bytes:
    msg = head + struct.pack(">I", counter) + payload
    return hmac.new(key, msg, hashlib.sha256).digest()[:MIC_BYTES]


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes | bytearray) or len(key) < KEY_MIN_BYTES:
        raise MessageFieldError(
            "frame",
            "key",
            f"<{len(key) if isinstance(key, bytes | bytearray) else key!r}>",
            f"bytes of length >= {KEY_MIN_BYTES}",
        )


def _pack(*fields: tuple[tuple[int, int, int], int]) -> int:
    word = 0
    for (shift, width, top), code in fields:
        # The message constructors keep values in range; this guards the bit layout.
        assert 0 <= code <= top < 1 << width, (code, top)
        word |= code << shift
    return word


def _unpack(word: int, spec: tuple[int, int, int], name: str) -> int:
    shift, width, top = spec
    code = (word >> shift) & ((1 << width) - 1)
    if code > top:
        raise FrameFormatError(f"payload field {name} has code {code}, above its maximum {top}")
    return code


def _parse(message: pb.Telemetry | pb.NodeCommand, payload: bytes) -> None:
    try:
        message.ParseFromString(payload)
    except DecodeError as e:
        raise FrameFormatError(f"payload is not a valid protobuf message: {e}") from None


def _decode_telemetry(node: int, payload: bytes) -> Telemetry:
    m = pb.Telemetry()
    _parse(m, payload)
    for name, word, bits in (
        ("seq_flags", m.seq_flags, _SEQ_FLAGS_BITS),
        ("power", m.power, _POWER_BITS),
        ("state", m.state, _STATE_BITS),
    ):
        if word >> bits:
            raise FrameFormatError(f"payload word {name} has bits set above bit {bits - 1}")
    try:
        return Telemetry(
            node=node,
            seq=_unpack(m.seq_flags, _SEQ, "seq"),
            soc_pct=_unpack(m.state, _SOC, "soc_pct") / 2.0,
            p_w=(_unpack(m.power, _P, "p_w") - _P_OFFSET) * 10.0,
            q_var=(_unpack(m.power, _Q, "q_var") - _P_OFFSET) * 10.0,
            v_v=_unpack(m.state, _V, "v_v") / 10.0,
            f_hz=_F_NOMINAL_HZ + (_unpack(m.state, _F, "f_hz") - _F_OFFSET) / 1000.0,
            flags=_unpack(m.seq_flags, _FLAGS, "flags"),
        )
    except MessageFieldError as e:  # pragma: no cover - the code ranges above are tighter
        raise FrameFormatError(str(e)) from None


def _decode_command(node: int, payload: bytes) -> NodeCommand:
    m = pb.NodeCommand()
    _parse(m, payload)
    if m.value_10w > _VALUE_MAX_10W:
        raise FrameFormatError(
            f"payload field value_10w = {m.value_10w} is above its maximum {_VALUE_MAX_10W}"
        )
    try:
        kind = CommandKind(m.kind)
    except ValueError:
        raise FrameFormatError(f"payload field kind = {m.kind} is not a CommandKind") from None
    try:
        return NodeCommand(
            node=node,
            seq=m.seq,
            kind=kind,
            circuit=m.circuit,
            value=m.value_10w * 10.0,
        )
    except MessageFieldError as e:
        raise FrameFormatError(f"payload: {e}") from None
