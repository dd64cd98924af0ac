"""The fixed point's early stop: a loose solution, unrefined, that goes on to the tight one
from where it stopped."""

from __future__ import annotations

import numpy as np

from conftest import imported
from feederos.powerflow import compile_network
from feederos.powerflow.methods.anderson import anderson_history
from feederos.powerflow.methods.common import source_currents, voltage_scale_v
from feederos.powerflow.methods.fixed_point import (
    energized_factor,
    fixed_point_iterations,
    no_load_voltages,
    packed_loads,
)


def _iterate(c, v, history, tolerance_pu, loose_pu=0.0):
    loads = packed_loads(c)
    ones = np.ones((loads.params.shape[0], 1))
    live = np.flatnonzero(c.energized).astype(np.int64)
    inv = 1.0 / voltage_scale_v(c)
    return fixed_point_iterations(energized_factor(c).arrays, loads, ones, ones,
                                  source_currents(c), live, inv * inv, v, np.zeros_like(v),
                                  tolerance_pu, 100, history, np.empty((3, live.size), complex),
                                  loose_pu)


def test_a_loose_stop_goes_on_to_the_tight_solution():
    c = compile_network(imported("ieee123"))
    scale = voltage_scale_v(c)
    tight = no_load_voltages(c)
    done, straight, refined = _iterate(c, tight, anderson_history(tight.size), 1e-10)
    assert done and refined

    v, history = no_load_voltages(c), anderson_history(tight.size)
    done, first, refined = _iterate(c, v, history, 1e-10, 1e-5)
    assert done and not refined and first < straight
    assert 1e-9 < np.max(np.abs(v - tight) / scale) < 1e-4  # near, not there
    done, more, refined = _iterate(c, v, history, 1e-10)
    assert done and refined
    assert first + more <= straight + 1  # the history carries on: no iteration is lost
    assert np.max(np.abs(v - tight) / scale) < 1e-9
