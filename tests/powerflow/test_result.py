"""Power-flow results: tables, losses, source power and ratings, checked by hand and
against OpenDSS.

The OpenDSS checks do not need our solver: they take OpenDSS's solved node voltages and
its own primitive admittances (or our compiled network), build a result from them and
compare every derived number with what OpenDSS reports for the same solution.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from conftest import dss_compile, imported
from feederos.powerflow.nodes import NodeIndex
from feederos.powerflow.primitives import PrimitiveBlock
from feederos.powerflow.ratings import pd_ratings_a
from feederos.powerflow.result import PowerFlowResult, build_result, element_kind

# ---------------------------------------------------------------------------- helpers

_NO_CONTROLS = {
    "method": "test", "converged": True, "iterations": 3, "max_mismatch_a": 1e-9,
    "worst_node": None, "control_iterations": 0, "regulator_taps": {}, "tap_pu": {},
    "capacitor_states": {}, "control_actions": [],
}


def _nodes(labels: list[tuple[str, int, float]]) -> NodeIndex:
    """A node index from ``(bus, node, v_base_ln_v)`` triples, buses in first-seen order."""
    buses: list[str] = []
    for b, _, _ in labels:
        if b not in buses:
            buses.append(b)
    return NodeIndex(
        buses=tuple(buses),
        bus=np.array([buses.index(b) for b, _, _ in labels], dtype=np.int64),
        node=np.array([n for _, n, _ in labels], dtype=np.int64),
        v_base_ln_v=np.array([base for _, _, base in labels]),
        _position={(b, n): i for i, (b, n, _) in enumerate(labels)},
    )


class _Admittance:
    """An injection set drawing ``I = y_s·V`` (or fixed currents), for the tests."""

    def __init__(self, kind: str, names: tuple[str, ...], conductors: np.ndarray,
                 y_s: np.ndarray | None = None, i_a: np.ndarray | None = None):
        self.kind, self.names, self.conductors = kind, names, conductors
        self._y_s, self._i_a = y_s, i_a

    def currents(self, v_cond: np.ndarray) -> np.ndarray:
        if self._i_a is not None:
            return self._i_a
        assert self._y_s is not None
        return np.einsum("mij,mj->mi", self._y_s, v_cond)


def _compiled(nodes: NodeIndex, pd_blocks: list[PrimitiveBlock], ratings: list[list[float]],
              source_conductors: list[list[int]], injections: tuple = (),
              energized: list[bool] | None = None) -> SimpleNamespace:
    """What :func:`build_result` reads of a compiled network."""
    src = np.array(source_conductors, dtype=np.int64)
    k = src.shape[1]
    return SimpleNamespace(
        name="hand", nodes=nodes, pd_blocks=tuple(pd_blocks),
        pd_rating_a=tuple(np.array(r, dtype=float) for r in ratings),
        source_block=PrimitiveBlock(kind="sources", names=tuple(f"s{i}" for i in range(len(src))),
                                    conductors=src, y_s=np.zeros((len(src), k, k), complex),
                                    n_terminals=1),
        source_emf_v=np.zeros(src.shape, complex), injections=injections,
        energized=np.array(energized if energized is not None else [True] * nodes.n_nodes),
    )


def _block(kind: str, names: tuple[str, ...], conductors: list[list[int]], y_s: np.ndarray,
           n_terminals: int) -> PrimitiveBlock:
    return PrimitiveBlock(kind=kind, names=names, conductors=np.array(conductors, dtype=np.int64),
                          y_s=np.asarray(y_s, dtype=complex), n_terminals=n_terminals)


def _two_bus() -> PowerFlowResult:
    """``Src`` —(1 S line, 80 A)— ``b`` with a 1 mS capacitor and a load; ``c`` is dead.

    At 1000 V / 900 V the line carries 100 A (10 kW lost); the capacitor makes 810 var
    and the load takes 90 kW + 810 var, so the source delivers exactly 100 kW.
    """
    nodes = _nodes([("Src", 1, 1000.0), ("b", 1, 1000.0), ("b", 4, 1000.0),
                    ("c", 1, math.nan)])
    line = _block("lines", ("ab",), [[0, 1]], [[[1, -1], [-1, 1]]], 2)
    cap = _block("capacitors", ("cap",), [[1, -1]], [[[1e-3j, -1e-3j], [-1e-3j, 1e-3j]]], 2)
    load = _Admittance("loads", ("ld",), np.array([[1, -1]]),
                       y_s=np.array([[[(100 - 0.9j) / 900, 0], [0, 0]]]))
    compiled = _compiled(nodes, [line, cap], [[80.0], [math.nan]], [[0]], (load,),
                         energized=[True, True, True, False])
    v = np.array([1000.0, 900.0, 5.0, 0.0], dtype=complex)
    return build_result(compiled, v, **_NO_CONTROLS)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- by hand

def test_hand_made_powers_losses_and_balance() -> None:
    r = _two_bus()
    assert r.total_losses_kw == pytest.approx(10.0)
    assert r.total_losses_kvar == pytest.approx(0.0)  # the capacitor is a shunt: not a loss
    assert r.source_p_kw == pytest.approx(100.0)
    assert r.source_q_kvar == pytest.approx(0.0, abs=1e-12)
    losses = r.losses.set_index("element")
    assert losses.loc["capacitor.cap", "q_kvar"] == pytest.approx(-0.81)
    assert bool(losses.loc["capacitor.cap", "shunt"]) and not losses.loc["line.ab", "shunt"]
    inj = r.injections.set_index("element")
    assert inj.loc["load.ld", "p_kw"] == pytest.approx(90.0)
    assert inj.loc["load.ld", "q_kvar"] == pytest.approx(0.81)
    # power balance: source = losses + loads + shunts
    assert r.source_p_kw == pytest.approx(r.losses.p_kw.sum() + r.injections.p_kw.sum())
    assert r.source_q_kvar == pytest.approx(r.losses.q_kvar.sum() + r.injections.q_kvar.sum())


def test_hand_made_branch_table() -> None:
    br = _two_bus().branches
    assert list(br.columns) == ["element", "terminal", "conductor", "bus", "node", "i_a",
                                "angle_deg", "p_kw", "q_kvar", "loading_pct"]
    line = br[br.element == "line.ab"]
    assert line.terminal.tolist() == [1, 2] and line.conductor.tolist() == [1, 1]
    assert line.bus.tolist() == ["Src", "b"] and line.node.tolist() == [1, 1]
    assert line.i_a.tolist() == pytest.approx([100.0, 100.0])
    assert line.angle_deg.tolist() == pytest.approx([0.0, 180.0])
    assert line.p_kw.tolist() == pytest.approx([100.0, -90.0])
    assert line.loading_pct.tolist() == pytest.approx([125.0, 125.0])
    cap = br[br.element == "capacitor.cap"]
    # the grounded conductor takes its element's bus and node 0
    assert cap.bus.tolist() == ["b", "b"] and cap.node.tolist() == [1, 0]
    assert cap.loading_pct.isna().all()


def test_hand_made_voltages_and_csv() -> None:
    r = _two_bus()
    v = r.voltages
    assert list(v.columns) == ["bus", "node", "phase", "v_volts", "angle_deg", "v_pu",
                               "energized"]
    assert v.phase.tolist() == ["a", "a", "4", "a"]
    assert v.v_pu.tolist()[:3] == pytest.approx([1.0, 0.9, 0.005])
    assert math.isnan(v.v_pu.iloc[3]) and not v.energized.iloc[3]
    # the neutral (node 4) and the dead bus are not service voltages
    assert (r.v_min_pu, r.v_max_pu) == pytest.approx((0.9, 1.0))
    lines = r.voltages_csv().splitlines()
    assert lines[0] == "bus,node,v_volts,angle_deg,v_pu"
    assert lines[1].startswith("src,1,1000.0,0.0,1.0")
    assert len(lines) == 5


def test_hand_made_csv_to_a_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "v.csv"
    text = _two_bus().voltages_csv(out)
    back = pd.read_csv(out)
    assert out.read_text() == text and back.bus.tolist() == ["src", "b", "b", "c"]


def test_hand_made_violations_and_summary() -> None:
    r = _two_bus()
    a = r.violations()
    assert a[["kind", "element", "node"]].values.tolist() == [
        ["undervoltage", "b", 1], ["overload", "line.ab", 1]]
    assert a.value.tolist() == pytest.approx([0.9, 125.0])
    b = r.violations(range="B")
    assert b.limit.tolist() == pytest.approx([110 / 120, 100.0])
    s = r.summary()
    assert s["n_violations"] == 2 and s["converged"] is True
    assert s["source_p_kw"] == pytest.approx(100.0) and s["v_min_pu"] == pytest.approx(0.9)


def test_transformer_loading_counts_phases_not_the_neutral() -> None:
    # terminal 1 = (phase, neutral), terminal 2 = (phase, neutral); 30 A in the neutral.
    nodes = _nodes([("hv", 1, 1000.0), ("hv", 4, 1000.0), ("lv", 1, 100.0)])
    xf = _block("transformers", ("t",), [[0, 1, 2, -1]], np.diag([0.01, 30.0, -1.0, 0.0])[None],
                2)
    r = build_result(_compiled(nodes, [xf], [[20.0]], [[0]]),  # type: ignore[arg-type]
                     np.array([1000.0, 1.0, 100.0], dtype=complex), **_NO_CONTROLS)
    assert r.branches.i_a.tolist() == pytest.approx([10.0, 30.0, 100.0, 0.0])
    load = r.loading
    assert load.loading_pct.tolist() == pytest.approx([50.0])
    assert load.i_max_a.tolist() == pytest.approx([10.0]) and load.node.tolist() == [1]


def test_shape_mismatch_is_refused() -> None:
    nodes = _nodes([("a", 1, 1.0)])
    with pytest.raises(ValueError, match="shape"):
        build_result(_compiled(nodes, [], [], [[0]]), np.zeros(2, complex),  # type: ignore[arg-type]
                     **_NO_CONTROLS)


def test_element_kinds_are_singular() -> None:
    assert [element_kind(k) for k in ("lines", "switches", "transformers", "capacitors",
                                      "reactors", "loads", "inverters", "widgets")] == [
        "line", "switch", "transformer", "capacitor", "reactor", "load", "inverter", "widget"]


def test_an_empty_network_gives_empty_tables() -> None:
    r = build_result(_compiled(_nodes([("a", 1, 1.0)]), [], [], [[0]]),  # type: ignore[arg-type]
                     np.ones(1, complex), **_NO_CONTROLS)
    assert r.branches.empty and r.losses.empty and r.injections.empty
    assert r.total_losses_kw == 0.0 and r.violations().empty


# ---------------------------------------------------------------------------- OpenDSS

def _dss_node_index(circuit) -> NodeIndex:  # type: ignore[no-untyped-def]
    """OpenDSS's own node numbering (``AllNodeNames`` order) as a NodeIndex."""
    kv_base = {}
    for b in circuit.AllBusNames:
        circuit.SetActiveBus(b)
        kv_base[b.lower()] = circuit.ActiveBus.kVBase
    labels = []
    for name in circuit.AllNodeNames:
        bus, node = name.lower().split(".")
        base = kv_base[bus] * 1000 if kv_base[bus] > 0 else math.nan
        labels.append((bus, int(node), base))
    return _nodes(labels)


def _dss_elements(circuit, cls: str):  # type: ignore[no-untyped-def]
    """``(name, ["bus.node" per conductor], Yprim, n_terminals, Currents)`` per enabled element."""
    circuit.SetActiveClass(cls)
    for name in list(circuit.ActiveClass.AllNames):
        circuit.SetActiveElement(f"{cls}.{name}")
        e = circuit.ActiveCktElement
        if not e.Enabled:
            continue
        k = e.NumConductors * e.NumTerminals
        nodes = list(e.NodeOrder)
        buses = [b.split(".")[0].lower() for b in e.BusNames]
        labels = [f"{buses[i // e.NumConductors]}.{nodes[i]}" for i in range(k)]
        y = np.asarray(e.Yprim)
        cur = np.asarray(e.Currents)
        yield (name, labels, (y[0::2] + 1j * y[1::2]).reshape(k, k), e.NumTerminals,
               cur[0::2] + 1j * cur[1::2])


def _conductor_index(nodes: NodeIndex, labels: list[str]) -> list[int]:
    out = []
    for label in labels:
        bus, node = label.rsplit(".", 1)
        out.append(nodes.of(bus, int(node)))
    return out


def _compiled_from_dss(circuit) -> SimpleNamespace:  # type: ignore[no-untyped-def]
    """A compiled network made of OpenDSS's YPrims; loads draw OpenDSS's currents."""
    nodes = _dss_node_index(circuit)
    groups: dict[tuple[str, int, int], list] = {}
    for cls, kind in (("Line", "lines"), ("Transformer", "transformers"),
                      ("Capacitor", "capacitors"), ("Reactor", "reactors")):
        for name, labels, y, n_term, _ in _dss_elements(circuit, cls):
            circuit.SetActiveElement(f"{cls}.{name}")
            amps = circuit.ActiveCktElement.NormalAmps
            groups.setdefault((kind, len(labels), n_term), []).append(
                (name, _conductor_index(nodes, labels), y, amps))
    blocks = [_block(kind, tuple(e[0] for e in els), [e[1] for e in els],
                     np.array([e[2] for e in els]), n_term)
              for (kind, _, n_term), els in groups.items()]
    ratings = [[e[3] for e in els] for els in groups.values()]
    injections = []
    for cls, kind in (("Load", "loads"), ("Generator", "generators"),
                      ("PVSystem", "inverters"), ("Storage", "inverters")):
        by_size: dict[int, list] = {}
        for name, labels, _, _, cur in _dss_elements(circuit, cls):
            by_size.setdefault(len(labels), []).append(
                (name, _conductor_index(nodes, labels), cur))
        injections += [_Admittance(kind, tuple(e[0] for e in els),
                                   np.array([e[1] for e in els], dtype=np.int64),
                                   i_a=np.array([e[2] for e in els]))
                       for els in by_size.values()]
    sources = [_conductor_index(nodes, labels)
               for _, labels, *_ in _dss_elements(circuit, "Vsource")]
    return _compiled(nodes, blocks, ratings, sources, tuple(injections))


def _dss_solve(dss, name: str) -> None:  # type: ignore[no-untyped-def]
    dss_compile(dss, name)
    for cmd in ("set tolerance=1e-9", "set maxiterations=200", "set maxcontroliter=200"):
        dss.Text.Command = cmd
    dss.ActiveCircuit.Solution.Solve()
    assert dss.ActiveCircuit.Solution.Converged


def _dss_voltages(circuit) -> np.ndarray:  # type: ignore[no-untyped-def]
    v = np.asarray(circuit.AllBusVolts)
    return v[0::2] + 1j * v[1::2]


@pytest.mark.parametrize("name", ["ieee13", "ieee123", "ieee8500", "european_lv"])
def test_result_reproduces_opendss_from_its_own_solution(dss, name: str) -> None:  # type: ignore[no-untyped-def]
    _dss_solve(dss, name)
    c = dss.ActiveCircuit
    r = build_result(_compiled_from_dss(c), _dss_voltages(c), **_NO_CONTROLS)  # type: ignore[arg-type]
    losses_w = np.asarray(c.Losses)
    total_kw = np.asarray(c.TotalPower)
    assert r.total_losses_kw == pytest.approx(losses_w[0] / 1e3, rel=1e-9)
    assert r.total_losses_kvar == pytest.approx(losses_w[1] / 1e3, rel=1e-9)
    assert r.source_p_kw == pytest.approx(-total_kw[0], rel=1e-9)
    assert r.source_q_kvar == pytest.approx(-total_kw[1], rel=1e-8)
    # every conductor of every PD element: the power OpenDSS reports
    worst = 0.0
    classes = {"line": "Line", "transformer": "Transformer", "capacitor": "Capacitor",
               "reactor": "Reactor"}
    for element, rows in r.branches.groupby("element", sort=False):
        kind, el_name = str(element).split(".", 1)
        c.SetActiveElement(f"{classes[kind]}.{el_name}")
        powers = np.asarray(c.ActiveCktElement.Powers)
        worst = max(worst, float(np.abs(rows.p_kw.to_numpy() - powers[0::2]).max()),
                    float(np.abs(rows.q_kvar.to_numpy() - powers[1::2]).max()))
    assert worst < 1e-6  # kW, kvar
    # per-node per-unit voltages as OpenDSS computes them
    assert r.voltages.v_pu.to_numpy() == pytest.approx(np.asarray(c.AllBusVmagPu), rel=1e-12)
    # every load's power
    for row in r.injections.itertuples():
        c.SetActiveElement(str(row.element).replace("load.", "Load."))
        p = np.asarray(c.ActiveCktElement.Powers)
        assert (row.p_kw, row.q_kvar) == pytest.approx((p[0::2].sum(), p[1::2].sum()),
                                                       abs=1e-9)


def test_loading_is_opendss_max_terminal_one_current_over_normamps(dss) -> None:  # type: ignore[no-untyped-def]
    _dss_solve(dss, "ieee13")
    c = dss.ActiveCircuit
    r = build_result(_compiled_from_dss(c), _dss_voltages(c), **_NO_CONTROLS)  # type: ignore[arg-type]
    for row in r.loading.itertuples():
        kind, el_name = str(row.element).split(".", 1)
        c.SetActiveElement(f"{kind}.{el_name}")
        e = c.ActiveCktElement
        cur = np.asarray(e.CurrentsMagAng)[0::2][: e.NumPhases]
        if e.NormalAmps > 0 and kind in ("line", "transformer"):
            assert row.loading_pct == pytest.approx(100 * cur.max() / e.NormalAmps, rel=1e-9)
    assert set(r.loading.element) >= {"line.650632", "transformer.sub", "capacitor.cap1"}


# ---------------------------------------------------------------------------- ratings

@pytest.mark.parametrize("name", ["ieee13", "ieee123", "ieee8500_geometry", "european_lv",
                                  "ieee13_cable"])
def test_ratings_are_opendss_normamps(dss, name: str) -> None:  # type: ignore[no-untyped-def]
    net = imported(name)
    dss_compile(dss, name)
    c = dss.ActiveCircuit
    for kind, cls in (("lines", "Line"), ("switches", "Line"), ("transformers", "Transformer")):
        names = tuple(e.name for e in net.collection(kind))
        if not names:
            continue
        block = _block(kind, names, [[-1, -1]] * len(names), np.zeros((len(names), 2, 2)), 2)
        ours = pd_ratings_a(net, block)
        theirs = []
        for n in names:
            c.SetActiveElement(f"{cls}.{n}")
            theirs.append(c.ActiveCktElement.NormalAmps)
        # OpenDSS's 0 (a cable without ampacity) means "no rating": NaN for us
        expected = np.where(np.asarray(theirs) > 0, theirs, np.nan)
        np.testing.assert_allclose(ours, expected, rtol=1e-12, err_msg=f"{name} {kind}")


def test_capacitors_and_reactors_have_no_rating() -> None:
    net = imported("ieee13")
    block = _block("capacitors", ("cap1",), [[-1, -1]], np.zeros((1, 2, 2)), 2)
    assert np.isnan(pd_ratings_a(net, block)).all()


# ---------------------------------------------------------------------------- compiled

def _dss_final_state(circuit) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    """OpenDSS's solved tap of every transformer winding and capacitor step states."""
    taps: dict[str, tuple[float, ...]] = {}
    t = circuit.Transformers
    i = t.First
    while i:
        windings = []
        for w in range(1, t.NumWindings + 1):
            t.Wdg = w
            windings.append(t.Tap)
        taps[t.Name.lower()] = tuple(windings)
        i = t.Next
    states: dict[str, tuple[int, ...]] = {}
    cap = circuit.Capacitors
    i = cap.First
    while i:
        states[cap.Name.lower()] = tuple(int(s) for s in cap.States)
        i = cap.Next
    return taps, states


@pytest.mark.parametrize(("name", "q_rel"), [("ieee13", 1e-8), ("ieee123", 1e-3),
                                             ("european_lv", 1e-8)])
def test_compiled_network_at_opendss_voltages_gives_opendss_powers(  # type: ignore[no-untyped-def]
        dss, name: str, q_rel: float) -> None:
    """Our compiled network, OpenDSS's solved voltages, taps and capacitor states."""
    from feederos.powerflow.compiled import compile_network

    _dss_solve(dss, name)
    c = dss.ActiveCircuit
    compiled = compile_network(imported(name))
    taps, states = _dss_final_state(c)
    compiled = compiled.with_state(
        tap_pu={k: t for k, t in taps.items() if compiled.tap_pu.get(k) != t} or None,
        capacitor_states={k: s for k, s in states.items()
                          if compiled.capacitor_states.get(k) != s} or None,
    )
    v = np.zeros(compiled.nodes.n_nodes, dtype=complex)
    for label, volts in zip(c.AllNodeNames, _dss_voltages(c), strict=True):
        bus, node = label.lower().rsplit(".", 1)
        v[compiled.nodes.of(bus, int(node))] = volts
    r = build_result(compiled, v, **_NO_CONTROLS)  # type: ignore[arg-type]
    losses_w = np.asarray(c.Losses)
    total_kw = np.asarray(c.TotalPower)
    assert r.total_losses_kw == pytest.approx(losses_w[0] / 1e3, rel=1e-8)
    assert r.total_losses_kvar == pytest.approx(losses_w[1] / 1e3, rel=q_rel)
    assert r.source_p_kw == pytest.approx(-total_kw[0], rel=1e-9)
    assert r.source_q_kvar == pytest.approx(-total_kw[1], rel=1e-5)
    lines = r.branches[r.branches.element.str.startswith(("line.", "switch."))]
    worst = 0.0
    for element, rows in lines.groupby("element", sort=False):
        c.SetActiveElement("Line." + str(element).split(".", 1)[1])
        powers = np.asarray(c.ActiveCktElement.Powers)
        worst = max(worst, float(np.abs(rows.p_kw.to_numpy() - powers[0::2]).max()),
                    float(np.abs(rows.q_kvar.to_numpy() - powers[1::2]).max()))
    assert worst < 1e-5  # kW, kvar
