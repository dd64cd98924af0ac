"""The shadow meter: RMS, power, energy and frequency from raw V and CT samples.

"Shadow" because it runs beside the utility's revenue meter: good enough to control and
protect the house (1 % on power), not a billing meter.

Two paces. **Every block** (2.5 cycles, or 4 while the frequency is steady) only the
voltage is looked at, for frequency, which under-frequency protection needs within a few
cycles. **Every batch** of blocks
(``batch_s``, 1 s) all channels are metered at once: one pass of a few NumPy calls
over many samples instead of many passes over few, which is what keeps an idle node
cheap (see ``bench/edge_idle.py``). With ``x = (counts - offset) * scale``:

- **DC offset** — each channel's offset is tracked by an exponential average of batch
  means (time constant ``offset_tau_s``): over many cycles the AC part averages out, so
  the converter's bias and resistor tolerances need no calibration.
- **RMS** — :math:`\\sqrt{\\overline{x^2}}`.
- **Real power** — :math:`P = \\overline{v\\,i}` per circuit, consumption positive.
  Averaged over whole telemetry periods (many cycles) so a batch that holds a fraction of
  a cycle at off-nominal frequency costs nothing: the energy integral is exact.
- **Reactive power** — the quarter-period delay method of electronic meters:
  :math:`Q = \\overline{v(t - T/4)\\,i(t)}`, with :math:`T` from the measured frequency
  (fractional delay by linear interpolation). For sinusoids it is :math:`VI\\sin\\varphi`
  (lagging, i.e. inductive, positive); with harmonics it is the fundamental reactive power
  :math:`Q_1` of IEEE 1459-2010 plus terms :math:`\\pm V_h I_h \\sin\\varphi_h` for odd
  h, which are products of two small distortions (a few tenths of a percent in a house).
- **Energy** — :math:`E \\mathrel{+}= P\\,\\Delta t` [Wh] per circuit.
- **Frequency** — upward zero crossings of the voltage, with hysteresis (the voltage must
  have been below ``-zc_hysteresis`` of its nominal peak first, so noise near zero does
  not count twice), located by linear interpolation between samples. Each completed
  period gives one estimate :math:`1/T`, with its end time: protection acts on these per
  cycle; telemetry reports periods counted over elapsed time.

Examples
--------
>>> from feederos.edge.synthetic import LoadSpec, WaveformSpec, synthesize
>>> spec = WaveformSpec(v1_rms_v=120.0, loads=(LoadSpec(i1_rms_a=10.0, phi_deg=30.0),))
>>> meter = ShadowMeter(MeterSettings(n_circuits=1))
>>> for k in range(30):
...     _ = meter.process(synthesize(spec, t0_s=k / 30, fs_hz=3840.0, n=128))
>>> avg = meter.take_average()
>>> round(avg.p_w[0]), round(avg.q_var[0]), round(avg.f_hz, 3)
(1039, 600, 60.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from feederos.edge.errors import EdgeConfigError
from feederos.edge.hardware import (
    ChannelScale,
    SampleBlock,
    ct_channel_scale,
    voltage_channel_scale,
)

__all__ = ["AverageReading", "BatchReading", "BlockReading", "MeterSettings", "ShadowMeter"]

FloatArray = npt.NDArray[np.float64]
_EMPTY: FloatArray = np.zeros(0)


@dataclass(frozen=True, slots=True)
class MeterSettings:
    """Meter configuration.

    Attributes
    ----------
    n_circuits
        CT channels (rows 1..n of each block).
    v_scale, i_scale
        Converter scales (see :mod:`feederos.edge.hardware`); the defaults are a 12-bit,
        3.3 V converter, a 200:1 voltage divider and 100 A : 50 mA clamps into 22 Ω.
    f_nom_hz
        Nominal frequency [Hz].
    v_nom_v
        Nominal line-to-neutral voltage [V rms].
    v_present_pu
        Below this voltage [pu, by peak] the bus is dead: no frequency, measurement fault.
    offset_tau_s
        Time constant of the DC offset tracker [s].
    zc_hysteresis_pu
        Zero-crossing hysteresis [pu of nominal peak].
    f_valid_hz
        Periods outside this band are discarded as glitches [Hz].
    batch_s
        How much signal is metered at once [s] (the pace of power, RMS and over-current).
    """

    n_circuits: int = 4
    v_scale: ChannelScale = field(
        default_factory=lambda: voltage_channel_scale(adc_bits=12, vref_v=3.3, divider_ratio=200.0)
    )
    i_scale: ChannelScale = field(
        default_factory=lambda: ct_channel_scale(
            adc_bits=12, vref_v=3.3, ct_ratio=2000.0, burden_ohm=22.0
        )
    )
    f_nom_hz: float = 60.0
    v_nom_v: float = 120.0
    v_present_pu: float = 0.5
    offset_tau_s: float = 2.0
    zc_hysteresis_pu: float = 0.1
    f_valid_hz: tuple[float, float] = (45.0, 75.0)
    batch_s: float = 1.0


@dataclass(frozen=True, slots=True)
class BatchReading:
    """All channels metered over one batch of blocks.

    Attributes
    ----------
    t_end_s
        Time just after the batch's last sample [s].
    duration_s
        The span of the batch [s].
    v_rms_v, i_rms_a, p_w, q_var
        Over the batch; current and powers per circuit (the first batch's ``q_var``
        leaves out its first cycle, which has no delayed voltage).
    saturated
        Some channel hit the converter's rails.
    """

    t_end_s: float
    duration_s: float
    v_rms_v: float
    i_rms_a: FloatArray
    p_w: FloatArray
    q_var: FloatArray
    saturated: bool


class BlockReading(NamedTuple):
    """What one block measured.

    Attributes
    ----------
    t_end_s
        Time just after the block's last sample [s].
    period_end_s, period_f_hz
        Each period completed in this block: its end time [s] and its frequency [Hz].
    v_present
        The voltage's peak in the block is above ``v_present_pu``.
    batch
        The batch this block completed, if it completed one.
    """

    t_end_s: float
    period_end_s: tuple[float, ...]
    period_f_hz: tuple[float, ...]
    v_present: bool
    batch: BatchReading | None = None


@dataclass(frozen=True, slots=True)
class AverageReading:
    """Averages since the previous :meth:`ShadowMeter.take_average`.

    ``f_hz`` is NaN when no full period was seen; ``fault`` is set then, or when the
    bus was dead or a channel saturated during the interval.
    """

    duration_s: float
    v_rms_v: float
    i_rms_a: FloatArray
    p_w: FloatArray
    q_var: FloatArray
    f_hz: float
    fault: bool

    @property
    def p_total_w(self) -> float:
        """House net active power [W] (sum of circuits)."""
        return float(np.sum(self.p_w))

    @property
    def q_total_var(self) -> float:
        """House net reactive power [var]."""
        return float(np.sum(self.q_var))


class ShadowMeter:
    """Turns sample blocks into readings; keeps energy and the averages for telemetry."""

    def __init__(self, settings: MeterSettings):
        if settings.n_circuits < 1 or not settings.batch_s > 0:
            raise EdgeConfigError("MeterSettings: n_circuits >= 1 and batch_s > 0 are required")
        self.settings = settings
        n_ch = 1 + settings.n_circuits
        self._scale = np.array(
            [settings.v_scale.unit_per_count] + [settings.i_scale.unit_per_count] * (n_ch - 1)
        )
        self._full = np.array(
            [settings.v_scale.full_scale_counts] + [settings.i_scale.full_scale_counts] * (n_ch - 1)
        )
        self._offset: FloatArray = np.array(
            [settings.v_scale.bias_counts] + [settings.i_scale.bias_counts] * (n_ch - 1)
        )
        self._offset_seeded = False
        self._pending: list[SampleBlock] = []
        self._pending_s = 0.0
        self._prev_c: npt.NDArray[np.int32] = np.zeros(0, dtype=np.int32)
        self._prev_list: list[int] = []  # the same, as Python ints for the tracker
        self._prev_t0_s = 0.0
        # Samples either side of a crossing that must clear the hysteresis band: a quarter
        # of the way to the peak takes 1/24 of a cycle (sin 15° = 0.26 > 0.1 pu).
        self._zc_k = 3
        # Slack of the prediction window [samples]: a step from 60 to 55 Hz moves the
        # next crossing by 5.8 samples at 3840 Hz; beyond that the full search takes over.
        self._zc_window = 8
        self._tail_v: FloatArray = _EMPTY  # end of the previous batch, for the Q delay
        self._last_zc_s: float | None = None
        self._h_v = settings.zc_hysteresis_pu * math.sqrt(2.0) * settings.v_nom_v
        # Python floats for the per-block path: the voltage offset and hysteresis [counts].
        self._mid = float(self._offset[0])
        self._h_counts = float(self._h_v / self._scale[0])
        self._v_present_peak_v = settings.v_present_pu * math.sqrt(2.0) * settings.v_nom_v
        self._f_est_hz = settings.f_nom_hz
        #: Energy per circuit since start [Wh], consumption positive.
        self.energy_wh = np.zeros(settings.n_circuits)
        self._reset_average()

    def _reset_average(self) -> None:
        n = self.settings.n_circuits
        self._acc_t_s = 0.0
        self._acc_v2 = 0.0
        self._acc_i2 = np.zeros(n)
        self._acc_p = np.zeros(n)
        self._acc_q = np.zeros(n)
        self._acc_q_t_s = 0.0
        self._acc_periods = 0
        self._acc_period_s = 0.0
        self._acc_fault = False

    @property
    def has_samples(self) -> bool:
        """Whether any block arrived since the last :meth:`take_average`."""
        return self._acc_t_s > 0.0 or bool(self._pending)

    def process(self, block: SampleBlock) -> BlockReading:
        """Track frequency on this block; meter all channels when a batch is complete."""
        counts = block.counts
        if counts.shape[0] != self._scale.size:
            raise EdgeConfigError(
                f"sample block has {counts.shape[0]} channels; the meter expects "
                f"1 voltage + {self.settings.n_circuits} CT channels"
            )
        if not self._offset_seeded:
            # The first block's means are a far better offset than the nominal bias, taken
            # over whole nominal cycles (the mean of a part cycle is not zero).
            per_cycle = block.fs_hz / self.settings.f_nom_hz
            n_whole = round(int(block.n / per_cycle) * per_cycle) or block.n
            self._offset = counts[:, :n_whole].mean(axis=1)
            self._mid = float(self._offset[0])
            self._offset_seeded = True
        # The per-block path works on raw voltage counts with as few NumPy calls as it can:
        # it runs for every block and sets the node's idle cost, and on an idle node each
        # NumPy call costs ~10 us (cold caches), far more than a short Python loop over a
        # few samples. While locked on the waveform, only a few samples around each
        # predicted crossing are read.
        c = counts[0]
        cl: list[int] = c.tolist()
        tracked = self._track_crossings(cl, block)
        if tracked is None:
            n_prev = self._prev_c.size
            ext = np.concatenate((self._prev_c, c)) if n_prev else c
            ends, freqs = self._zero_crossings(ext, n_prev, block)
        else:
            ends, freqs = tracked
        self._prev_c = c
        self._prev_list = cl
        self._prev_t0_s = block.t0_s
        if freqs:
            v_present = True
        else:
            half_swing = 0.5 * (max(cl) - min(cl)) * float(self._scale[0])
            v_present = half_swing >= self._v_present_peak_v
        if not v_present:
            self._last_zc_s = None
            self._acc_fault = True
        if freqs:
            self._f_est_hz = sum(freqs) / len(freqs)
            self._acc_periods += len(freqs)
            self._acc_period_s += sum(1.0 / f for f in freqs)
        self._pending.append(block)
        self._pending_s += block.n / block.fs_hz
        batch = self._flush() if self._pending_s >= self.settings.batch_s - 1e-9 else None
        return BlockReading(
            block.t0_s + block.n / block.fs_hz, tuple(ends), tuple(freqs), v_present, batch
        )

    def flush(self) -> BatchReading | None:
        """Meter the blocks of an unfinished batch now (e.g. before a report)."""
        return self._flush() if self._pending else None

    def _flush(self) -> BatchReading:
        blocks = self._pending
        fs_hz = blocks[0].fs_hz
        counts = blocks[0].counts if len(blocks) == 1 else np.hstack([b.counts for b in blocks])
        t_end_s = blocks[-1].t0_s + blocks[-1].n / fs_hz
        self._pending = []
        self._pending_s = 0.0
        n = counts.shape[1]
        dt_s = n / fs_hz
        saturated = bool(counts.min() <= 0 or (counts.max(axis=1) >= self._full).any())
        alpha = 1.0 - math.exp(-dt_s / self.settings.offset_tau_s)
        self._offset = self._offset + alpha * (counts.mean(axis=1) - self._offset)
        self._mid = float(self._offset[0])
        x = (counts - self._offset[:, None]) * self._scale[:, None]
        # One Gram matrix gives every mean square and every v·i product.
        g = (x @ x.T) * (1.0 / n)
        v2 = float(g[0, 0])
        i2 = np.diagonal(g)[1:]
        p = g[1:, 0]
        q = self._quarter_delay_q(x[0], x[1:], fs_hz)

        self.energy_wh += p * (dt_s / 3600.0)
        self._acc_t_s += dt_s
        self._acc_v2 += v2 * dt_s
        self._acc_i2 += i2 * dt_s
        self._acc_p += p * dt_s
        if not math.isnan(q[0]):
            self._acc_q += q * dt_s
            self._acc_q_t_s += dt_s
        self._acc_fault |= saturated
        return BatchReading(t_end_s, dt_s, math.sqrt(v2), np.sqrt(i2), p, q, saturated)

    def take_average(self) -> AverageReading:
        """Averages since the last call (or the start), then start a new interval."""
        self.flush()
        t = self._acc_t_s
        if t <= 0.0:
            raise EdgeConfigError("take_average() before any sample block was processed")
        f_hz = self._acc_periods / self._acc_period_s if self._acc_periods else math.nan
        out = AverageReading(
            duration_s=t,
            v_rms_v=math.sqrt(self._acc_v2 / t),
            i_rms_a=np.sqrt(self._acc_i2 / t),
            p_w=self._acc_p / t,
            q_var=self._acc_q / self._acc_q_t_s if self._acc_q_t_s else self._acc_q,
            f_hz=f_hz,
            fault=self._acc_fault or not self._acc_periods,
        )
        self._reset_average()
        return out

    def _quarter_delay_q(self, v: FloatArray, i: FloatArray, fs_hz: float) -> FloatArray:
        n = v.size
        d = fs_hz / (4.0 * self._f_est_hz)
        m = int(d)
        frac = d - m
        tail = self._tail_v
        self._tail_v = v[-(m + 2) :]
        ext = np.concatenate((tail, v)) if tail.size else v
        start = tail.size - m
        # The very first batch has no delayed voltage for its first quarter cycle: leave
        # out a whole cycle, so what is averaged still spans whole cycles.
        s0 = round(fs_hz / self._f_est_hz) if start < 1 else 0
        if s0 >= n:
            return np.full(i.shape[0], math.nan)
        v_del = (1.0 - frac) * ext[start + s0 : start + n] + frac * ext[
            start - 1 + s0 : start - 1 + n
        ]
        return np.asarray((i[:, s0:] @ v_del) / (n - s0))

    def _track_crossings(
        self, c: list[int], block: SampleBlock
    ) -> tuple[list[float], list[float]] | None:
        """Crossings found in windows around their predicted times; None if lock is lost.

        The same rule as :meth:`_zero_crossings` (hysteresis K samples either side,
        ownership by the block holding sample m+1+K), applied to ``2 W + 2 K + 2``
        samples per crossing instead of the whole block.
        """
        if self._last_zc_s is None or not self._prev_list:
            return None
        fs = block.fs_hz
        n = len(c)
        k = self._zc_k
        w = self._zc_window
        mid = self._mid
        h = self._h_counts
        lo_f, hi_f = self.settings.f_valid_hz
        period_s = 1.0 / self._f_est_hz
        ends: list[float] = []
        freqs: list[float] = []
        last_s = self._last_zc_s
        while True:
            m_pred = math.floor((last_s + period_s - block.t0_s) * fs)
            lo = m_pred - w - k
            hi = m_pred + w + k + 2
            if hi > n:
                if m_pred + 1 + k < n:
                    return None  # confirmable here but the window runs past the block
                break  # confirmed by a later block
            if lo < 0:
                prev = self._prev_list
                if -lo > len(prev):
                    return None
                seg = prev[lo:] + c[:hi]
            else:
                seg = c[lo:hi]
            found = -1
            for i in range(k, len(seg) - k - 1):
                if seg[i] < mid <= seg[i + 1] and seg[i - k] < mid - h and seg[i + 1 + k] > mid + h:
                    found = i  # the last one: noise may cross an edge more than once
            if found < 0:
                return None
            if lo + found + 1 + k < 0:
                return None  # belongs to the previous block: out of step
            a = seg[found] - mid
            b = seg[found + 1] - mid
            t_zc = block.t0_s + (lo + found + a / (a - b)) / fs
            period = t_zc - last_s
            f = 1.0 / period if period > 0 else math.inf
            if not lo_f <= f <= hi_f:
                return None
            ends.append(t_zc)
            freqs.append(f)
            last_s = t_zc
            period_s = period
        self._last_zc_s = last_s
        return ends, freqs

    def _zero_crossings(
        self, ext: npt.NDArray[np.int32], n_prev: int, block: SampleBlock
    ) -> tuple[list[float], list[float]]:
        # ``ext`` is the previous block's voltage counts followed by this one's. A rising
        # crossing of the offset between samples m and m+1 counts when the signal is
        # below -hysteresis K samples before and above +hysteresis K samples after (so
        # noise near zero is not a crossing); it belongs to the block holding sample
        # m+1+K, so a crossing on the boundary is found exactly once.
        mid = self._mid
        h = self._h_counts
        k = self._zc_k
        below = ext < mid
        cand = np.flatnonzero(below[:-1] & ~below[1:])
        ends: list[float] = []
        freqs: list[float] = []
        if not cand.size:
            return ends, freqs
        n = ext.size
        lo_f, hi_f = self.settings.f_valid_hz
        fs = block.fs_hz
        last_m = -(1 << 30)
        for m in cand.tolist():
            j = m + 1 + k
            if j < n_prev or j >= n or m < k:
                continue  # confirmed in another block (or not yet)
            if not (ext[m - k] < mid - h and ext[j] > mid + h):
                continue
            if m - last_m <= 2 * k and ends:
                # noise made several crossings of one edge: keep the last
                ends.pop()
                freqs.pop()
            last_m = m
            a = float(ext[m]) - mid
            b = float(ext[m + 1]) - mid
            frac = a / (a - b)
            if m < n_prev:
                t_zc = self._prev_t0_s + (m + frac) / fs
            else:
                t_zc = block.t0_s + (m - n_prev + frac) / fs
            if self._last_zc_s is not None:
                period_s = t_zc - self._last_zc_s
                f = 1.0 / period_s if period_s > 0 else math.inf
                if lo_f <= f <= hi_f:
                    ends.append(t_zc)
                    freqs.append(f)
            self._last_zc_s = t_zc
        return ends, freqs
