"""Messages between a StreetGrid edge node and the orchestrator.

These are the shared contract of the edge package: :class:`Telemetry` goes up (node to
orchestrator), :class:`NodeCommand` comes down. They are transport-agnostic plain values;
:mod:`feederos.edge.lora` encodes them for the radio. The ranges checked here are the
wire ranges of that encoding, so a value that passes can always be sent.

Examples
--------
>>> t = Telemetry(node=3, seq=65535, soc_pct=81.5, p_w=1250.0, q_var=-40.0,
...               v_v=121.3, f_hz=59.998, flags=FLAG_CIRCUIT_MASK)
>>> t.relay_closed(0), t.flag(FLAG_FAIL_SAFE)
(True, False)
>>> NodeCommand(node=3, seq=7, kind=CommandKind.SHED, circuit=2).kind.name
'SHED'
>>> Telemetry(node=0, seq=0, soc_pct=50, p_w=0, q_var=0, v_v=120, f_hz=60, flags=0)
Traceback (most recent call last):
...
feederos.edge.errors.MessageFieldError: Telemetry.node = 0 is out of range; use a value in 1..255
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum

from feederos.edge.errors import MessageFieldError

__all__ = [
    "FLAG_CIRCUIT_MASK",
    "FLAG_FAIL_SAFE",
    "FLAG_MEASUREMENT_FAULT",
    "FLAG_OVER_CURRENT",
    "FLAG_UNDER_FREQUENCY",
    "N_CIRCUITS",
    "SEQ_MODULUS",
    "CommandKind",
    "NodeCommand",
    "Telemetry",
]

#: Circuits per node; circuit 0 is the critical one and is never shed.
N_CIRCUITS = 4
#: Sequence numbers wrap at this value (16-bit on the wire).
SEQ_MODULUS = 65536
#: Bits 0..3 of ``flags``: relay of circuit ``k`` closed (bit ``k``).
FLAG_CIRCUIT_MASK = 0x0F
#: Bit 4: a local under-frequency trip is active.
FLAG_UNDER_FREQUENCY = 1 << 4
#: Bit 5: a local over-current trip is active.
FLAG_OVER_CURRENT = 1 << 5
#: Bit 6: fail-safe, the orchestrator has been silent too long.
FLAG_FAIL_SAFE = 1 << 6
#: Bit 7: the measurement is faulty (ADC saturated, no signal, no frequency).
FLAG_MEASUREMENT_FAULT = 1 << 7

_P_MAX_W = 32_000.0
_Q_MAX_VAR = 32_000.0


def _check_int(msg: str, name: str, value: int, lo: int, hi: int) -> None:
    # bool is an int subclass; a True node id is a bug, not node 1.
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise MessageFieldError(msg, name, value, f"{lo}..{hi}")


def _check_float(msg: str, name: str, value: float, lo: float, hi: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MessageFieldError(msg, name, value, f"a number in {lo:g}..{hi:g}")
    if not math.isfinite(value) or not lo <= value <= hi:
        raise MessageFieldError(msg, name, value, f"{lo:g}..{hi:g}")


class CommandKind(IntEnum):
    """What a :class:`NodeCommand` asks the node to do."""

    SHED = 1
    RESTORE = 2
    SET_P_LIMIT = 3


@dataclass(frozen=True, slots=True)
class Telemetry:
    """One node's periodic report.

    Attributes
    ----------
    node
        Node id, 1..255.
    seq
        Sequence number, 0..65535; wraps.
    soc_pct
        Battery state of charge [%], 0..100 (0.5 % resolution on the wire).
    p_w
        House net active power [W], consumption positive, ±32 kW (10 W resolution).
    q_var
        House net reactive power [var], ±32 kvar (10 var resolution).
    v_v
        RMS line-to-neutral voltage [V], 0..300 (0.1 V resolution).
    f_hz
        Frequency [Hz], 55..65 (1 mHz resolution).
    flags
        Bits 0..3 circuit relays closed (circuit 0 = critical); bit 4 under-frequency
        trip; bit 5 over-current trip; bit 6 fail-safe; bit 7 measurement fault.
    """

    node: int
    seq: int
    soc_pct: float
    p_w: float
    q_var: float
    v_v: float
    f_hz: float
    flags: int

    def __post_init__(self) -> None:
        _check_int("Telemetry", "node", self.node, 1, 255)
        _check_int("Telemetry", "seq", self.seq, 0, SEQ_MODULUS - 1)
        _check_float("Telemetry", "soc_pct", self.soc_pct, 0.0, 100.0)
        _check_float("Telemetry", "p_w", self.p_w, -_P_MAX_W, _P_MAX_W)
        _check_float("Telemetry", "q_var", self.q_var, -_Q_MAX_VAR, _Q_MAX_VAR)
        _check_float("Telemetry", "v_v", self.v_v, 0.0, 300.0)
        _check_float("Telemetry", "f_hz", self.f_hz, 55.0, 65.0)
        _check_int("Telemetry", "flags", self.flags, 0, 255)

    def flag(self, bit: int) -> bool:
        """Whether flag ``bit`` (a ``FLAG_*`` mask) is set."""
        return bool(self.flags & bit)

    def relay_closed(self, circuit: int) -> bool:
        """Whether the relay of ``circuit`` (0..3) was closed."""
        _check_int("Telemetry", "circuit", circuit, 0, N_CIRCUITS - 1)
        return bool(self.flags & (1 << circuit))


@dataclass(frozen=True, slots=True)
class NodeCommand:
    """A command from the orchestrator to one node.

    Attributes
    ----------
    node
        Target node id, 1..255.
    seq
        Command sequence number, 0..65535; wraps.
    kind
        :class:`CommandKind`.
    circuit
        Circuit 0..3 for SHED/RESTORE (circuit 0 is critical; a node refuses to shed it).
    value
        Active-power limit [W] for SET_P_LIMIT, 0..32 kW; ignored otherwise.
    """

    node: int
    seq: int
    kind: CommandKind
    circuit: int = 0
    value: float = 0.0

    def __post_init__(self) -> None:
        _check_int("NodeCommand", "node", self.node, 1, 255)
        _check_int("NodeCommand", "seq", self.seq, 0, SEQ_MODULUS - 1)
        if not isinstance(self.kind, CommandKind):
            try:
                # slots+frozen: coerce a plain int from a decoder via object.__setattr__.
                object.__setattr__(self, "kind", CommandKind(self.kind))
            except ValueError:
                allowed = ", ".join(f"{k.value} ({k.name})" for k in CommandKind)
                raise MessageFieldError("NodeCommand", "kind", self.kind, allowed) from None
        _check_int("NodeCommand", "circuit", self.circuit, 0, N_CIRCUITS - 1)
        _check_float("NodeCommand", "value", self.value, 0.0, _P_MAX_W)
