"""The fixed point's early stop (a loose solution, unrefined, that goes on to the tight one
from where it stopped), and its mixing of the load nodes only."""

from __future__ import annotations

import numpy as np

from conftest import imported
from feederos.powerflow import compile_network
from feederos.powerflow.methods.anderson import anderson_history, anderson_restart
from feederos.powerflow.methods.common import source_currents, voltage_scale_v
from feederos.powerflow.methods.fixed_point import (
    energized_factor,
    fixed_point_iterations,
    load_nodes,
    no_load_voltages,
    packed_loads,
)


def _iterate(c, v, history, tolerance_pu, loose_pu=0.0, mixed=None):
    loads = packed_loads(c)
    ones = np.ones((loads.params.shape[0], 1))
    live = np.flatnonzero(c.energized).astype(np.int64)
    inv = 1.0 / voltage_scale_v(c)
    mixed = load_nodes(loads) if mixed is None else mixed
    return fixed_point_iterations(energized_factor(c).arrays, loads, ones, ones,
                                  source_currents(c), live, inv * inv, v, np.zeros_like(v),
                                  tolerance_pu, 100, history, np.empty((3, live.size), complex),
                                  mixed, loose_pu)


def _history(c):
    return anderson_history(load_nodes(packed_loads(c)).size)


def test_a_loose_stop_goes_on_to_the_tight_solution():
    c = compile_network(imported("ieee123"))
    scale = voltage_scale_v(c)
    tight = no_load_voltages(c)
    done, straight, refined = _iterate(c, tight, _history(c), 1e-10)
    assert done and refined

    v, history = no_load_voltages(c), _history(c)
    done, first, refined = _iterate(c, v, history, 1e-10, 1e-5)
    assert done and not refined and first < straight
    assert 1e-9 < np.max(np.abs(v - tight) / scale) < 1e-4  # near, not there
    done, more, refined = _iterate(c, v, history, 1e-10)
    assert done and refined
    assert first + more <= straight + 1  # the history carries on: no iteration is lost
    assert np.max(np.abs(v - tight) / scale) < 1e-9


def test_mixing_the_load_nodes_only_reaches_the_solution_of_mixing_all():
    c = compile_network(imported("ieee123"))
    scale = voltage_scale_v(c)
    mixed = load_nodes(packed_loads(c))
    assert 0 < mixed.size < np.count_nonzero(c.energized)
    every = np.arange(c.nodes.n_nodes, dtype=np.int64)
    v_all = no_load_voltages(c)
    done_all, it_all, _ = _iterate(c, v_all, anderson_history(every.size), 1e-10, mixed=every)
    v_loads = no_load_voltages(c)
    done_loads, it_loads, _ = _iterate(c, v_loads, _history(c), 1e-10)
    assert done_all and done_loads
    assert np.max(np.abs(v_loads - v_all) / scale) < 1e-9
    assert it_loads <= it_all + 2  # a third of the vector mixed, about as fast


def test_a_restart_that_keeps_the_rows_solves_the_next_load_level_faster():
    c = compile_network(imported("ieee123"))
    loads = packed_loads(c)
    ones = np.ones((loads.params.shape[0], 1))
    live = np.flatnonzero(c.energized).astype(np.int64)
    inv = 1.0 / voltage_scale_v(c)
    mixed = load_nodes(loads)
    f = energized_factor(c).arrays

    def solve_at(scale, v, history):
        column = np.full_like(ones, scale)
        return fixed_point_iterations(f, loads, column, column, source_currents(c), live,
                                      inv * inv, v, np.zeros_like(v), 1e-10, 100, history,
                                      np.empty((3, live.size), complex), mixed)

    base = no_load_voltages(c)
    solve_at(1.0, base, anderson_history(mixed.size))
    counts = {}
    for keep in (False, True):
        history, v = anderson_history(mixed.size), base.copy()
        solve_at(0.9, v, history)  # a history of the map at 0.9 to carry over
        if keep:
            anderson_restart(history)
        else:
            history.steps[0] = 0
        done, counts[keep], _ = solve_at(0.8, v, history)
        assert done
    assert counts[True] < counts[False]
