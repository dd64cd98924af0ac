"""Generators, PV, batteries and EV chargers against live OpenDSS on IEEE 123.

Each case in ``tests/data/powerflow/der/`` adds DER to the IEEE 123 master. OpenDSS
solves it (controls included, tolerances tight); at OpenDSS's node voltages our element
currents must equal OpenDSS's to 1e-6 of the element's largest current. Under inverter
controls OpenDSS stops within ``VarChangeTolerance``/``VoltageChangeTolerance`` (1e-9 in
the scripts) of the curve's fixed point, which our currents evaluate exactly.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import replace
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from feederos.errors import FeederosError
from feederos.io.opendss import DssImportWarning, read_opendss
from feederos.model import (
    Curve,
    EVCharger,
    Generator,
    InverterControl,
    InverterControlMode,
    Network,
    Terminal,
)
from feederos.powerflow.injections import numeric_jacobian
from feederos.powerflow.injections.der import der_injections
from feederos.powerflow.injections.generators import (
    branch_currents,
    branch_layout,
    ev_charger_injections,
)
from feederos.powerflow.injections.inverters import control_settings, curve_values
from feederos.powerflow.nodes import NodeIndex, node_index

CASES = Path(__file__).resolve().parents[2] / "data" / "powerflow" / "der"
SHARED_MASTER = Path(__file__).resolve().parents[3] / ".." / "shared" / "feeders" / "123Bus"
TOL = 1e-6
"""Largest current difference allowed, relative to the element's largest current."""

DSS_CLASS = {"generators": "Generator", "ev_chargers": "Load"}


@cache
def _network(case: str) -> Network:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DssImportWarning)
        return read_opendss(CASES / f"{case}.dss")


def _solve(dss, case: str) -> dict[str, complex]:
    """Compile and solve ``case`` in OpenDSS; node voltages by ``bus.node`` [V]."""
    if not (SHARED_MASTER / "IEEE123Master.dss").exists():
        pytest.skip("shared IEEE 123 feeder not available")
    cwd = os.getcwd()  # OpenDSS's compile changes the working directory
    try:
        dss.Text.Command = "set DefaultBaseFrequency=60"  # see conftest.dss_compile
        dss.Text.Command = f'compile "{CASES / f"{case}.dss"}"'
        dss.Text.Command = "set tolerance=1e-12"
        dss.Text.Command = "set maxiterations=500"
        dss.ActiveCircuit.Solution.Solve()
    finally:
        os.chdir(cwd)
    assert dss.ActiveCircuit.Solution.Converged
    names = [n.lower() for n in dss.ActiveCircuit.AllNodeNames]
    v = np.asarray(dss.ActiveCircuit.AllBusVolts)
    return dict(zip(names, v[0::2] + 1j * v[1::2], strict=True))


def _node_voltages(nodes: NodeIndex, by_name: dict[str, complex]) -> np.ndarray:
    return np.array([by_name[nodes.label(i)] for i in range(nodes.n_nodes)])


def _dss_currents(dss, element: str) -> np.ndarray:
    dss.ActiveCircuit.SetActiveElement(element)
    c = np.asarray(dss.ActiveCircuit.ActiveCktElement.Currents)
    return c[0::2] + 1j * c[1::2]


def _conductor_voltages(conductors: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.where(conductors >= 0, v[np.maximum(conductors, 0)], 0.0).astype(np.complex128)


def _compare(dss, sets, v: np.ndarray) -> dict[str, float]:
    """Relative error per element of our currents against OpenDSS's."""
    errors: dict[str, float] = {}
    for s in sets:
        ours = s.currents(_conductor_voltages(s.conductors, v))
        for n, name in enumerate(s.names):
            if s.kind == "inverters":
                cls = "PVSystem" if s.is_pv[n] else "Storage"
            else:
                cls = DSS_CLASS[s.kind]
            ref = _dss_currents(dss, f"{cls}.{name}")
            assert ref.shape == ours[n].shape, name
            scale = max(float(np.abs(ref).max()), 1e-9)
            errors[f"{cls}.{name}"] = float(np.abs(ours[n] - ref).max()) / scale
    return errors


CASE_ELEMENTS = {
    "pv_pf": 11,
    "pv_voltvar": 7,
    "pv_voltwatt": 6,
    "storage": 7,
    "generators": 9,
}


@pytest.mark.parametrize("case", sorted(CASE_ELEMENTS))
def test_currents_match_opendss(dss, case: str) -> None:
    by_name = _solve(dss, case)
    net = _network(case)
    nodes = node_index(net)
    v = _node_voltages(nodes, by_name)
    errors = _compare(dss, der_injections(net, nodes), v)
    assert len(errors) == CASE_ELEMENTS[case]
    worst = max(errors, key=errors.__getitem__)
    print(f"{case}: worst {worst} {errors[worst]:.2e}")
    assert errors[worst] < TOL, errors


def test_controls_bite(dss) -> None:
    """The control cases exercise the curves, not just their flat parts."""
    for case, expect in (("pv_voltvar", {"pv3y", "pvmax", "pvsat", "stvv", "pv1a", "pv1d", "pv3d"}),
                         ("pv_voltwatt", {"pva", "pvb", "pve", "stw"})):
        by_name = _solve(dss, case)
        net = _network(case)
        nodes = node_index(net)
        v = _node_voltages(nodes, by_name)
        bitten = set()
        for s in der_injections(net, nodes):
            v_pu, _ = s.monitored_pu(_conductor_voltages(s.conductors, v))
            p, _, q, _ = s.powers(v_pu)
            free = replace(s, volt_watt=np.zeros_like(s.volt_watt))
            p_free, _, _, _ = free.powers(v_pu)
            if case == "pv_voltvar":
                bitten |= {name for n, name in enumerate(s.names) if abs(q[n]) > 1.0}
            else:
                bitten |= {name for n, name in enumerate(s.names) if p[n] < p_free[n] - 1.0}
        assert bitten == expect, case


def test_ev_chargers_match_opendss_loads(dss) -> None:
    """EV chargers behave as OpenDSS model-1 loads, in every voltage region."""
    by_name = _solve(dss, "generators")
    net = _network("generators")
    loads = {ld.name: ld for ld in net.loads if ld.name.startswith("ev")}
    evs = [EVCharger(name=ld.name, terminal=ld.terminal, phases=ld.phases,
                     connection=ld.connection, v_kv=ld.v_kv, p_max_kw=ld.p_kw, p_kw=ld.p_kw,
                     pf=ld.p_kw / math.hypot(ld.p_kw, ld.q_kvar)) for ld in loads.values()]
    ev_net = net.model_copy(update={"ev_chargers": evs})
    nodes = node_index(ev_net)
    v = _node_voltages(nodes, by_name)
    errors = _compare(dss, ev_charger_injections(ev_net, nodes), v)
    assert len(errors) == 6
    assert max(errors.values()) < 1e-9, errors


@pytest.mark.parametrize("case", sorted(CASE_ELEMENTS))
def test_jacobian_matches_finite_differences(dss, case: str) -> None:
    by_name = _solve(dss, case)
    net = _network(case)
    nodes = node_index(net)
    v = _node_voltages(nodes, by_name)
    for s in der_injections(net, nodes):
        v_cond = _conductor_voltages(s.conductors, v)
        ours = s.jacobian(v_cond)
        ref = numeric_jacobian(s.currents, v_cond)
        err = np.abs(ours - ref).max(axis=(1, 2)) / np.abs(ref).max()
        assert err.max() < 1e-6, (case, s.kind, dict(zip(s.names, err, strict=True)))


@pytest.mark.parametrize("case", ["pv_pf", "storage", "generators"])
def test_nominal_block_is_opendss_yprim(dss, case: str) -> None:
    _solve(dss, case)
    net = _network(case)
    nodes = node_index(net)
    for s in der_injections(net, nodes):
        block = s.nominal_block()
        for n, name in enumerate(s.names):
            cls = ("PVSystem" if s.is_pv[n] else "Storage") if s.kind == "inverters" \
                else DSS_CLASS[s.kind]
            dss.ActiveCircuit.SetActiveElement(f"{cls}.{name}")
            e = dss.ActiveCircuit.ActiveCktElement
            y = np.asarray(e.Yprim)
            k = block.y_s.shape[1]
            y_dss = (y[0::2] + 1j * y[1::2]).reshape(k, k)
            scale = max(float(np.abs(y_dss).max()), 1e-12)
            assert np.abs(block.y_s[n] - y_dss).max() <= 1e-9 * scale, name


# -- units ------------------------------------------------------------------------------


def test_curve_extrapolates_and_snaps() -> None:
    xs, ys = np.array([0.92, 0.98, 1.02, 1.08]), np.array([0.44, 0.0, 0.0, -0.44])
    y, _ = curve_values(xs, ys, np.array([0.86, 0.92 + 5e-6, 0.92 - 5e-6, 1.14, 1.0]))
    # Below the first point: extrapolated from the first segment, even within 1e-5.
    assert y[0] == pytest.approx(0.88)
    assert y[1] == 0.44  # snapped
    assert y[2] == pytest.approx(0.44 + 5e-6 * 0.44 / 0.06)
    assert y[3] == pytest.approx(-0.88)
    assert y[4] == 0.0


def test_branch_model_switches_to_admittance_outside_band() -> None:
    s = np.array([3000.0 + 1000.0j])
    base = np.array([2400.0])
    for v_pu, lim in ((0.85, 0.9), (1.15, 1.1)):
        i_b, _, _ = branch_currents(np.array([[v_pu * 2400.0 + 0j]]), s, base,
                                    np.array([0.9]), np.array([1.1]), delta=False, n_phases=1)
        y = np.conj(s[0]) / (2400.0 * lim) ** 2
        assert i_b[0, 0] == pytest.approx(y * v_pu * 2400.0)
    # Continuous at the limit, where the power is still the nominal one.
    i_b, _, _ = branch_currents(np.array([[0.9 * 2400.0 + 0j]]), s, base, np.array([0.9]),
                                np.array([1.1]), delta=False, n_phases=1)
    assert i_b[0, 0] == pytest.approx(np.conj(s[0] / (0.9 * 2400.0)))


def test_layouts() -> None:
    lay = branch_layout(1, True)
    assert (lay.n_conductors, lay.frm.tolist(), lay.to.tolist()) == (2, [0], [1])
    lay = branch_layout(3, False)
    assert (lay.n_conductors, lay.to.tolist()) == (4, [3, 3, 3])


def _small_network(**extra: object) -> Network:
    return Network.model_validate({
        "name": "t", "buses": [{"name": "a", "v_base_kv": 4.16}],
        "sources": [{"name": "s", "terminal": {"bus": "a"}, "v_kv": 4.16, "r1_ohm": 0.0,
                     "x1_ohm": 0.1, "r0_ohm": 0.0, "x0_ohm": 0.1}], **extra})


def test_unsupported_generator_model_is_refused() -> None:
    net = _small_network(generators=[Generator(
        name="g", terminal=Terminal(bus="a"), v_kv=4.16, p_kw=100, model=3)])
    with pytest.raises(FeederosError, match="model 3"):
        der_injections(net, node_index(net))


def test_unsupported_control_settings_are_refused() -> None:
    base = {"name": "c", "volt_var_curve": "vv"}
    with pytest.raises(FeederosError, match="dynamicreaccurr"):
        control_settings(InverterControl(mode=InverterControlMode.DYNAMIC_REACTIVE_CURRENT,
                                         **base))
    with pytest.raises(FeederosError, match="voltage_curvex_ref"):
        control_settings(InverterControl(mode=InverterControlMode.VOLT_VAR,
                                         settings={"voltage_curvex_ref": "avg"}, **base))
    ok = control_settings(InverterControl(
        mode=InverterControlMode.VOLT_VAR, settings={"refreactivepower": "VARMAX",
                                                     "monvoltagecalc": "2"}, **base))
    assert ok.var_max_reference and ok.monitor == 1


def test_full_output_pv_gets_no_vars_under_varaval() -> None:
    """At or above its kVA rating OpenDSS's volt-var iteration decays to zero vars."""
    net = _small_network(
        curves=[Curve(name="vv", x=[0.5, 1.5], y=[1.0, 1.0])],
        inverters=[{"name": "pv", "kind": "pv", "terminal": {"bus": "a"}, "v_kv": 4.16,
                    "s_kva": 40, "p_rated_kw": 40}],
        inverter_controls=[{"name": "c", "mode": "voltvar", "volt_var_curve": "vv"}])
    (s,) = der_injections(net, node_index(net))
    p, _, q, _ = s.powers(np.array([1.0]))
    assert (p[0], q[0]) == (40.0, 0.0)
