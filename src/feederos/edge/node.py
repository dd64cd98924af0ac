"""The StreetGrid edge node: relays, shadow meter and local protection behind two messages.

:class:`EdgeNode` is driven entirely by callbacks on one :class:`~feederos.edge.sampling.Clock`:

- a sample block arrives (:meth:`EdgeNode.on_block`): meter it, run local protection and
  trip relays *in the same call* (no message involved), apply the power limit, re-close
  what may be re-closed, and ask a source that can (``set_block_n``) for 4-cycle blocks
  while the frequency is steady, 2.5-cycle blocks otherwise (fewer wake-ups when idle,
  the same 100 ms under-frequency trip);
- an orchestrator message arrives (:meth:`EdgeNode.handle_command`,
  :meth:`EdgeNode.heartbeat`): act on it at once and feed the watchdog;
- the telemetry timer fires: average the meter since the last report and ``send`` a
  :class:`~feederos.edge.messages.Telemetry` (``seq`` wraps at 65536);
- the watchdog fires: no orchestrator message for ``orchestrator_timeout_s`` puts the node
  in **fail-safe**.

A relay is closed exactly when nothing holds it open. The reasons (:class:`OpenReason`)
are kept per circuit, so independent causes never undo each other (a RESTORE does not
re-close a circuit that over-current protection holds open).

Fail-safe (flag bit 6)
    Every circuit goes to its :attr:`~feederos.edge.hardware.CircuitSpec.fail_safe_closed`
    state: the critical circuit 0 stays closed, the others open. Local protection keeps
    working. Under-frequency trips re-close by themselves once clear for the re-close delay
    (there is no orchestrator to ask); over-current trips stay latched until an operator
    or the orchestrator sends RESTORE. When the orchestrator is heard again the node leaves
    fail-safe but the circuits it opened stay open *as if shed*: the orchestrator restores
    them one by one, so ten houses do not pick up all their load in the same second.

Commands
    SHED c opens circuit c (refused for the critical circuit 0). RESTORE c lifts the shed
    and grants permission to re-close a protection trip of c once the condition has been
    clear for the re-close delay (kept until then). SET_P_LIMIT v keeps the house's net
    power at or below v [W] by opening non-critical circuits from the highest index
    down, and re-closing them (lowest first) when their last measured load fits under 90 %
    of the limit; v ≥ 32 kW (the wire maximum) lifts the limit.

Examples
--------
>>> from gpiozero import Device
>>> from gpiozero.pins.mock import MockFactory
>>> from feederos.edge.sampling import SimClock
>>> from feederos.edge.synthetic import LoadSpec, SyntheticAdcSource, WaveformSpec
>>> Device.pin_factory = MockFactory()
>>> clock = SimClock()
>>> spec = WaveformSpec(v1_rms_v=120.0, loads=tuple(LoadSpec(5.0) for _ in range(4)))
>>> sent = []
>>> node = EdgeNode(NodeSettings(node=3), clock=clock,
...                 adc=SyntheticAdcSource(spec, clock=clock), send=sent.append,
...                 read_soc_pct=lambda: 80.0)
>>> node.start(); clock.run_until(10.05)
>>> t = sent[-1]
>>> t.node, t.seq, round(t.p_w), t.flags
(3, 0, 2400, 15)
>>> node.handle_command(NodeCommand(node=3, seq=1, kind=CommandKind.SHED, circuit=2))
<CommandResult.APPLIED: 1>
>>> Device.pin_factory.pin(22).state
False
>>> node.stop()
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum, IntFlag

import numpy as np

from feederos.edge.errors import EdgeConfigError
from feederos.edge.hardware import AdcSource, CircuitSpec, RelayBank, SampleBlock, default_circuits
from feederos.edge.messages import (
    FLAG_FAIL_SAFE,
    FLAG_MEASUREMENT_FAULT,
    FLAG_OVER_CURRENT,
    FLAG_UNDER_FREQUENCY,
    SEQ_MODULUS,
    CommandKind,
    NodeCommand,
    Telemetry,
)
from feederos.edge.safety import LocalProtection, ProtectionSettings
from feederos.edge.sampling import Clock, Timer
from feederos.edge.shadow_meter import BatchReading, MeterSettings, ShadowMeter

__all__ = ["CommandResult", "EdgeNode", "NodeSettings", "OpenReason"]

_log = logging.getLogger(__name__)

_P_WIRE_MAX_W = 32_000.0


class OpenReason(IntFlag):
    """Why a relay is held open; a relay is closed when it has none."""

    SHED = 1
    UNDER_FREQUENCY = 2
    OVER_CURRENT = 4
    FAIL_SAFE = 8
    P_LIMIT = 16


# Plain ints on the per-block path: enum operators cost microseconds each.
_SHED = int(OpenReason.SHED)
_UF = int(OpenReason.UNDER_FREQUENCY)
_OC = int(OpenReason.OVER_CURRENT)
_FAIL_SAFE = int(OpenReason.FAIL_SAFE)
_P_LIMIT = int(OpenReason.P_LIMIT)
_PROTECTION = _UF | _OC


class CommandResult(Enum):
    """What :meth:`EdgeNode.handle_command` did."""

    APPLIED = 1
    NOT_FOR_THIS_NODE = 2
    REFUSED_CRITICAL = 3


@dataclass(frozen=True, slots=True)
class NodeSettings:
    """Settings of one edge node.

    Attributes
    ----------
    node
        Node id 1..255 (house number).
    circuits
        The relays (:func:`~feederos.edge.hardware.default_circuits`).
    meter, protection
        Shadow meter and local protection settings; the meter's ``n_circuits`` must match.
    telemetry_period_s
        Time between telemetry reports [s].
    orchestrator_timeout_s
        Silence after which the node goes fail-safe [s]. 300 s: over LoRa, keep-alives
        to ten nodes every minute would need more airtime than a 1 % duty cycle gives, so
        the gateway sends them every 120 s (``GatewaySettings.keepalive_s``), which must
        stay below this.
    p_limit_hold_s
        Wait between two power-limit actions, so the average settles [s].
    p_limit_tau_s
        Time constant of the power average the limit acts on [s].
    steady_block_cycles
        Block length [nominal cycles] while the frequency is steady, for a source that can
        change it (``set_block_n``); 0 keeps the source's block length. Fewer, longer
        blocks make an idle node cheaper; 4 cycles keep the under-frequency trip within
        100 ms (see :meth:`EdgeNode.on_block`).
    steady_band_hz
        The frequency is steady when every period of the last ``steady_blocks`` blocks
        lies in this band [Hz].
    steady_blocks
        Consecutive steady blocks before the longer blocks are used.
    """

    node: int
    circuits: tuple[CircuitSpec, ...] = field(default_factory=default_circuits)
    meter: MeterSettings = field(default_factory=MeterSettings)
    protection: ProtectionSettings = field(default_factory=ProtectionSettings)
    telemetry_period_s: float = 10.0
    orchestrator_timeout_s: float = 300.0
    p_limit_hold_s: float = 2.0
    p_limit_tau_s: float = 1.0
    steady_block_cycles: float = 4.0
    steady_band_hz: tuple[float, float] = (59.8, 60.2)
    steady_blocks: int = 2

    def __post_init__(self) -> None:
        if not 1 <= self.node <= 255:
            raise EdgeConfigError(f"NodeSettings.node = {self.node}; use 1..255")
        if self.meter.n_circuits != len(self.circuits):
            raise EdgeConfigError(
                f"NodeSettings: meter.n_circuits = {self.meter.n_circuits} but "
                f"{len(self.circuits)} circuits are listed; make them equal"
            )
        if not (self.telemetry_period_s > 0 and self.orchestrator_timeout_s > 0):
            raise EdgeConfigError(
                "NodeSettings: telemetry_period_s and orchestrator_timeout_s must be > 0"
            )


class EdgeNode:
    """One house's edge node (see the module docstring).

    Parameters
    ----------
    settings
        :class:`NodeSettings`.
    clock
        All callbacks are ordered on it; transports on other threads must hand commands
        over with the clock's ``call_soon``.
    adc
        The sample source.
    send
        Called with each :class:`Telemetry` (the transport: LoRa, MQTT, a list in tests).
    read_soc_pct
        The house battery's state of charge [%] (0 for a house without a battery).
    relays
        The relay bank; built from ``settings.circuits`` on gpiozero's current pin
        factory if omitted.
    """

    def __init__(
        self,
        settings: NodeSettings,
        *,
        clock: Clock,
        adc: AdcSource,
        send: Callable[[Telemetry], None],
        read_soc_pct: Callable[[], float],
        relays: RelayBank | None = None,
    ):
        self.settings = settings
        self.clock = clock
        self.adc = adc
        self._send = send
        self._read_soc_pct = read_soc_pct
        self.relays = relays or RelayBank(settings.circuits, now_s=clock.now_s)
        self.meter = ShadowMeter(settings.meter)
        self.protection = LocalProtection(
            settings.protection, i_max_a=[c.i_max_a for c in settings.circuits]
        )
        n = len(settings.circuits)
        self._reasons = [0] * n
        self._sheddable = [c for c, s in enumerate(settings.circuits) if not s.critical]
        self._permit = [False] * n
        self.fail_safe = False
        self._seq = 0
        self._last_heard_s = clock.now_s()
        self._telemetry_timer: Timer | None = None
        self._watchdog_timer: Timer | None = None
        self._measurement_fault = False
        self.p_limit_w = math.inf
        self._p_avg_w: float | None = None
        self._p_at_limit_shed_w = [0.0] * n
        self._p_limit_last_action_s = -math.inf
        self._running = False
        # Adaptive block length (see on_block): short blocks until the first block says
        # what the sampling rate is and the frequency has been steady.
        self._set_block_n: Callable[[int], None] | None = getattr(adc, "set_block_n", None)
        self._short_n: int = int(getattr(adc, "block_n", 0))
        self._long_n = 0
        self._block_n = self._short_n
        self._steady_count = 0
        self._steady_lo_hz, self._steady_hi_hz = settings.steady_band_hz

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start sampling, the telemetry timer and the orchestrator watchdog."""
        if self._running:
            raise EdgeConfigError("EdgeNode.start() called twice")
        self._running = True
        now = self.clock.now_s()
        self._last_heard_s = now
        self._apply()
        self.adc.start(self.on_block)
        self._telemetry_timer = self.clock.call_at(
            now + self.settings.telemetry_period_s, self._on_telemetry_timer
        )
        self._watchdog_timer = self.clock.call_at(
            now + self.settings.orchestrator_timeout_s, self._on_watchdog
        )

    def stop(self) -> None:
        """Stop sampling and timers (relays keep their state; see ``relays.release``)."""
        self._running = False
        self.adc.stop()
        for timer in (self._telemetry_timer, self._watchdog_timer):
            if timer is not None:
                timer.cancel()

    # ------------------------------------------------------------------ state
    @property
    def flags(self) -> int:
        """The Telemetry flag byte as of now."""
        flags = self.relays.closed_mask()
        if any(r & _UF for r in self._reasons):
            flags |= FLAG_UNDER_FREQUENCY
        if any(r & _OC for r in self._reasons):
            flags |= FLAG_OVER_CURRENT
        if self.fail_safe:
            flags |= FLAG_FAIL_SAFE
        if self._measurement_fault:
            flags |= FLAG_MEASUREMENT_FAULT
        return flags

    def reasons(self, circuit: int) -> OpenReason:
        """Why ``circuit`` is held open (empty when it is closed)."""
        return OpenReason(self._reasons[circuit])

    def _hold(self, circuit: int, reason: int) -> None:
        self._reasons[circuit] |= reason

    def _lift(self, circuit: int, reason: int) -> None:
        self._reasons[circuit] &= ~reason

    def _apply(self) -> None:
        """Drive every relay to what its reasons say (closed iff none)."""
        for c, reasons in enumerate(self._reasons):
            if reasons:
                self.relays.open(c, _reason_text(reasons))
            else:
                self.relays.close(c, "clear")

    # ------------------------------------------------------------------ samples
    def on_block(self, block: SampleBlock) -> None:
        """Meter a block, protect, apply the power limit; relays change before returning."""
        reading = self.meter.process(block)
        batch = reading.batch
        if batch is not None:
            self._measurement_fault = batch.saturated or not reading.v_present
        elif not reading.v_present:
            self._measurement_fault = True
        now_s = reading.t_end_s
        trips = self.protection.update(reading)
        changed = False
        if trips.uf:
            for c in self._sheddable:
                if not self._reasons[c] & _UF:
                    self._reasons[c] |= _UF
                    self._permit[c] = False
                    changed = True
        if trips.oc is not None:
            for c in map(int, np.flatnonzero(trips.oc)):
                if not self._reasons[c] & _OC:
                    self._reasons[c] |= _OC
                    self._permit[c] = False
                    changed = True
        if changed:
            self._apply()  # at once: local protection waits for nothing
        changed = self._reclose_protection(now_s)
        if batch is not None:
            changed |= self._enforce_p_limit(batch, now_s)
        if changed:
            self._apply()
        if self._set_block_n is not None:
            self._adapt_block_n(self._set_block_n, block, reading.period_f_hz, trips.uf)

    def _adapt_block_n(
        self,
        set_block_n: Callable[[int], None],
        block: SampleBlock,
        period_f_hz: tuple[float, ...],
        uf: bool,
    ) -> None:
        """Longer blocks while the frequency is steady, protection-length blocks otherwise.

        Under-frequency needs two whole periods below 59.3 Hz, which a step to 59 Hz
        gives at most 51 ms after its onset, and the trip comes at the end of the block
        that holds them. A step is seen (a period outside the steady band) in the block
        it happens in, and the next block is short, unless it falls in the last ~0.2
        period of a long block, whose crossings belong to the next block; so the worst
        trip time is one long block plus about 21 ms: 88 ms for 4-cycle blocks (86.6 ms
        measured over 488 onset phases by ``tests/edge/test_node.py``), 104 ms for 5
        (102.5 ms measured: too long).
        """
        lo, hi = self._steady_lo_hz, self._steady_hi_hz
        steady = bool(period_f_hz) and not uf and all(lo <= f <= hi for f in period_f_hz)
        if not steady:
            self._steady_count = 0
            want = self._short_n
        else:
            self._steady_count += 1
            if self._steady_count < self.settings.steady_blocks:
                return
            if not self._long_n:
                per_cycle = block.fs_hz / self.settings.meter.f_nom_hz
                self._long_n = max(
                    self._short_n, round(self.settings.steady_block_cycles * per_cycle)
                )
            want = self._long_n
        if want != self._block_n and want > 0:
            self._block_n = want
            set_block_n(want)

    def _reclose_protection(self, now_s: float) -> bool:
        if not any(r & _PROTECTION for r in self._reasons):
            return False
        changed = False
        uf_ready = self.protection.uf_may_reclose(now_s)
        for c, before in enumerate(self._reasons):
            after = before
            # Without an orchestrator, under-frequency trips re-close by themselves;
            # over-current always needs a RESTORE.
            if after & _UF and uf_ready and (self.fail_safe or self._permit[c]):
                after &= ~_UF
            if after & _OC and self._permit[c] and self.protection.oc_may_reclose(c, now_s):
                after &= ~_OC
            if after != before:
                self._reasons[c] = after
                changed = True
                if not after & _PROTECTION:
                    self._permit[c] = False  # used up
        return changed

    def _enforce_p_limit(self, reading: BatchReading, now_s: float) -> bool:
        p_w = float(reading.p_w.sum())
        alpha = 1.0 - math.exp(-reading.duration_s / self.settings.p_limit_tau_s)
        p_avg = self._p_avg_w
        self._p_avg_w = p_avg = p_w if p_avg is None else p_avg + alpha * (p_w - p_avg)
        limited = [c for c in self._sheddable if self._reasons[c] & _P_LIMIT]
        if (p_avg <= self.p_limit_w and not limited) or (
            now_s - self._p_limit_last_action_s < self.settings.p_limit_hold_s
        ):
            return False
        if p_avg > self.p_limit_w:
            for c in reversed(self._sheddable):
                if not self._reasons[c]:
                    self._reasons[c] |= _P_LIMIT
                    # Its load now is what re-closing it would add back.
                    self._p_at_limit_shed_w[c] = float(reading.p_w[c])
                    self._p_limit_last_action_s = now_s
                    return True
            return False
        c = limited[0]
        if p_avg + self._p_at_limit_shed_w[c] <= 0.9 * self.p_limit_w:
            self._reasons[c] &= ~_P_LIMIT
            self._p_limit_last_action_s = now_s
            return True
        return False

    # ------------------------------------------------------------------ orchestrator
    def heartbeat(self) -> None:
        """Any message from the orchestrator: it is alive."""
        self._last_heard_s = self.clock.now_s()
        if self.fail_safe:
            self.fail_safe = False
            for c, r in enumerate(self._reasons):
                if r & _FAIL_SAFE:
                    self._reasons[c] = (r & ~_FAIL_SAFE) | _SHED
            _log.info("node %d: orchestrator heard again; leaving fail-safe", self.settings.node)

    def handle_command(self, cmd: NodeCommand) -> CommandResult:
        """Act on a command at once (relays change before this returns)."""
        if cmd.node != self.settings.node:
            return CommandResult.NOT_FOR_THIS_NODE
        self.heartbeat()
        c = cmd.circuit
        if cmd.kind is CommandKind.SHED:
            if c >= len(self.settings.circuits) or self.settings.circuits[c].critical:
                _log.warning("node %d: refused SHED of critical circuit %d", cmd.node, c)
                return CommandResult.REFUSED_CRITICAL
            self._hold(c, _SHED)
            self._permit[c] = False
        elif cmd.kind is CommandKind.RESTORE:
            if c < len(self.settings.circuits):
                self._lift(c, _SHED)
                self._permit[c] = True
                self._reclose_protection(self.clock.now_s())
        else:
            self.p_limit_w = math.inf if cmd.value >= _P_WIRE_MAX_W else cmd.value
            self._p_limit_last_action_s = -math.inf
        self._apply()
        return CommandResult.APPLIED

    def _on_watchdog(self) -> None:
        now_s = self.clock.now_s()
        deadline_s = self._last_heard_s + self.settings.orchestrator_timeout_s
        if now_s >= deadline_s:
            if not self.fail_safe:
                self._enter_fail_safe()
            deadline_s = now_s + self.settings.orchestrator_timeout_s
        # One timer re-armed to the current deadline: a message costs no timer churn.
        self._watchdog_timer = self.clock.call_at(deadline_s, self._on_watchdog)

    def _enter_fail_safe(self) -> None:
        self.fail_safe = True
        _log.warning(
            "node %d: orchestrator silent for %.0f s; fail-safe",
            self.settings.node,
            self.settings.orchestrator_timeout_s,
        )
        for c, spec in enumerate(self.settings.circuits):
            if not spec.fail_safe_closed:
                self._hold(c, _FAIL_SAFE)
        self._apply()

    # ------------------------------------------------------------------ telemetry
    def _on_telemetry_timer(self) -> None:
        self._telemetry_timer = self.clock.call_later(
            self.settings.telemetry_period_s, self._on_telemetry_timer
        )
        self._send(self.make_telemetry())

    def make_telemetry(self) -> Telemetry:
        """Average the meter since the last report into a :class:`Telemetry`.

        Values are clamped to the wire ranges; with bit 7 (measurement fault) set,
        ``f_hz`` is the nominal frequency and means nothing.
        """
        flags = self.flags
        f_nom = self.settings.meter.f_nom_hz
        if self.meter.has_samples:
            avg = self.meter.take_average()
            p_w, q_var, v_v, f_hz = avg.p_total_w, avg.q_total_var, avg.v_rms_v, avg.f_hz
            fault = avg.fault or not 55.0 <= f_hz <= 65.0
        else:  # no samples at all since the last report: the ADC has stopped
            p_w = q_var = v_v = 0.0
            f_hz = f_nom
            fault = True
        if fault:
            flags |= FLAG_MEASUREMENT_FAULT
            if math.isnan(f_hz):
                f_hz = f_nom
        seq = self._seq
        self._seq = (self._seq + 1) % SEQ_MODULUS
        return Telemetry(
            node=self.settings.node,
            seq=seq,
            soc_pct=_clamp(self._read_soc_pct(), 0.0, 100.0),
            p_w=_clamp(p_w, -_P_WIRE_MAX_W, _P_WIRE_MAX_W),
            q_var=_clamp(q_var, -_P_WIRE_MAX_W, _P_WIRE_MAX_W),
            v_v=_clamp(v_v, 0.0, 300.0),
            f_hz=_clamp(f_hz, 55.0, 65.0),
            flags=flags,
        )


def _clamp(x: float, lo: float, hi: float) -> float:
    return float(min(max(x, lo), hi))


def _reason_text(reasons: int) -> str:
    return "|".join(r.name or "" for r in OpenReason if r & reasons)
