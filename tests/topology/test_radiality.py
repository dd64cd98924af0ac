from __future__ import annotations

from feederos.model import Network
from feederos.topology import is_radial, loops

from .conftest import line, network, source, switch, transformer


def test_radial_feeder_with_open_tie(tie_feeder: Network) -> None:
    assert is_radial(tie_feeder)
    assert loops(tie_feeder) == []


def test_closing_the_tie_makes_one_loop(tie_feeder: Network) -> None:
    tie_feeder.switches[0].open = False
    assert not is_radial(tie_feeder)
    (loop,) = loops(tie_feeder)
    assert loop == ["3", "2", "1", "4", "5"]


def test_parallel_lines_are_a_loop() -> None:
    net = network(["s", "a", "b"], sources=[source("g", "s")],
                  lines=[line("l1", "s", "a"), line("p1", "a", "b"), line("p2", "a", "b")])
    assert not is_radial(net)
    assert loops(net) == [["a", "b"]]


def test_loops_in_deenergised_island_only_when_asked(tie_feeder: Network) -> None:
    tie_feeder.lines.append(line("l67b", "6", "7"))
    assert is_radial(tie_feeder)
    assert loops(tie_feeder) == []
    assert not is_radial(tie_feeder, include_deenergized=True)
    assert loops(tie_feeder, include_deenergized=True) == [["6", "7"]]


def test_three_winding_transformer_tree_is_radial() -> None:
    net = network(["s", "h", "x", "y"], sources=[source("g", "s")],
                  lines=[line("l", "s", "h")], transformers=[transformer("t", "h", "x", "y")])
    assert is_radial(net)


def test_loop_through_transformer_and_switch() -> None:
    net = network(["h", "x", "y"], sources=[source("g", "h")],
                  transformers=[transformer("t", "h", "x")],
                  lines=[line("l", "x", "y")], switches=[switch("s", "y", "h")])
    assert loops(net) == [["x", "h", "y"]]  # BFS from h keeps t and s


def test_two_independent_loops_each_closed() -> None:
    net = network(
        ["s", "a", "b", "c", "d"], sources=[source("g", "s")],
        lines=[line("sa", "s", "a"), line("ab", "a", "b"), line("bs", "b", "s"),
               line("ac", "a", "c"), line("cd", "c", "d"), line("da", "d", "a")],
    )
    result = loops(net)
    assert len(result) == 2
    for loop in result:
        edges = {frozenset(p) for p in zip(loop, loop[1:] + loop[:1], strict=True)}
        names = {frozenset((x.bus1.bus, x.bus2.bus)) for x in net.lines}
        assert edges <= names


def test_two_sources_on_a_tree_is_radial() -> None:
    net = network(["a", "b"], sources=[source("g1", "a"), source("g2", "b")],
                  lines=[line("l", "a", "b")])
    assert is_radial(net) and loops(net) == []


def test_empty_network_is_radial() -> None:
    assert is_radial(Network(name="n"))


def test_single_phase_bank_is_not_a_loop_but_overlapping_parallels_are() -> None:
    from feederos.model import PowerTransformer, Terminal, TransformerWinding
    from feederos.topology._examples import example_network

    net = example_network()
    src = net.sources[0].terminal.bus
    net.buses.append(net.buses[0].model_copy(update={"name": "rg"}))
    for phase in (1, 2, 3):
        net.transformers.append(PowerTransformer(name=f"reg{phase}", phases=1, windings=[
            TransformerWinding(terminal=Terminal(bus=src, nodes=(phase, 0)), v_kv=2.4, s_kva=1666),
            TransformerWinding(terminal=Terminal(bus="rg", nodes=(phase, 0)), v_kv=2.4,
                               s_kva=1666)]))
    assert is_radial(net) and loops(net) == []
    reg2 = next(t for t in net.transformers if t.name == "reg2")
    reg2.windings[0] = reg2.windings[0].model_copy(update={"terminal": Terminal(bus=src,
                                                                               nodes=(1, 0))})
    assert not is_radial(net)
    assert sorted(loops(net)[0]) == sorted([src, "rg"])
