"""``solve_batch``: independent load scenarios, in blocks and threads, as solved alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from feederos.feeders import load_feeder
from feederos.powerflow import compile_network, solve
from feederos.timeseries.batch import solve_batch


def test_scenarios_match_single_solves_whatever_the_blocks() -> None:
    net = load_feeder("ieee123")
    rng = np.random.default_rng(7)
    mult = rng.uniform(0.2, 1.3, (9, len(net.loads)))
    one_block = solve_batch(net, mult, chunk=16, workers=1, record_voltages=True)
    threaded = solve_batch(net, mult, chunk=4, workers=2, record_voltages=True)
    assert one_block.totals.converged.all()
    assert one_block.v is not None and threaded.v is not None
    # blocks and threads change nothing: every column iterates on its own
    assert np.abs(one_block.v - threaded.v).max() / 2401.8 < 1e-8
    pd.testing.assert_frame_equal(one_block.totals.drop(columns="iterations"),
                                  threaded.totals.drop(columns="iterations"), rtol=1e-9)
    c = compile_network(net)
    for k in (0, 4, 8):
        scaled = net.model_copy(deep=True)
        for load, m in zip(scaled.loads, mult[k], strict=True):
            load.p_kw *= m
            load.q_kvar *= m
        alone = solve(scaled, controls=False, tolerance_pu=1e-10)
        base = c.nodes.v_base_ln_v
        live = base > 0
        assert np.max(np.abs(one_block.v[k] - alone.v)[live] / base[live]) < 1e-8
        row = one_block.totals.loc[k]
        assert row.source_p_kw == pytest.approx(alone.source_p_kw, rel=1e-8)
        assert row.v_min_pu == pytest.approx(alone.v_min_pu, abs=1e-8)


def test_separate_reactive_multipliers() -> None:
    net = load_feeder("ieee13")
    out = solve_batch(net, np.array([1.0, 1.0]), np.array([1.0, 0.0]))
    p, q = out.totals.source_p_kw, out.totals.source_q_kvar
    assert abs(p[0] - p[1]) / p[0] < 0.05  # active power: only losses and voltages move
    assert q[1] < q[0] - 1000  # the loads draw no reactive power


def test_bad_multipliers_are_named() -> None:
    net = load_feeder("ieee13")
    with pytest.raises(ValueError, match=r"\(scenarios, 15\)"):
        solve_batch(net, np.ones((2, 3)))
    bad = np.ones((2, len(net.loads)))
    bad[1, 4] = np.nan
    with pytest.raises(ValueError, match=f"scenario 1 for load '{net.loads[4].name}'"):
        solve_batch(net, bad)
    with pytest.raises(ValueError, match="at least 1"):
        solve_batch(net, np.ones(2), chunk=0)
