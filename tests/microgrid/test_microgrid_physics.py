"""IEEE 1547-2018 participant behaviour and the anchor's frequency-shift control."""

from __future__ import annotations

import numpy as np
import pytest

from feederos.microgrid import Scenario, run_scenario
from feederos.microgrid.anchor import (
    DROOP_HZ_PER_PU,
    charge_limit_pu,
    frequency_shift_hz,
)
from feederos.microgrid.ieee1547 import frequency_droop_pu, response_factor


def test_frequency_droop_follows_table_24_defaults() -> None:
    f = np.array([59.0, 60.0, 60.036, 60.336, 61.236, 70.0])
    # (f − 60 − 0.036) / (60 · 0.05): 1/3 pu per Hz beyond the dead band, cut to [0, 1].
    np.testing.assert_allclose(frequency_droop_pu(f), [0, 0, 0, 0.1, 0.4, 1.0], atol=1e-12)
    assert float(frequency_droop_pu(60.536, k_of=0.02)) == pytest.approx(0.5 / 1.2)


def test_open_loop_response_time_is_the_90_percent_time() -> None:
    x = 0.0
    for _ in range(5):
        x += (1.0 - x) * response_factor(1.0, 5.0)
    assert x == pytest.approx(0.9)


def test_frequency_shift_curve_stays_inside_the_band_with_droop() -> None:
    soc = np.linspace(0, 100, 1001)
    f = frequency_shift_hz(soc)
    assert (np.diff(f) >= 0).all()
    assert f.min() - DROOP_HZ_PER_PU >= 59.3 and f.max() + DROOP_HZ_PER_PU <= 60.5
    assert charge_limit_pu(94.0) == 1.0 and charge_limit_pu(100.0) == 0.0


def test_participants_wait_the_enter_service_delay_then_ramp(midday: Scenario) -> None:
    r = run_scenario(midday, power_flow=False)
    k0 = round(midday.outage_start_h * 3600)
    live = k0 + 5  # 5 s black start
    delay = int(midday.participants.enter_service_delay_s)
    ramp = int(midday.participants.enter_service_ramp_s)
    assert (r.mode[k0:live] == -1).all() and (r.mode[live : live + 10] == 1).all()
    assert (r.pv_w[k0 : live + delay - 1] == 0.0).all()
    entered = live + delay - 1  # in the window for `delay` steps: live … live + delay − 1
    assert 0.0 < r.pv_w[entered] < 0.02 * r.pv_available_w[entered]
    # Linear ramp over the enter-service period: half-way, about half the rating.
    rating_w = sum(h.pv_kw for h in midday.houses) * 1000.0
    assert r.pv_w[entered + ramp // 2] <= (0.5 + 1.0 / ramp) * rating_w + 1e-6
    assert r.pv_w[entered + ramp + 60] > 0.5 * r.pv_available_w[entered + ramp + 60]
    # Connected before the outage: 60 Hz and PV at its full availability.
    assert (r.f_hz[:k0] == 60.0).all()
    np.testing.assert_allclose(r.pv_w[:k0], r.pv_available_w[:k0])


def test_a_full_anchor_raises_frequency_and_participants_curtail(midday: Scenario) -> None:
    full = midday.model_copy(update={"anchor": midday.anchor.model_copy(update={"soc_pct": 97.0})})
    r = run_scenario(full, power_flow=False)
    s = r.summary()
    assert s["f_max_hz"] > 60.3 and s["f_max_hz"] <= 60.5
    assert s["pv_curtailed_kwh"] > 5.0
    assert r.soc_anchor_pct.max() < 100.0


def test_an_empty_anchor_stops_and_the_street_goes_dark(midday: Scenario) -> None:
    small = midday.model_copy(
        update={
            "start": "2023-07-15T19:30",
            "anchor": midday.anchor.model_copy(update={"energy_kwh": 2.0, "soc_pct": 30.0}),
        }
    )
    r = run_scenario(small, power_flow=False)
    shutdown = [e for e in r.events if e.action == "shutdown"]
    assert len(shutdown) == 1
    k = round(shutdown[0].t_s / small.step_s)
    end = round(small.outage_end_h * 3600)
    assert (r.mode[k + 1 : end] == -1).all() and np.isnan(r.f_hz[k + 1 : end]).all()
    assert r.summary()["critical_served_pct"] < 100.0
    assert r.soc_anchor_pct.min() >= small.anchor.soc_min_pct - 1e-9
