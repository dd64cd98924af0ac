"""Recorded node voltages and element currents: each step's are its solution's, whichever
way the series is stepped, and an unknown name is refused before anything runs."""

from __future__ import annotations

import numpy as np
import pytest

from feederos.errors import NetworkValidationError
from feederos.feeders import load_feeder
from feederos.model import LoadShape, Network
from feederos.timeseries import Record, run

RECORD = Record(buses=("675", "rg60"), elements=("Line.650632", "transformer.reg1", "Line.670671"))


def _day(network: Network) -> Network:
    network.load_shapes.append(LoadShape(name="day", interval_h=1.0,
                                         p_mult=[0.4, 0.7, 1.0, 1.3, 0.9, 0.5]))
    for load in network.loads:
        load.daily_shape = "day"
    return network


@pytest.mark.parametrize("controls", [True, False])
def test_the_last_step_records_the_final_solution(controls: bool) -> None:
    # with controls the compiled stepper records; without, the blocks of steps do
    out = run(_day(load_feeder("ieee13")), steps=6, mode="daily", controls=controls,
              record=RECORD)
    final = out.final
    assert list(out.voltages_pu.columns) == ["675.1", "675.2", "675.3", "rg60.1", "rg60.2",
                                             "rg60.3"]
    assert list(out.currents_a.columns) == ["line.650632", "transformer.reg1", "line.670671"]
    volts = final.voltages
    v = volts.set_index(volts.bus + "." + volts.node.astype(str)).v_pu
    assert np.allclose(out.voltages_pu.iloc[-1], v[out.voltages_pu.columns], rtol=0, atol=1e-9)
    loading = final.loading.set_index("element")
    # a current is a voltage drop times an admittance: 1e-9 pu of a ~1e-2 pu drop
    assert np.allclose(out.currents_a.iloc[-1], loading.i_max_a[out.currents_a.columns],
                       rtol=1e-6)
    rated = loading.rating_a[out.currents_a.columns].to_numpy()
    expected = np.where(rated > 0, out.currents_a.to_numpy() / rated, np.nan)
    assert np.allclose(out.loadings_pu.to_numpy(), expected, equal_nan=True)
    # the load swings through the day, and so does what the lines carry
    i = out.currents_a["line.650632"]
    assert i.max() > 2.5 * i.min()


def test_nothing_recorded_gives_empty_frames() -> None:
    out = run(load_feeder("ieee13"), steps=2)
    assert out.voltages_pu.shape == (2, 0) and out.currents_a.shape == (2, 0)


def test_unknown_buses_and_elements_are_all_named() -> None:
    record = Record(buses=("675", "nowhere"), elements=("Line.650632", "Line.nope", "Bus.675",
                                                        "650632"))
    with pytest.raises(NetworkValidationError) as caught:
        run(load_feeder("ieee13"), steps=1, record=record)
    text = str(caught.value)
    for name in ("nowhere", "Line.nope", "Bus.675", "'650632'"):
        assert name in text
    assert "Line.650632'" not in text
