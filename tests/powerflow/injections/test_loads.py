"""Load currents against OpenDSS's own, at OpenDSS's solution (dss-python run live).

Each case compiles a feeder in OpenDSS, solves it tightly (OpenDSS reports a load's
currents from its last iteration, so its tolerance bounds the lag), reads the node
voltages, and compares our currents at those voltages with ``CktElement.Currents`` of
every load, per conductor, relative to the element's largest current.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pytest

from conftest import dss_compile, dss_currents, dss_yprim, imported
from feederos.io.opendss import DssImportWarning, read_opendss
from feederos.model import Connection, EnergyConsumer, Network
from feederos.model.loads import LoadModel
from feederos.powerflow.injections import numeric_jacobian
from feederos.powerflow.injections.loads import LoadSet, load_injections, load_phase_incidence
from feederos.powerflow.nodes import NodeIndex, node_index

REL_TOL = 1e-9
"""Our currents vs OpenDSS's, relative to the element's largest current. OpenDSS is
solved to 1e-12 and we measure 1e-12 worst, so this still catches 1e-5 base-voltage slips."""

TIGHT = ("set tolerance=1e-12", "set maxiterations=500")
DATA = Path(__file__).resolve().parents[2] / "data" / "io" / "opendss"
ZIPV = (0.2, 0.3, 0.5, 0.1, 0.2, 0.7, 0.6)


def _read(path: Path) -> Network:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DssImportWarning)
        return read_opendss(path)


def _solve(dss, commands: tuple[str, ...] | list[str]) -> None:
    for command in commands:
        dss.Text.Command = command
    dss.ActiveCircuit.Solution.Solve()


def _node_voltages(dss, idx: NodeIndex) -> np.ndarray:
    """OpenDSS's node voltages in our node order; NaN for nodes OpenDSS does not have."""
    vv = np.asarray(dss.ActiveCircuit.AllBusVolts)
    pos = {n.lower(): i for i, n in enumerate(dss.ActiveCircuit.AllNodeNames)}
    v = np.full(idx.n_nodes, np.nan, dtype=complex)
    for i in range(idx.n_nodes):
        j = pos.get(idx.label(i))
        if j is not None:
            v[i] = vv[2 * j] + 1j * vv[2 * j + 1]
    return v


def _conductor_voltages(s: LoadSet, v: np.ndarray) -> np.ndarray:
    return np.where(s.conductors >= 0, v[np.maximum(s.conductors, 0)], 0.0).astype(complex)


def _errors(dss, net: Network, *, skip: frozenset[str] = frozenset()) -> dict[str, float]:
    """Relative error of our currents vs OpenDSS's for every load (after a solve)."""
    idx = node_index(net)
    v = _node_voltages(dss, idx)
    out: dict[str, float] = {}
    for s in load_injections(net, idx):
        ours = s.currents(_conductor_voltages(s, v))
        rated = np.abs(s.y_eq_s) * s.v_base_v  # floor for loads cut off to ~0 A
        for j, name in enumerate(s.names):
            if name in skip:
                continue
            ref = dss_currents(dss, f"Load.{name}")
            scale = max(np.abs(ref).max(), 1e-6 * rated[j])
            out[name] = float(np.abs(ours[j] - ref).max() / scale)
    return out


def _assert_close(errors: dict[str, float]) -> None:
    assert errors
    worst = max(errors, key=errors.__getitem__)
    assert errors[worst] < REL_TOL, f"worst load {worst}: {errors[worst]:.2e}"


def _with_loads(net: Network, **update: object) -> Network:
    return net.model_copy(update={"loads": [ld.model_copy(update=update) for ld in net.loads]})


@pytest.mark.parametrize(
    "name", ["ieee13", "ieee37", "ieee123", "ieee34mod2", "ieee8500", "ieee8500_unbal",
             "european_lv"]
)
def test_feeder_load_currents_match_opendss(dss, name: str) -> None:
    net = imported(name)
    dss_compile(dss, name)
    _solve(dss, TIGHT)
    assert not _layout_mismatches(dss, net)
    _assert_close(_errors(dss, net))


def test_ieee8500_split_phase_loads_are_two_phase_wye() -> None:
    # "phases=2 bus1=X.1.2 conn=wye kv=0.208": two 120 V phases on nodes 1 and 2 and a
    # grounded neutral; the 240 V secondary voltage is across the two phases
    net = imported("ieee8500")
    (s,) = load_injections(net, node_index(net))
    assert (s.connection, s.n_phases, s.conductors.shape[1]) == (Connection.WYE, 2, 3)
    assert (s.conductors[:, 2] == -1).all()
    np.testing.assert_allclose(s.v_base_v, 208 / np.sqrt(3))


@pytest.mark.parametrize("pu", [0.45, 0.8, 1.0, 1.1])
@pytest.mark.parametrize("model", list(LoadModel))
def test_ieee13_every_model_in_every_voltage_band(dss, model: LoadModel, pu: float) -> None:
    # Regulators held (controlmode=off) so the source voltage reaches the loads: 0.45 pu
    # is below vlowpu, 0.8 between vlowpu and vminpu, 1.1 above vmaxpu.
    zip_ = {"zip_coefficients": ZIPV} if model is LoadModel.ZIP else {}
    net = _with_loads(imported("ieee13"), model=model, **zip_)
    dss_compile(dss, "ieee13")
    commands = [f"batchedit load..* model={int(model)}", f"vsource.source.pu={pu}",
                "set controlmode=off", *TIGHT]
    if model is LoadModel.ZIP:
        commands.insert(1, "batchedit load..* zipv=[" + " ".join(map(str, ZIPV)) + "]")
    _solve(dss, commands)
    assert dss.ActiveCircuit.Solution.Converged
    _assert_close(_errors(dss, net))


def test_loadmult_scales_the_loads(dss) -> None:
    net = imported("ieee13")
    net = net.model_copy(update={"settings": net.settings.model_copy(
        update={"load_multiplier": 1.3})})
    dss_compile(dss, "ieee13")
    _solve(dss, ["set loadmult=1.3", *TIGHT])
    _assert_close(_errors(dss, net))


# Every model on every layout on one stiff bus, so each source voltage puts every load
# in a known band (vlowpu 0.5, vminpu 0.95, vmaxpu 1.05 unless set; ZIP cut-off 0.6).
_LAYOUTS = {
    "y3": "bus1=b phases=3 kv=12.47",
    "d3": "bus1=b phases=3 conn=delta kv=12.47",
    "y1": "bus1=b.2 phases=1 kv=7.2",
    "d1": "bus1=b.3.1 phases=1 conn=delta kv=12.47",
    "y2": "bus1=b.1.3 phases=2 kv=12.47",
    "d2": "bus1=b.1.2 phases=2 conn=delta kv=12.47",  # open delta: 1-2 and 2-ground
}
_MODELS = {
    "m1": "model=1", "m2": "model=2", "m3": "model=3",
    "m4": "model=4 cvrwatts=0.8 cvrvars=3", "m4b": "model=4", "m4c": "model=4 cvrvars=2.5",
    "m5": "model=5", "m6": "model=6", "m7": "model=7",
    "m8": "model=8 zipv=[" + " ".join(map(str, ZIPV)) + "]",
    "m8b": "model=8 zipv=[0.5 -0.2 0.7 1.2 0.1 -0.3 0]",
}
_SCAN = "\n".join([
    "Clear",
    "New Circuit.scan basekv=12.47 pu=1.0 mvasc3=1e9 mvasc1=1e9 bus1=b",
    "Set loadmult=0.8",
    *(f"New Load.{m}_{lay} {where} {how} kw=300 kvar=120"
      for lay, where in _LAYOUTS.items() for m, how in _MODELS.items()),
    "New Load.narrow bus1=b kv=12.47 kw=200 pf=0.9 vminpu=0.85 vmaxpu=1.1",
    "New Load.nomid bus1=b kv=12.47 kw=200 pf=0.9 model=5 vminpu=0.4",
    "New Load.fixed bus1=b kv=12.47 kw=200 pf=-0.9 status=fixed",
    "New Load.exempt bus1=b kv=12.47 kva=200 pf=0.8 status=exempt model=6",
    "New Load.lead bus1=b kv=12.47 kw=100 kvar=-80 model=7",
    # a neutral of their own, grounded through 20 Ω and carrying the unbalance
    "New Load.yn3 bus1=b.1.2.3.4 phases=3 kv=12.47 kw=200 pf=0.9 model=5",
    "New Load.yn1 bus1=b.1.4 phases=1 kv=7.2 kw=150 pf=0.95 model=8"
    " zipv=[0.3 0.3 0.4 0.3 0.3 0.4 0]",
    "New Reactor.ng phases=1 bus1=b.4 R=20 X=1",
    "Set voltagebases=[12.47]",
    "Calcvoltagebases",
])


@pytest.fixture(scope="module")
def scan_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Network]:
    path = tmp_path_factory.mktemp("loads") / "scan.dss"
    path.write_text(_SCAN)
    return path, _read(path)


@pytest.mark.parametrize(
    "pu", [0.3, 0.45, 0.55, 0.601, 0.63, 0.8, 0.9, 0.97, 1.0, 1.04, 1.08, 1.2]
)
def test_stiff_bus_scan_matches_opendss(dss, scan_case: tuple[Path, Network], pu: float) -> None:
    path, net = scan_case
    dss.Text.Command = "set DefaultBaseFrequency=60"  # see conftest.dss_compile
    dss.Text.Command = f'compile "{path}"'
    _solve(dss, [f"vsource.source.pu={pu}", *TIGHT])
    assert dss.ActiveCircuit.Solution.Converged
    idx = node_index(net)
    v = np.abs(_node_voltages(dss, idx))[idx.node <= 3]
    np.testing.assert_allclose(v / (12470 / np.sqrt(3)), pu, rtol=1e-4)
    _assert_close(_errors(dss, net))


def test_stiff_bus_layouts_and_yprim(dss, scan_case: tuple[Path, Network]) -> None:
    path, net = scan_case
    dss.Text.Command = "set DefaultBaseFrequency=60"  # see conftest.dss_compile
    dss.Text.Command = f'compile "{path}"'
    _solve(dss, TIGHT)
    idx = node_index(net)
    sets = load_injections(net, idx)
    assert sorted((s.connection.value, s.n_phases, s.conductors.shape[1]) for s in sets) == [
        ("delta", 1, 2), ("delta", 2, 3), ("delta", 3, 3),
        ("wye", 1, 2), ("wye", 2, 3), ("wye", 3, 4)]
    for s in sets:
        block = s.nominal_block()
        for j, name in enumerate(s.names):
            y, labels = dss_yprim(dss, f"Load.{name}")
            ours = [idx.label(c) if c >= 0 else f"{labels[i].split('.')[0]}.0"
                    for i, c in enumerate(s.conductors[j])]
            assert ours == labels, name
            np.testing.assert_allclose(block.y_s[j], y, rtol=1e-12, atol=1e-15 * np.abs(y).max())


@pytest.mark.parametrize("name", ["ieee13", "ieee37", "ieee8500"])
def test_nominal_block_is_opendss_yprim(dss, name: str) -> None:
    net = imported(name)
    idx = node_index(net)
    dss_compile(dss, name)
    _solve(dss, ())
    for s in load_injections(net, idx):
        block = s.nominal_block()
        for j, load in enumerate(s.names[:50]):
            y, _ = dss_yprim(dss, f"Load.{load}")
            np.testing.assert_allclose(block.y_s[j], y, rtol=1e-12, atol=1e-15 * np.abs(y).max())


def test_loads_caps_case_matches_opendss(dss) -> None:
    path = DATA / "loads_caps" / "master.dss"
    dss.Text.Command = "set DefaultBaseFrequency=60"  # see conftest.dss_compile
    dss.Text.Command = f'compile "{path}"'
    _solve(dss, ["set controlmode=off", *TIGHT])
    # "New Load.dflt bus1=b8": see test_default_load_keeps_opendss_7200_v_base
    _assert_close(_errors(dss, _read(path), skip=frozenset({"dflt"})))


def test_default_load_keeps_opendss_7200_v_base(dss) -> None:
    path = DATA / "loads_caps" / "master.dss"
    dss.Text.Command = "set DefaultBaseFrequency=60"  # see conftest.dss_compile
    dss.Text.Command = f'compile "{path}"'
    _solve(dss, ["set controlmode=off", *TIGHT])
    errors = _errors(dss, _read(path))
    assert errors["dflt"] < REL_TOL


def test_delta_default_nodes_follow_opendss(dss, tmp_path: Path) -> None:
    path = tmp_path / "delta.dss"
    path.write_text("\n".join([
        "Clear", "New Circuit.d basekv=12.47 bus1=b",
        "New Load.one bus1=b.2 phases=1 conn=delta kv=12.47 kw=50",
        "New Load.open bus1=b.1.2.3 phases=2 conn=delta kv=12.47 kw=50",
        "Set voltagebases=[12.47]", "Calcvoltagebases"]))
    dss.Text.Command = "set DefaultBaseFrequency=60"  # see conftest.dss_compile
    dss.Text.Command = f'compile "{path}"'
    _solve(dss, TIGHT)
    _assert_close(_errors(dss, _read(path)))


def _layout_mismatches(dss, net: Network) -> set[str]:
    """Loads whose conductors land on other nodes than OpenDSS's ``NodeOrder``."""
    idx = node_index(net)
    out = set()
    for s in load_injections(net, idx):
        for j, name in enumerate(s.names):
            dss.ActiveCircuit.SetActiveElement(f"Load.{name}")
            theirs = [int(n) for n in dss.ActiveCircuit.ActiveCktElement.NodeOrder]
            ours = [int(idx.node[c]) if c >= 0 else 0 for c in s.conductors[j]]
            if ours != theirs:
                out.add(name)
    return out


def test_ieee34_loads_match_opendss_but_the_delta_ones_on_one_node(dss) -> None:
    # "Bus1=832.2 Phases=1 Conn=Delta": see test_delta_default_nodes_follow_opendss
    net = imported("ieee34mod1")
    dss_compile(dss, "ieee34mod1")
    _solve(dss, TIGHT)
    wrong = _layout_mismatches(dss, net)
    assert wrong <= {f"d832_858{e}{p}" for e in "sr" for p in "abc"}
    _assert_close(_errors(dss, net, skip=frozenset(wrong)))


def _random_loads(rng: np.random.Generator, conn: Connection, phases: int) -> LoadSet:
    """Every model, with random ratings, in one set of the given layout."""
    loads = []
    for i, model in enumerate(list(LoadModel) * 3):
        loads.append(EnergyConsumer(
            name=f"l{i}", terminal={"bus": "b", "nodes": (1, 2, 3)[:phases]},
            phases=phases, connection=conn, v_kv=12.47, p_kw=rng.uniform(10, 500),
            q_kvar=rng.uniform(-200, 300), model=model, cvr_watts=rng.uniform(0.5, 2),
            cvr_vars=rng.uniform(1.5, 4),
            zip_coefficients=(*rng.uniform(-0.3, 1, 6), rng.choice([0.0, 0.6]))))
    net = Network(name="n", buses=[{"name": "b", "v_base_kv": 12.47}], loads=loads)
    (s,) = load_injections(net, node_index(net))
    return s


@pytest.mark.parametrize("layout", [(Connection.WYE, 1), (Connection.WYE, 2), (Connection.WYE, 3),
                                    (Connection.DELTA, 1), (Connection.DELTA, 2),
                                    (Connection.DELTA, 3)])
@pytest.mark.parametrize("v_pu", [0.3, 0.59, 0.62, 0.75, 1.0, 1.2])
def test_analytic_jacobian_is_the_numeric_one(layout: tuple[Connection, int], v_pu: float) -> None:
    # one band per voltage level (below vlowpu, in the ZIP cut-off, between vlowpu and
    # vminpu, nominal, above vmaxpu); ±0.3 % noise keeps every phase inside its band
    rng = np.random.default_rng(7)
    conn, phases = layout
    s = _random_loads(rng, conn, phases)
    c = s.incidence
    u = v_pu * s.v_base_v[:, None] * np.exp(-2j * np.pi * np.arange(phases) / 3)
    v = u @ np.linalg.pinv(c).T  # conductor voltages with these phase voltages
    v = v * (1 + rng.uniform(-0.003, 0.003, v.shape)) * np.exp(1j * rng.uniform(-0.01, 0.01))
    analytic = s.jacobian(v)
    numeric = numeric_jacobian(s.currents, v)
    scale = np.abs(numeric).max(axis=(1, 2))[:, None, None]
    # the central difference is good to ~1e-10 here; a wrong term is off by O(1)
    assert (np.abs(analytic - numeric) <= 1e-7 * scale).all()


def test_zero_voltage_draws_no_current_and_warns_nothing() -> None:
    s = _random_loads(np.random.default_rng(1), Connection.WYE, 3)
    v = np.zeros(s.conductors.shape, dtype=complex)
    assert (s.currents(v) == 0).all()
    assert np.isfinite(s.jacobian(v)).all()


def test_phase_incidence_puts_currents_where_opendss_does() -> None:
    c = load_phase_incidence(1, Connection.DELTA)
    assert (np.array([[2.0 + 1j]]) @ c).tolist() == [[2 + 1j, -2 - 1j]]
    assert load_phase_incidence(3, Connection.WYE).shape == (3, 4)


def test_shapes_are_checked() -> None:
    s = _random_loads(np.random.default_rng(2), Connection.WYE, 1)
    with pytest.raises(ValueError, match="inconsistent"):
        dataclasses.replace(s, mult=s.mult[:-1])

