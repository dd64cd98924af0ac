"""Per-length phase impedance and shunt admittance of a line, whatever its data source.

A line of the network model takes its impedance from a line code, a line geometry, a
line spacing with wires, or inline data (see :mod:`feederos.model.lines`). This module
turns any of them into the two n×n matrices a solver needs, as OpenDSS does:

- Sequence values become phase matrices with ``Zs = (2·Z1 + Z0)/3`` on the diagonal and
  ``Zm = (Z0 − Z1)/3`` off it (the same rule for the capacitances), Kersting eq. 6.9.
  A single-phase line takes ``Z1`` and ``C1`` alone, as OpenDSS does (Line.pas and
  LineCode.pas set Z0 = Z1, C0 = C1 for one phase).
- Reactances and capacitive susceptances given at another frequency are scaled to the
  network's frequency (``X·f/f0``; ``B = ωC`` at the network's ω).
- A line code marked ``kron_reduce`` has its last conductor (a neutral) eliminated
  (Kersting eq. 4.56).
- Geometries and spacings go through Carson's/Deri's equations in
  :func:`feederos.model.line_constants.geometry_impedance`.

Examples
--------
>>> from feederos.model import ACLineSegment, LineImpedance, Network, Terminal
>>> z = LineImpedance(r1_ohm_per_km=0.1, x1_ohm_per_km=0.3, r0_ohm_per_km=0.4,
...                   x0_ohm_per_km=0.9)
>>> line = ACLineSegment(name="l1", bus1=Terminal(bus="a"), bus2=Terminal(bus="b"),
...                      length_km=2.0, impedance=z)
>>> pz = line_phase_impedance(Network(name="n"), line)
>>> pz.z_ohm_per_km.shape
(3, 3)
>>> np.round(pz.z_ohm_per_km[0, :2], 12)  # (2·Z1 + Z0)/3 and (Z0 − Z1)/3
array([0.2+0.5j, 0.1+0.2j])
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from feederos.model.conductors import (
    CNData,
    ConductorKind,
    LineGeometry,
    LineSpacing,
    TSData,
    WireData,
)
from feederos.model.line_constants import EarthModel, geometry_impedance, kron_reduce
from feederos.model.lines import ACLineSegment, LineImpedance
from feederos.model.network import Network

__all__ = ["PhaseImpedance", "line_phase_impedance", "sequence_to_phase"]

ComplexArray = npt.NDArray[np.complex128]


@dataclass(frozen=True)
class PhaseImpedance:
    """Per-length phase matrices of a line.

    Attributes
    ----------
    z_ohm_per_km
        Series impedance matrix, complex n×n [Ω/km].
    y_shunt_s_per_km
        Total shunt admittance matrix ``jωC``, complex n×n [S/km].
    """

    z_ohm_per_km: ComplexArray
    y_shunt_s_per_km: ComplexArray

    @property
    def n_phases(self) -> int:
        """Number of phase conductors (rows of the matrices)."""
        return int(self.z_ohm_per_km.shape[0])


def sequence_to_phase(z1: complex, z0: complex, n: int) -> ComplexArray:
    """Build the n×n phase matrix of a transposed line from sequence values.

    ``Zs = (2·Z1 + Z0)/3`` on the diagonal, ``Zm = (Z0 − Z1)/3`` elsewhere (Kersting
    eq. 6.9; OpenDSS's rule for any number of phases).

    Parameters
    ----------
    z1, z0
        Positive- and zero-sequence values (any per-length unit).
    n
        Number of phases.

    Returns
    -------
    numpy.ndarray
        Complex n×n matrix in the unit of ``z1``.

    Examples
    --------
    >>> sequence_to_phase(1 + 1j, 4 + 1j, 2)
    array([[2.+1.j, 1.+0.j],
           [1.+0.j, 2.+1.j]])
    """
    zs = (2.0 * z1 + z0) / 3.0
    zm = (z0 - z1) / 3.0
    m = np.full((n, n), zm, dtype=np.complex128)
    np.fill_diagonal(m, zs)
    return m


def _omega(frequency_hz: float) -> float:
    return 2.0 * math.pi * frequency_hz


def _from_line_impedance(
    imp: LineImpedance, n_phases: int, frequency_hz: float, *, kron: bool
) -> PhaseImpedance:
    f0 = imp.frequency_hz if imp.frequency_hz is not None else frequency_hz
    x_scale = frequency_hz / f0
    omega = _omega(frequency_hz)
    if imp.r_matrix_ohm_per_km is not None and imp.x_matrix_ohm_per_km is not None:
        r = np.asarray(imp.r_matrix_ohm_per_km, dtype=np.float64)
        x = np.asarray(imp.x_matrix_ohm_per_km, dtype=np.float64)
        z = np.asarray(r + 1j * x * x_scale, dtype=np.complex128)
        if imp.c_matrix_nf_per_km is not None:
            c = np.asarray(imp.c_matrix_nf_per_km, dtype=np.float64)
        else:
            c = np.zeros_like(r)
    else:
        assert imp.r1_ohm_per_km is not None and imp.x1_ohm_per_km is not None
        r1, x1 = imp.r1_ohm_per_km, imp.x1_ohm_per_km
        r0 = imp.r0_ohm_per_km if imp.r0_ohm_per_km is not None else r1
        x0 = imp.x0_ohm_per_km if imp.x0_ohm_per_km is not None else x1
        c1 = imp.c1_nf_per_km if imp.c1_nf_per_km is not None else 0.0
        c0 = imp.c0_nf_per_km if imp.c0_nf_per_km is not None else c1
        if n_phases == 1:  # OpenDSS: a single-phase line is its positive sequence alone
            r0, x0, c0 = r1, x1, c1
        z = sequence_to_phase(complex(r1, x1 * x_scale), complex(r0, x0 * x_scale), n_phases)
        c = sequence_to_phase(complex(c1), complex(c0), n_phases).real
    y = np.asarray(1j * omega * c * 1e-9, dtype=np.complex128)
    if kron and z.shape[0] > 1:
        n_keep = z.shape[0] - 1
        z = kron_reduce(z, n_keep)
        y = kron_reduce(y, n_keep) if np.any(y[n_keep:, n_keep:]) else y[:n_keep, :n_keep]
    return PhaseImpedance(z_ohm_per_km=z, y_shunt_s_per_km=y)


def _conductor_kind(data: WireData | CNData | TSData) -> ConductorKind:
    if isinstance(data, CNData):
        return "cn"
    if isinstance(data, TSData):
        return "ts"
    return "wire"


def _conductors(network: Network) -> dict[str, WireData | CNData | TSData]:
    found: dict[str, WireData | CNData | TSData] = {}
    for w in network.wire_data:
        found[w.name] = w
    for cn in network.cn_data:
        found[cn.name] = cn
    for ts in network.ts_data:
        found[ts.name] = ts
    return found


def _from_geometry(
    network: Network, line: ACLineSegment, geometry: LineGeometry
) -> PhaseImpedance:
    spacings: Mapping[str, LineSpacing] = {s.name: s for s in network.line_spacings}
    lc = geometry_impedance(
        geometry,
        _conductors(network),
        frequency_hz=network.base_frequency_hz,
        earth_resistivity_ohm_m=line.earth_resistivity_ohm_m,
        earth_model=EarthModel(network.settings.earth_model.lower()),
        spacings=spacings,
    )
    return PhaseImpedance(z_ohm_per_km=lc.z_ohm_per_km, y_shunt_s_per_km=lc.y_siemens_per_km)


def line_phase_impedance(network: Network, line: ACLineSegment) -> PhaseImpedance:
    """Per-length series impedance and shunt admittance matrices of a line.

    Parameters
    ----------
    network
        The network the line belongs to: its line codes, geometries, spacings and
        conductor data, its frequency and earth model are used.
    line
        The line.

    Returns
    -------
    PhaseImpedance
        Series ``Z`` [Ω/km] and shunt ``Y`` [S/km], one row per phase conductor.

    Raises
    ------
    KeyError
        The line names a code, geometry, spacing or wire the network does not have.

    Examples
    --------
    See the module docstring.
    """
    f = network.base_frequency_hz
    source = line.impedance_source
    if source == "line_code":
        codes = network.by_name("line_codes")
        if line.line_code not in codes:
            raise KeyError(f"line {line.name!r}: no line code {line.line_code!r}")
        code = codes[line.line_code]
        return _from_line_impedance(code.impedance, line.phases, f, kron=code.kron_reduce)
    if source == "geometry":
        geometries = network.by_name("line_geometries")
        if line.geometry not in geometries:
            raise KeyError(f"line {line.name!r}: no line geometry {line.geometry!r}")
        return _from_geometry(network, line, geometries[line.geometry])
    if source == "spacing":
        spacings = network.by_name("line_spacings")
        if line.spacing not in spacings:
            raise KeyError(f"line {line.name!r}: no line spacing {line.spacing!r}")
        conductors = _conductors(network)
        wires = list(line.wires or [])
        missing = [w for w in wires if w not in conductors]
        if missing:
            raise KeyError(f"line {line.name!r}: no conductor data {missing[0]!r}")
        geometry = LineGeometry.from_spacing(
            spacings[line.spacing],
            conductors=wires,
            conductor_kinds=[_conductor_kind(conductors[w]) for w in wires],
            name=f"{line.name}_spacing",
        )
        return _from_geometry(network, line, geometry)
    assert line.impedance is not None
    return _from_line_impedance(line.impedance, line.phases, f, kron=False)
