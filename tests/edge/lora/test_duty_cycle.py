"""The duty-cycle limiter queues and never exceeds its budget in any window."""

from __future__ import annotations

import numpy as np
import pytest

from feederos.edge.lora.duty_cycle import (
    DutyCycleLedger,
    DutyCycleLimiter,
    max_window_usage_s,
)
from feederos.edge.lora.errors import DutyCycleError

AIRTIME_S = 0.061696  # a 24-byte frame at SF7/125 kHz


def _check_schedule(lim: DutyCycleLimiter, sub_band: str = "g1") -> float:
    slots = lim.slots
    starts = np.array([s.start_s for s in slots])
    ends = np.array([s.end_s for s in slots])
    submits = np.array([s.submit_s for s in slots])
    assert np.all(starts >= submits)
    assert np.all(starts[1:] >= ends[:-1] - 1e-12)  # FIFO, one frame at a time
    used = lim.used_fraction(sub_band=sub_band)
    assert used <= lim.duty_cycle * (1 + 1e-9)
    return used


def test_a_burst_is_queued_not_dropped_and_uses_the_budget_fully() -> None:
    lim = DutyCycleLimiter(duty_cycle=0.01, window_s=3600.0)
    slots = [lim.submit(0.0, AIRTIME_S) for _ in range(2000)]  # 123 s of airtime
    assert len(lim.slots) == 2000
    used = _check_schedule(lim)
    assert used > 0.01 * 0.999  # the limiter is not needlessly conservative
    # 583 frames fit the first hour's 36 s; the next waits for the window to slide.
    first_hour = sum(1 for s in slots if s.end_s <= 3600.0)
    assert first_hour == int(36.0 // AIRTIME_S)
    assert lim.queued(1.0) == 2000 - 17  # 17 frames have started by t = 1 s


def test_random_overload_never_exceeds_one_percent() -> None:
    rng = np.random.default_rng(11)
    lim = DutyCycleLimiter()
    t = 0.0
    for _ in range(3000):
        t += float(rng.exponential(3.0))  # demand about 2 % of the time
        lim.submit(t, float(rng.choice([AIRTIME_S, 0.5, 1.2])))
    used = _check_schedule(lim)
    assert used > 0.0099
    waits = [s.wait_s for s in lim.slots]
    assert max(waits) > 3600.0  # it really was overloaded, so it really queued


def test_light_load_is_not_delayed() -> None:
    lim = DutyCycleLimiter()
    for k in range(1000):
        slot = lim.submit(10.0 * k, AIRTIME_S)
        assert slot.start_s == 10.0 * k
    assert _check_schedule(lim) < 0.01


def test_sub_bands_have_separate_budgets_but_share_the_radio() -> None:
    lim = DutyCycleLimiter(duty_cycle=0.01, window_s=100.0)
    assert lim.submit(0.0, 0.5).start_s == 0.0
    assert lim.submit(0.0, 0.5).start_s == 0.5
    assert lim.next_start_s(0.0, 0.5) == pytest.approx(100.0)  # g1 is spent
    assert lim.submit(0.0, 0.5, sub_band="g3").start_s == 1.0  # g3 is not
    assert lim.used_fraction(sub_band="g3") == pytest.approx(0.005)


def test_invalid_use_raises() -> None:
    with pytest.raises(DutyCycleError, match="duty_cycle"):
        DutyCycleLimiter(duty_cycle=0.0)
    with pytest.raises(DutyCycleError, match="window_s"):
        DutyCycleLedger(window_s=-1.0)
    lim = DutyCycleLimiter(duty_cycle=0.01, window_s=100.0)
    with pytest.raises(DutyCycleError, match="exceeds the whole budget"):
        lim.submit(0.0, 1.5)
    with pytest.raises(DutyCycleError, match="positive"):
        lim.submit(0.0, 0.0)
    lim.submit(5.0, 0.1)
    with pytest.raises(DutyCycleError, match="time order"):
        lim.submit(4.0, 0.1)


def test_max_window_usage_matches_brute_force() -> None:
    rng = np.random.default_rng(5)
    gaps = rng.exponential(2.0, 60)
    dur = rng.uniform(0.1, 1.5, 60)
    starts = np.cumsum(gaps + np.concatenate(([0.0], dur[:-1])))
    ends = starts + dur
    w = 7.0
    grid = np.linspace(starts[0] - w, ends[-1], 20001)
    brute = max(
        float(np.sum(np.clip(np.minimum(ends, s + w) - np.maximum(starts, s), 0, None)))
        for s in grid
    )
    exact = max_window_usage_s(starts, ends, w)
    assert exact >= brute - 1e-12
    assert exact - brute < 2 * (grid[1] - grid[0])  # the grid can only miss a sliver
    with pytest.raises(DutyCycleError, match="sorted"):
        max_window_usage_s([0.0, 0.5], [1.0, 2.0], 5.0)
    assert max_window_usage_s([], [], 5.0) == 0.0
