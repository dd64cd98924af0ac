"""The STATIC control loop: queue semantics, and OpenDSS as the solver (replay oracle).

The replay tests drive :func:`run_static_controls` with a ``solve`` callback that puts
our taps and capacitor states into OpenDSS (``controlmode=off``), solves there and
returns OpenDSS's node voltages and terminal currents. Our loop must then end where
OpenDSS's own STATIC loop ends — same taps, same capacitor states, same number of
control iterations — and take the same actions in the same iterations (OpenDSS's event
log). This checks the control logic without depending on our power-flow solver.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from conftest import SHARED, imported, read_dss
from feederos.model import Network
from feederos.powerflow import node_index
from feederos.powerflow.controls import (
    ControlState,
    SolveOutput,
    TerminalKey,
    capacitor_control_table,
    initial_control_state,
    regulator_table,
    run_static_controls,
    tap_number,
    terminal_currents_from_blocks,
)
from feederos.powerflow.controls.capacitors import _example_table as example_caps
from feederos.powerflow.controls.regulators import _example_table as example_regs
from feederos.powerflow.controls.static import _empty_capacitor_table
from feederos.powerflow.primitives.block import PrimitiveBlock

MASTERS = {  # the reference feeders that have regulators or capacitor controls
    "ieee13": "13Bus/IEEE13Nodeckt.dss",
    "ieee34mod1": "34Bus/ieee34Mod1.dss",
    "ieee34mod2": "34Bus/ieee34Mod2.dss",
    "ieee37": "37Bus/ieee37.dss",
    "ieee123": "123Bus/IEEE123Master.dss",
    "ieee8500": "8500-Node/Master.dss",
    "ieee8500_unbal": "8500-Node/Master-unbal.dss",
    "ieee13_cable": "scenarios/ieee13_cable.dss",
    "ieee8500_geometry": "scenarios/ieee8500_geometry.dss",
}
SLOW = {"ieee8500", "ieee8500_unbal", "ieee8500_geometry"}
_DSS_CLASS = {"lines": "Line", "switches": "Line", "transformers": "Transformer",
              "capacitors": "Capacitor", "reactors": "Reactor"}

# Modified feeders that make the controls work harder: tap limits per action and
# delays that order the regulators, ganged regulators on the max/min phase, voltage,
# current, pf and time capacitor controls, kvar controls with voltage override under
# light load, a voltage limit, reverse power, and a case that never settles.
SCENARIOS = {
    "ieee123_one_tap_each": ("123Bus/IEEE123Master.dss", """
RegControl.creg1a.maxtapchange=1 Delay=15 PTphase=max
RegControl.creg2a.maxtapchange=1 Delay=30
RegControl.creg3a.maxtapchange=1 Delay=30
RegControl.creg4a.maxtapchange=1 Delay=30
RegControl.creg3c.maxtapchange=1 Delay=30
RegControl.creg4b.maxtapchange=1 Delay=30
RegControl.creg4c.maxtapchange=1 Delay=30
"""),
    "ieee123_min_phase": ("123Bus/IEEE123Master.dss", """
RegControl.creg1a.PTphase=min
RegControl.creg4a.delay=10
"""),
    "ieee123_reverse_power": ("123Bus/IEEE123Master.dss", """
New Generator.g67 bus1=67 kV=4.16 kW=4000 pf=1 model=1
RegControl.creg4a.reversible=yes
RegControl.creg4b.reversible=yes
RegControl.creg4c.reversible=yes
"""),
    "ieee13_capcontrols": ("13Bus/IEEE13Nodeckt.dss", """
RegControl.Reg3.vlimit=126
RegControl.Reg1.delay=20
New CapControl.cc1 Capacitor=cap1 element=Line.692675 terminal=1 type=voltage ON=116
~ OFF=121.5 ptratio=20 ptphase=max Delay=10 delayoff=5 deadtime=100
New CapControl.cc2 Capacitor=cap2 element=Line.684611 terminal=2 type=current ON=200
~ OFF=1.0 ctratio=60 Delay=12 delayoff=12
"""),
    "ieee13_never_settles": ("13Bus/IEEE13Nodeckt.dss", """
RegControl.Reg3.vlimit=124
set maxcontroliter=30
"""),
    "ieee34_pf_time": ("34Bus/ieee34Mod1.dss", """
New CapControl.pf844 Capacitor=c844 element=Line.L21 terminal=1 type=pf ON=0.98 OFF=-0.98
~ Delay=50 delayoff=50
New CapControl.t848 Capacitor=c848 element=Line.L23 terminal=2 type=time ON=1 OFF=8
~ Delay=40 delayoff=40
"""),
    "ieee8500_light_load": ("8500-Node/Master.dss", """
set loadmult=0.4
""" + "\n".join(f"RegControl.{r}.maxtapchange=1 Delay={d}" for rs, d in (
        (("feeder_rega", "feeder_regb", "feeder_regc"), 30),
        (("vreg2_a", "vreg2_b", "vreg2_c"), 60),
        (("vreg3_a", "vreg3_b", "vreg3_c", "vreg4_a", "vreg4_b", "vreg4_c"), 45)) for r in rs)),
}


def _scenario_file(tmp_path: Path, name: str) -> Path:
    master, edits = SCENARIOS[name]
    if not (SHARED / master).exists():
        pytest.skip(f"{SHARED / master} not available")
    path = tmp_path / f"{name}.dss"
    path.write_text(f'Compile "{(SHARED / master).resolve()}"\n{edits}')
    return path


def _set_state(dss, state: ControlState) -> None:
    for name, taps in state.tap_pu.items():
        for w, tap in enumerate(taps, 1):
            dss.Text.Command = f"Transformer.{name}.wdg={w} tap={tap!r}"
    for name, states in state.states.items():
        dss.Text.Command = f"Capacitor.{name}.states=[{' '.join(map(str, states))}]"


def _max_control_iterations(dss_file: Path) -> int:
    found = re.findall(r"maxcontroliter=(\d+)", dss_file.read_text(), flags=re.I)
    return int(found[-1]) if found else 200


def _replay(dss, path: Path, net: Network):
    """Run our loop on OpenDSS solves, then OpenDSS's own loop from the same start."""
    nodes = node_index(net)
    regs = regulator_table(net, nodes)
    caps = capacitor_control_table(net, nodes)
    state0 = initial_control_state(net, regs, caps)
    max_iter = _max_control_iterations(path)

    dss.Text.Command = "set DefaultBaseFrequency=60"  # see conftest.dss_compile
    dss.Text.Command = f'compile "{path}"'
    for cmd in ("set controlmode=off", "set tolerance=1e-9", "set maxiterations=200"):
        dss.Text.Command = cmd
    ckt = dss.ActiveCircuit
    labels = {nodes.label(i): i for i in range(nodes.n_nodes)}
    ours = np.array([labels.get(n.lower(), -1) for n in ckt.AllNodeNames])
    mapped = set(ours[ours >= 0].tolist())
    used = np.concatenate([regs.conductors.ravel(), regs.bus_nodes.ravel(),
                           caps.conductors.ravel()])
    assert set(used[used >= 0].tolist()) <= mapped, "a sensed node is unknown to OpenDSS"

    def solve(state: ControlState) -> SolveOutput:
        _set_state(dss, state)
        ckt.Solution.Solve()
        raw = np.asarray(ckt.AllBusVolts)
        v = np.zeros(nodes.n_nodes, dtype=np.complex128)
        v[ours[ours >= 0]] = (raw[0::2] + 1j * raw[1::2])[ours >= 0]

        def currents(key: TerminalKey) -> np.ndarray:
            ckt.SetActiveElement(f"{_DSS_CLASS[key.kind]}.{key.name}")
            e = ckt.ActiveCktElement
            c = np.asarray(e.Currents)
            n = e.NumConductors
            return (c[0::2] + 1j * c[1::2])[(key.terminal - 1) * n : key.terminal * n]

        return SolveOutput(v=v, terminal_currents=currents, converged=ckt.Solution.Converged)

    outcome = run_static_controls(solve, state0, regs, caps, max_control_iterations=max_iter)

    # OpenDSS's own STATIC loop from the same starting state (the IEEE 13 and 37
    # masters already solve once while compiling, so the start is set explicitly).
    dss.Text.Command = "set DefaultBaseFrequency=60"  # see conftest.dss_compile
    dss.Text.Command = f'compile "{path}"'
    for cmd in ("set tolerance=1e-9", "set maxiterations=200", f"set maxcontroliter={max_iter}"):
        dss.Text.Command = cmd
    _set_state(dss, state0)
    for cls, coll in (("RegControl", ckt.RegControls), ("CapControl", ckt.CapControls)):
        for name in coll.AllNames:
            if name != "NONE":
                dss.Text.Command = f"{cls}.{name}.eventlog=yes"
    try:
        ckt.Solution.Solve()
        dss_settled = True
    except Exception as e:  # OpenDSS raises when the control loop does not settle
        assert "Max Control Iterations" in str(e)
        dss_settled = False
    return regs, caps, outcome, ckt, dss_settled


def _tap_numbers(regs, state: ControlState) -> dict[str, int]:
    return {regs.names[k]: tap_number(state.tap_pu[regs.transformers[k]][regs.tap_winding[k] - 1],
                                      regs.min_tap_pu[k], regs.max_tap_pu[k], regs.tap_step_pu[k])
            for k in range(regs.n)}


def _event_log(ckt) -> dict[int, list[tuple[str, str]]]:
    """OpenDSS's executed actions per control iteration: (target, what)."""
    out: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for line in ckt.Solution.EventLog:
        it = int(re.search(r"ControlIter=(\d+)", line).group(1))
        element = re.search(r"Element=(\S+),", line).group(1).lower()
        if m := re.search(r"CHANGED (-?\d+) TAPS", line):
            out[it].append((element.replace("regulator.", "transformer."), f"{int(m[1]):+d} taps"))
        elif "**OPENED**" in line or "**STEP DOWN**" in line:
            out[it].append((element, "open"))
        elif "**CLOSED**" in line or "**STEP UP**" in line:
            out[it].append((element, "close"))
    return {k: sorted(v) for k, v in out.items()}


def _our_log(outcome) -> dict[int, list[tuple[str, str]]]:
    out: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for a in outcome.actions:
        if a.note in ("reverse", "forward"):
            continue  # OpenDSS does not log the mode change
        if a.target.startswith("capacitor.") and a.before == a.after:
            continue  # a close with no step left: OpenDSS logs nothing
        out[a.iteration].append((a.target, a.note))
    return {k: sorted(v) for k, v in out.items()}


def _check_against_opendss(regs, caps, outcome, ckt, dss_settled) -> None:
    dss_taps = {}
    i = ckt.RegControls.First
    while i:
        dss_taps[ckt.RegControls.Name] = ckt.RegControls.TapNumber
        i = ckt.RegControls.Next
    dss_caps = {}
    i = ckt.Capacitors.First
    while i:
        dss_caps[ckt.Capacitors.Name] = tuple(ckt.Capacitors.States)
        i = ckt.Capacitors.Next
    assert _tap_numbers(regs, outcome.state) == {k: dss_taps[k] for k in regs.names}
    assert dict(outcome.state.states) == {k: dss_caps[k] for k in caps.capacitors}
    assert outcome.control_iterations == ckt.Solution.ControlIterations
    assert outcome.converged == dss_settled
    assert _our_log(outcome) == _event_log(ckt)


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n
                                  for n in MASTERS])
def test_reference_feeders_end_on_opendss_taps_and_states(dss, name):
    net = imported(name)
    regs, caps, outcome, ckt, settled = _replay(dss, SHARED / MASTERS[name], net)
    ref = json.loads((SHARED / "reference" / name / "summary.json").read_text())
    assert _tap_numbers(regs, outcome.state) == {
        k: v["tap_number"] for k, v in ref["regulator_taps"].items()}
    assert {k: list(v) for k, v in outcome.state.states.items()} == {
        k: v for k, v in ref["capacitor_states"].items() if k in caps.capacitors}
    assert outcome.converged
    _check_against_opendss(regs, caps, outcome, ckt, settled)


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if "8500" in n else n
                                  for n in SCENARIOS])
def test_modified_feeders_follow_opendss_action_by_action(dss, tmp_path, name):
    path = _scenario_file(tmp_path, name)
    regs, caps, outcome, ckt, settled = _replay(dss, path, read_dss(path))
    assert outcome.actions, "the scenario should make the controls act"
    _check_against_opendss(regs, caps, outcome, ckt, settled)


# ---------------------------------------------------------------- loop semantics


def _ideal(v_per_tap: float):
    """A solver: the regulated node sits at ``v_per_tap × tap`` volts, no current."""
    def solve(state: ControlState) -> SolveOutput:
        v = np.array([v_per_tap * state.tap_pu["t"][1] + 0j])
        return SolveOutput(v=v, terminal_currents=lambda key: np.zeros(2, complex))
    return solve


def test_a_regulator_moves_70_percent_then_settles():
    # 2520 V on 2400 V / PT 20 reads 126 V: 8 steps down wanted, 5 taken, then 3 more
    # (2·0.7 → at least 1 step, then 1 more), settling inside the ±1 V band.
    out = run_static_controls(_ideal(2520.0), ControlState({"t": (1.0, 1.0)}, {}),
                              example_regs(), _empty_capacitor_table(),
                              max_control_iterations=20)
    assert [a.note for a in out.actions] == ["-5 taps", "-2 taps"]
    assert out.converged and out.control_iterations == 3
    assert tap_number(out.state.tap_pu["t"][1], 0.9, 1.1, 0.00625) == -7


def test_max_control_iterations_stops_unsettled():
    out = run_static_controls(_ideal(2520.0), ControlState({"t": (1.0, 1.0)}, {}),
                              example_regs(), _empty_capacitor_table(),
                              max_control_iterations=2)
    assert not out.converged and out.control_iterations == 2
    assert len(out.actions) == 1  # the last iteration only solves


def test_a_failed_solve_stops_the_loop():
    def solve(state):
        return SolveOutput(v=np.array([2520.0 + 0j]),
                           terminal_currents=lambda key: np.zeros(2, complex), converged=False)
    out = run_static_controls(solve, ControlState({"t": (1.0, 1.0)}, {}), example_regs(),
                              _empty_capacitor_table(), max_control_iterations=10)
    assert out.control_iterations == 1 and not out.converged and not out.actions


def _kvar_solver(q_of_states):
    """A solver whose monitored line carries ``q_of_states(states)`` kvar at 7200 V."""
    def solve(state: ControlState) -> SolveOutput:
        q = q_of_states(state.states["cap"])
        i = np.array([(1e3j * q / 7200.0).conjugate()])
        return SolveOutput(v=np.array([7200.0 + 0j]), terminal_currents=lambda key: i)
    return solve


def _no_regs():
    t = example_regs()
    return type(t)(**{f: getattr(t, f)[:0] for f in t.__dataclass_fields__})


def test_dead_time_delays_a_reclose():
    # Off when reverse kvar flows (bank on), on again when kvar flows (bank off):
    # the reclose waits out the dead time, so it is the last, latest queue entry.
    out = run_static_controls(_kvar_solver(lambda s: -400.0 if s[0] else 400.0),
                              ControlState({}, {"cap": (1,)}), _no_regs(), example_caps(),
                              max_control_iterations=5)
    assert [(a.note, a.time_s) for a in out.actions] == [("open", 100.0), ("close", 400.0),
                                                         ("open", 100.0), ("close", 400.0)]
    assert not out.converged


def test_a_network_without_controls_solves_once():
    net = imported("ieee13").model_copy(update={"regulators": []})
    nodes = node_index(net)
    regs, caps = regulator_table(net, nodes), capacitor_control_table(net, nodes)
    assert (regs.n, caps.n) == (0, 0)
    state0 = initial_control_state(net, regs, caps)
    assert (dict(state0.tap_pu), dict(state0.states)) == ({}, {})
    def solve(state):
        return SolveOutput(v=np.zeros(nodes.n_nodes, complex), terminal_currents=lambda k: None)
    out = run_static_controls(solve, state0, regs, caps, max_control_iterations=10)
    assert (out.control_iterations, out.converged, out.actions) == (1, True, ())


def test_terminal_currents_from_blocks_slices_the_terminal():
    y = np.array([[[1.0, -1.0], [-1.0, 1.0]]], dtype=complex)
    b = PrimitiveBlock(kind="lines", names=("a",), conductors=np.array([[0, 1]]), y_s=y,
                       n_terminals=2)
    currents = terminal_currents_from_blocks([b])
    v = np.array([1.0 + 0j, 0.9 + 0j])
    assert currents(v, TerminalKey("lines", "a", 2)).tolist() == [pytest.approx(-0.1)]
    assert currents(v, TerminalKey("lines", "a", 1)).tolist() == pytest.approx(
        b.currents(v)[0, :1].tolist())
