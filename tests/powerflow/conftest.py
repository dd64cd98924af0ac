"""Fixtures shared by the power-flow tests: the shared feeders and OpenDSS as oracle."""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from feederos.io.opendss import DssImportWarning, read_opendss
from feederos.model import Network

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "feeders"

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
def imported(name: str) -> Network:
    """The feeder ``name`` of :data:`MASTERS`, imported once per test session."""
    path = SHARED / MASTERS[name]
    if not path.exists():
        pytest.skip(f"{path} not available")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DssImportWarning)
        return read_opendss(path)


@pytest.fixture(scope="session")
def dss():
    """The OpenDSS engine (dss-python), for live comparisons."""
    dss_mod = pytest.importorskip("dss")
    return dss_mod.DSS


def dss_compile(dss, name: str) -> None:
    """Compile the master file of ``name`` in OpenDSS (no solve)."""
    dss.Text.Command = f'compile "{SHARED / MASTERS[name]}"'


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
