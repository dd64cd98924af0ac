"""The shadow meter against synthetic streams with analytic truth (M2)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from feederos.edge.hardware import SampleBlock, ct_channel_scale, voltage_channel_scale
from feederos.edge.shadow_meter import MeterSettings, ShadowMeter
from feederos.edge.synthetic import (
    Harmonic,
    LoadSpec,
    WaveformSpec,
    synthesize,
    true_i_rms_a,
    true_p_w,
    true_q1_var,
    true_v_rms_v,
)

CASES = Path(__file__).parents[1] / "data" / "edge" / "shadow_meter_cases.csv"
FS_HZ = 3840.0
BLOCK_N = 128


def _rows() -> list[dict[str, str]]:
    with CASES.open() as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def _spec(row: dict[str, str]) -> WaveformSpec:
    g = {k: float(v) for k, v in row.items() if k != "case"}
    v_h = tuple(Harmonic(h, g[f"v_h{h}_pct"], g[f"v_h{h}_deg"]) for h in (3, 5) if g[f"v_h{h}_pct"])
    i_h = tuple(Harmonic(h, g[f"i_h{h}_pct"], g[f"i_h{h}_deg"]) for h in (3, 5) if g[f"i_h{h}_pct"])
    return WaveformSpec(
        v1_rms_v=g["v1_rms_v"],
        f_hz=g["f_hz"],
        v_harmonics=v_h,
        loads=(LoadSpec(g["i1_rms_a"], g["phi_deg"], i_h),),
        v_scale=voltage_channel_scale(adc_bits=12, vref_v=3.3, divider_ratio=200.0),
        i_scale=ct_channel_scale(
            adc_bits=int(g["adc_bits"]),
            vref_v=3.3,
            ct_ratio=g["ct_ratio"],
            burden_ohm=g["burden_ohm"],
        ),
        offset_counts=g["offset_counts"],
        noise_counts=g["noise_counts"],
    )


def _stream(spec: WaveformSpec, meter: ShadowMeter, duration_s: float, seed: int = 1) -> None:
    """Feed ``duration_s`` of continuous blocks (phase carried across blocks)."""
    rng = np.random.default_rng(seed)
    theta = 0.0
    for k in range(round(duration_s * FS_HZ / BLOCK_N)):
        meter.process(
            synthesize(
                spec, t0_s=k * BLOCK_N / FS_HZ, fs_hz=FS_HZ, n=BLOCK_N, theta0_rad=theta, rng=rng
            )
        )
        theta = (theta + 2 * math.pi * spec.f_hz * BLOCK_N / FS_HZ) % (2 * math.pi)


def _meter_for(spec: WaveformSpec) -> ShadowMeter:
    return ShadowMeter(MeterSettings(n_circuits=1, v_scale=spec.v_scale, i_scale=spec.i_scale))


@pytest.mark.parametrize("row", _rows(), ids=lambda r: r["case"])
def test_power_within_tolerance_of_analytic_truth(row: dict[str, str]) -> None:
    spec = _spec(row)
    truth = float(true_p_w(spec)[0])
    # The data file's truth is the formula's (guards a hand edit of either).
    assert truth == pytest.approx(float(row["p_true_w"]), abs=1e-3)
    meter = _meter_for(spec)
    _stream(spec, meter, 2.0)
    avg = meter.take_average()
    err_pct = 100.0 * abs(avg.p_w[0] - truth) / abs(truth)
    assert err_pct <= float(row["tol_pct"]), f"{row['case']}: P error {err_pct:.3f} %"
    assert avg.v_rms_v == pytest.approx(true_v_rms_v(spec), rel=0.01)
    assert avg.i_rms_a[0] == pytest.approx(true_i_rms_a(spec)[0], rel=0.01)
    assert avg.f_hz == pytest.approx(spec.f_hz, abs=0.01)
    assert not avg.fault


@pytest.mark.parametrize("phi_deg", [36.87, -25.0, 60.0, 90.0])
def test_reactive_power_of_sinusoids_within_one_percent(phi_deg: float) -> None:
    spec = WaveformSpec(
        v1_rms_v=120.0, f_hz=59.7, loads=(LoadSpec(10.0, phi_deg),), noise_counts=0.5
    )
    meter = _meter_for(spec)
    _stream(spec, meter, 2.0)
    avg = meter.take_average()
    truth = float(true_q1_var(spec)[0])
    assert avg.q_var[0] == pytest.approx(truth, rel=0.01)


def test_energy_accumulates_power_times_time() -> None:
    spec = WaveformSpec(v1_rms_v=120.0, loads=(LoadSpec(10.0, 0.0),))
    meter = _meter_for(spec)
    _stream(spec, meter, 3.0)
    meter.flush()
    assert meter.energy_wh[0] == pytest.approx(1200.0 * 3.0 / 3600.0, rel=0.005)


def test_dead_bus_is_a_measurement_fault_without_frequency() -> None:
    spec = WaveformSpec(v1_rms_v=10.0, loads=(LoadSpec(1.0),))
    meter = _meter_for(spec)
    _stream(spec, meter, 0.5)
    avg = meter.take_average()
    assert avg.fault
    assert math.isnan(avg.f_hz)


def test_saturated_current_channel_is_flagged() -> None:
    # 100 A rms on a 100 A : 50 mA clamp into 22 Ω is ±1.56 V; 150 A clips the converter.
    spec = WaveformSpec(v1_rms_v=120.0, loads=(LoadSpec(150.0),))
    meter = _meter_for(spec)
    _stream(spec, meter, 0.5)
    assert meter.take_average().fault


def test_per_cycle_frequency_follows_a_step() -> None:
    spec = WaveformSpec(v1_rms_v=120.0, loads=(LoadSpec(1.0),))
    meter = _meter_for(spec)
    theta = 0.0
    freqs: list[float] = []
    for k in range(30):
        f = np.full(BLOCK_N, 60.0 if k < 15 else 59.0)
        block = synthesize(
            spec, t0_s=k * BLOCK_N / FS_HZ, fs_hz=FS_HZ, n=BLOCK_N, theta0_rad=theta, f_hz=f
        )
        theta += 2 * math.pi * float(f.sum()) / FS_HZ
        freqs.extend(meter.process(block).period_f_hz)
    assert freqs[2] == pytest.approx(60.0, abs=0.005)
    assert freqs[-1] == pytest.approx(59.0, abs=0.005)


@pytest.mark.parametrize("noise_counts", [0.0, 4.0])
def test_crossing_tracking_agrees_with_the_full_search(noise_counts: float) -> None:
    spec = WaveformSpec(v1_rms_v=120.0, loads=(LoadSpec(1.0),), noise_counts=noise_counts)

    def run(track: bool) -> tuple[list[float], int]:
        meter = _meter_for(spec)
        full_searches = 0
        if not track:
            meter._track_crossings = lambda c, b: None  # type: ignore[method-assign]
        search = meter._zero_crossings

        def counted(*args):  # type: ignore[no-untyped-def]
            nonlocal full_searches
            full_searches += 1
            return search(*args)

        meter._zero_crossings = counted  # type: ignore[method-assign]
        rng = np.random.default_rng(3)
        theta = 0.0
        freqs: list[float] = []
        for k in range(60):  # 60 Hz, a step to 57.5 Hz, a ramp back up
            t = k * BLOCK_N / FS_HZ + np.arange(BLOCK_N) / FS_HZ
            f = np.where(t < 0.7, 60.0, np.minimum(57.5 + 5.0 * (t - 1.0).clip(0), 60.0))
            block = synthesize(
                spec, t0_s=t[0], fs_hz=FS_HZ, n=BLOCK_N, theta0_rad=theta, f_hz=f, rng=rng
            )
            theta += 2 * math.pi * float(f.sum()) / FS_HZ
            freqs.extend(meter.process(block).period_f_hz)
        return freqs, full_searches

    tracked, n_full_tracked = run(True)
    full, n_full = run(False)
    assert tracked == pytest.approx(full, abs=1e-9)
    assert len(full) > 100
    assert n_full == 60
    assert n_full_tracked <= 3  # the first blocks, before lock


@pytest.mark.parametrize("noise_counts", [0.0, 4.0])
def test_periods_do_not_depend_on_where_the_blocks_end(noise_counts: float) -> None:
    # The same signal cut into 2.5-cycle blocks, 4-cycle blocks, and a mix of sizes (as
    # the node's adaptive block length does; each at least 1.5 cycles, as a shorter block
    # may miss the peak and count as a dead bus): every crossing is found exactly once.
    spec = WaveformSpec(v1_rms_v=120.0, loads=(LoadSpec(1.0),), noise_counts=noise_counts)
    n_total = 60 * BLOCK_N
    t = np.arange(n_total) / FS_HZ
    f = np.where(t < 0.7, 60.0, np.minimum(57.5 + 5.0 * (t - 1.0).clip(0), 60.0))
    signal = synthesize(
        spec, t0_s=0.0, fs_hz=FS_HZ, n=n_total, f_hz=f, rng=np.random.default_rng(3)
    ).counts

    def run(pattern: list[int]) -> list[float]:
        # The same first block (the offset is seeded from it), then the pattern repeated,
        # and what is left: every run covers the same samples.
        meter = _meter_for(spec)
        freqs: list[float] = []
        i0 = 0
        k = 0
        while i0 < n_total:
            n = BLOCK_N if i0 == 0 else min(pattern[k % len(pattern)], n_total - i0)
            k += i0 > 0
            block = SampleBlock(i0 / FS_HZ, FS_HZ, signal[:, i0 : i0 + n])
            freqs.extend(meter.process(block).period_f_hz)
            i0 += n
        return freqs

    short = run([BLOCK_N])
    assert len(short) > 100
    # The DC offset is updated once per batch, whose end moves with the block sizes; a
    # count of offset moves a crossing by ~3 us (0.01 Hz on one period) where it changes.
    for pattern in ([256], [256, 160, 100, 333, 160, 256, 97]):
        other = run(pattern)
        assert len(other) == len(short)
        assert other == pytest.approx(short, abs=0.02)
