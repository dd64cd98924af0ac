from __future__ import annotations

import pytest

from feederos.errors import TopologyError
from feederos.model import (
    Connection,
    DerKind,
    EnergyConsumer,
    LinearShuntCompensator,
    Network,
    PowerElectronicsConnection,
    PowerTransformer,
    Terminal,
    TransformerWinding,
)
from feederos.topology import bus_nodes

from .conftest import line, network, source, switch


def _net() -> Network:
    """The same circuit as ``_DSS`` below."""
    net = network(
        ["src", "a", "b", "c", "d", "e", "f", "g"],
        sources=[source("grid", "src")],
        lines=[line("l1", "src", "a"), line("l2", "a", "c")],
        switches=[switch("sw", "a", "b", open_=True)],
        loads=[
            EnergyConsumer(name="ld", terminal=Terminal(bus="b", nodes=(1, 4)), phases=1,
                           v_kv=7.2, p_kw=10, q_kvar=0),
        ],
        inverters=[
            PowerElectronicsConnection(name="pv", kind=DerKind.PV, terminal=Terminal(bus="d"),
                                       v_kv=12.47, s_kva=10),
            PowerElectronicsConnection(name="off", kind=DerKind.PV, v_kv=7.2, s_kva=10,
                                       terminal=Terminal(bus="c", nodes=(3,)), phases=1,
                                       enabled=False),
        ],
        capacitors=[LinearShuntCompensator(name="c1", terminal=Terminal(bus="a"),
                                           terminal2=Terminal(bus="e"), v_kv=12.47,
                                           q_kvar=[100])],
        transformers=[PowerTransformer(name="t1", phases=1, xht_pct=7, xlt_pct=7, windings=[
            TransformerWinding(terminal=Terminal(bus="c", nodes=(2, 0)), v_kv=7.2, s_kva=25),
            TransformerWinding(terminal=Terminal(bus="f", nodes=(1, 0)), v_kv=0.12, s_kva=25),
            TransformerWinding(terminal=Terminal(bus="f", nodes=(0, 2)), v_kv=0.12, s_kva=25),
        ])],
    )
    net.lines[1].bus2 = Terminal(bus="c", nodes=(2,))
    net.lines[1].phases = 1
    net.loads.append(EnergyConsumer(name="dl", terminal=Terminal(bus="g", nodes=(1, 2)),
                                    phases=1, connection=Connection.DELTA, v_kv=12.47,
                                    p_kw=1, q_kvar=0))
    return net


_DSS = """\
new circuit.t bus1=src basekv=12.47
new line.l1 bus1=src bus2=a phases=3 length=1
new line.l2 bus1=a bus2=c.2 phases=1 length=1
new line.sw bus1=a bus2=b phases=3 switch=yes
open line.sw 1
new load.ld bus1=b.1.4 phases=1 kv=7.2 kw=10
new pvsystem.pv bus1=d phases=3 kv=12.47 kva=10 pmpp=10
new pvsystem.off bus1=c.3 phases=1 kv=7.2 kva=10 pmpp=10 enabled=no
new capacitor.c1 bus1=a bus2=e phases=3 kvar=100 kv=12.47
new transformer.t1 phases=1 windings=3 buses=[c.2.0 f.1.0 f.0.2] kvs=[7.2 .12 .12] kvas=[25 25 25]
new load.dl bus1=g.1.2 phases=1 conn=delta kv=12.47 kw=1
"""


def test_nodes_by_hand() -> None:
    assert bus_nodes(_net()) == {
        "src": (1, 2, 3), "a": (1, 2, 3), "b": (1, 2, 3, 4), "c": (2,), "d": (1, 2, 3),
        "e": (1, 2, 3), "f": (1, 2), "g": (1, 2),
    }


def test_nodes_match_opendss() -> None:
    dss = pytest.importorskip("dss").DSS
    dss.Text.Command = "clear"
    for command in _DSS.splitlines():
        dss.Text.Command = command
    dss.Text.Command = "calcvoltagebases"   # builds OpenDSS's bus list
    circuit = dss.ActiveCircuit
    reported = {}
    for name in circuit.AllBusNames:
        circuit.SetActiveBus(name)
        reported[name] = tuple(sorted(int(n) for n in circuit.ActiveBus.Nodes))
    assert bus_nodes(_net()) == reported


def test_bus_without_elements_has_no_nodes() -> None:
    assert bus_nodes(network(["x"])) == {"x": ()}


def test_unknown_bus_names_the_element() -> None:
    net = network(["a"], loads=[EnergyConsumer(name="ld", terminal=Terminal(bus="q"),
                                               v_kv=12.47, p_kw=1, q_kvar=0)])
    with pytest.raises(TopologyError, match=r"loads.ld terminal: bus 'q'"):
        bus_nodes(net)
