"""Capacitor and reactor primitive admittances against OpenDSS's ``Yprim``.

Every capacitor bank and reactor of every shared feeder, of the small reference circuits
in ``tests/data/io/opendss`` and of a script written here (series R/X in wye and delta
banks, one-phase delta, two-phase wye, a series capacitor) is compared with the matrix
dss-python reports, to 1e-9 of the element's largest entry, with the conductor order
checked through the node names.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import MASTERS, dss_yprim, imported, load_case
from feederos.errors import PowerFlowError
from feederos.model import Network
from feederos.powerflow.nodes import NodeIndex, node_index
from feederos.powerflow.primitives.block import PrimitiveBlock
from feederos.powerflow.primitives.shunts import capacitor_blocks, reactor_blocks

RTOL = 1e-9
CASES = [*MASTERS, "loads_caps", "protection", "extra"]

EXTRA_SCRIPT = """\
Clear
New Circuit.shunts basekv=12.47 bus1=src
New Line.l1 bus1=src bus2=b1 r1=0.1 x1=0.3 c1=0 c0=0 length=1 units=km
New Line.l2 bus1=b2 bus2=b3 r1=0.1 x1=0.3 c1=0 c0=0 length=1 units=km
New Capacitor.wzl bus1=b1 kv=12.47 kvar=600 R=0.5 XL=4
New Capacitor.dzl bus1=b1 conn=delta kv=12.47 kvar=450 R=0.3 XL=2
New Capacitor.d1 phases=1 bus1=b1.1.2 conn=delta kv=12.47 kvar=100
New Capacitor.d1z phases=1 bus1=b1.3 conn=delta kv=12.47 kvar=100 R=1 XL=10
New Capacitor.d2 phases=2 bus1=b1.1.2 conn=delta kv=12.47 kvar=100
New Capacitor.w2 phases=2 bus1=b1.1.3 kv=12.47 kvar=200
New Capacitor.ser bus1=b1 bus2=b2 kv=12.47 kvar=1000
New Capacitor.off bus1=b3 kv=12.47 numsteps=3 kvar=900 states=[0 0 0]
New Reactor.d1 phases=1 bus1=b1.2.3 conn=delta kv=12.47 kvar=50
New Reactor.d2 phases=2 bus1=b1.2.3 conn=delta kv=12.47 kvar=80
New Reactor.w1 phases=1 bus1=b3.1 bus2=b3.4 R=2 X=20 Rp=500
Set voltagebases=[12.47]
Calcvoltagebases
"""

IMPORTER_GAPS: set[tuple[str, str, str]] = set()
"""Elements that differ from OpenDSS because of the importer, not the primitives (none
left: one-phase delta banks on ``bus.1.2`` now keep both conductors)."""


@pytest.fixture(scope="module", params=CASES)
def case(request, dss, tmp_path_factory) -> tuple[str, Network, NodeIndex]:
    """One case, imported and solved in OpenDSS (once per module)."""
    network = load_case(dss, _case_path(request.param, tmp_path_factory.mktemp("shunts")))
    return request.param, network, node_index(network)


def yprim_errors(
    dss,
    blocks: list[PrimitiveBlock],
    dss_class: str,
    nodes: NodeIndex,
    skip: set[str] | None = None,
) -> dict[str, float]:
    """Relative error ``max|ΔY|/max|Y|`` of every element of ``blocks`` not in ``skip``.

    Also checks that each conductor lands on the node OpenDSS names (ground: ``bus.0``).
    """
    errors: dict[str, float] = {}
    for block in blocks:
        for i, name in enumerate(block.names):
            if skip and name in skip:
                continue
            full = f"{dss_class}.{name}"
            assert dss.ActiveCircuit.SetActiveElement(full) >= 0, f"{full} not in OpenDSS"
            y_dss, names = dss_yprim(dss, full)
            ours = [nodes.label(c) if c >= 0 else None for c in block.conductors[i]]
            assert len(ours) == len(names), (full, ours, names)
            for o, d in zip(ours, names, strict=True):
                assert d.endswith(".0") if o is None else o == d, (full, ours, names)
            scale = np.abs(y_dss).max()
            err = np.abs(block.y_s[i] - y_dss).max()
            errors[name] = float(err / scale) if scale > 0 else float(err)
    return errors


def _check(errors: dict[str, float], label: str) -> None:
    if not errors:
        return
    worst = max(errors, key=errors.__getitem__)
    print(f"{label}: {len(errors)} elements, worst {errors[worst]:.2e} ({worst})")
    bad = {k: v for k, v in errors.items() if v > RTOL}
    assert not bad, f"{label}: {len(bad)} elements off: {sorted(bad.items())[:5]}"


def _case_path(case: str, tmp_dir: Path) -> str | Path:
    """The extra script is written to ``tmp_dir``; other cases are found by name."""
    if case != "extra":
        return case
    path = tmp_dir / "master.dss"
    path.write_text(EXTRA_SCRIPT)
    return path


def _gap_names(case: str, dss_class: str) -> set[str]:
    return {e for c, k, e in IMPORTER_GAPS if (c, k) == (case, dss_class)}


def test_capacitors_match_opendss(case, dss) -> None:
    name, network, nodes = case
    blocks = capacitor_blocks(network, nodes)
    assert sum(b.n_elements for b in blocks) == len(network.capacitors)
    errors = yprim_errors(dss, blocks, "Capacitor", nodes, skip=_gap_names(name, "Capacitor"))
    _check(errors, f"{name} capacitors")


def test_reactors_match_opendss(case, dss) -> None:
    name, network, nodes = case
    blocks = reactor_blocks(network, nodes)
    assert sum(b.n_elements for b in blocks) == len(network.reactors)
    errors = yprim_errors(dss, blocks, "Reactor", nodes, skip=_gap_names(name, "Reactor"))
    _check(errors, f"{name} reactors")


def test_extra_shunts_match_opendss(dss, tmp_path) -> None:
    """The extra script's banks (series R/XL, 1- and 2-phase delta, series cap, Rp)."""
    network = load_case(dss, _case_path("extra", tmp_path))
    nodes = node_index(network)
    for dss_class, build in (("Capacitor", capacitor_blocks), ("Reactor", reactor_blocks)):
        blocks = build(network, nodes)
        _check(yprim_errors(dss, blocks, dss_class, nodes), f"extra {dss_class}")


def test_step_states_override_matches_opendss(dss, tmp_path) -> None:
    """Switching steps of loads_caps's c3 (4 steps) in both engines."""
    network = load_case(dss, "loads_caps")
    nodes = node_index(network)
    for states in ([1, 1, 1, 0], [0, 0, 0, 0], [1, 1, 1, 1]):
        dss.Text.Command = f"Capacitor.c3.states=[{' '.join(map(str, states))}]"
        dss.ActiveCircuit.Solution.Solve()  # rebuilds the invalidated Yprim
        blocks = capacitor_blocks(network, nodes, states={"c3": states})
        errors = yprim_errors(dss, blocks, "Capacitor", nodes)
        assert errors["c3"] <= RTOL, (states, errors["c3"])


def test_step_states_scale_the_bank() -> None:
    network = imported("ieee13")
    nodes = node_index(network)
    on = capacitor_blocks(network, nodes)
    off = capacitor_blocks(network, nodes, states={"cap1": [0]})
    assert [b.names for b in on] == [b.names for b in off]
    i = [b.names for b in off].index(("cap1",))
    assert np.all(off[i].y_s == 0) and np.abs(on[i].y_s).max() > 0
    np.testing.assert_array_equal(off[1 - i].y_s, on[1 - i].y_s)  # cap2 untouched


def test_bad_step_states_are_refused() -> None:
    network = imported("ieee13")
    with pytest.raises(ValueError, match="cap1"):
        capacitor_blocks(network, node_index(network), states={"cap1": [1, 0]})
    with pytest.raises(ValueError, match="cap1"):
        capacitor_blocks(network, node_index(network), states={"cap1": [2]})
    with pytest.raises(ValueError, match="nocap"):
        capacitor_blocks(network, node_index(network), states={"nocap": [1]})


def test_zero_kvar_step_with_series_reactance_stays_zero() -> None:
    """No division by zero (warnings are errors) for an empty step behind R + jX."""
    network = imported("ieee13")
    caps = [
        c.model_copy(update={"q_kvar": [0.0], "r_ohm": 1.0, "x_ohm": 5.0})
        for c in network.capacitors
    ]
    network = network.model_copy(update={"capacitors": caps})
    for block in capacitor_blocks(network, node_index(network)):
        assert np.all(block.y_s == 0)


def test_zero_impedance_reactor_is_refused() -> None:
    network = imported("ieee8500")
    bad = network.reactors[0].model_copy(update={"r_ohm": 0.0, "x_ohm": 0.0})
    network = network.model_copy(update={"reactors": [bad]})
    with pytest.raises(PowerFlowError, match=bad.name):
        reactor_blocks(network, node_index(network))
