"""M1: the 10-house grid_failure scenario, a 24 h outage at 1 s steps, end to end."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from feederos.microgrid import RANGE_B_PU, MicrogridResult, Scenario, run_scenario


@pytest.fixture(scope="module")
def run(grid_failure: Scenario) -> tuple[MicrogridResult, float]:
    t0 = time.perf_counter()
    result = run_scenario(grid_failure)
    return result, time.perf_counter() - t0


@pytest.mark.slow
def test_a_day_islanded_keeps_frequency_voltage_and_critical_load(
    run: tuple[MicrogridResult, float], grid_failure: Scenario
) -> None:
    result, _seconds = run
    s = result.summary()
    assert grid_failure.outage_end_h - grid_failure.outage_start_h == 24.0
    assert grid_failure.step_s == 1.0 and len(grid_failure.houses) == 10
    assert result.t_s.size == grid_failure.steps == 26 * 3600
    assert s["islanded_h"] >= 24.0
    island = result.mode == 1
    assert np.isfinite(result.f_hz[island]).all()
    assert 59.3 <= s["f_min_hz"] <= s["f_max_hz"] <= 60.5
    assert s["power_flows"] == int((result.mode != -1).sum())  # every energised step
    assert s["not_converged"] == 0
    assert RANGE_B_PU[0] <= s["v_min_pu"] <= s["v_max_pu"] <= RANGE_B_PU[1]
    assert s["range_b_violations"] == 0
    assert s["isolation_violations"] == 0 and s["backfeed_v_max"] == 0.0
    # Critical loads fully served whenever the anchor is above its reserve.
    above = island & (result.soc_anchor_pct > grid_failure.anchor.reserve_pct)
    assert above.sum() > 20 * 3600
    np.testing.assert_array_equal(result.critical_served_w[above], result.critical_demand_w[above])
    assert s["critical_served_above_reserve_pct"] == 100.0
    # Only the black start's dark seconds go without critical load.
    dark_kwh = result.critical_demand_w[result.mode == -1].sum() / 3.6e6
    crit_kwh = result.critical_demand_w[result.mode != 0].sum() / 3.6e6
    assert s["critical_served_pct"] == pytest.approx(100.0 * (1 - dark_kwh / crit_kwh))
    assert s["sheds"] > 0 and s["restores"] > 0


@pytest.mark.slow
def test_the_report_and_plots_are_produced(
    run: tuple[MicrogridResult, float], tmp_path: Path
) -> None:
    result, _ = run
    text = result.report()
    for label in (
        "frequency range",
        "critical load served",
        "energy not served",
        "anchor minimum SOC",
        "sheds / restores",
        "ANSI C84.1 range B",
        "isolation violations",
        "largest cable loading",
    ):
        assert label in text
    files = result.plot(tmp_path)
    assert sorted(f.name for f in files) == ["frequency.png", "load.png", "report.html", "soc.png"]
    for name in ("frequency.png", "soc.png", "load.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    page = (tmp_path / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 3
    assert "critical load served [%]" in page and 'src="http' not in page
