"""Regulator tables and the sample decision (OpenDSS RegControl.Sample) on small cases."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from conftest import imported
from feederos.errors import PowerFlowError
from feederos.powerflow import GROUND, node_index
from feederos.powerflow.controls import (
    RegulatorTable,
    at_least_one_tap,
    regulator_sample,
    regulator_table,
    tap_number,
)
from feederos.powerflow.controls.regulators import (
    PT_MAX,
    PT_MIN,
    RegulatorArrays,
    _example_table,
    neutral_tap_change,
    regulators_near_edge,
)


def _sample(table: RegulatorTable, v_node, tap=1.0, i=None, **kw):
    v = np.atleast_1d(np.asarray(v_node, dtype=complex))
    i = np.zeros((table.n, 4), complex) if i is None else np.atleast_2d(i)
    return regulator_sample(table, np.full(table.n, tap), v, i, **kw)


# ------------------------------------------------------------------------- tables


def test_ieee13_regulators_are_single_phase_wye_on_winding_2():
    net = imported("ieee13")
    nodes = node_index(net)
    t = regulator_table(net, nodes)
    assert t.names == ("reg1", "reg2", "reg3")
    assert t.winding.tolist() == [2, 2, 2] and t.n_phases.tolist() == [1, 1, 1]
    assert t.v_base_v.tolist() == [2400.0] * 3
    assert t.pt_ratio.tolist() == [20.0] * 3 and t.ct_primary_a.tolist() == [700.0] * 3
    assert (t.ldc_r_v.tolist(), t.ldc_x_v.tolist()) == ([3.0] * 3, [9.0] * 3)
    # winding 2 of reg1 is rg60.1 with its neutral grounded
    assert t.conductors[0, :2].tolist() == [nodes.of("rg60", 1), GROUND]
    assert t.tap_step_pu[0] == (1.1 - 0.9) / 32  # OpenDSS's value, not 0.00625 exactly
    assert t.terminal(0) == ("transformers", "reg1", 2)


def test_ieee123_gang_regulator_has_a_line_to_neutral_base():
    net = imported("ieee123")
    t = regulator_table(net, node_index(net))
    k = t.names.index("creg1a")
    assert t.n_phases[k] == 3
    assert t.v_base_v[k] == pytest.approx(4160 / math.sqrt(3))
    assert t.pt_phase[k] == 1


def test_ieee37_delta_regulators_measure_line_to_line():
    net = imported("ieee37")
    nodes = node_index(net)
    t = regulator_table(net, nodes)
    assert t.is_delta.tolist() == [True, True]
    assert t.delta_direction.tolist() == [1, 1]
    assert t.v_base_v.tolist() == [4800.0, 4800.0]
    assert t.conductors[1, :2].tolist() == [nodes.of("799r", 3), nodes.of("799r", 2)]


def test_a_regulator_on_a_missing_transformer_is_an_error():
    net = imported("ieee13")
    bad = net.model_copy(update={"regulators": [
        net.regulators[0].model_copy(update={"transformer": "nope"})]})
    with pytest.raises(PowerFlowError, match="nope"):
        regulator_table(bad, node_index(bad))


# ------------------------------------------------------------------------- band


@pytest.mark.parametrize(("v_pt", "needs", "steps"), [
    (121.0, False, 0),      # on the band edge: |120 − 121| = band/2 is still in band
    (121.01, True, -1),     # just out: 1.35 steps rounds to 1
    (118.125, True, 2),     # exactly 2.5 steps: half to even, as Pascal's Round
    (121.875, True, -2),
    (126.0, True, -8),
])
def test_band_and_rounding(v_pt, needs, steps):
    t = _example_table()
    s = _sample(t, v_pt * 20.0)
    assert bool(s.needs_change[0]) is needs
    assert round(s.pending_tap_pu[0] / t.tap_step_pu[0]) == steps
    assert s.v_control_v[0] == pytest.approx(v_pt)


def test_ldc_subtracts_the_drop_of_the_load_current():
    # 300 A of load at unity pf leaves winding 2: the current INTO the transformer
    # there is −300 A; with CT 300 and R = 3 V the compensated voltage is 120 − 3.
    t = dataclasses.replace(_example_table(), ldc_r_v=np.array([3.0]), ldc_x_v=np.array([0.0]))
    s = _sample(t, 2400.0, i=[[-300.0, 300.0, 0, 0]])
    assert s.v_control_v[0] == pytest.approx(117.0)
    assert s.needs_change[0] and s.pending_tap_pu[0] > 0
    # X acts on the quadrature part: a lagging load current raises the drop
    t = dataclasses.replace(t, ldc_r_v=np.array([0.0]), ldc_x_v=np.array([3.0]))
    s = _sample(t, 2400.0, i=[[300j, 0, 0, 0]])  # load current −300j A: lagging by 90°
    assert s.v_control_v[0] == pytest.approx(117.0)


def test_forward_power_is_what_leaves_the_winding():
    s = _sample(_example_table(), 2400.0, i=[[-100.0, 100.0, 0, 0]])
    assert s.forward_power_w[0] == pytest.approx(240e3)


def _three_phase(pt_phase: int) -> RegulatorTable:
    t = _example_table()
    return dataclasses.replace(t, n_phases=np.array([3]), conductors=np.array([[0, 1, 2, GROUND]]),
                               pt_phase=np.array([pt_phase]))


@pytest.mark.parametrize(("code", "phase", "v_pt"), [(PT_MAX, 2, 125.0), (PT_MIN, 3, 119.0),
                                                      (1, 1, 120.0), (3, 3, 119.0)])
def test_pt_phase_picks_the_sensed_phase(code, phase, v_pt):
    a = np.exp(-2j * np.pi / 3)
    v = np.array([2400.0, 2500.0 * a, 2380.0 * a**2])
    s = _sample(_three_phase(code), v)
    assert s.controlled_phase[0] == phase
    assert s.v_control_v[0] == pytest.approx(v_pt)


def test_ldc_uses_the_current_of_the_controlled_phase():
    t = dataclasses.replace(_three_phase(PT_MAX), ldc_r_v=np.array([3.0]))
    v = np.array([2400.0, 2500.0, 2380.0], dtype=complex)
    s = _sample(t, v, i=[[0.0, -300.0, 0.0, 0.0]])
    assert s.v_control_v[0] == pytest.approx(125.0 - 3.0)


def test_delta_winding_reads_across_its_two_conductors():
    t = dataclasses.replace(_example_table(), is_delta=np.array([True]),
                            conductors=np.array([[0, 1, GROUND, GROUND]]))
    v = np.array([2400.0 * np.exp(1j * np.pi / 6), 2400.0 * np.exp(-1j * np.pi / 2)])
    s = _sample(t, v)
    assert s.v_control_v[0] == pytest.approx(2400.0 * math.sqrt(3) / 20.0)


def test_a_regulated_remote_bus_uses_its_first_node_without_ldc():
    t = dataclasses.replace(_example_table(), uses_bus=np.array([True]),
                            bus_nodes=np.array([[1, GROUND]]), ldc_r_v=np.array([3.0]))
    s = _sample(t, [2400.0, 2300.0], i=[[-300.0, 0, 0, 0]])
    assert s.v_control_v[0] == pytest.approx(115.0)


def test_no_move_past_a_tap_limit():
    s = _sample(_example_table(), 2300.0, tap=1.1)
    assert s.needs_change[0] and s.pending_tap_pu[0] > 0 and not s.can_move[0]
    s = _sample(_example_table(), 2300.0, tap=1.05)
    assert s.can_move[0]


def test_voltage_limit_forces_a_change_inside_the_band():
    t = dataclasses.replace(_example_table(), v_limit_v=np.array([120.5]),
                            v_set_v=np.array([121.0]))
    s = _sample(t, 121.0 * 20)  # in band, but above the 120.5 V limit
    assert s.needs_change[0]
    assert s.pending_tap_pu[0] == pytest.approx(round(-0.5 * 20 / 2400 / 0.00625) * 0.00625)


def test_reverse_mode_divides_by_the_tap_and_moves_the_other_way():
    s = _sample(_example_table(), 2520.0, tap=1.05, in_reverse=np.array([True]))
    assert s.v_control_v[0] == pytest.approx(120.0)  # 126 / 1.05, inside the ±1.5 V band
    assert not s.needs_change[0]
    s = _sample(_example_table(), 2400.0, tap=1.05, in_reverse=np.array([True]))
    # 114.3 V wants a raise; the tapped winding now faces the source, so the tap goes down
    assert s.needs_change[0] and s.pending_tap_pu[0] == pytest.approx(-8 * 0.00625)


def test_inverse_time_shortens_the_delay():
    t = dataclasses.replace(_example_table(), inverse_time=np.array([True]))
    assert _sample(t, 126.0 * 20).delay_s[0] == pytest.approx(15.0 / 6.0)
    assert _sample(t, 200.0 * 20).delay_s[0] == pytest.approx(1.5)  # at most 10× faster


def test_empty_table():
    t = dataclasses.replace(_example_table(), **{
        f: getattr(_example_table(), f)[:0] for f in RegulatorTable.__dataclass_fields__})
    s = regulator_sample(t, np.zeros(0), np.zeros(1, complex), np.zeros((0, 4)))
    assert s.needs_change.size == 0


# ------------------------------------------------------------------------- taps


@pytest.mark.parametrize(("pending_steps", "limit", "moved"), [
    (1, 16, 1), (2, 16, 1), (3, 16, 2), (10, 16, 7), (30, 16, 16), (30, 1, 1), (-8, 16, -5)])
def test_at_least_one_tap(pending_steps, limit, moved):
    step = (1.1 - 0.9) / 32
    change, n = at_least_one_tap(pending_steps * step, step, limit)
    assert n == moved and change == pytest.approx(moved * step)


def test_tap_numbers_and_neutral():
    step = (1.1 - 0.9) / 32
    assert tap_number(1.0, 0.9, 1.1, step) == 0
    assert tap_number(0.9, 0.9, 1.1, step) == -16
    assert tap_number(1.0 + 9 * step + 1e-12, 0.9, 1.1, step) == 9
    assert neutral_tap_change(1.0 + 3 * step, step) == pytest.approx(-3 * step)
    assert neutral_tap_change(1.0, step) == 0.0


def test_the_kernels_arrays_are_the_tables_numeric_columns():
    columns = {f.name for f in dataclasses.fields(RegulatorTable)} - {"names", "transformers"}
    assert set(RegulatorArrays._fields) == columns


@pytest.mark.parametrize(("v_pt", "reverse", "near"), [
    (121.0 - 0.005, False, True),     # 5 mV inside the band edge (slack 12 mV)
    (118.5, False, False),            # two whole steps of 0.75 V: far from any edge
    (120.0 + 1.5 * 0.75, False, True),  # boost of exactly 1.5 steps: rounding flips here
    (120.0 + 1.4 * 0.75, False, False),
    (120.0 + 0.5 * 0.75, False, False),  # half a step, but in band: no boost is taken
    (121.5 + 0.005, True, True),      # the reverse band is ±1.5 V
    (121.0 - 0.005, True, False),
])
def test_a_sample_near_a_flip_of_its_decision(v_pt, reverse, near):
    t = _example_table().arrays
    assert regulators_near_edge(t, np.array([v_pt]), np.array([reverse]), 1e-4) is near
