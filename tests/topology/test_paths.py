from __future__ import annotations

import pytest

from feederos.errors import TopologyError
from feederos.model import Network, ProtectiveDevice
from feederos.topology import (
    downstream_buses,
    path_elements,
    path_to_source,
    topology_arrays,
    upstream_element,
)

from .conftest import line, network, source, transformer


def test_path_to_source(tie_feeder: Network) -> None:
    assert path_to_source(tie_feeder, "5") == ["5", "4", "1", "s"]
    assert path_to_source(tie_feeder, "s") == ["s"]
    assert path_elements(tie_feeder, "5") == [("lines", "l45"), ("lines", "l14"),
                                              ("lines", "l01")]
    assert path_elements(tie_feeder, "s") == []


def test_upstream_element(tie_feeder: Network) -> None:
    assert upstream_element(tie_feeder, "3") == ("lines", "l23")
    assert upstream_element(tie_feeder, "s") is None


def test_path_through_transformer() -> None:
    net = network(["s", "h", "x", "y"], sources=[source("g", "s")],
                  lines=[line("l", "s", "h")], transformers=[transformer("t", "h", "x", "y")])
    assert path_elements(net, "y") == [("transformers", "t"), ("lines", "l")]
    assert downstream_buses(net, "transformer.t") == {"x", "y"}


def test_downstream_of_buses(tie_feeder: Network) -> None:
    assert downstream_buses(tie_feeder, "1") == {"1", "2", "3", "4", "5"}
    assert downstream_buses(tie_feeder, "3") == {"3"}
    assert downstream_buses(tie_feeder, "s") == {"s", "1", "2", "3", "4", "5"}


def test_downstream_of_branches(tie_feeder: Network) -> None:
    assert downstream_buses(tie_feeder, ("lines", "l14")) == {"4", "5"}
    assert downstream_buses(tie_feeder, "line.l12") == {"2", "3"}
    assert downstream_buses(tie_feeder, "switch.tie") == frozenset()     # open
    assert downstream_buses(tie_feeder, "line.l67") == frozenset()       # de-energised


def test_downstream_in_a_meshed_network(tie_feeder: Network) -> None:
    tie_feeder.switches[0].open = False
    assert downstream_buses(tie_feeder, "line.l14") == frozenset()
    assert downstream_buses(tie_feeder, "line.l01") == {"1", "2", "3", "4", "5"}
    assert downstream_buses(tie_feeder, "1") == {"1", "2", "3", "4", "5"}
    tie_feeder.switches[1].open = False
    assert downstream_buses(tie_feeder, "switch.sw") == {"6", "7"}


def test_downstream_across_parallel_lines() -> None:
    net = network(["s", "a", "b"], sources=[source("g", "s")],
                  lines=[line("l1", "s", "a"), line("p1", "a", "b"), line("p2", "a", "b")])
    assert downstream_buses(net, "line.p1") == frozenset()
    assert downstream_buses(net, "a") == {"a", "b"}
    assert path_elements(net, "b") == [("lines", "p1"), ("lines", "l1")]


def test_open_protective_device_cuts_the_path(tie_feeder: Network) -> None:
    tie_feeder.protective_devices.append(
        ProtectiveDevice(name="f", kind="fuse", element="line.l45", open=True))
    with pytest.raises(TopologyError, match="bus '5' is not energised"):
        path_to_source(tie_feeder, "5")


@pytest.mark.parametrize("query", [path_to_source, path_elements, upstream_element,
                                   downstream_buses])
def test_unknown_bus(tie_feeder: Network, query: object) -> None:
    with pytest.raises(TopologyError, match="bus 'nowhere' is not in the network"):
        query(tie_feeder, "nowhere")  # type: ignore[operator]


@pytest.mark.parametrize("query", [path_to_source, path_elements, upstream_element,
                                   downstream_buses])
def test_deenergised_bus(tie_feeder: Network, query: object) -> None:
    with pytest.raises(TopologyError, match="bus '7' is not energised"):
        query(tie_feeder, "7")  # type: ignore[operator]


def test_unknown_element(tie_feeder: Network) -> None:
    with pytest.raises(TopologyError, match=r"branch 'line\.nope' is not in the network"):
        downstream_buses(tie_feeder, "line.nope")
    with pytest.raises(TopologyError, match=r"lines\.nope is not a branch"):
        downstream_buses(tie_feeder, ("lines", "nope"))


def test_queries_share_arrays(tie_feeder: Network) -> None:
    arrays = topology_arrays(tie_feeder)
    assert path_to_source(arrays, "3") == ["3", "2", "1", "s"]
    assert downstream_buses(arrays, "2") == {"2", "3"}
