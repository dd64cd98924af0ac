from __future__ import annotations

import numpy as np
import pytest

from feederos.errors import TopologyError
from feederos.model import Bus, LinearShuntCompensator, ProtectiveDevice, Reactor, Terminal
from feederos.model.network import Network
from feederos.topology import TopologyArrays, topology_arrays

from .conftest import line, network, source, switch, transformer


def test_edges_in_document_order_with_open_state(tie_feeder: Network) -> None:
    a = topology_arrays(tie_feeder)
    assert a.n_buses == 8 and a.n_edges == 8
    assert list(a.edge_collection) == ["lines"] * 6 + ["switches"] * 2
    assert list(a.edge_open) == [False] * 6 + [True, True]
    assert list(a.edge_closed) == [True] * 6 + [False, False]
    assert a.adjacency.shape == (8, 8)
    assert (a.adjacency != a.adjacency.T).nnz == 0
    assert a.adjacency.nnz == 12


def test_respect_switches_false_closes_everything(tie_feeder: Network) -> None:
    a = topology_arrays(tie_feeder, respect_switches=False)
    assert a.edge_closed.all()
    assert a.edge_open.sum() == 2
    assert a.adjacency.nnz == 16


def test_arrays_pass_through() -> None:
    a = topology_arrays(network(["x"]))
    assert topology_arrays(a) is a
    assert isinstance(a, TopologyArrays)


def test_open_protective_device_opens_its_branch(tie_feeder: Network) -> None:
    tie_feeder.protective_devices.append(
        ProtectiveDevice(name="f1", kind="fuse", element="line.l45", open=True)
    )
    tie_feeder.protective_devices.append(
        ProtectiveDevice(name="f2", kind="fuse", element="line.l23")
    )
    a = topology_arrays(tie_feeder)
    (k,) = a.edge_ids(("lines", "l45"))
    assert a.edge_open[k] and not a.edge_closed[k]
    assert not a.edge_open[a.edge_ids("line.l23")[0]]


def test_transformer_edges_from_winding_zero() -> None:
    net = network(["h", "x", "y"], transformers=[transformer("t3", "h", "x", "y")])
    a = topology_arrays(net)
    names = a.bus_names
    pairs = {(names[i], names[j]) for i, j in zip(a.edge_bus1, a.edge_bus2, strict=True)}
    assert pairs == {("h", "x"), ("h", "y")}
    assert a.edge_ids("transformer.t3") == (0, 1)


def test_center_tapped_transformer_is_one_edge() -> None:
    net = network(["h", "x"], transformers=[transformer("ct", "h", "x", "x")])
    net.transformers[0].phases = 1
    assert topology_arrays(net).n_edges == 1


def test_series_reactor_and_capacitor_are_edges_shunt_ones_not() -> None:
    net = network(
        ["a", "b", "c"],
        reactors=[Reactor(name="rs", bus1=Terminal(bus="a"), bus2=Terminal(bus="b"), x_ohm=1),
                  Reactor(name="rsh", bus1=Terminal(bus="a"), x_ohm=1),
                  Reactor(name="rn", bus1=Terminal(bus="a"), bus2=Terminal(bus="a", nodes=(0,)),
                          phases=1, x_ohm=1)],
        capacitors=[
            LinearShuntCompensator(name="cs", terminal=Terminal(bus="b"),
                                   terminal2=Terminal(bus="c"), v_kv=12.47, q_kvar=[100]),
            LinearShuntCompensator(name="csh", terminal=Terminal(bus="c"), v_kv=12.47,
                                   q_kvar=[100]),
        ],
    )
    a = topology_arrays(net)
    assert list(zip(a.edge_collection, a.edge_element, strict=True)) == [("reactors", "rs"),
                                                             ("capacitors", "cs")]
    assert a.edge_ids(("reactors", "rn")) == ()
    with pytest.raises(TopologyError, match=r"reactors\.rsh is not a branch"):
        a.edge_ids(("reactors", "rsh"))


def test_line_reference_finds_switches_and_lines(tie_feeder: Network) -> None:
    a = topology_arrays(tie_feeder)
    assert a.resolve("line.tie") == ("switches", "tie")
    assert a.resolve("LINE.l01") == ("lines", "l01")
    assert a.resolve("lines.l01") == ("lines", "l01")
    assert a.resolve(("switches", "sw")) == ("switches", "sw")


@pytest.mark.parametrize("ref, message", [
    ("line.nope", "branch 'line.nope' is not in the network"),
    ("load.x", "not a branch reference"),
    ("nodot", "not a branch reference"),
    (("lines", "nope"), "lines.nope is not a branch"),
    (("loads", "l01"), "loads.l01 is not a branch"),
])
def test_unknown_branch_is_named(tie_feeder: Network, ref: object, message: str) -> None:
    with pytest.raises(TopologyError, match=message):
        topology_arrays(tie_feeder).edge_ids(ref)  # type: ignore[arg-type]


def test_unknown_bus_is_named(tie_feeder: Network) -> None:
    with pytest.raises(TopologyError, match="bus 'zz' is not in the network"):
        topology_arrays(tie_feeder).index_of("zz")


def test_branch_to_unknown_bus_names_element_and_bus() -> None:
    net = network(["a"], lines=[line("l1", "a", "b")])
    with pytest.raises(TopologyError, match=r"lines.l1 bus2: bus 'b' is not in"):
        topology_arrays(net)


def test_source_on_unknown_bus() -> None:
    net = network(["a"], sources=[source("grid", "q")])
    with pytest.raises(TopologyError, match=r"sources.grid terminal: bus 'q'"):
        topology_arrays(net)


def test_duplicate_bus_names_rejected() -> None:
    net = Network(name="n", buses=[Bus(name="a"), Bus(name="b"), Bus(name="a")])
    with pytest.raises(TopologyError, match="bus 'a' appears more than once"):
        topology_arrays(net)


def test_self_loop_is_no_edge() -> None:
    net = network(["a"], switches=[switch("s", "a", "a")])
    a = topology_arrays(net)
    assert a.n_edges == 0 and a.edge_ids("switch.s") == ()


def test_edge_lengths() -> None:
    net = network(["a", "b"], lines=[line("l", "a", "b", 2.5)], switches=[switch("s", "a", "b")])
    lengths = topology_arrays(net).edge_length_km
    assert lengths[0] == 2.5 and np.isnan(lengths[1])


def test_empty_network() -> None:
    a = topology_arrays(Network(name="n"))
    assert a.n_buses == 0 and a.n_edges == 0
    assert a.root_buses.size == 0
