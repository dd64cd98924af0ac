from __future__ import annotations

from feederos.model import Network
from feederos.topology import depths, feeder_order, parents, topology_arrays

from .conftest import line, network, source
from .test_islands import gfm


def test_breadth_first_from_the_source(tie_feeder: Network) -> None:
    assert feeder_order(tie_feeder) == ["s", "1", "2", "4", "3", "5"]
    assert parents(tie_feeder) == {"s": None, "1": "s", "2": "1", "4": "1", "3": "2", "5": "4"}
    assert depths(tie_feeder) == {"s": 0, "1": 1, "2": 2, "4": 2, "3": 3, "5": 3}


def test_parents_come_before_children(tie_feeder: Network) -> None:
    order = feeder_order(tie_feeder)
    for child, parent in parents(tie_feeder).items():
        if parent is not None:
            assert order.index(parent) < order.index(child)


def test_meshed_network_still_has_an_order(tie_feeder: Network) -> None:
    tie_feeder.switches[0].open = False     # loop s-1-2-3-5-4-1
    assert feeder_order(tie_feeder) == ["s", "1", "2", "4", "3", "5"]
    assert parents(tie_feeder)["3"] == "2" and parents(tie_feeder)["5"] == "4"


def test_deenergised_buses_left_out(tie_feeder: Network) -> None:
    assert "6" not in feeder_order(tie_feeder)
    assert "6" not in parents(tie_feeder) and "6" not in depths(tie_feeder)


def test_grid_forming_island_is_ordered_from_the_inverter(tie_feeder: Network) -> None:
    tie_feeder.inverters.append(gfm("bess", "7"))
    order = feeder_order(tie_feeder)
    assert order[:2] == ["s", "7"]
    assert parents(tie_feeder)["6"] == "7"


def test_energy_source_outranks_grid_forming_inverter_in_one_island() -> None:
    net = network(["a", "b", "c"], sources=[source("g", "a")],
                  lines=[line("ab", "a", "b"), line("bc", "b", "c")])
    net.inverters.append(gfm("bess", "c"))
    assert depths(net) == {"a": 0, "b": 1, "c": 2}


def test_two_sources_split_the_feeder() -> None:
    net = network(["a", "b", "c", "d"], sources=[source("g1", "a"), source("g2", "d")],
                  lines=[line("ab", "a", "b"), line("bc", "b", "c"), line("cd", "c", "d")])
    assert parents(net) == {"a": None, "d": None, "b": "a", "c": "d"}


def test_from_arrays(tie_feeder: Network) -> None:
    arrays = topology_arrays(tie_feeder)
    assert feeder_order(arrays) == feeder_order(tie_feeder)
