"""Capacitor control tables, the sample decision (OpenDSS CapControl.Sample) and steps."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from conftest import imported
from feederos.errors import PowerFlowError
from feederos.model.shunts import CapacitorControlMode as Mode
from feederos.powerflow import node_index
from feederos.powerflow.controls import (
    CapacitorControlTable,
    capacitor_control_table,
    capacitor_sample,
    switch_capacitor,
)
from feederos.powerflow.controls.capacitors import (
    CLOSE,
    KEEP,
    MODE_CODES,
    NONE,
    OPEN,
    PHASE_AVG,
    PHASE_MAX,
    CapacitorArrays,
    _example_table,
    capacitors_near_edge,
    last_step_in_service,
)


def _table(**changes) -> CapacitorControlTable:
    """The one-control example (kvar, 1-phase 300 kvar bank at 7.2 kV) with changes."""
    arrays = {k: np.array([v]) if not isinstance(v, np.ndarray) else v
              for k, v in changes.items()}
    return dataclasses.replace(_example_table(), **arrays)


def _current_for(q_kvar: float, v: complex = 7200.0, p_kw: float = 0.0) -> np.ndarray:
    """Terminal current making ``S = V·I* = p + jq`` flow into the monitored element."""
    return np.array([[((p_kw + 1j * q_kvar) * 1e3 / v).conjugate()]])


def _sample(table, states, q_kvar=0.0, v=7200.0, p_kw=0.0, i_ct=None, **kw):
    v_nodes = np.atleast_1d(np.asarray(v, dtype=complex))
    i = _current_for(q_kvar, v_nodes[0], p_kw)
    i_ct = i if i_ct is None else np.atleast_2d(i_ct)
    return capacitor_sample(table, np.atleast_2d(states), v_nodes, i, i_ct, **kw)


# ------------------------------------------------------------------------- table


def test_ieee8500_kvar_controls_watch_single_phase_lines():
    net = imported("ieee8500")
    nodes = node_index(net)
    t = capacitor_control_table(net, nodes)
    assert t.n == 9
    k = t.capacitors.index("capbank0a")
    assert t.names[k] == "capbank0a_ctrl"
    assert t.monitored[k] == ("lines", "cap_3a", 1)
    assert t.ct_terminal[k] == ("lines", "cap_3a", 1)
    assert t.mode[k] == MODE_CODES[Mode.KVAR]
    assert (t.on_value[k], t.off_value[k], t.delay_on_s[k], t.delay_off_s[k]) == (
        200.0, -300.0, 100.0, 80.0)
    assert bool(t.voltage_override[k]) and (t.v_min_v[k], t.v_max_v[k]) == (7110.0, 7740.0)
    line = next(x for x in net.lines if x.name == "cap_3a")
    assert t.conductors[k, 0] == nodes.of(line.bus1.bus, line.bus1.nodes[0])


def test_unknown_monitored_element_is_an_error():
    net = imported("ieee8500")
    cap = next(c for c in net.capacitors if c.control is not None)
    bad_cap = cap.model_copy(update={"control": cap.control.model_copy(
        update={"element": "line.nope"})})
    bad = net.model_copy(update={"capacitors": [bad_cap]})
    with pytest.raises(PowerFlowError, match="nope"):
        capacitor_control_table(bad, node_index(bad))


def test_a_current_control_on_one_ct_phase_reads_terminal_one():
    # OpenDSS reads cBuffer[CTphase] without the terminal offset.
    net = imported("ieee8500")
    cap = next(c for c in net.capacitors if c.control is not None)
    ctrl = cap.control.model_copy(update={"terminal": 2, "mode": Mode.CURRENT})
    one = net.model_copy(update={"capacitors": [cap.model_copy(update={"control": ctrl})]})
    t = capacitor_control_table(one, node_index(one))
    assert t.monitored[0].terminal == 2 and t.ct_terminal[0].terminal == 1


# ------------------------------------------------------------------------- kvar


@pytest.mark.parametrize(("states", "q", "pending", "switch"), [
    ([1], -300.0, OPEN, True),      # reverse kvar below −225: off
    ([1], 100.0, NONE, False),      # in between, no step left: reset
    ([0], 151.0, CLOSE, True),      # kvar above 150 with the bank off: on
    ([0], 149.0, NONE, False),
])
def test_kvar_control(states, q, pending, switch):
    s = _sample(_example_table(), states, q)
    assert (int(s.pending[0]), bool(s.should_switch[0])) == (pending, switch)
    assert s.measured[0] == pytest.approx(q)


def test_a_partly_closed_bank_keeps_its_pending_action_between_settings():
    t = _table(n_steps=2, total_kvar_kvar=600.0)
    assert int(_sample(t, [1, 0], 100.0).pending[0]) == KEEP
    assert int(_sample(t, [1, 0], 200.0).pending[0]) == CLOSE
    # a voltage control resets instead
    tv = _table(n_steps=2, mode=MODE_CODES[Mode.VOLTAGE], on_value=110.0, off_value=130.0,
                pt_ratio=60.0)
    assert int(_sample(tv, [1, 0], v=7200.0).pending[0]) == NONE


def test_voltage_override_beats_kvar():
    s = _sample(_example_table(), [1], 100.0, v=7800.0)  # above Vmax 7740
    assert (int(s.pending[0]), bool(s.override[0])) == (OPEN, True)
    s = _sample(_example_table(), [0], 0.0, v=7000.0)  # below Vmin 7110
    assert (int(s.pending[0]), bool(s.override[0])) == (CLOSE, True)
    no = _table(voltage_override=np.array([False]))
    assert int(_sample(no, [1], 100.0, v=7800.0).pending[0]) == NONE


# ------------------------------------------------------------------------- voltage


def _voltage_table(**changes):
    base = {"mode": MODE_CODES[Mode.VOLTAGE], "on_value": 118.0, "off_value": 126.0,
            "pt_ratio": 60.0, "voltage_override": np.array([False])}
    return _table(**{**base, **changes})


@pytest.mark.parametrize(("states", "v_pt", "pending"), [
    ([1], 127.0, OPEN), ([1], 120.0, NONE), ([0], 117.0, CLOSE), ([0], 120.0, NONE)])
def test_voltage_control(states, v_pt, pending):
    s = _sample(_voltage_table(), states, v=v_pt * 60.0)
    assert int(s.pending[0]) == pending
    assert s.measured[0] == pytest.approx(v_pt)


def _three_phase_voltage(**changes):
    return _voltage_table(conductors=np.array([[0, 1, 2]]), monitored_phases=np.array([3]),
                          cap_phases=np.array([3]), **changes)


def test_voltage_phase_selection_and_delta_banks():
    a = np.exp(-2j * np.pi / 3)
    v = np.array([7200.0, 7500.0 * a, 7000.0 * a**2])
    i = np.zeros((1, 3), complex)

    def measured(table):
        return capacitor_sample(table, np.array([[1]]), v, i, i).measured[0]

    assert measured(_three_phase_voltage()) == pytest.approx(120.0)
    assert measured(_three_phase_voltage(pt_phase=PHASE_MAX)) == pytest.approx(125.0)
    assert measured(_three_phase_voltage(pt_phase=PHASE_AVG)) == pytest.approx(7233.333 / 60, 1e-6)
    delta = _three_phase_voltage(cap_delta=np.array([True]), pt_phase=3)
    assert measured(delta) == pytest.approx(abs(v[2] - v[0]) / 60.0)  # phase C to A


# ------------------------------------------------------------------------- current


def test_current_control_reads_the_ct_terminal():
    t = _table(mode=MODE_CODES[Mode.CURRENT], on_value=5.0, off_value=1.0, ct_ratio=60.0,
               voltage_override=np.array([False]))
    s = _sample(t, [0], 0.0, i_ct=[[600.0]])  # 600 A / 60 = 10 A on the secondary
    assert (s.measured[0], int(s.pending[0])) == (10.0, CLOSE)
    s = _sample(t, [1], 0.0, i_ct=[[30.0]])
    assert (s.measured[0], int(s.pending[0])) == (0.5, OPEN)


# ------------------------------------------------------------------------- pf, time


def _pf_table():
    return _table(mode=MODE_CODES[Mode.PF], pf_on=0.95, pf_off=1.05,
                  voltage_override=np.array([False]))


def test_pf_control_switches_on_lagging_and_off_leading():
    s = _sample(_pf_table(), [0], q_kvar=500.0, p_kw=1000.0)  # pf 0.894 lagging
    assert int(s.pending[0]) == CLOSE and s.measured[0] == pytest.approx(1000 / np.hypot(1e3, 500))
    s = _sample(_pf_table(), [0], q_kvar=100.0, p_kw=200.0)  # lagging, but under 150 kvar
    assert int(s.pending[0]) == NONE
    s = _sample(_pf_table(), [1], q_kvar=-500.0, p_kw=1000.0)  # leading: 2 − 0.894
    assert int(s.pending[0]) == OPEN and s.measured[0] == pytest.approx(2 - 0.894427, 1e-6)


@pytest.mark.parametrize(("on", "off", "hour", "states", "pending"), [
    (8.0, 20.0, 0.0, [1], OPEN), (8.0, 20.0, 9.0, [0], CLOSE), (8.0, 20.0, 9.0, [1], NONE),
    (20.0, 6.0, 22.0, [0], CLOSE), (20.0, 6.0, 10.0, [1], OPEN), (20.0, 6.0, 3.0, [1], NONE)])
def test_time_control(on, off, hour, states, pending):
    t = _table(mode=MODE_CODES[Mode.TIME], on_value=on, off_value=off,
               voltage_override=np.array([False]))
    assert int(_sample(t, states, time_h=hour).pending[0]) == pending


# ------------------------------------------------------------------------- steps


def test_steps_go_in_and_out_from_the_last_one():
    assert switch_capacitor((1, 1, 0), OPEN) == ((1, 0, 0), False)
    assert switch_capacitor((1, 0, 0), OPEN) == ((0, 0, 0), False)  # no dead time: multi-step
    assert switch_capacitor((0, 0, 0), CLOSE) == ((1, 0, 0), False)
    assert switch_capacitor((1, 1, 1), CLOSE) == ((1, 1, 1), False)
    assert switch_capacitor((0,), OPEN) == ((0,), False)
    assert switch_capacitor((1,), NONE) == ((1,), False)
    assert last_step_in_service(np.array([[1, 0, 1], [0, 0, 0], [1, 1, 0]])).tolist() == [3, 0, 2]


def test_the_kernels_arrays_are_the_tables_numeric_columns():
    columns = {f.name for f in dataclasses.fields(CapacitorControlTable)} - {
        "names", "capacitors", "monitored", "ct_terminal"}
    assert set(CapacitorArrays._fields) == columns


@pytest.mark.parametrize(("mode", "measured", "near"), [
    (Mode.KVAR, 150.01, True), (Mode.KVAR, -225.02, True), (Mode.KVAR, 140.0, False),
    (Mode.PF, 0.95001, True), (Mode.PF, 150.0, False),  # pf mode reads pf_on / pf_off
    (Mode.TIME, 150.0, False),  # the clock is exact
])
def test_a_measurement_near_an_on_or_off_setting(mode, measured, near):
    t = _table(mode=MODE_CODES[mode]).arrays
    assert capacitors_near_edge(t, np.array([measured]), 1e-4) is near
