"""The compiled snapshot with controls ends where ``solve`` ends: same taps, capacitor
steps, control iterations and voltages, on the reference feeders and on feeders whose
capacitor controls work (voltage, current, power factor, time)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import SHARED, imported, read_dss
from feederos.model import Network
from feederos.powerflow import compile_network, solve
from feederos.powerflow.compiled import CompiledNetwork
from feederos.powerflow.controlled import (
    ROUNDING_SHARE,
    SOLVED,
    ZERO_PIVOT,
    ControlledNetwork,
    ControlledState,
    snapshot_totals,
    solve_controlled,
    solve_rounding_pu,
)
from feederos.powerflow.methods.fixed_point import energized_factor, no_load_voltages

EQUAL_PU = 1e-9
DATA = Path(__file__).resolve().parents[1] / "data" / "powerflow"

CAPACITOR_CONTROLS = {  # edits on a master: capacitor controls of every mode that acts
    "ieee13_capcontrols": ("13Bus/IEEE13Nodeckt.dss", """
RegControl.Reg3.vlimit=126
New CapControl.cc1 Capacitor=cap1 element=Line.692675 terminal=1 type=voltage ON=116
~ OFF=121.5 ptratio=20 ptphase=max Delay=10 delayoff=5 deadtime=100
New CapControl.cc2 Capacitor=cap2 element=Line.684611 terminal=2 type=current ON=200
~ OFF=1.0 ctratio=60 Delay=12 delayoff=12
"""),
    "ieee34_pf_time": ("34Bus/ieee34Mod1.dss", """
New CapControl.pf844 Capacitor=c844 element=Line.L21 terminal=1 type=pf ON=0.98 OFF=-0.98
~ Delay=50 delayoff=50
New CapControl.t848 Capacitor=c848 element=Line.L23 terminal=2 type=time ON=8 OFF=20
~ Delay=40 delayoff=40
"""),
    "ieee13_kvar_override": ("13Bus/IEEE13Nodeckt.dss", """
New CapControl.kv Capacitor=cap1 element=Line.692675 terminal=1 type=kvar ON=900 OFF=400
~ VoltOverride=yes Vmin=110 Vmax=121 ptratio=20 Delay=5 delayoff=5
"""),
}


def _network(name: str, tmp_path: Path) -> Network:
    if name not in CAPACITOR_CONTROLS:
        return imported(name)
    master, edits = CAPACITOR_CONTROLS[name]
    if not (SHARED / master).exists():
        pytest.skip(f"{SHARED / master} not available")
    path = tmp_path / f"{name}.dss"
    path.write_text(f'Compile "{(SHARED / master).resolve()}"\n{edits}')
    return read_dss(path)


def _compiled_solve(
    c: CompiledNetwork,
) -> tuple[ControlledNetwork, ControlledState, np.ndarray, tuple[int, int, int, bool]]:
    net = ControlledNetwork(c)
    state = net.state()
    v = no_load_voltages(c)
    out = solve_controlled(net.arrays, state, net.unit_scale, v, 1e-10, 100,
                           c.network.settings.max_control_iterations)
    return net, state, v, out


@pytest.mark.parametrize("name", ["ieee13", "ieee34mod1", "ieee37", "ieee123",
                                  *CAPACITOR_CONTROLS])
def test_the_compiled_loop_ends_where_solve_ends(name: str, tmp_path: Path) -> None:
    _assert_as_solve(compile_network(_network(name, tmp_path)), name)


def test_capacitor_controls_alone_that_never_settle(tmp_path: Path) -> None:
    # Without the regulators the kvar control's override opens and closes the bank at
    # every iteration, up to the last: the loop stops unsettled, as solve's does.
    net = _network("ieee13_kvar_override", tmp_path).model_copy(update={"regulators": []})
    _assert_as_solve(compile_network(net), "ieee13_kvar_override")
    assert not solve(net).converged


def _assert_as_solve(c: CompiledNetwork, name: str) -> None:
    net, state, v, (status, iterations, control_iterations, settled) = _compiled_solve(c)
    ref = solve(c, tolerance_pu=1e-10)
    assert status == SOLVED
    assert (control_iterations, settled) == (ref.control_iterations, ref.converged)
    assert net.regulator_taps(state) == ref.regulator_taps
    banks = net.capacitor_states(state.cap_states)
    assert banks == {name: ref.capacitor_states[name] for name in banks}
    base = c.nodes.v_base_ln_v
    live = c.energized & (base > 0)
    assert np.abs(v - ref.v)[live].max() / base[live].min() < EQUAL_PU
    source, losses, v_min, v_max, loading = snapshot_totals(net.arrays.pd, net.arrays.totals,
                                                            state.pd_y, v)
    assert loading == pytest.approx(ref.loading.loading_pct.max() / 100, rel=1e-8)
    assert ref.loading_max_pu == pytest.approx(ref.loading.loading_pct.max() / 100, rel=1e-12)
    assert source.real / 1e3 == pytest.approx(ref.source_p_kw, rel=1e-9)
    assert losses.imag / 1e3 == pytest.approx(ref.total_losses_kvar, rel=1e-8)
    assert (v_min, v_max) == (pytest.approx(ref.v_min_pu, abs=EQUAL_PU),
                              pytest.approx(ref.v_max_pu, abs=EQUAL_PU))
    assert abs(iterations - ref.iterations) <= 1
    if name in CAPACITOR_CONTROLS:  # else the scenario compares no capacitor control
        assert any("capcontrol" in action for action in ref.control_actions)


def test_a_moved_state_is_the_network_compiled_with_it(tmp_path: Path) -> None:
    c = compile_network(_network("ieee13_capcontrols", tmp_path))
    net = ControlledNetwork(c)
    state = net.state()
    taps = {name: tuple(t * 1.0125 for t in taps) for name, taps in net.tap_pu(
        state.tap_pu).items()}
    steps = {name: tuple(1 - s for s in states) for name, states in net.capacitor_states(
        state.cap_states).items()}
    net.set_state(state, taps, steps)
    moved = c.with_state(tap_pu=taps, capacitor_states=steps)
    assert net.tap_pu(state.tap_pu) == taps and net.capacitor_states(state.cap_states) == steps
    pd_y = np.concatenate([b.y_s.ravel() for b in moved.pd_blocks])
    assert np.abs(state.pd_y - pd_y).max() <= 1e-12 * np.abs(pd_y).max()
    a_val = energized_factor(moved).a_val
    assert np.abs(state.factors.a_val - a_val).max() <= 1e-12 * np.abs(a_val).max()


def test_a_zero_pivot_is_reported() -> None:
    c = compile_network(imported("ieee13"))
    net = ControlledNetwork(c)
    state = net.state()
    state.factors.a_val[:] = 0.0
    state.factors.flags[1] = 1  # stale: refactorise the zeros
    out = solve_controlled(net.arrays, state, net.unit_scale, no_load_voltages(c), 1e-9, 100,
                           10)
    assert out[0] == ZERO_PIVOT


def test_networks_with_other_injections_are_left_to_solve() -> None:
    c = compile_network(read_dss(DATA / "der" / "generators.dss"))
    assert not ControlledNetwork.supports(c)
    with pytest.raises(ValueError, match="only networks whose injections are all loads"):
        ControlledNetwork(c)


def test_a_solution_is_refined_where_the_rounding_matters_at_its_tolerance() -> None:
    """IEEE 123 rounds to ~5e-9 pu: refined at 1e-9, left as solved at 1e-6. A node held by
    1e-10 S rounds to ~1e-4 pu and is refined at 1e-6 too, so it sits where ``solve``
    (which always refines) puts it, not 1e-4 pu off."""
    rounding = solve_rounding_pu(compile_network(imported("ieee123")))
    assert ROUNDING_SHARE * 1e-9 < rounding < ROUNDING_SHARE * 1e-6
    held = compile_network(read_dss(DATA / "capacitively_held.dss"))
    assert solve_rounding_pu(held) > 1e-6
    net = ControlledNetwork(held)
    v = no_load_voltages(held)
    out = solve_controlled(net.arrays, net.state(), net.unit_scale, v, 1e-6, 100, 10)
    ref = solve(held, tolerance_pu=1e-10)
    node = held.nodes.of("c", 2)
    assert out[0] == SOLVED
    assert abs(v[node] - ref.v[node]) / held.nodes.v_base_ln_v[node] < 1e-6
