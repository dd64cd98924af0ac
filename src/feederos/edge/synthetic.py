"""Synthetic mains waveforms as a converter would see them, with their analytic truth.

For tests and for running a node without hardware. The voltage and each circuit's
current are a fundamental plus harmonics,

.. math::

    v(t) = \\sqrt2 V_1 \\Big[\\sin\\theta + \\sum_h a_h \\sin(h\\theta + \\alpha_h)\\Big],
    \\qquad
    i(t) = \\sqrt2 I_1 \\Big[\\sin(\\theta - \\varphi_1)
        + \\sum_h b_h \\sin(h\\theta + \\alpha_h - \\varphi_h)\\Big],

with :math:`\\theta = 2\\pi\\int f\\,dt` (the frequency may vary in time). The converter
adds its mid-rail bias, a DC offset, Gaussian noise, then rounds to counts and clips to
its range (quantisation of a 10- or 12-bit ADC). Only harmonics present in both voltage
and current carry power, so the truth is

.. math::

    P = V_1 I_1 \\Big[\\cos\\varphi_1 + \\sum_h a_h b_h \\cos\\varphi_h\\Big].

Examples
--------
>>> spec = WaveformSpec(v1_rms_v=120.0, loads=(LoadSpec(i1_rms_a=10.0, phi_deg=60.0),))
>>> round(float(true_p_w(spec)[0]), 6)
600.0
>>> block = synthesize(spec, t0_s=0.0, fs_hz=3840.0, n=64)
>>> block.counts.shape
(2, 64)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from feederos.edge.errors import EdgeConfigError
from feederos.edge.hardware import (
    BlockCallback,
    ChannelScale,
    SampleBlock,
    ct_channel_scale,
    voltage_channel_scale,
)
from feederos.edge.sampling import Clock, Timer

__all__ = [
    "Harmonic",
    "LoadSpec",
    "SyntheticAdcSource",
    "WaveformSpec",
    "synthesize",
    "true_i_rms_a",
    "true_p_w",
    "true_q1_var",
    "true_v_rms_v",
]


@dataclass(frozen=True, slots=True)
class Harmonic:
    """One harmonic: ``order`` h, magnitude [% of the fundamental], angle [deg].

    For the voltage the angle is :math:`\\alpha_h`; for a current it is the lag
    :math:`\\varphi_h` behind the voltage harmonic of the same order.
    """

    order: int
    pct: float
    angle_deg: float = 0.0


@dataclass(frozen=True, slots=True)
class LoadSpec:
    """One circuit's current: fundamental [A rms], its lag [deg], harmonics."""

    i1_rms_a: float
    phi_deg: float = 0.0
    harmonics: tuple[Harmonic, ...] = ()


def _default_v_scale() -> ChannelScale:
    return voltage_channel_scale(adc_bits=12, vref_v=3.3, divider_ratio=200.0)


def _default_i_scale() -> ChannelScale:
    return ct_channel_scale(adc_bits=12, vref_v=3.3, ct_ratio=2000.0, burden_ohm=22.0)


@dataclass(frozen=True, slots=True)
class WaveformSpec:
    """The voltage, the circuit currents and the converter that samples them.

    Attributes
    ----------
    v1_rms_v
        Fundamental voltage [V rms].
    loads
        One :class:`LoadSpec` per circuit (circuit 0 first).
    f_hz
        Constant frequency [Hz]; a time profile is given to :func:`synthesize` instead.
    v_harmonics
        Voltage harmonics.
    v_scale, i_scale
        Converter scales of the voltage and CT channels (bits, CT ratio, burden).
    offset_counts
        DC offset added on every channel [counts] (beyond the nominal bias).
    noise_counts
        Standard deviation of Gaussian noise [counts].
    """

    v1_rms_v: float
    loads: tuple[LoadSpec, ...]
    f_hz: float = 60.0
    v_harmonics: tuple[Harmonic, ...] = ()
    v_scale: ChannelScale = _default_v_scale()  # noqa: RUF009 - frozen, immutable value
    i_scale: ChannelScale = _default_i_scale()  # noqa: RUF009 - frozen, immutable value
    offset_counts: float = 0.0
    noise_counts: float = 0.0


def true_p_w(spec: WaveformSpec) -> npt.NDArray[np.float64]:
    """Analytic real power of each circuit [W]."""
    va = {h.order: h.pct / 100.0 for h in spec.v_harmonics}
    out = []
    for load in spec.loads:
        p = math.cos(math.radians(load.phi_deg))
        for h in load.harmonics:
            p += va.get(h.order, 0.0) * h.pct / 100.0 * math.cos(math.radians(h.angle_deg))
        out.append(spec.v1_rms_v * load.i1_rms_a * p)
    return np.array(out)


def true_q1_var(spec: WaveformSpec) -> npt.NDArray[np.float64]:
    """Analytic fundamental reactive power of each circuit [var] (lagging positive)."""
    return np.array(
        [spec.v1_rms_v * ld.i1_rms_a * math.sin(math.radians(ld.phi_deg)) for ld in spec.loads]
    )


def true_v_rms_v(spec: WaveformSpec) -> float:
    """Analytic RMS voltage [V]."""
    return spec.v1_rms_v * math.sqrt(1.0 + sum((h.pct / 100.0) ** 2 for h in spec.v_harmonics))


def true_i_rms_a(spec: WaveformSpec) -> npt.NDArray[np.float64]:
    """Analytic RMS current of each circuit [A]."""
    return np.array(
        [
            ld.i1_rms_a * math.sqrt(1.0 + sum((h.pct / 100.0) ** 2 for h in ld.harmonics))
            for ld in spec.loads
        ]
    )


def _digitise(
    x: npt.NDArray[np.float64],
    scale: ChannelScale,
    spec: WaveformSpec,
    rng: np.random.Generator | None,
) -> npt.NDArray[np.float64]:
    c = x / scale.unit_per_count + scale.bias_counts + spec.offset_counts
    if spec.noise_counts > 0.0 and rng is not None:
        c = c + rng.normal(0.0, spec.noise_counts, size=c.shape)
    return np.clip(np.rint(c), 0, scale.full_scale_counts)


def synthesize(
    spec: WaveformSpec,
    *,
    t0_s: float,
    fs_hz: float,
    n: int,
    theta0_rad: float = 0.0,
    f_hz: npt.NDArray[np.float64] | None = None,
    rng: np.random.Generator | None = None,
) -> SampleBlock:
    """One block of ``n`` samples per channel starting at ``t0_s``.

    Parameters
    ----------
    theta0_rad
        Fundamental phase at the first sample (to continue a previous block).
    f_hz
        Frequency at each sample [Hz] (length ``n``); ``spec.f_hz`` if omitted.
    rng
        Noise generator; no noise without one.
    """
    freq = np.full(n, spec.f_hz) if f_hz is None else np.asarray(f_hz, dtype=float)
    theta = theta0_rad + 2.0 * math.pi * np.concatenate(([0.0], np.cumsum(freq[:-1]))) / fs_hz
    root2 = math.sqrt(2.0)
    v = np.sin(theta)
    for h in spec.v_harmonics:
        v += h.pct / 100.0 * np.sin(h.order * theta + math.radians(h.angle_deg))
    v *= root2 * spec.v1_rms_v
    valpha = {h.order: math.radians(h.angle_deg) for h in spec.v_harmonics}
    rows = [_digitise(v, spec.v_scale, spec, rng)]
    for load in spec.loads:
        i = np.sin(theta - math.radians(load.phi_deg))
        for h in load.harmonics:
            ang = valpha.get(h.order, 0.0) - math.radians(h.angle_deg)
            i += h.pct / 100.0 * np.sin(h.order * theta + ang)
        rows.append(_digitise(root2 * load.i1_rms_a * i, spec.i_scale, spec, rng))
    return SampleBlock(t0_s, fs_hz, np.array(rows, dtype=np.int32))


class SyntheticAdcSource:
    """Delivers synthetic blocks by clock callback, each at the end of the time it covers.

    Parameters
    ----------
    spec
        The waveform and converter.
    clock
        Schedules one callback per block (at absolute times, so a real clock does not drift).
    fs_hz
        Sampling rate [Hz].
    block_n
        Samples per channel per block (160: 2.5 cycles, 41.7 ms at 3840 Hz and 60 Hz);
        :meth:`set_block_n` changes it from the next block on.
    f_hz_at
        Frequency as a function of time [Hz]; ``spec.f_hz`` if omitted.
    spec_at
        Waveform as a function of time (e.g. a load step); ``spec`` if omitted.
    seed
        Noise seed.
    replay_blocks
        If > 0, compute ``replay_blocks * block_n`` samples once and deliver them in a
        loop as views of one cached buffer (a stationary waveform only, and the buffer
        must hold whole cycles, so the loop is seamless; the noise repeats). For long
        runs whose cost should be the node's, not the generator's: a real node's ADC
        delivers blocks at no CPU cost to the process.
    theta0_rad
        Phase of the fundamental at the first sample (where the cycles fall relative to
        the blocks).
    """

    def __init__(
        self,
        spec: WaveformSpec,
        *,
        clock: Clock,
        fs_hz: float = 3840.0,
        block_n: int = 160,
        f_hz_at: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]] | None = None,
        spec_at: Callable[[float], WaveformSpec] | None = None,
        seed: int = 0,
        replay_blocks: int = 0,
        theta0_rad: float = 0.0,
    ):
        if not fs_hz > 0 or block_n < 8:
            raise EdgeConfigError("SyntheticAdcSource needs fs_hz > 0 and block_n >= 8")
        cycles = replay_blocks * block_n * spec.f_hz / fs_hz
        if replay_blocks and (
            f_hz_at is not None or spec_at is not None or abs(cycles - round(cycles)) > 1e-9
        ):
            raise EdgeConfigError(
                "SyntheticAdcSource(replay_blocks > 0) needs a stationary waveform (no "
                f"f_hz_at/spec_at) and whole cycles in the replayed blocks; got {cycles:g}"
            )
        # The replay buffer twice over, so any block up to its length is one slice (a view).
        self._ring: npt.NDArray[np.int32] | None = None
        self._ring_n = replay_blocks * block_n
        self.spec = spec
        self._clock = clock
        self.fs_hz = fs_hz
        self.block_n = block_n
        self._f_hz_at = f_hz_at
        self._spec_at = spec_at
        self._rng = np.random.default_rng(seed)
        self._on_block: BlockCallback | None = None
        self._pending: Timer | None = None
        self._t0_s = 0.0
        self._samples = 0  # delivered since start
        self._theta0_rad = theta0_rad
        self._theta_rad = theta0_rad

    def set_block_n(self, n: int) -> None:
        """Deliver blocks of ``n`` samples per channel from the next one on."""
        if n < 8 or (self._ring_n and n > self._ring_n):
            raise EdgeConfigError(
                f"SyntheticAdcSource.set_block_n({n}): use 8..{self._ring_n or 'any'} samples"
            )
        self.block_n = n

    def start(self, on_block: BlockCallback) -> None:
        """Deliver blocks from now on."""
        self._on_block = on_block
        self._t0_s = self._clock.now_s()
        self._samples = 0
        if self._ring_n and self._ring is None:
            ring = synthesize(
                self.spec,
                t0_s=0.0,
                fs_hz=self.fs_hz,
                n=self._ring_n,
                theta0_rad=self._theta0_rad,
                rng=self._rng,
            ).counts
            self._ring = np.ascontiguousarray(np.hstack((ring, ring)))
        self._schedule()

    def stop(self) -> None:
        """Stop delivering."""
        if self._pending is not None:
            self._pending.cancel()
        self._on_block = None

    def _schedule(self) -> None:
        t_end_s = self._t0_s + (self._samples + self.block_n) / self.fs_hz
        self._pending = self._clock.call_at(t_end_s, self._deliver)

    def _deliver(self) -> None:
        on_block = self._on_block
        if on_block is None:
            return
        n = self.block_n
        t_start_s = self._t0_s + self._samples / self.fs_hz
        ring = self._ring
        if ring is not None:
            i0 = self._samples % self._ring_n
            block = SampleBlock(t_start_s, self.fs_hz, ring[:, i0 : i0 + n])
        else:
            spec = self._spec_at(t_start_s) if self._spec_at is not None else self.spec
            f_hz = None
            if self._f_hz_at is not None:
                f_hz = self._f_hz_at(t_start_s + np.arange(n) / self.fs_hz)
            block = synthesize(
                spec,
                t0_s=t_start_s,
                fs_hz=self.fs_hz,
                n=n,
                theta0_rad=self._theta_rad,
                f_hz=f_hz,
                rng=self._rng,
            )
            f_sum = spec.f_hz * n if f_hz is None else float(np.sum(f_hz))
            self._theta_rad = (self._theta_rad + 2.0 * math.pi * f_sum / self.fs_hz) % (2 * math.pi)
        self._samples += n
        # The consumer runs first: a block size it asks for applies to the very next block.
        on_block(block)
        if self._on_block is not None:
            self._schedule()
