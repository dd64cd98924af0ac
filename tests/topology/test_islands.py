from __future__ import annotations

import pytest

from feederos.errors import TopologyError
from feederos.model import DerKind, Network, PowerElectronicsConnection, Terminal
from feederos.topology import Island, energized_buses, islands, topology_arrays

from .conftest import line, network, source


def gfm(name: str, bus: str, *, enabled: bool = True) -> PowerElectronicsConnection:
    return PowerElectronicsConnection(
        name=name, kind=DerKind.BATTERY, terminal=Terminal(bus=bus), v_kv=0.48, s_kva=100,
        energy_kwh=200, grid_forming=True, enabled=enabled)


def test_island_behind_open_switch_is_deenergised(tie_feeder: Network) -> None:
    result = islands(tie_feeder)
    assert result == [
        Island(frozenset({"s", "1", "2", "3", "4", "5"}), (("sources", "grid"),), True),
        Island(frozenset({"6", "7"}), (), False),
    ]
    assert energized_buses(tie_feeder) == frozenset({"s", "1", "2", "3", "4", "5"})


def test_closing_the_switch_energises_it(tie_feeder: Network) -> None:
    tie_feeder.switches[1].open = False
    assert len(islands(tie_feeder)) == 1
    assert len(energized_buses(tie_feeder)) == 8


def test_grid_forming_inverter_energises_its_island(tie_feeder: Network) -> None:
    tie_feeder.inverters.append(gfm("bess", "7"))
    assert [i.energized for i in islands(tie_feeder)] == [True, True]
    assert islands(tie_feeder)[1].sources == (("inverters", "bess"),)
    assert "6" in energized_buses(tie_feeder)


def test_disabled_or_grid_following_inverter_does_not(tie_feeder: Network) -> None:
    tie_feeder.inverters.append(gfm("off", "7", enabled=False))
    follower = gfm("gf", "6")
    follower.grid_forming = False
    tie_feeder.inverters.append(follower)
    assert "6" not in energized_buses(tie_feeder)


def test_isolated_buses_are_islands_in_bus_order() -> None:
    net = network(["z", "a", "b", "c"], sources=[source("g", "c")], lines=[line("l", "a", "c")])
    assert [sorted(i.buses) for i in islands(net)] == [["z"], ["a", "c"], ["b"]]
    assert [i.energized for i in islands(net)] == [False, True, False]


def test_no_source_nothing_energised() -> None:
    net = network(["a", "b"], lines=[line("l", "a", "b")])
    assert energized_buses(net) == frozenset()
    assert islands(net) == [Island(frozenset({"a", "b"}), (), False)]


def test_empty_network() -> None:
    assert islands(Network(name="n")) == []
    assert energized_buses(Network(name="n")) == frozenset()


def test_two_sources_in_one_island_both_listed() -> None:
    net = network(["a", "b"], sources=[source("g1", "a"), source("g2", "b")],
                  lines=[line("l", "a", "b")])
    assert islands(net)[0].sources == (("sources", "g1"), ("sources", "g2"))


def test_bad_bus_reference_raises() -> None:
    net = network(["a"], lines=[line("l", "a", "q")])
    with pytest.raises(TopologyError, match=r"lines\.l bus2"):
        islands(net)


def test_reuse_arrays(tie_feeder: Network) -> None:
    arrays = topology_arrays(tie_feeder)
    assert energized_buses(arrays) == energized_buses(tie_feeder)
