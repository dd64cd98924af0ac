"""Cases beyond the shared references, solved by OpenDSS live in the test: a meshed
feeder, a de-energised island, PV/storage/generator cases; and the methods against
each other on every radial feeder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_reference import ANGLE_TOL_DEG, POWER_RTOL, V_TOL_PU, voltage_errors

from conftest import MASTERS, dss_compile, imported, read_dss
from feederos.errors import PowerFlowError
from feederos.powerflow.compiled import compile_network
from feederos.powerflow.solve import Method, solve, solve_voltages

DATA = Path(__file__).resolve().parents[1] / "data" / "powerflow"
SCENARIOS = {
    "meshed": DATA / "scenarios" / "ieee123_tie_closed.dss",
    "island": DATA / "scenarios" / "ieee13_island.dss",
    **{f"der_{p.stem}": p for p in sorted((DATA / "der").glob("*.dss"))},
}


def opendss_solution(dss, path: Path) -> tuple[pd.DataFrame, float, float]:
    """Compile and solve ``path`` in OpenDSS as the references were made.

    Returns the voltages table (columns as the reference voltages.csv) and the source
    P [kW] and Q [kvar].
    """
    dss_compile(dss, path)
    for command in ("set tolerance=1e-9", "set maxiterations=200", "set maxcontroliter=2000"):
        dss.Text.Command = command
    dss.ActiveCircuit.Solution.Solve()
    assert dss.ActiveCircuit.Solution.Converged
    c = dss.ActiveCircuit
    names = [n.lower().split(".") for n in c.AllNodeNames]
    v = np.asarray(c.AllBusVolts)
    v = v[0::2] + 1j * v[1::2]
    base = []
    for bus, _ in names:
        c.SetActiveBus(bus)
        base.append(c.ActiveBus.kVBase)
    table = pd.DataFrame({
        "bus": [b for b, _ in names], "node": [int(n) for _, n in names],
        "v_volts": np.abs(v), "angle_deg": np.angle(v, deg=True), "kv_base_ln": base,
    })
    p_kw, q_kvar = c.TotalPower
    return table, -p_kw, -q_kvar


@pytest.mark.parametrize("case", list(SCENARIOS))
def test_scenario_matches_opendss(dss, case: str) -> None:
    ref, p_kw, q_kvar = opendss_solution(dss, SCENARIOS[case])
    result = solve(read_dss(SCENARIOS[case]), max_control_iterations=2000)
    assert result.converged
    err_pu, err_deg, where = voltage_errors(result.compiled, result.v, ref)
    print(f"\n{case}: max |ΔV| {err_pu:.2e} pu at {where}, max Δangle {err_deg:.2e}°, "
          f"P {result.source_p_kw:.3f}/{p_kw:.3f} kW, Q {result.source_q_kvar:.3f}/{q_kvar:.3f}")
    assert err_pu < V_TOL_PU
    assert err_deg < ANGLE_TOL_DEG
    assert result.source_p_kw == pytest.approx(p_kw, rel=POWER_RTOL)
    assert result.source_q_kvar == pytest.approx(q_kvar, rel=POWER_RTOL)


def test_island_is_reported_dead() -> None:
    result = solve(read_dss(SCENARIOS["island"]))
    dead = result.voltages[~result.voltages.energized]
    assert set(dead.bus) == {"692", "675"}
    assert (dead.v_volts == 0).all()


def test_fbs_refuses_a_meshed_feeder() -> None:
    with pytest.raises(PowerFlowError, match="loop"):
        solve(read_dss(SCENARIOS["meshed"]), method="fbs")


RADIAL = [n for n in MASTERS if n != "european_lv"] + ["european_lv"]


@pytest.mark.parametrize("name", RADIAL)
@pytest.mark.parametrize("method", [Method.NEWTON, Method.FBS])
def test_methods_agree(name: str, method: Method) -> None:
    """Every method lands on the default's solution within 1e-6 pu (controls off)."""
    compiled = compile_network(imported(name))
    default, _ = solve_voltages(compiled)
    other, used = solve_voltages(compiled, method=method)
    assert used is method
    assert default.converged and other.converged
    scale = compiled.nodes.v_base_ln_v
    diff = np.nanmax(np.abs(other.v - default.v) / scale)
    print(f"\n{name} {method}: {other.iterations} it, max diff {diff:.1e} pu")
    assert diff < 1e-6
