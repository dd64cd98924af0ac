"""Voltage-source primitive admittances and EMFs against OpenDSS's ``Vsource``.

For every source of every shared feeder and of the small reference circuits: the
``Yprim`` equals OpenDSS's to 1e-9 of its largest entry, and with OpenDSS's solved
voltages ``V`` at the source's conductors, ``Yprim @ V − Yprim @ [E; 0]`` (our Norton
form) equals the currents OpenDSS reports for the source.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import (
    MASTERS,
    SMALL,
    dss_currents,
    dss_yprim,
    load_case,
    read_dss,
)
from feederos.model import Network
from feederos.powerflow.nodes import node_index
from feederos.powerflow.primitives.sources import source_blocks

RTOL = 1e-9
CURRENT_RTOL = 1e-8
CASES = [*MASTERS, "der", "loads_caps", "loadshapes", "protection", "sources"]


@pytest.fixture(scope="module", params=CASES)
def case(request, dss) -> tuple[str, Network]:
    """One case, imported and solved in OpenDSS (once per module)."""
    return request.param, load_case(dss, request.param)


def test_sources_match_opendss(case, dss) -> None:
    name, network = case
    nodes = node_index(network)
    block, emf_v = source_blocks(network, nodes)
    assert block.kind == "sources" and block.n_elements == len(network.sources)
    p_max = block.conductors_per_terminal
    worst_y = worst_i = 0.0
    for i, src in enumerate(network.sources):
        element = f"Vsource.{src.name}"
        p = src.phases
        cols = np.r_[0:p, p_max : p_max + p]
        pad = np.setdiff1d(np.arange(2 * p_max), cols)
        y = block.y_s[i][np.ix_(cols, cols)]
        y_dss, names = dss_yprim(dss, element)
        ours = [nodes.label(c) if c >= 0 else None for c in block.conductors[i, cols]]
        for o, d in zip(ours, names, strict=True):
            assert d.endswith(".0") if o is None else o == d, (element, ours, names)
        assert np.all(block.y_s[i][pad] == 0) and np.all(block.conductors[i, pad] == -1)
        assert np.all(emf_v[i, p_max:] == 0) and np.all(emf_v[i, pad] == 0)
        worst_y = max(worst_y, float(np.abs(y - y_dss).max() / np.abs(y_dss).max()))

        v = np.asarray(dss.ActiveCircuit.ActiveCktElement.Voltages)
        v = v[0::2] + 1j * v[1::2]
        i_ours = y @ v - y @ emf_v[i, cols]
        i_dss = dss_currents(dss, element)
        worst_i = max(worst_i, float(np.abs(i_ours - i_dss).max() / np.abs(i_dss).max()))
    print(f"{name} sources: {len(network.sources)}, Yprim {worst_y:.2e}, currents {worst_i:.2e}")
    assert worst_y <= RTOL
    assert worst_i <= CURRENT_RTOL


def test_emf_phases_and_magnitudes() -> None:
    """Three-phase EMFs at −120° steps, V_LL/√3; a one-phase source at its own kV."""
    network = load_case_offline("sources")
    _, emf_v = source_blocks(network, node_index(network))
    by_name = {s.name: (s, emf_v[i]) for i, s in enumerate(network.sources)}
    src, e = by_name["source"]
    np.testing.assert_allclose(
        e[:3],
        src.v_pu * 69e3 / np.sqrt(3) * np.exp(1j * np.deg2rad([15.0, -105.0, 135.0])),
        rtol=1e-9,  # OpenDSS's rounded degrees-per-radian shifts angles by ~1e-10 rad
    )
    src, e = by_name["onephase"]
    assert e[0] == pytest.approx(7200.0) and np.all(e[1:] == 0)


def test_source_at_another_frequency_has_no_emf() -> None:
    network = load_case_offline("sources")
    src = network.sources[1].model_copy(update={"frequency_hz": 50.0})
    network = network.model_copy(update={"sources": [network.sources[0], src]})
    _, emf_v = source_blocks(network, node_index(network))
    assert np.all(emf_v[1] == 0) and np.all(emf_v[0, :3] != 0)


def test_no_sources_gives_an_empty_block() -> None:
    network = load_case_offline("sources").model_copy(update={"sources": []})
    block, emf_v = source_blocks(network, node_index(network))
    assert block.n_elements == 0 and emf_v.shape == (0, 2)


def load_case_offline(case: str) -> Network:
    return read_dss(SMALL / case / "master.dss")
