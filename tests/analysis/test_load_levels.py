"""Load levels of a hosting-capacity study, from the feeder's own shapes."""

from __future__ import annotations

import numpy as np
import pytest

from feederos.analysis.load_levels import DAYTIME_H, default_load_levels, minimum_daytime_multiplier
from feederos.feeders import load_feeder
from feederos.model import LoadShape


def test_a_yearly_shape_gives_its_own_daytime_minimum() -> None:
    net = load_feeder("ieee13")
    hours = np.arange(8760)
    mult = np.where((hours % 24 >= DAYTIME_H[0]) & (hours % 24 < DAYTIME_H[1]), 0.6, 0.9)
    mult[4000] = 1.0  # the peak, at night
    mult[4010 - 4000 % 24 + 24 * 3] = 0.25  # the lowest daytime hour
    net.load_shapes.append(LoadShape(name="year", interval_h=1.0, p_mult=mult.tolist()))
    for load in net.loads:
        load.yearly_shape = "year"
    assert minimum_daytime_multiplier(net) == pytest.approx(0.25)


def test_without_shapes_the_class_shapes_serve() -> None:
    levels = default_load_levels(load_feeder("ieee123"))
    assert levels["peak"] == 1.0
    assert 0.2 < levels["min_daytime"] < 0.6  # households at midday, off their evening peak


def test_a_missing_shape_is_named() -> None:
    net = load_feeder("ieee13")
    net.loads[0].yearly_shape = "nowhere"
    with pytest.raises(ValueError, match="names shape 'nowhere'"):
        minimum_daytime_multiplier(net)
