from __future__ import annotations

import networkx as nx

from feederos.model import Network, ProtectiveDevice
from feederos.topology import bus_graph, topology_arrays

from .conftest import line, network, source, transformer


def test_open_switches_omitted(tie_feeder: Network) -> None:
    g = bus_graph(tie_feeder)
    assert isinstance(g, nx.MultiGraph)
    assert list(g.nodes) == ["s", "1", "2", "3", "4", "5", "6", "7"]
    assert g.number_of_edges() == 6
    assert not g.has_edge("3", "5")
    assert nx.number_connected_components(g) == 2


def test_all_branches_when_switches_ignored(tie_feeder: Network) -> None:
    g = bus_graph(tie_feeder, respect_switches=False)
    assert g.number_of_edges() == 8
    assert g.edges["3", "5", "switches.tie"] == {
        "collection": "switches", "element": "tie", "open": True}
    assert nx.is_connected(g)


def test_line_attributes(tie_feeder: Network) -> None:
    g = bus_graph(tie_feeder)
    assert g.edges["s", "1", "lines.l01"] == {
        "collection": "lines", "element": "l01", "open": False, "length_km": 1.0}


def test_transformer_winding_pairs() -> None:
    net = network(["h", "x", "y"], sources=[source("g", "h")],
                  transformers=[transformer("t3", "h", "x", "y")])
    g = bus_graph(net)
    assert sorted(g.edges(keys=True)) == [("h", "x", "transformers.t3"),
                                          ("h", "y", "transformers.t3")]


def test_parallel_lines_are_parallel_edges() -> None:
    net = network(["a", "b"], lines=[line("p1", "a", "b"), line("p2", "a", "b")])
    g = bus_graph(net)
    assert g.number_of_edges("a", "b") == 2
    assert set(g["a"]["b"]) == {"lines.p1", "lines.p2"}


def test_open_protective_device(tie_feeder: Network) -> None:
    tie_feeder.protective_devices.append(
        ProtectiveDevice(name="r", kind="recloser", element="line.l14", open=True))
    assert not bus_graph(tie_feeder).has_edge("1", "4")
    assert bus_graph(tie_feeder, respect_switches=False).has_edge("1", "4")


def test_from_arrays(tie_feeder: Network) -> None:
    arrays = topology_arrays(tie_feeder, respect_switches=False)
    assert bus_graph(arrays).number_of_edges() == 8
