"""The edge node's hardware: circuit relays on GPIO and the ADC that samples V and CT currents.

Relays
    One gpiozero :class:`~gpiozero.DigitalOutputDevice` per house circuit
    (:class:`RelayBank`). Circuit 0 is the critical circuit (fridge, medical, network
    gear): shedding never opens it. Each circuit has a *fail-safe state*
    (:attr:`CircuitSpec.fail_safe_closed`), the state the node drives it to when the
    orchestrator is silent: closed for the critical circuit, open for the others. The
    wiring should match it: the critical circuit on a normally-closed contact, so it stays
    powered if the Pi itself dies.

ADC
    Anything that delivers :class:`SampleBlock` s by callback satisfies :class:`AdcSource`.
    A block holds raw converter counts for channel 0 (voltage) and channels 1..4 (one CT
    clamp per circuit); :class:`ChannelScale` turns counts into volts and amperes.
    :class:`PolledAdcSource` reads gpiozero MCP3008-style channels (anything with
    ``raw_value``) in a burst once per block, woken by the clock; the synthetic source for
    tests is :class:`feederos.edge.synthetic.SyntheticAdcSource`.

Examples
--------
>>> from gpiozero import Device
>>> from gpiozero.pins.mock import MockFactory
>>> Device.pin_factory = MockFactory()
>>> relays = RelayBank(default_circuits())
>>> relays.closed_mask()
15
>>> relays.open(2)
True
>>> relays.closed_mask(), Device.pin_factory.pin(22).state
(11, False)
>>> relays.close_all(); relays.release()
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np
import numpy.typing as npt
from gpiozero import DigitalOutputDevice

from feederos.edge.errors import EdgeConfigError
from feederos.edge.messages import N_CIRCUITS
from feederos.edge.sampling import Clock, Timer

__all__ = [
    "AdcSource",
    "BlockCallback",
    "ChannelScale",
    "CircuitSpec",
    "PolledAdcSource",
    "RawChannel",
    "RelayBank",
    "RelayEvent",
    "SampleBlock",
    "ct_channel_scale",
    "default_circuits",
    "voltage_channel_scale",
]


@dataclass(frozen=True, slots=True)
class CircuitSpec:
    """One switched house circuit.

    Attributes
    ----------
    circuit
        Index 0..3 (0 is the critical circuit).
    gpio_pin
        BCM pin number driving the relay.
    critical
        Never opened by shedding, under-frequency or fail-safe (only by its own
        over-current protection).
    fail_safe_closed
        Relay state when the orchestrator is silent.
    i_max_a
        Over-current pickup [A] (the circuit breaker's rating).
    active_high
        Whether driving the pin high closes the relay (many relay boards are active-low).
    """

    circuit: int
    gpio_pin: int
    critical: bool
    fail_safe_closed: bool
    i_max_a: float
    active_high: bool = True


def default_circuits() -> tuple[CircuitSpec, ...]:
    """The StreetGrid house: critical circuit 0 and three sheddable circuits on BCM 17/27/22/23.

    Circuit 3 is rated 40 A for a 240 V, 30 A Level 2 EV charger (SAE J1772).
    """
    return (
        CircuitSpec(0, gpio_pin=17, critical=True, fail_safe_closed=True, i_max_a=20.0),
        CircuitSpec(1, gpio_pin=27, critical=False, fail_safe_closed=False, i_max_a=20.0),
        CircuitSpec(2, gpio_pin=22, critical=False, fail_safe_closed=False, i_max_a=20.0),
        CircuitSpec(3, gpio_pin=23, critical=False, fail_safe_closed=False, i_max_a=40.0),
    )


@dataclass(frozen=True, slots=True)
class RelayEvent:
    """A relay operation, kept for the record (and for timing tests)."""

    t_s: float
    circuit: int
    closed: bool
    reason: str


class RelayBank:
    """The circuit relays, one gpiozero output per circuit; all start closed.

    Parameters
    ----------
    circuits
        One :class:`CircuitSpec` per circuit, indices 0..n-1 in order; exactly circuit 0
        is critical.
    now_s
        Time source for :attr:`events` (the node's clock); 0 if omitted.
    """

    def __init__(
        self,
        circuits: Sequence[CircuitSpec],
        *,
        now_s: Callable[[], float] | None = None,
    ):
        _check_circuits(circuits)
        self.circuits = tuple(circuits)
        self._now_s = now_s or (lambda: 0.0)
        self._devices = [
            DigitalOutputDevice(c.gpio_pin, active_high=c.active_high, initial_value=True)
            for c in self.circuits
        ]
        # What we last drove each output to; reading it back through gpiozero takes a
        # lock per pin, too slow for every sample block.
        self._closed = [True] * len(self._devices)
        self.events: list[RelayEvent] = []

    def is_closed(self, circuit: int) -> bool:
        """Whether the relay of ``circuit`` is closed (the circuit is powered)."""
        return self._closed[circuit]

    def closed_mask(self) -> int:
        """Bit ``k`` set when circuit ``k`` is closed (the Telemetry flag bits 0..3)."""
        return sum(1 << k for k in range(len(self._devices)) if self.is_closed(k))

    def open(self, circuit: int, reason: str = "") -> bool:
        """Open the relay of ``circuit``; return whether it changed."""
        return self._set(circuit, False, reason)

    def close(self, circuit: int, reason: str = "") -> bool:
        """Close the relay of ``circuit``; return whether it changed."""
        return self._set(circuit, True, reason)

    def close_all(self) -> None:
        """Close every relay."""
        for k in range(len(self._devices)):
            self.close(k, "close_all")

    def release(self) -> None:
        """Release the GPIO pins (the relays fall to their unpowered contact state)."""
        for device in self._devices:
            device.close()

    def _set(self, circuit: int, closed: bool, reason: str) -> bool:
        if self._closed[circuit] == closed:
            return False
        self._devices[circuit].value = closed
        self._closed[circuit] = closed
        self.events.append(RelayEvent(self._now_s(), circuit, closed, reason))
        return True


def _check_circuits(circuits: Sequence[CircuitSpec]) -> None:
    if not 1 <= len(circuits) <= N_CIRCUITS:
        raise EdgeConfigError(f"an edge node has 1..{N_CIRCUITS} circuits, got {len(circuits)}")
    for k, c in enumerate(circuits):
        if c.circuit != k:
            raise EdgeConfigError(f"circuit #{k} has index {c.circuit}; list circuits 0..n-1")
        if c.critical != (k == 0):
            raise EdgeConfigError(
                f"circuit {k}: critical={c.critical}; exactly circuit 0 is the critical one"
            )
        if c.critical and not c.fail_safe_closed:
            raise EdgeConfigError("circuit 0 is critical; its fail-safe state must be closed")
        if not c.i_max_a > 0:
            raise EdgeConfigError(f"circuit {k}: i_max_a = {c.i_max_a}; give a rating > 0 A")
    pins = [c.gpio_pin for c in circuits]
    if len(set(pins)) != len(pins):
        raise EdgeConfigError(f"circuit relays share a GPIO pin: {pins}; give each its own")


# --------------------------------------------------------------------------- ADC


@dataclass(frozen=True, slots=True)
class ChannelScale:
    """Counts to physical units: ``x = (counts - bias) * unit_per_count``.

    ``bias_counts`` is the nominal mid-rail bias; the meter tracks the actual offset
    itself, so resistor tolerance does not matter.
    """

    unit_per_count: float
    bias_counts: float
    full_scale_counts: int


def voltage_channel_scale(*, adc_bits: int, vref_v: float, divider_ratio: float) -> ChannelScale:
    """Scale of the mains-voltage channel: a transformer/divider of ``divider_ratio`` [V/V].

    >>> round(voltage_channel_scale(adc_bits=10, vref_v=3.3, divider_ratio=200.0)
    ...       .unit_per_count, 4)
    0.6445
    """
    full = 1 << adc_bits
    return ChannelScale(vref_v / full * divider_ratio, full / 2.0, full - 1)


def ct_channel_scale(
    *, adc_bits: int, vref_v: float, ct_ratio: float, burden_ohm: float
) -> ChannelScale:
    """Scale of a CT-clamp channel: a ``ct_ratio``:1 current transformer into ``burden_ohm``.

    A 100 A : 50 mA clamp (ratio 2000) into 22 Ω swings ±1.56 V at the peak of 100 A rms,
    inside a 3.3 V converter biased at mid-rail; at 12 bits that is 0.0732 A per count:

    >>> round(ct_channel_scale(adc_bits=12, vref_v=3.3, ct_ratio=2000, burden_ohm=22)
    ...       .unit_per_count, 4)
    0.0732
    """
    full = 1 << adc_bits
    return ChannelScale(vref_v / full / burden_ohm * ct_ratio, full / 2.0, full - 1)


class SampleBlock(NamedTuple):
    """Raw samples of all channels over one block.

    A named tuple rather than a dataclass: one is made 24 times a second, and a tuple
    is the cheapest immutable record to build.

    Attributes
    ----------
    t0_s
        Time of the first sample [s] on the node's clock.
    fs_hz
        Sampling rate [Hz].
    counts
        Shape ``(1 + n_circuits, n)``: row 0 voltage, row ``1 + k`` circuit ``k``'s CT.
    """

    t0_s: float
    fs_hz: float
    counts: npt.NDArray[np.int32]

    @property
    def n(self) -> int:
        """Samples per channel."""
        return int(self.counts.shape[1])

    @property
    def duration_s(self) -> float:
        """The time the block covers [s]."""
        return self.n / self.fs_hz


BlockCallback = Callable[[SampleBlock], None]


class AdcSource(Protocol):
    """A source of sample blocks delivered by callback (never polled by the node)."""

    def start(self, on_block: BlockCallback) -> None:
        """Begin delivering blocks to ``on_block``."""
        ...

    def stop(self) -> None:
        """Stop delivering blocks."""
        ...


class RawChannel(Protocol):
    """An ADC channel as gpiozero's ``MCP3008(channel=k)``: ``raw_value`` in counts."""

    @property
    def raw_value(self) -> int:
        """The latest conversion [counts]."""
        ...


class PolledAdcSource:
    """Bursts of reads from gpiozero ADC channels, one burst per block, woken by the clock.

    Software-timed: the rate is whatever the SPI bus gives (``fs_hz`` is measured as
    samples over elapsed time). Fine for RMS and power of a slow house load; a production
    node wants a hardware-timed ADC with DMA delivering blocks, which plugs into the same
    :class:`AdcSource` protocol.

    Parameters
    ----------
    channels
        Voltage channel first, then one CT channel per circuit (e.g.
        ``[MCP3008(channel=k) for k in range(5)]``).
    clock
        Wakes the source every ``block_s``; blocks are delivered on the clock's thread.
    n
        Samples per channel per burst.
    block_s
        Time between bursts [s].
    timer
        Monotonic time for the measured rate (``time.perf_counter`` on a real node).
    """

    def __init__(
        self,
        channels: Sequence[RawChannel],
        *,
        clock: Clock,
        n: int,
        block_s: float,
        timer: Callable[[], float],
    ):
        if len(channels) < 2 or n < 2 or not block_s > 0:
            raise EdgeConfigError(
                "PolledAdcSource needs a voltage and >= 1 CT channel, n >= 2 and block_s > 0"
            )
        self._channels = tuple(channels)
        self._clock = clock
        self._n = n
        self._block_s = block_s
        self._timer = timer
        self._pending: Timer | None = None
        self._on_block: BlockCallback | None = None

    def start(self, on_block: BlockCallback) -> None:
        """Begin a burst every ``block_s``."""
        self._on_block = on_block
        self._pending = self._clock.call_later(0.0, self._burst)

    def stop(self) -> None:
        """Stop bursting."""
        if self._pending is not None:
            self._pending.cancel()
        self._on_block = None

    def _burst(self) -> None:
        if self._on_block is None:
            return
        t0_s = self._clock.now_s()
        counts = np.empty((len(self._channels), self._n), dtype=np.int32)
        start = self._timer()
        for j in range(self._n):
            for c, channel in enumerate(self._channels):
                counts[c, j] = channel.raw_value
        elapsed_s = self._timer() - start
        fs_hz = self._n / elapsed_s if elapsed_s > 0 else float("inf")
        if not np.isfinite(fs_hz):
            raise EdgeConfigError("ADC burst took no measurable time; the timer is broken")
        self._pending = self._clock.call_at(t0_s + self._block_s, self._burst)
        self._on_block(SampleBlock(t0_s, fs_hz, counts))
