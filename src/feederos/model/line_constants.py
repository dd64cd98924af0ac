"""Line constants: series impedance and shunt admittance matrices from conductor geometry.

The functions reproduce OpenDSS's ``LineConstants``, ``CNLineConstants`` and
``TSLineConstants`` (OpenDSS / DSS C-API 0.14) to floating-point accuracy, including
their numerical constants (``mu0 = 12.56637e-7`` H/m, ``e0 = 8.854e-12`` F/m,
``2π = 6.283185307``), so that matrices agree with OpenDSS to about 1e-12 relative.

Series impedance of conductor ``i`` with ``j`` (per metre; ``ω = 2πf``)::

    z_ii = Zint_i + j ω μ0/2π · ln(1/GMR_i) + Ze_ii
    z_ij =          j ω μ0/2π · ln(1/D_ij) + Ze_ij

where ``Zint`` is the conductor's internal impedance and ``Ze`` the earth-return
impedance of the chosen :class:`EarthModel`. Between 40 Hz and 1 kHz the published
GMR is used and only the real part of ``Zint`` is kept; outside that band the radius
and the full ``Zint`` are used. Non-phase conductors (and the neutral strands or tape
shields of cables) are then eliminated by Kron reduction.

Shunt capacitance of overhead wires comes from Maxwell's potential coefficients with
images in a perfectly conducting earth; that of a shielded cable (CN or TS) is the
coaxial capacitance between phase conductor and shield, one value per phase cable.

Nomenclature: ``x_m`` horizontal position, ``h_m`` height (negative when buried),
``gmr_m`` geometric mean radius, ``rho`` earth resistivity [Ω·m], ``f`` frequency [Hz].

References
----------
.. [1] W. H. Kersting, *Distribution System Modeling and Analysis*, 4th ed., CRC
   Press, 2017, ch. 4 (series impedance, Carson's equations, CN and TS cables) and
   ch. 5 (shunt admittance).
.. [2] A. Deri, G. Tevan, A. Semlyen, A. Castanheira, "The complex ground return
   plane: a simplified model for homogeneous and multi-layer earth return," IEEE
   Trans. PAS-100(8), 1981, pp. 3686-3693.
.. [3] N. Tleis, *Power Systems Modelling and Fault Analysis*, Newnes, 2008, ch. 3
   (Carson's series, used by the ``fullcarson`` model).
.. [4] EPRI OpenDSS / DSS-Extensions DSS C-API, ``LineConstants.pas``,
   ``CNLineConstants.pas``, ``TSLineConstants.pas``: the definition matched here.

Examples
--------
Kersting's example 4.1 (336,400 26/7 ACSR phases, 4/0 6/1 ACSR neutral, spacing
ID 500, modified Carson's equations):

>>> from feederos.model.conductors import LineGeometry, WireData
>>> wires = {
...     "336": WireData(name="336", r_ac_ohm_per_km=0.306 / 1.609344,
...                     gmr_m=0.0244 * 0.3048, radius_m=0.721 / 2 * 0.0254,
...                     ampacity_normal_a=530.0),
...     "4/0": WireData(name="4/0", r_ac_ohm_per_km=0.592 / 1.609344,
...                     gmr_m=0.00814 * 0.3048, radius_m=0.563 / 2 * 0.0254),
... }
>>> ft = 0.3048
>>> g = LineGeometry(name="500", n_conductors=4, n_phases=3,
...                  x_m=[-4 * ft, -1.5 * ft, 3 * ft, 0.0], h_m=[28 * ft] * 3 + [24 * ft],
...                  conductors=["336", "336", "336", "4/0"],
...                  conductor_kinds=["wire"] * 4)
>>> lc = geometry_impedance(g, wires, frequency_hz=60.0, earth_model=EarthModel.CARSON)
>>> z_aa_per_mile = complex(lc.z_ohm_per_km[0, 0]) * 1.609344
>>> round(z_aa_per_mile.real, 4), round(z_aa_per_mile.imag, 4)  # Kersting: 0.4576+j1.0780
(0.4575, 1.078)
>>> round(float(lc.c_nf_per_km[0, 0]) * 1.609344, 2)  # nF/mile
15.07
>>> lc.ampacity_normal_a, lc.ampacity_emergency_a
(530.0, 795.0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

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

__all__ = [
    "E0_F_PER_M",
    "MU0_H_PER_M",
    "TWO_PI",
    "EarthModel",
    "LineConstants",
    "cable_capacitance_nf_per_km",
    "cable_primitive_impedance",
    "concentric_neutral_equivalent",
    "earth_return_impedance",
    "geometry_impedance",
    "internal_impedance",
    "kron_reduce",
    "overhead_capacitance_nf_per_km",
    "primitive_impedance",
    "tape_shield_equivalent",
]

MU0_H_PER_M = 12.56637e-7
"""Permeability of free space as OpenDSS rounds it [H/m]."""
E0_F_PER_M = 8.854e-12
"""Permittivity of free space as OpenDSS rounds it [F/m]."""
TWO_PI = 6.283185307
"""2π as OpenDSS rounds it (used for ω = 2πf and the ln factors) [-]."""
RHO_TAPE_OHM_M = 2.3718e-8
"""Resistivity of the copper tape of TS cables, as in OpenDSS [Ω·m]."""
_M_PER_KM = 1000.0
_POWER_FREQUENCY_BAND_HZ = (40.0, 1000.0)  # open interval where the GMR is used

FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]


class EarthModel(StrEnum):
    """Earth-return model, as OpenDSS's ``Set EarthModel=`` (default ``Deri``).

    ``carson`` is Kersting's simplified (modified) Carson; ``fullcarson`` the Carson
    series with its correction terms [3]_; ``deri`` the complex-depth model of Deri et
    al. [2]_, for which OpenDSS also computes the conductor's internal impedance from
    its DC resistance with Bessel functions (skin effect).
    """

    CARSON = "carson"
    FULL_CARSON = "fullcarson"
    DERI = "deri"


@dataclass(frozen=True)
class LineConstants:
    """Per-length matrices of a line, phases first (after Kron reduction if any).

    Attributes
    ----------
    z_ohm_per_km
        Series impedance matrix, complex, n×n [Ω/km].
    y_siemens_per_km
        Shunt admittance matrix ``jωC``, complex, n×n [S/km].
    frequency_hz
        Frequency the matrices were computed at [Hz].
    ampacity_normal_a
        Normal rating of the line [A].
    ampacity_emergency_a
        Emergency rating of the line [A].
    """

    z_ohm_per_km: ComplexArray
    y_siemens_per_km: ComplexArray
    frequency_hz: float
    ampacity_normal_a: float
    ampacity_emergency_a: float

    @property
    def c_nf_per_km(self) -> FloatArray:
        """Shunt capacitance matrix ``Im(Y) / ω`` [nF/km]."""
        omega = TWO_PI * self.frequency_hz
        return np.asarray(self.y_siemens_per_km.imag / omega * 1e9, dtype=np.float64)

    @property
    def r_ohm_per_km(self) -> FloatArray:
        """Resistance matrix ``Re(Z)`` [Ω/km]."""
        return np.asarray(self.z_ohm_per_km.real, dtype=np.float64)

    @property
    def x_ohm_per_km(self) -> FloatArray:
        """Reactance matrix ``Im(Z)`` [Ω/km]."""
        return np.asarray(self.z_ohm_per_km.imag, dtype=np.float64)


# --------------------------------------------------------------------------- helpers


def _omega(frequency_hz: float) -> float:
    return TWO_PI * frequency_hz


def _is_power_frequency(frequency_hz: float) -> bool:
    low, high = _POWER_FREQUENCY_BAND_HZ
    return low < frequency_hz < high


def _as_float(values: Sequence[float] | FloatArray) -> FloatArray:
    return np.asarray(values, dtype=np.float64).reshape(-1)


def _distances(x_m: FloatArray, h_m: FloatArray) -> FloatArray:
    return np.asarray(
        np.hypot(x_m[:, None] - x_m[None, :], h_m[:, None] - h_m[None, :]), dtype=np.float64
    )


def _bessel_i0(a: complex) -> complex:
    """Modified Bessel function I0 of a complex argument, by OpenDSS's series."""
    result = 1.0 + 0j
    z_sq_25 = a * a * 0.25
    term = z_sq_25
    result += z_sq_25
    i = 1
    while True:
        term = z_sq_25 * term
        i += 1
        term = term / (i * i)
        result += term
        if i > 1000 or (term.real**2 + term.imag**2) < 1.0e-20:
            return result


def _bessel_i1(x: complex) -> complex:
    """Modified Bessel function I1 of a complex argument, by OpenDSS's series."""
    term = x / 2
    result = term
    inc_term = term
    i = 4
    while True:
        new_term = x / i
        term = term * (inc_term * new_term)
        result += term
        inc_term = new_term
        i += 2
        if i > 1000 or (term.real**2 + term.imag**2) < 1.0e-20:
            return result


# ------------------------------------------------------------------ impedance parts


def internal_impedance(
    r_ac_ohm_per_km: Sequence[float] | FloatArray,
    r_dc_ohm_per_km: Sequence[float] | FloatArray,
    *,
    frequency_hz: float,
    earth_model: EarthModel = EarthModel.DERI,
) -> ComplexArray:
    """Internal impedance of round conductors, as OpenDSS's ``Zint``.

    For ``carson`` and ``fullcarson`` it is ``R_ac + j ω μ0 / 8π``; for ``deri`` the
    skin-effect formula ``(1+j) · I0(α)/I1(α) · sqrt(R_dc f μ0) / 2`` with
    ``α = (1+j) · sqrt(f μ0 / R_dc)`` (R_dc per metre). At power frequency OpenDSS uses
    only the real part (the internal inductance is in the GMR); that is done by
    :func:`primitive_impedance`, not here.

    Parameters
    ----------
    r_ac_ohm_per_km, r_dc_ohm_per_km
        AC and DC resistance of each conductor [Ω/km].
    frequency_hz
        Frequency [Hz].
    earth_model
        The earth model, which selects the internal-impedance formula.

    Returns
    -------
    numpy.ndarray
        Complex internal impedance of each conductor [Ω/km].

    Examples
    --------
    >>> z = internal_impedance([0.3], [0.3 / 1.02], frequency_hz=60.0,
    ...                        earth_model=EarthModel.CARSON)
    >>> round(float(z[0].real), 6), round(float(z[0].imag), 5)
    (0.3, 0.01885)
    >>> z = internal_impedance([0.3], [0.3 / 1.02], frequency_hz=60.0)
    >>> round(float(z[0].real), 6)  # Deri: R_dc = 0.294118 raised by skin effect
    0.29452
    """
    r_ac = _as_float(r_ac_ohm_per_km) / _M_PER_KM
    r_dc = _as_float(r_dc_ohm_per_km) / _M_PER_KM
    omega = _omega(frequency_hz)
    out = np.empty(r_ac.shape, dtype=np.complex128)
    if earth_model in (EarthModel.CARSON, EarthModel.FULL_CARSON):
        out[:] = r_ac + 1j * omega * MU0_H_PER_M / (8.0 * math.pi)
    else:
        c1_j1 = 1.0 + 1.0j
        for k, rdc in enumerate(r_dc):
            alpha = c1_j1 * math.sqrt(frequency_hz * MU0_H_PER_M / rdc)
            i0_i1 = 1.0 + 0j if abs(alpha) > 35.0 else _bessel_i0(alpha) / _bessel_i1(alpha)
            out[k] = c1_j1 * i0_i1 * (math.sqrt(rdc * frequency_hz * MU0_H_PER_M) / 2.0)
    return np.asarray(out * _M_PER_KM, dtype=np.complex128)


def earth_return_impedance(
    x_m: Sequence[float] | FloatArray,
    h_m: Sequence[float] | FloatArray,
    *,
    frequency_hz: float,
    earth_resistivity_ohm_m: float = 100.0,
    earth_model: EarthModel = EarthModel.DERI,
) -> ComplexArray:
    """Earth-return terms ``Ze_ij`` of the primitive impedance matrix.

    Heights enter as absolute values, so buried cables (negative height) are treated
    as if mirrored above ground, as OpenDSS does.

    Parameters
    ----------
    x_m, h_m
        Horizontal position and height of each conductor [m].
    frequency_hz
        Frequency [Hz].
    earth_resistivity_ohm_m
        Earth resistivity ρ [Ω·m].
    earth_model
        ``carson``: ``ω μ0/8 + j ω μ0/2π · ln(658.5 sqrt(ρ/f))`` for every entry;
        ``fullcarson``: Carson's series in ``m_ij = 2.8099e-3 · D'_ij · sqrt(f/ρ)``
        (``D'_ij`` the distance to the image), plus ``j ω μ0/2π · ln(D'_ij)``;
        ``deri``: ``j ω μ0/2π · ln(sqrt((h_i + h_j + 2p)² + (x_i - x_j)²))`` with the
        complex depth ``p = 1 / sqrt(j ω μ0 / ρ)``.

    Returns
    -------
    numpy.ndarray
        Complex n×n matrix [Ω/km].

    Examples
    --------
    >>> ze = earth_return_impedance([0.0], [10.0], frequency_hz=60.0,
    ...                             earth_model=EarthModel.CARSON)
    >>> round(float(ze[0, 0].real), 6), round(float(ze[0, 0].imag), 6)
    (0.059218, 0.508589)
    """
    x = _as_float(x_m)
    y = np.abs(_as_float(h_m))
    n = x.size
    omega = _omega(frequency_hz)
    rho = earth_resistivity_ohm_m
    ze = np.empty((n, n), dtype=np.complex128)
    if earth_model == EarthModel.CARSON:
        ze[:, :] = complex(
            omega * MU0_H_PER_M / 8.0,
            (omega * MU0_H_PER_M / TWO_PI) * math.log(658.5 * math.sqrt(rho / frequency_hz)),
        )
    elif earth_model == EarthModel.FULL_CARSON:
        b1 = 1.0 / (3.0 * math.sqrt(2.0))
        b2 = 1.0 / 16.0
        b3 = b1 / 3.0 / 5.0
        b4 = b2 / 4.0 / 6.0
        d2 = b2 * math.pi / 4.0
        d4 = b4 * math.pi / 4.0
        c2 = 1.3659315
        c4 = c2 + 1.0 / 4.0 + 1.0 / 6.0
        for i in range(n):
            for j in range(n):
                if i == j:
                    theta = 0.0
                    dij = 2.0 * y[i]
                else:
                    dij = math.sqrt((y[i] + y[j]) ** 2 + (x[i] - x[j]) ** 2)
                    theta = math.acos((y[i] + y[j]) / dij)
                m = 2.8099e-3 * dij * math.sqrt(frequency_hz / rho)
                re = (
                    math.pi / 8.0
                    - b1 * m * math.cos(theta)
                    + b2
                    * m**2
                    * (
                        math.log(math.exp(c2) / m) * math.cos(2.0 * theta)
                        + theta * math.sin(2.0 * theta)
                    )
                    + b3 * m**3 * math.cos(3.0 * theta)
                    - d4 * m**4 * math.cos(4.0 * theta)
                )
                im = (
                    0.5 * math.log(1.85138 / m)
                    + b1 * m * math.cos(theta)
                    - d2 * m**2 * math.cos(2.0 * theta)
                    + b3 * m**3 * math.cos(3.0 * theta)
                    - b4
                    * m**4
                    * (
                        math.log(math.exp(c4) / m) * math.cos(4.0 * theta)
                        + theta * math.sin(4.0 * theta)
                    )
                )
                im += 0.5 * math.log(dij)  # puts the ln(D') of Carson into OpenDSS's form
                ze[i, j] = complex(re, im) * (omega * MU0_H_PER_M / math.pi)
    else:
        p = 1.0 / np.sqrt(1j * omega * MU0_H_PER_M / rho)  # complex depth [m]
        factor = 1j * omega * MU0_H_PER_M / TWO_PI
        hterm = y[:, None] + y[None, :] + 2.0 * p
        xterm = x[:, None] - x[None, :]
        ze = factor * np.log(np.sqrt(hterm * hterm + xterm * xterm))
        ze[np.diag_indices(n)] = factor * np.log((y + p) * 2.0)
    return np.asarray(ze * _M_PER_KM, dtype=np.complex128)


def primitive_impedance(
    x_m: Sequence[float] | FloatArray,
    h_m: Sequence[float] | FloatArray,
    gmr_m: Sequence[float] | FloatArray,
    radius_m: Sequence[float] | FloatArray,
    r_ac_ohm_per_km: Sequence[float] | FloatArray,
    r_dc_ohm_per_km: Sequence[float] | FloatArray,
    *,
    frequency_hz: float,
    earth_resistivity_ohm_m: float = 100.0,
    earth_model: EarthModel = EarthModel.DERI,
) -> ComplexArray:
    """Primitive series impedance matrix of n bare conductors (before Kron reduction).

    Parameters
    ----------
    x_m, h_m
        Horizontal position and height of each conductor [m].
    gmr_m, radius_m
        GMR (used between 40 Hz and 1 kHz) and radius (used otherwise) [m].
    r_ac_ohm_per_km, r_dc_ohm_per_km
        AC resistance (Carson models) and DC resistance (Deri model) [Ω/km].
    frequency_hz
        Frequency [Hz].
    earth_resistivity_ohm_m
        Earth resistivity [Ω·m].
    earth_model
        Earth-return model.

    Returns
    -------
    numpy.ndarray
        Complex n×n matrix [Ω/km].

    Examples
    --------
    >>> z = primitive_impedance([0.0, 1.0], [10.0, 10.0], [0.005, 0.005],
    ...                         [0.0064, 0.0064], [0.3, 0.3], [0.29, 0.29],
    ...                         frequency_hz=60.0, earth_model=EarthModel.CARSON)
    >>> z.shape, bool(np.allclose(z, z.T))
    ((2, 2), True)
    """
    x = _as_float(x_m)
    h = _as_float(h_m)
    omega = _omega(frequency_hz)
    l_factor = 1j * omega * MU0_H_PER_M / TWO_PI * _M_PER_KM
    zint = internal_impedance(
        r_ac_ohm_per_km, r_dc_ohm_per_km, frequency_hz=frequency_hz, earth_model=earth_model
    )
    if _is_power_frequency(frequency_hz):
        zint = zint.real.astype(np.complex128)
        self_radius = _as_float(gmr_m)
    else:
        self_radius = _as_float(radius_m)
    z = earth_return_impedance(
        x,
        h,
        frequency_hz=frequency_hz,
        earth_resistivity_ohm_m=earth_resistivity_ohm_m,
        earth_model=earth_model,
    )
    d = _distances(x, h)
    np.fill_diagonal(d, self_radius)
    z = z + l_factor * np.log(1.0 / d)
    z[np.diag_indices(x.size)] += zint
    return np.asarray(z, dtype=np.complex128)


def concentric_neutral_equivalent(
    k_strands: int,
    strand_diameter_m: float,
    strand_gmr_m: float,
    strand_r_ohm_per_km: float,
    diameter_cable_m: float,
) -> tuple[float, float, float]:
    """Equivalent conductor of the k neutral strands of a CN cable (Kersting §4.3).

    Returns
    -------
    r_ohm_per_km : float
        Resistance of the strands in parallel, ``r_strand / k`` [Ω/km].
    gmr_m : float
        ``(GMR_s · k · R^(k-1))^(1/k)`` with ``R = (d_cable - d_strand) / 2`` [m].
    radius_m : float
        ``R``, the radius of the circle through the strand centres [m].

    Examples
    --------
    >>> r, gmr, rad = concentric_neutral_equivalent(13, 0.0016256, 0.00063094, 1.8455,
    ...                                              0.029464)
    >>> round(r, 5), round(gmr, 6), round(rad, 6)
    (0.14196, 0.013364, 0.013919)
    """
    k = k_strands
    radius = 0.5 * (diameter_cable_m - strand_diameter_m)
    gmr = (strand_gmr_m * k * radius ** (k - 1.0)) ** (1.0 / k)
    return strand_r_ohm_per_km / k, gmr, radius


def tape_shield_equivalent(
    diameter_shield_m: float, tape_layer_m: float, tape_lap_pct: float
) -> tuple[float, float]:
    """Equivalent conductor of the copper tape shield of a TS cable (Kersting §4.4).

    Returns
    -------
    r_ohm_per_km : float
        ``0.3183 · ρ_Cu / (d_s · T · sqrt(50 / (100 - lap)))`` with OpenDSS's
        ``ρ_Cu = 2.3718e-8`` Ω·m [Ω/km].
    gmr_m : float
        ``(d_s - T) / 2``, the radius to the middle of the tape [m].

    Examples
    --------
    >>> r, gmr = tape_shield_equivalent(0.0225044, 0.000127, 20.0)
    >>> round(r, 4), round(gmr, 6)
    (3.3412, 0.011189)
    """
    r = (
        0.3183
        * RHO_TAPE_OHM_M
        / (diameter_shield_m * tape_layer_m * math.sqrt(50.0 / (100.0 - tape_lap_pct)))
    )
    return r * _M_PER_KM, 0.5 * (diameter_shield_m - tape_layer_m)


def cable_primitive_impedance(
    x_m: Sequence[float] | FloatArray,
    h_m: Sequence[float] | FloatArray,
    gmr_m: Sequence[float] | FloatArray,
    radius_m: Sequence[float] | FloatArray,
    r_ac_ohm_per_km: Sequence[float] | FloatArray,
    r_dc_ohm_per_km: Sequence[float] | FloatArray,
    *,
    shield_kind: Literal["cn", "ts"],
    shield_r_ohm_per_km: Sequence[float] | FloatArray,
    shield_gmr_m: Sequence[float] | FloatArray,
    cn_radius_m: Sequence[float] | FloatArray | None = None,
    cn_k_strands: Sequence[int] | None = None,
    frequency_hz: float,
    earth_resistivity_ohm_m: float = 100.0,
    earth_model: EarthModel = EarthModel.DERI,
) -> ComplexArray:
    """Series impedance of n conductors whose first p are shielded cables.

    The primitive matrix has the n conductors followed by the p shields (CN strands
    or tape); the shields are Kron-reduced away, as OpenDSS does, leaving n×n.

    Parameters
    ----------
    x_m, h_m, gmr_m, radius_m, r_ac_ohm_per_km, r_dc_ohm_per_km
        The n conductors (phase cores first, then any bare neutrals), as in
        :func:`primitive_impedance`.
    shield_kind
        ``"cn"`` (concentric neutral) or ``"ts"`` (tape shield).
    shield_r_ohm_per_km, shield_gmr_m
        Resistance and GMR of each of the p shields (see
        :func:`concentric_neutral_equivalent`, :func:`tape_shield_equivalent`).
    cn_radius_m, cn_k_strands
        For CN cables: radius of the strand circle and number of strands; the
        distance from a CN to another conductor at distance D is
        ``(D^k - R^k)^(1/k)`` (Kersting eq. 4.83).
    frequency_hz, earth_resistivity_ohm_m, earth_model
        As in :func:`primitive_impedance`.

    Returns
    -------
    numpy.ndarray
        Complex n×n matrix with the shields eliminated [Ω/km].

    Examples
    --------
    >>> z = cable_primitive_impedance([0.0], [-1.2], [0.0063], [0.0073], [0.25], [0.245],
    ...                               shield_kind="ts", shield_r_ohm_per_km=[3.34],
    ...                               shield_gmr_m=[0.0112], frequency_hz=60.0)
    >>> z.shape
    (1, 1)
    """
    x = _as_float(x_m)
    h = _as_float(h_m)
    n = x.size
    r_sh = _as_float(shield_r_ohm_per_km)
    gmr_sh = _as_float(shield_gmr_m)
    p = r_sh.size
    omega = _omega(frequency_hz)
    l_factor = 1j * omega * MU0_H_PER_M / TWO_PI * _M_PER_KM
    ze = earth_return_impedance(
        x,
        h,
        frequency_hz=frequency_hz,
        earth_resistivity_ohm_m=earth_resistivity_ohm_m,
        earth_model=earth_model,
    )
    d = _distances(x, h)
    big = np.zeros((n + p, n + p), dtype=np.complex128)
    big[:n, :n] = primitive_impedance(
        x,
        h,
        gmr_m,
        radius_m,
        r_ac_ohm_per_km,
        r_dc_ohm_per_km,
        frequency_hz=frequency_hz,
        earth_resistivity_ohm_m=earth_resistivity_ohm_m,
        earth_model=earth_model,
    )
    if shield_kind == "cn":
        if cn_radius_m is None or cn_k_strands is None:
            raise ValueError("CN cables need cn_radius_m and cn_k_strands")
        rad_cn = _as_float(cn_radius_m)
        k_cn = np.asarray(cn_k_strands, dtype=np.float64).reshape(-1)
    for i in range(p):
        a = n + i
        big[a, a] = r_sh[i] + l_factor * math.log(1.0 / gmr_sh[i]) + ze[i, i]
        for j in range(i):  # shield to shield
            big[a, n + j] = big[n + j, a] = l_factor * math.log(1.0 / d[i, j]) + ze[i, j]
        for j in range(n):  # shield to cores and bare neutrals
            if shield_kind == "cn":
                if i == j:
                    dij = float(rad_cn[i])
                else:
                    k = float(k_cn[i])
                    dij = (d[i, j] ** k - rad_cn[i] ** k) ** (1.0 / k)
            else:
                dij = float(gmr_sh[i]) if i == j else float(d[i, j])
            big[a, j] = big[j, a] = l_factor * math.log(1.0 / dij) + ze[i, j]
    return kron_reduce(big, n)


def kron_reduce(z: ComplexArray, n_keep: int) -> ComplexArray:
    """Eliminate the trailing conductors of a primitive matrix (Kron reduction).

    ``Z_kept = Z_aa - Z_an · Z_nn⁻¹ · Z_na`` where ``a`` are the first ``n_keep`` rows
    (Kersting eq. 4.56): the eliminated conductors are grounded at both ends.

    Parameters
    ----------
    z
        Square matrix, complex.
    n_keep
        How many leading rows/columns to keep.

    Returns
    -------
    numpy.ndarray
        The n_keep×n_keep reduced matrix.

    Examples
    --------
    >>> kron_reduce(np.array([[2.0, 1.0], [1.0, 4.0]], dtype=complex), 1)
    array([[1.75+0.j]])
    """
    z = np.asarray(z, dtype=np.complex128)
    if n_keep >= z.shape[0]:
        return z.copy()
    z_aa = z[:n_keep, :n_keep]
    z_an = z[:n_keep, n_keep:]
    z_na = z[n_keep:, :n_keep]
    z_nn = z[n_keep:, n_keep:]
    return np.asarray(z_aa - z_an @ np.linalg.solve(z_nn, z_na), dtype=np.complex128)


# ---------------------------------------------------------------------- capacitance


def overhead_capacitance_nf_per_km(
    x_m: Sequence[float] | FloatArray,
    h_m: Sequence[float] | FloatArray,
    capradius_m: Sequence[float] | FloatArray,
) -> FloatArray:
    """Capacitance matrix of overhead wires from potential coefficients (Kersting §5.1).

    ``P_ii = ln(2 h_i / r_i) / 2πε0``, ``P_ij = ln(S_ij / D_ij) / 2πε0`` (``S_ij`` the
    distance to the image of j), ``C = P⁻¹``. Taking the leading block of ``C`` is the
    same as Kron-reducing ``P`` (grounded neutrals).

    Parameters
    ----------
    x_m, h_m
        Horizontal position and height (> 0) of each wire [m].
    capradius_m
        Radius of each wire for capacitance [m].

    Returns
    -------
    numpy.ndarray
        Full n×n capacitance matrix [nF/km].

    Examples
    --------
    >>> c = overhead_capacitance_nf_per_km([0.0], [10.0], [0.01])
    >>> round(float(c[0, 0]), 3)
    7.319
    """
    x = _as_float(x_m)
    h = _as_float(h_m)
    r = _as_float(capradius_m)
    d = _distances(x, h)
    s = np.hypot(x[:, None] - x[None, :], h[:, None] + h[None, :])
    np.fill_diagonal(d, 1.0)
    ratio = s / d
    np.fill_diagonal(ratio, 2.0 * h / r)
    p = np.log(ratio) / (TWO_PI * E0_F_PER_M)  # [m/F]
    c = np.linalg.inv(p)  # [F/m]
    return np.asarray(c * _M_PER_KM * 1e9, dtype=np.float64)


def cable_capacitance_nf_per_km(
    eps_r: Sequence[float] | FloatArray,
    insulation_layer_m: Sequence[float] | FloatArray,
    diameter_insulation_m: Sequence[float] | FloatArray,
) -> FloatArray:
    """Phase-to-shield capacitance of CN or TS cables, as OpenDSS computes it.

    ``C = 2π ε0 ε_r / ln(R_out / R_in)`` with ``R_out = d_ins / 2`` and
    ``R_in = R_out - t_ins``: the coaxial capacitance across the insulation
    (OpenDSS's model with semiconducting layers; Kersting eq. 5.30 uses the strand
    circle instead).

    Parameters
    ----------
    eps_r
        Relative permittivity of the insulation of each cable [-].
    insulation_layer_m
        Insulation thickness [m].
    diameter_insulation_m
        Diameter over the insulation [m].

    Returns
    -------
    numpy.ndarray
        Capacitance of each cable [nF/km].

    Examples
    --------
    >>> c = cable_capacitance_nf_per_km([2.3], [0.005588], [0.026924])
    >>> round(float(c[0]), 3)
    238.581
    """
    eps = _as_float(eps_r)
    r_out = 0.5 * _as_float(diameter_insulation_m)
    r_in = r_out - _as_float(insulation_layer_m)
    c = TWO_PI * E0_F_PER_M * eps / np.log(r_out / r_in)  # [F/m]
    return np.asarray(c * _M_PER_KM * 1e9, dtype=np.float64)


# --------------------------------------------------------------------- main entry


def _positions(
    geometry: LineGeometry, spacings: Mapping[str, LineSpacing] | None
) -> tuple[FloatArray, FloatArray]:
    if geometry.x_m is not None and geometry.h_m is not None:
        return _as_float(geometry.x_m), _as_float(geometry.h_m)
    name = geometry.spacing
    if name is None or spacings is None or name not in spacings:
        raise KeyError(f"LineGeometry {geometry.name!r}: spacing {name!r} not given")
    spacing = spacings[name]
    if spacing.n_conductors != geometry.n_conductors:
        raise ValueError(
            f"LineGeometry {geometry.name!r}: spacing {name!r} has "
            f"{spacing.n_conductors} conductors, geometry {geometry.n_conductors}"
        )
    return _as_float(spacing.x_m), _as_float(spacing.h_m)


_KIND_TYPES: dict[ConductorKind, type[WireData]] = {
    "wire": WireData,
    "cn": CNData,
    "ts": TSData,
}


def _lookup(
    geometry: LineGeometry, wires: Mapping[str, WireData | CNData | TSData]
) -> list[WireData]:
    found: list[WireData] = []
    for pos, (name, kind) in enumerate(
        zip(geometry.conductors, geometry.conductor_kinds, strict=True), start=1
    ):
        if name not in wires:
            raise KeyError(f"LineGeometry {geometry.name!r}: conductor {name!r} not given")
        data = wires[name]
        expected = _KIND_TYPES[kind]
        is_cable = isinstance(data, CNData | TSData)
        if not isinstance(data, expected) or (kind == "wire" and is_cable):
            raise ValueError(
                f"LineGeometry {geometry.name!r}: conductor {pos} ({name!r}) is a "
                f"{type(data).__name__}, not kind {kind!r}"
            )
        found.append(data)
    return found


def _check_overlap(
    geometry: LineGeometry, x: FloatArray, h: FloatArray, outer_radius: FloatArray
) -> None:
    d = _distances(x, h)
    n = x.size
    for i in range(n):
        for j in range(i + 1, n):
            if d[i, j] < outer_radius[i] + outer_radius[j]:
                raise ValueError(
                    f"LineGeometry {geometry.name!r}: conductors {i + 1} and {j + 1} "
                    "occupy the same space"
                )


def geometry_impedance(
    geometry: LineGeometry,
    wires: Mapping[str, WireData | CNData | TSData],
    *,
    frequency_hz: float,
    earth_resistivity_ohm_m: float = 100.0,
    earth_model: EarthModel = EarthModel.DERI,
    spacings: Mapping[str, LineSpacing] | None = None,
) -> LineConstants:
    """Series impedance and shunt admittance matrices of a line geometry.

    Reproduces what OpenDSS computes for a ``Line`` with ``geometry=`` (or with
    ``spacing=`` and ``wires=``/``CNCables=``/``TSCables=``): the primitive matrix of
    all conductors (plus the shields of CN/TS cables, always eliminated) and, when
    ``geometry.reduce`` is true, Kron reduction to the phase conductors.

    Parameters
    ----------
    geometry
        Conductor positions and which conductor is where, phases first.
    wires
        The conductor data by name (WireData, CNData or TSData).
    frequency_hz
        Frequency [Hz].
    earth_resistivity_ohm_m
        Earth resistivity ρ [Ω·m] (OpenDSS default 100).
    earth_model
        Earth-return model (OpenDSS default Deri).
    spacings
        LineSpacings by name, needed when ``geometry.spacing`` is used.

    Returns
    -------
    LineConstants
        Per-km matrices of the phases (or of all conductors when not reduced) and the
        ratings (the geometry's, else its first conductor's).

    Raises
    ------
    KeyError
        A conductor or spacing named by the geometry is missing.
    ValueError
        Inconsistent data: wrong conductor kind, mixed CN and TS cables, a bare wire at
        a phase position of a cable geometry, a wire at or below ground, or
        overlapping conductors.

    Examples
    --------
    See the module docstring.
    """
    x, h = _positions(geometry, spacings)
    data = _lookup(geometry, wires)
    n = geometry.n_conductors
    n_ph = geometry.n_phases
    kinds = set(geometry.conductor_kinds[:n_ph])
    cable_kinds = kinds & {"cn", "ts"}
    if len(cable_kinds) > 1:
        raise ValueError(f"LineGeometry {geometry.name!r} mixes CN and TS cables")
    cable: Literal["cn", "ts"] | None = None
    if cable_kinds:
        cable = "cn" if "cn" in cable_kinds else "ts"
        if kinds != {cable}:
            raise ValueError(
                f"LineGeometry {geometry.name!r}: all phase positions must be {cable} cables"
            )

    gmr = _as_float([w.gmr_m for w in data])
    radius = _as_float([w.radius_m for w in data])
    r_ac = _as_float([w.r_ac_ohm_per_km for w in data])
    r_dc = _as_float([w.r_dc_effective_ohm_per_km for w in data])

    if cable is None:
        if np.any(h <= 0.0):
            raise ValueError(f"LineGeometry {geometry.name!r}: wire heights must be > 0")
        _check_overlap(geometry, x, h, radius)
        z = primitive_impedance(
            x,
            h,
            gmr,
            radius,
            r_ac,
            r_dc,
            frequency_hz=frequency_hz,
            earth_resistivity_ohm_m=earth_resistivity_ohm_m,
            earth_model=earth_model,
        )
        capradius = _as_float([w.capradius_effective_m for w in data])
        c_nf = overhead_capacitance_nf_per_km(x, h, capradius)
    else:
        outer = radius.copy()
        for i, w in enumerate(data):
            if i >= n_ph and isinstance(w, CNData | TSData):
                outer[i] = 0.5 * w.diameter_cable_m
        _check_overlap(geometry, x, h, outer)
        phases = data[:n_ph]
        if cable == "cn":
            cns = [w for w in phases if isinstance(w, CNData)]
            eq = [
                concentric_neutral_equivalent(
                    w.k_strands,
                    w.strand_diameter_m,
                    w.strand_gmr_effective_m,
                    w.strand_r_ohm_per_km,
                    w.diameter_cable_m,
                )
                for w in cns
            ]
            z = cable_primitive_impedance(
                x,
                h,
                gmr,
                radius,
                r_ac,
                r_dc,
                shield_kind="cn",
                shield_r_ohm_per_km=[e[0] for e in eq],
                shield_gmr_m=[e[1] for e in eq],
                cn_radius_m=[e[2] for e in eq],
                cn_k_strands=[w.k_strands for w in cns],
                frequency_hz=frequency_hz,
                earth_resistivity_ohm_m=earth_resistivity_ohm_m,
                earth_model=earth_model,
            )
        else:
            tss = [w for w in phases if isinstance(w, TSData)]
            eq2 = [
                tape_shield_equivalent(w.diameter_shield_m, w.tape_layer_m, w.tape_lap_pct)
                for w in tss
            ]
            z = cable_primitive_impedance(
                x,
                h,
                gmr,
                radius,
                r_ac,
                r_dc,
                shield_kind="ts",
                shield_r_ohm_per_km=[e[0] for e in eq2],
                shield_gmr_m=[e[1] for e in eq2],
                frequency_hz=frequency_hz,
                earth_resistivity_ohm_m=earth_resistivity_ohm_m,
                earth_model=earth_model,
            )
        cables = [w for w in phases if isinstance(w, CNData | TSData)]
        c_nf = np.zeros((n, n), dtype=np.float64)
        c_nf[np.diag_indices(n_ph)] = cable_capacitance_nf_per_km(
            [w.eps_r for w in cables],
            [w.insulation_layer_m for w in cables],
            [w.diameter_insulation_m for w in cables],
        )

    if geometry.reduce and n > n_ph:
        z = kron_reduce(z, n_ph)
        c_nf = c_nf[:n_ph, :n_ph]
    y = 1j * _omega(frequency_hz) * c_nf * 1e-9

    first = data[0]
    normal = geometry.ampacity_normal_a
    if not normal:
        normal = first.ampacity_normal_a
    emergency = geometry.ampacity_emergency_a
    if not emergency:
        emergency = first.ampacity_emergency_effective_a
    return LineConstants(
        z_ohm_per_km=np.asarray(z, dtype=np.complex128),
        y_siemens_per_km=np.asarray(y, dtype=np.complex128),
        frequency_hz=frequency_hz,
        ampacity_normal_a=float(normal),
        ampacity_emergency_a=float(emergency),
    )
