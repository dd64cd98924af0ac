"""Time series against OpenDSS running the same .dss scenario step by step."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from feederos.errors import NetworkValidationError
from feederos.feeders import load_feeder
from feederos.io.opendss import DssImportWarning, read_opendss
from feederos.model import LoadShape
from feederos.timeseries import run, shape_multipliers

STEPS = 24
POWER_RTOL = 1e-3


def _opendss_steps(scenario: Path, steps: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """OpenDSS's source P/Q and regulator taps after each of the first ``steps``."""
    dss = pytest.importorskip("dss").DSS
    cwd = os.getcwd()
    try:
        dss.Text.Command = f'compile "{scenario}"'
    finally:
        os.chdir(cwd)
    dss.Text.Command = "set number=1"
    circuit, solution = dss.ActiveCircuit, dss.ActiveCircuit.Solution
    rows, taps = [], []
    for _ in range(steps):
        solution.Solve()
        p_kw, q_kvar = circuit.TotalPower
        rows.append({"hour": solution.dblHour, "source_p_kw": -p_kw, "source_q_kvar": -q_kvar})
        regs = circuit.RegControls
        names, positions = [], []
        i = regs.First
        while i:
            names.append(regs.Name.lower())
            positions.append(regs.TapNumber)
            i = regs.Next
        taps.append(dict(zip(names, positions, strict=True)))
    return pd.DataFrame(rows), pd.DataFrame(taps)


def test_ieee123_yearly_follows_opendss_step_by_step(feeders_dir: Path) -> None:
    scenario = (feeders_dir / "scenarios" / "ieee123_yearly.dss").resolve()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DssImportWarning)
        network = read_opendss(scenario)
    ours = run(network, steps=STEPS)
    ref, ref_taps = _opendss_steps(scenario, STEPS)
    assert ours.steps.converged.all()
    assert np.allclose(ours.steps.hour, ref.hour)
    for col in ("source_p_kw", "source_q_kvar"):
        rel = np.abs(ours.steps[col] - ref[col]) / np.abs(ref.source_p_kw)
        assert rel.max() < POWER_RTOL, (col, rel.idxmax())
    assert ours.taps[ref_taps.columns].equals(ref_taps.astype(ours.taps.dtypes.iloc[0]))
    assert ours.tap_changes.sum() > 0  # the regulators did work through the day
    assert ours.steps.v_min_pu.between(0.9, 1.0).all()
    assert ours.steps.v_max_pu.between(1.0, 1.1).all()
    assert (ours.steps.losses_kw > 0).all()


def test_interval_shapes_step_and_wrap() -> None:
    shape = LoadShape(name="s", interval_h=0.5, p_mult=[1.0, 2.0, 3.0])
    assert shape_multipliers(shape, [0.5, 1.0, 1.5, 2.0, 0.0]).tolist() == [1, 2, 3, 1, 3]
    timed = LoadShape(name="t", interval_h=None, hours=[0.0, 2.0, 4.0], p_mult=[0.0, 1.0, 0.0],
                      q_mult=[1.0, 1.0, 1.0])
    assert shape_multipliers(timed, [1.0, 3.0, 5.0]).tolist() == [0.5, 0.5, 0.5]
    assert shape_multipliers(timed, [1.0], reactive=True).tolist() == [1.0]


def test_actual_value_shapes_are_refused() -> None:
    shape = LoadShape(name="kw", interval_h=1.0, p_mult=[5.0], use_actual=True)
    with pytest.raises(ValueError, match="use_actual"):
        shape_multipliers(shape, [1.0])


def test_a_missing_shape_is_named() -> None:
    net = load_feeder("ieee13")
    net.loads[0].daily_shape = "nowhere"
    with pytest.raises(NetworkValidationError, match="nowhere"):
        run(net, steps=1, mode="daily")
