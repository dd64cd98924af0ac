"""Fixtures shared by the power-flow tests: the shared feeders and OpenDSS as oracle."""

from __future__ import annotations

import os
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from feederos.io.opendss import DssImportWarning, read_opendss
from feederos.model import Network

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "feeders"
SMALL = Path(__file__).resolve().parents[1] / "data" / "io" / "opendss"
"""Our small OpenDSS reference circuits, one folder per case with a ``master.dss``."""

MASTERS: dict[str, str] = {
    "ieee13": "13Bus/IEEE13Nodeckt.dss",
    "ieee34mod1": "34Bus/ieee34Mod1.dss",
    "ieee34mod2": "34Bus/ieee34Mod2.dss",
    "ieee37": "37Bus/ieee37.dss",
    "ieee123": "123Bus/IEEE123Master.dss",
    "ieee8500": "8500-Node/Master.dss",
    "ieee8500_unbal": "8500-Node/Master-unbal.dss",
    "european_lv": "LVTestCase/Master.dss",
    "ieee13_cable": "scenarios/ieee13_cable.dss",
    "ieee8500_geometry": "scenarios/ieee8500_geometry.dss",
}
"""Reference name (``../shared/feeders/reference/<name>``) → master file."""


@cache
def read_dss(path: Path) -> Network:
    """``path`` imported once per test session, its import warnings silenced."""
    if not path.exists():
        pytest.skip(f"{path} not available")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DssImportWarning)
        return read_opendss(path)


def imported(name: str) -> Network:
    """The feeder ``name`` of :data:`MASTERS`, imported once per test session."""
    return read_dss(SHARED / MASTERS[name])


@pytest.fixture(scope="session")
def dss():
    """The OpenDSS engine (dss-python), for live comparisons."""
    dss_mod = pytest.importorskip("dss")
    return dss_mod.DSS


def dss_compile(dss, name: str | Path) -> None:
    """Compile a :data:`MASTERS` name or a .dss path in OpenDSS (no solve).

    OpenDSS's compile changes the working directory; it is restored.
    """
    path = SHARED / MASTERS[name] if isinstance(name, str) else name
    cwd = os.getcwd()
    try:
        # The engine is one per process and `clear` keeps global options: a 50 Hz feeder
        # compiled earlier in this worker (the European LV case) would leave reactors
        # given in mH at the wrong reactance here. Scripts that want 50 Hz set it.
        dss.Text.Command = "set DefaultBaseFrequency=60"
        dss.Text.Command = f'compile "{path}"'
    finally:
        os.chdir(cwd)


def load_case(dss, case: str | Path) -> Network:
    """Import ``case`` and solve it in OpenDSS with controls off.

    ``case`` is a :data:`MASTERS` name, a case folder of :data:`SMALL`, or a .dss path.
    The solve is there because OpenDSS reports node orders only after one.
    """
    if isinstance(case, str) and case in MASTERS:
        network, path = imported(case), SHARED / MASTERS[case]
    else:
        path = SMALL / case / "master.dss" if isinstance(case, str) else case
        network = read_dss(path)
    dss_compile(dss, path)
    dss.Text.Command = "set controlmode=off"
    dss.ActiveCircuit.Solution.Solve()
    return network


def dss_yprim(dss, element: str) -> tuple[np.ndarray, list[str]]:
    """OpenDSS's YPrim of ``element`` (``"Line.650632"``) and its conductors' node names.

    Returns the complex ``k × k`` matrix [S] and, per conductor, ``"bus.node"`` in lower
    case (node 0 = ground).
    """
    dss.ActiveCircuit.SetActiveElement(element)
    e = dss.ActiveCircuit.ActiveCktElement
    y = np.asarray(e.Yprim)
    k = e.NumConductors * e.NumTerminals
    nodes = list(e.NodeOrder)
    buses = [b.split(".")[0].lower() for b in e.BusNames]
    names = [f"{buses[i // e.NumConductors]}.{nodes[i]}" for i in range(k)]
    return (y[0::2] + 1j * y[1::2]).reshape(k, k), names


def dss_currents(dss, element: str) -> np.ndarray:
    """Currents into ``element`` at each conductor after a solve [A]."""
    dss.ActiveCircuit.SetActiveElement(element)
    c = np.asarray(dss.ActiveCircuit.ActiveCktElement.Currents)
    return c[0::2] + 1j * c[1::2]
