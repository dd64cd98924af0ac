"""Many load states at once equal the same states solved one at a time."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from feederos.feeders import load_feeder
from feederos.io.opendss import DssImportWarning, read_opendss
from feederos.powerflow import compile_network, solve
from feederos.powerflow.compiled import CompiledNetwork
from feederos.powerflow.injections.loads import LoadSet
from feederos.powerflow.methods.lu import LuFactors
from feederos.powerflow.methods.many import solve_fixed_point_many
from feederos.powerflow.totals import totals_many

EQUAL_PU = 1e-8


def _one_at_a_time(c: CompiledNetwork, levels: np.ndarray) -> list:
    out = []
    for level in levels:
        sets = tuple(dataclasses.replace(s, mult=s.mult * level) if isinstance(s, LoadSet) else s
                     for s in c.injections)
        out.append(solve(c.with_injections(sets), controls=False, tolerance_pu=1e-10))
    return out


def _per_load_levels(c: CompiledNetwork, levels: np.ndarray, rng: np.random.Generator) -> list:
    return [rng.uniform(0.8, 1.2, (len(s.names), levels.size)) * levels
            if isinstance(s, LoadSet) else None for s in c.injections]


@pytest.mark.parametrize("feeder", ["ieee13", "ieee123", "european_lv"])
def test_batch_equals_one_at_a_time(feeder: str, feeders_dir: Path) -> None:
    if feeder == "european_lv":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DssImportWarning)
            net = read_opendss(feeders_dir / "LVTestCase" / "Master.dss")
    else:
        net = load_feeder(feeder)
    c = compile_network(net)
    levels = np.array([0.3, 0.7, 1.0, 1.25])
    many = solve_fixed_point_many(
        c, [np.tile(levels, (len(s.names), 1)) if isinstance(s, LoadSet) else None
            for s in c.injections], tolerance_pu=1e-10, max_iterations=200)
    totals = totals_many(c, many.v)
    assert many.converged.all()
    base = np.where(c.nodes.v_base_ln_v > 0, c.nodes.v_base_ln_v, 1000.0)
    for j, alone in enumerate(_one_at_a_time(c, levels)):
        assert np.max(np.abs(many.v[:, j] - alone.v) / base) < EQUAL_PU
        p_kw = alone.source_p_kw
        assert totals.source_va[j].real / 1e3 == pytest.approx(p_kw, rel=1e-8)
        assert totals.source_va[j].imag / 1e3 == pytest.approx(alone.source_q_kvar,
                                                               abs=1e-8 * p_kw)
        assert totals.losses_va[j].real / 1e3 == pytest.approx(alone.total_losses_kw,
                                                               abs=1e-8 * p_kw)
        assert totals.v_min_pu[j] == pytest.approx(alone.v_min_pu, abs=EQUAL_PU)
        assert totals.v_max_pu[j] == pytest.approx(alone.v_max_pu, abs=EQUAL_PU)


def test_per_load_scales_and_a_changed_tap_state() -> None:
    c = compile_network(load_feeder("ieee13"))
    moved = c.with_state(tap_pu={"reg1": (1.0, 1.05)})  # solved through a refactorisation
    levels = np.array([0.5, 1.1])
    scales = _per_load_levels(moved, levels, np.random.default_rng(3))
    many = solve_fixed_point_many(moved, scales, tolerance_pu=1e-10, max_iterations=200)
    for j in range(levels.size):
        sets = tuple(dataclasses.replace(s, mult=s.mult * m[:, j]) if m is not None else s
                     for s, m in zip(moved.injections, scales, strict=True))
        alone = solve(moved.with_injections(sets), controls=False, tolerance_pu=1e-10)
        assert np.max(np.abs(many.v[:, j] - alone.v)) / 2401.8 < EQUAL_PU


def test_scales_must_agree_in_width() -> None:
    c = compile_network(load_feeder("ieee13"))
    widths = [np.ones((len(s.names), 2 + i)) for i, s in enumerate(c.injections)]
    with pytest.raises(ValueError, match="same number of columns"):
        solve_fixed_point_many(c, widths, tolerance_pu=1e-9, max_iterations=10)


def test_multi_column_solves_match_single_ones() -> None:
    rng = np.random.default_rng(0)
    a = np.diag(rng.uniform(4, 5, 6)) + rng.uniform(-0.5, 0.5, (6, 6))
    lu = LuFactors.factorize(sp.csc_matrix(a.astype(complex)))
    b = rng.normal(size=(6, 3)) + 1j * rng.normal(size=(6, 3))
    x = lu.solve(b)
    for c in range(3):
        assert np.allclose(x[:, c], lu.solve(b[:, c]))
    moved = lu.refactor(lu.a_val * (1.0 + 0.5j))
    assert np.allclose((1.0 + 0.5j) * a @ moved.solve(b), b)
    with pytest.raises(ValueError, match="shape"):
        lu.solve(np.ones((5, 2), dtype=complex))
