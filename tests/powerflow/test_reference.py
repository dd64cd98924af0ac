"""Every shared feeder against OpenDSS's solved voltages, taps and capacitor states.

The references (``../shared/feeders/reference/<name>``) are OpenDSS's own solutions of
the master files (dss-python 0.15.7). Pass criteria from the power-flow issue: every node
voltage phasor within 1e-4 pu of the bus base and 0.05°, the same final regulator taps
and capacitor states, source P and Q within 0.1 %.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import MASTERS, SHARED, imported
from feederos.powerflow.compiled import CompiledNetwork, compile_network
from feederos.powerflow.solve import solve, solve_voltages

REFERENCE = SHARED / "reference"
V_TOL_PU = 1e-4
ANGLE_TOL_DEG = 0.05
POWER_RTOL = 1e-3


def reference(name: str) -> tuple[pd.DataFrame, dict]:
    """OpenDSS's voltages table and summary of ``name``."""
    folder = REFERENCE / name
    return pd.read_csv(folder / "voltages.csv"), json.loads((folder / "summary.json").read_text())


def voltage_errors(compiled: CompiledNetwork, v: np.ndarray, ref: pd.DataFrame):
    """Worst magnitude-phasor error [pu of base] and angle error [deg] against ``ref``."""
    idx = np.array([compiled.nodes.of(b, int(n)) for b, n in zip(ref.bus, ref.node, strict=True)])
    v_ref = ref.v_volts.to_numpy() * np.exp(1j * np.deg2rad(ref.angle_deg.to_numpy()))
    base = ref.kv_base_ln.to_numpy() * 1000
    err_pu = np.abs(v[idx] - v_ref) / base
    live = np.abs(v_ref) > 1e-3 * base
    d_ang = np.angle(v[idx][live] / v_ref[live], deg=True)
    worst = int(np.argmax(err_pu))
    return float(err_pu[worst]), float(np.max(np.abs(d_ang), initial=0.0)), ref.bus[worst]


def opendss_final_state(compiled: CompiledNetwork, summary: dict) -> CompiledNetwork:
    """``compiled`` with OpenDSS's final regulator taps and capacitor states."""
    taps = {t: list(compiled.tap_pu[t]) for t in compiled.tap_pu}
    for reg in summary["regulator_taps"].values():
        taps[reg["transformer"]][reg["winding"] - 1] = reg["tap_pu"]
    return compiled.with_state(tap_pu=taps, capacitor_states=summary["capacitor_states"])


@pytest.mark.parametrize("name", list(MASTERS))
def test_fixed_taps_match_opendss(name: str) -> None:
    """With controls off and OpenDSS's final taps and capacitor states fixed."""
    ref, summary = reference(name)
    compiled = opendss_final_state(compile_network(imported(name)), summary)
    out, _ = solve_voltages(compiled)
    assert out.converged
    err_pu, err_deg, where = voltage_errors(compiled, out.v, ref)
    print(f"\n{name}: {out.iterations} it, max |ΔV| {err_pu:.2e} pu at {where}, "
          f"max Δangle {err_deg:.2e}°")
    assert err_pu < V_TOL_PU
    assert err_deg < ANGLE_TOL_DEG


@pytest.mark.parametrize("name", list(MASTERS))
def test_solve_matches_opendss(name: str) -> None:
    """Controls on: voltages, final taps, capacitor states and source power."""
    ref, summary = reference(name)
    result = solve(imported(name), max_control_iterations=200)
    assert result.converged
    err_pu, err_deg, where = voltage_errors(result.compiled, result.v, ref)
    print(f"\n{name}: {result.control_iterations} control it, max |ΔV| {err_pu:.2e} pu at "
          f"{where}, max Δangle {err_deg:.2e}°, P {result.source_p_kw:.3f} kW "
          f"(OpenDSS {summary['source_p_kw']:.3f}), Q {result.source_q_kvar:.3f} kvar "
          f"(OpenDSS {summary['source_q_kvar']:.3f})")
    assert err_pu < V_TOL_PU
    assert err_deg < ANGLE_TOL_DEG
    assert result.regulator_taps == {
        reg: r["tap_number"] for reg, r in summary["regulator_taps"].items()
    }
    assert {c: list(s) for c, s in result.capacitor_states.items()} == summary["capacitor_states"]
    assert result.source_p_kw == pytest.approx(summary["source_p_kw"], rel=POWER_RTOL)
    assert result.source_q_kvar == pytest.approx(summary["source_q_kvar"], rel=POWER_RTOL)
