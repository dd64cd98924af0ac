"""Loads as voltage-dependent current injections, computed as OpenDSS's ``Load`` does.

A load of ``p`` phases draws one current per phase, through the voltage *across* that
phase: phase conductor to neutral conductor for wye, phase conductor to the next
conductor for delta (OpenDSS ``Load.pas`` ``CalcVTerminalPhase``). Every load model is
written here in one form, an admittance that depends on the magnitude of that voltage,

    I_ph = y(|V_ph|) · V_ph,

because a constant power ``S`` draws ``conj(S / V) = conj(S) V / |V|²`` and a constant
current magnitude draws ``conj(S) V / (V_base |V|)``. Besides the nominal behaviour of each
model OpenDSS has four voltage bands, per phase, with ``V_base`` the rated voltage across
a phase (line-to-neutral for 2- and 3-phase wye, the rated kV for 1-phase wye and for
delta):

========================  ====================================================
``|V| <= vlowpu·V_base``  constant impedance ``Yeq`` (rated power at rated V)
``|V| <= vminpu·V_base``  a straight line in current from the lower band to the
                          model's current at ``vminpu`` ("Yeq95"); models 6 and 7:
                          the impedance at ``vminpu`` (P) and the fixed Q's
``|V| >  vmaxpu·V_base``  constant impedance at ``vmaxpu`` ("Yeq105")
otherwise                 the model itself
========================  ====================================================

Model 2 (constant impedance) ignores the bands, and the ZIP model multiplies its current
by a steep logistic cut-off around its seventh coefficient. The currents are the ones
OpenDSS reports as the load's terminal currents in a power-flow solution, so the
converged voltages of a solver that uses them match OpenDSS's.

Examples
--------
>>> import numpy as np
>>> from feederos.model import Connection, EnergyConsumer, Network, Terminal
>>> from feederos.powerflow.nodes import node_index
>>> net = Network(name="n", buses=[{"name": "b", "v_base_kv": 0.4}],
...               loads=[EnergyConsumer(name="l", terminal=Terminal(bus="b", nodes=(1,)),
...                                     phases=1, v_kv=0.23, p_kw=2.3, q_kvar=0.0)])
>>> (loads,) = load_injections(net, node_index(net))
>>> loads.conductors.tolist()  # the phase and the (grounded) neutral
[[0, -1]]
>>> loads.currents(np.array([[230.0 + 0j, 0j]])).round(6).tolist()  # 2.3 kW at 230 V
[[(10+0j), (-10+0j)]]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from numba import njit

from feederos.model import Connection, EnergyConsumer, Network
from feederos.model.loads import LoadModel, LoadStatus
from feederos.model.settings import SolveMode
from feederos.powerflow.injections.base import InjectionSet
from feederos.powerflow.nodes import NodeIndex
from feederos.powerflow.primitives.block import PrimitiveBlock

__all__ = [
    "V_LOW_PU",
    "LoadArrays",
    "LoadSet",
    "add_load_compensation",
    "load_injections",
    "load_phase_incidence",
    "magnitude",
    "pack_loads",
    "scale_loads",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]

V_LOW_PU = 0.5
"""OpenDSS's default ``Vlowpu``: below it every load model is its nominal impedance [pu]."""

_OPEN_NEUTRAL_FACTOR = 1.000001
"""OpenDSS scales a wye load's neutral diagonal by this when ``Rneut`` is open (default)."""

# The model codes as plain ints, which the kernels compile as constants.
_PQ, _Z, _PQ2 = int(LoadModel.CONSTANT_PQ), int(LoadModel.CONSTANT_Z), int(
    LoadModel.CONSTANT_P_QUADRATIC_Q)
_CVR, _I = int(LoadModel.EXPONENTIAL), int(LoadModel.CONSTANT_I)
_FIXED_Q, _FIXED_ZQ = int(LoadModel.CONSTANT_P_FIXED_Q), int(LoadModel.CONSTANT_P_FIXED_Z_Q)

_CUTOFF_STEEPNESS = 500.0
"""Slope of OpenDSS's ZIP low-voltage cut-off (``vx = 500 (|V|/V_base - cutoff)``) [1/pu]."""


def load_phase_incidence(n_phases: int, connection: Connection) -> FloatArray:
    """Map from a load's conductor voltages to its phase voltages, shape ``(p, k)``.

    Row ``i`` is ``+1`` at conductor ``i`` and ``-1`` at the conductor the phase returns
    on: the neutral (the last conductor) for wye; the next conductor, wrapping around,
    for delta. A 1- or 2-phase delta load has ``p + 1`` conductors (line-to-line and
    open delta), a 3-phase one 3, a wye load ``p + 1`` (OpenDSS ``Load.pas``
    ``SetNcondsForConnection``). The phase currents ``I_ph`` give the currents into the
    conductors as ``I_ph @ C``.

    Examples
    --------
    >>> load_phase_incidence(3, Connection.DELTA).astype(int).tolist()
    [[1, -1, 0], [0, 1, -1], [-1, 0, 1]]
    >>> load_phase_incidence(2, Connection.WYE).astype(int).tolist()
    [[1, 0, -1], [0, 1, -1]]
    """
    k = n_phases + 1 if connection is Connection.WYE or n_phases < 3 else n_phases
    c = np.zeros((n_phases, k))
    for i in range(n_phases):
        c[i, i] = 1.0
        c[i, k - 1 if connection is Connection.WYE else (i + 1) % k] = -1.0
    return c


@dataclass(frozen=True, eq=False)
class LoadSet:
    """``m`` loads of one connection and phase count, as arrays.

    Powers are per phase, at rated voltage. ``mult`` is the multiplier OpenDSS applies
    to them in the present solution (``loadmult`` × growth × shape); a time-series
    driver replaces it step by step (``dataclasses.replace``).

    Attributes
    ----------
    names
        Load names, length ``m``.
    conductors
        Node index per conductor, ``(m, k)``; ``-1`` is ground.
    connection, n_phases
        Shared by all ``m`` loads.
    model
        OpenDSS load model code per load (:class:`~feederos.model.loads.LoadModel`).
    v_base_v
        Rated voltage across one phase [V].
    p_w, q_var
        Rated active and reactive power per phase, before multipliers [W], [var].
    mult
        Multiplier of ``p_w`` and ``q_var`` in this solution (models 6 and 7 keep
        their fixed reactive part at ``q_var`` unscaled, as OpenDSS does).
    v_low_pu, v_min_pu, v_max_pu
        Voltage band limits [pu of ``v_base_v``].
    cvr_watts, cvr_vars
        Exponents of P and Q for model 4.
    zip
        ZIP coefficients ``(m, 7)`` for model 8 (Z, I, P of P; Z, I, P of Q; cut-off
        [pu]); zeros for other models.
    kind
        ``"loads"``.
    """

    names: tuple[str, ...]
    conductors: IntArray
    connection: Connection
    n_phases: int
    model: IntArray
    v_base_v: FloatArray
    p_w: FloatArray
    q_var: FloatArray
    mult: FloatArray
    v_low_pu: FloatArray
    v_min_pu: FloatArray
    v_max_pu: FloatArray
    cvr_watts: FloatArray
    cvr_vars: FloatArray
    zip: FloatArray
    kind: str = "loads"

    def __post_init__(self) -> None:
        m = len(self.names)
        k = self.incidence.shape[1]
        per_load = (self.model, self.v_base_v, self.p_w, self.q_var, self.mult, self.v_low_pu,
                    self.v_min_pu, self.v_max_pu, self.cvr_watts, self.cvr_vars)
        if (self.conductors.shape != (m, k) or any(a.shape != (m,) for a in per_load)
                or self.zip.shape != (m, 7)):
            raise ValueError(f"loads: inconsistent array shapes for {m} loads of {k} conductors")

    @cached_property
    def incidence(self) -> FloatArray:
        """Conductor-to-phase voltage map ``(p, k)`` (:func:`load_phase_incidence`)."""
        return load_phase_incidence(self.n_phases, self.connection)

    @property
    def y_eq_s(self) -> ComplexArray:
        """Admittance per phase that draws the rated power at rated voltage ``(m,)`` [S]."""
        y = (self.p_w - 1j * self.q_var) * self.mult / self.v_base_v**2
        return np.asarray(y, dtype=np.complex128)

    def phase_voltages(self, v_cond: ComplexArray) -> ComplexArray:
        """Voltage across each phase ``(m, p)`` from conductor voltages ``(m, k)`` [V]."""
        return np.asarray(v_cond @ self.incidence.T, dtype=np.complex128)

    def nominal_block(self) -> PrimitiveBlock:
        """OpenDSS's power-flow ``YPrim`` of the loads: ``Yeq`` on every phase.

        A wye load's neutral diagonal is raised by a millionth, as OpenDSS does for its
        default open neutral resistance (OpenDSS ``Load.pas`` ``CalcYPrimMatrix``).
        """
        c = self.incidence
        y = self.y_eq_s[:, None, None] * (c.T @ c)[None, :, :]
        if self.connection is Connection.WYE:
            y[:, -1, -1] *= _OPEN_NEUTRAL_FACTOR
        return PrimitiveBlock(kind=self.kind, names=self.names, conductors=self.conductors,
                              y_s=y.astype(np.complex128), n_terminals=1)

    def phase_admittances(self, v_mag_v: FloatArray) -> tuple[ComplexArray, ComplexArray]:
        """``y(|V|)`` with ``I_ph = y V_ph``, and ``dy/d|V|``, per phase ``(m, p)`` [S], [S/V].

        See the module docstring for the voltage bands; each model follows OpenDSS
        ``Load.pas`` (``DoConstantPQLoad``, ``DoConstantZLoad``, ``DoMotorTypeLoad``,
        ``DoCVRModel``, ``DoConstantILoad``, ``DoFixedQ``, ``DoFixedQZ``,
        ``DoZIPVModel``).
        """
        y, dy = _admittances(self._params, self.zip, np.ascontiguousarray(v_mag_v,
                                                                         dtype=np.float64))
        return y, dy

    def currents(self, v_cond: ComplexArray) -> ComplexArray:
        """Currents into each load at each conductor ``(m, k)`` [A]."""
        out: ComplexArray = _currents(self._params, self.zip, self.incidence,
                                      np.ascontiguousarray(v_cond, dtype=np.complex128))
        return out

    def add_compensation_many(
        self, out: ComplexArray, nominal: PrimitiveBlock, v: ComplexArray,
        p_scale: FloatArray, q_scale: FloatArray,
    ) -> None:
        """Add the compensation currents of many solutions at once (batch solvers).

        For each column ``c`` of the node voltages ``v`` ``(n, K)`` [V], adds into
        ``out`` ``(n, K)`` [A] the current of ``nominal`` (this set's
        :meth:`nominal_block`) minus the loads' true current, with each load's active
        and reactive power scaled by ``p_scale[:, c]`` and ``q_scale[:, c]``
        ``(m, K)`` — what ``dataclasses.replace(self, mult=self.mult·scale)`` draws.
        """
        add_load_compensation(out, pack_loads([self], [nominal]),
                              np.ascontiguousarray(p_scale, dtype=np.float64),
                              np.ascontiguousarray(q_scale, dtype=np.float64), v)

    @cached_property
    def _params(self) -> FloatArray:
        """Per-load constants of the kernels, one row per load (see ``_admittance``)."""
        return np.ascontiguousarray(np.column_stack([
            self.model.astype(np.float64), self.v_base_v, self.p_w * self.mult,
            self.q_var * self.mult, self.q_var, self.v_low_pu, self.v_min_pu, self.v_max_pu,
            self.cvr_watts, self.cvr_vars,
        ]))

    def jacobian(self, v_cond: ComplexArray) -> FloatArray:
        """``∂(Re I, Im I)/∂(Re V, Im V)`` per load ``(m, 2k, 2k)`` [S], analytic.

        With ``I = y(|V|) V`` the Wirtinger derivatives are ``∂I/∂V = y + y'|V|/2`` and
        ``∂I/∂V* = y' V² / (2|V|)``; at a band edge the derivative is the one-sided one
        of the band the voltage is in.
        """
        c = self.incidence
        k = c.shape[1]
        v_ph = self.phase_voltages(v_cond)
        v_mag = np.abs(v_ph)
        y, dy = self.phase_admittances(v_mag)
        safe = np.where(v_mag > 0.0, v_mag, 1.0)
        alpha = y + dy * v_mag / 2.0
        beta = dy * v_ph**2 / (2.0 * safe)
        plus, minus = alpha + beta, alpha - beta
        jac = np.empty((v_cond.shape[0], 2 * k, 2 * k))
        for rows, cols, part in ((slice(None, k), slice(None, k), plus.real),
                                 (slice(None, k), slice(k, None), -minus.imag),
                                 (slice(k, None), slice(None, k), plus.imag),
                                 (slice(k, None), slice(k, None), minus.real)):
            jac[:, rows, cols] = np.einsum("pa,mp,pb->mab", c, part, c)
        return jac


@njit(cache=True, inline="always", error_model="numpy")
def _power(
    s0: complex, n: float, v: float, vb: float
) -> tuple[complex, complex]:  # pragma: no cover - compiled
    # S = s0 (|V|/V_base)^n drawn as conj(S/V): y = conj(s0) |V|^(n-2) / V_base^n
    if n == 0.0:  # the common cases without pow()
        y0 = s0.conjugate() * (1.0 / (v * v))
    elif n == 1.0:
        y0 = s0.conjugate() * (1.0 / (vb * v))
    else:
        y0 = s0.conjugate() * (v ** (n - 2.0) / vb**n)
    return y0, y0 * ((n - 2.0) / v)


@njit(cache=True, inline="always", error_model="numpy")
def _line(
    i_lo: complex, slope: complex, v_lo: float, v: float
) -> tuple[complex, complex]:  # pragma: no cover - compiled
    # current i_lo + slope (|V| - V_low) in phase with V: y = a/|V| + slope
    a = i_lo - slope * v_lo
    return a * (1.0 / v) + slope, a * (-1.0 / (v * v))


@njit(cache=True, inline="always", error_model="numpy")
def _split(
    y: complex, dy: complex, k_re: float, k_im: float
) -> tuple[complex, complex]:  # pragma: no cover - compiled
    # ZIP weights the real and imaginary parts of an admittance separately
    return (complex(y.real * k_re, y.imag * k_im),
            complex(dy.real * k_re, dy.imag * k_im))


@njit(cache=True, inline="always")
def magnitude(z: complex) -> float:  # pragma: no cover - compiled
    """``|z|`` as ``sqrt(re² + im²)``: a third of ``hypot``'s cost (which guards against
    overflow at 1e154, far from any voltage or current)."""
    return math.sqrt(z.real * z.real + z.imag * z.imag)


_Row = tuple[float, float, float, float, float, float, float, float, float, float]
_Zip = tuple[float, float, float, float, float, float, float]


@njit(cache=True, error_model="numpy")
def _admittance(
    par: _Row, z: _Zip, v: float
) -> tuple[complex, complex]:  # pragma: no cover - compiled
    """``y`` and ``dy/d|V|`` of one phase of one load at ``|V| = v`` [V].

    ``par`` is a row of ``LoadSet._params``: model, V_base, W and var with multipliers,
    rated var, Vlowpu, Vminpu, Vmaxpu, CVR exponents; ``z`` its ZIP coefficients. Both
    come as tuples the caller reads out of its arrays: a compiled function that takes an
    array pays two atomic reference-count updates per call, and this one is called per
    load phase and iteration.
    """
    model = int(par[0])
    vb, w, q, q_fixed = par[1], par[2], par[3], par[4]
    v_low, v_min, v_max = par[5], par[6], par[7]
    yeq = complex(w, -q) * (1.0 / (vb * vb))  # OpenDSS's Yeq from WNominal, varNominal
    if model == _Z:  # constant impedance has no bands
        return yeq, 0j
    v_lo, v_95, v_105 = v_low * vb, v_min * vb, v_max * vb
    if v <= v_lo:
        return yeq, 0j
    band = 1 if v <= v_95 else (2 if v > v_105 else 0)  # mid, high, nominal
    yeq95 = yeq105 = yeq105_i = i_low = m95 = m95_i = 0j
    if band != 0:  # the band terms, only where a band needs them
        # OpenDSS's guards for limits of zero: no Yeq95, and Yeq105 falls back to Yeq.
        yeq95 = yeq * (1.0 / v_min**2) if v_min != 0.0 else 0j
        vmax = v_max if v_max != 0.0 else 1.0
        yeq105, yeq105_i = yeq * (1.0 / vmax**2), yeq * (1.0 / vmax)
        i_low = yeq * v_lo
        span = v_95 - v_lo if v_95 != v_lo else 1.0  # an empty band when equal
        # current rises linearly to the model's value at vmin
        m95 = (yeq95 * v_95 - i_low) * (1.0 / span)
        m95_i = (yeq * vb - i_low) * (1.0 / span)
    if model in (_PQ, _PQ2, _CVR):
        if band == 1:
            return _line(i_low, m95, v_lo, v)
        if band == 2:
            return yeq105, 0j
        if model == _PQ:
            return _power(complex(w, q), 0.0, v, vb)
        if model == _PQ2:
            y, dy = _power(complex(w, 0.0), 0.0, v, vb)
            return y + complex(0.0, yeq.imag), dy
        # OpenDSS's cvrvars = 2 shortcut (j·Im Yeq·V) is the same power law
        y, dy = _power(complex(w, 0.0), par[8], v, vb)
        y2, dy2 = _power(complex(0.0, q), par[9], v, vb)
        return y + y2, dy + dy2
    if model == _I:
        if band == 1:
            return _line(i_low, m95_i, v_lo, v)
        if band == 2:
            return yeq105_i, 0j
        return _power(complex(w, q), 1.0, v, vb)
    if model in (_FIXED_Q, _FIXED_ZQ):
        y_fixed_q = complex(0.0, -q_fixed / vb**2)  # Q at rating, no multipliers
        if band == 1:
            return yeq95.real + y_fixed_q, 0j
        if band == 2:
            return yeq105.real + y_fixed_q, 0j
        if model == _FIXED_Q:
            return _power(complex(w, q_fixed), 0.0, v, vb)
        y, dy = _power(complex(w, 0.0), 0.0, v, vb)
        return y + y_fixed_q, dy
    # ZIP: constant Z, I and P parts of P (z[0..2]) and of Q (z[3..5])
    y, dy = _split(yeq, 0j, z[0], z[3])
    if band == 1:
        a, da = _line(i_low, m95, v_lo, v)
        a, da = _split(a, da, z[2], z[5])
        b, db = _line(i_low, m95_i, v_lo, v)
        b, db = _split(b, db, z[1], z[4])
    elif band == 2:
        a, da = _split(yeq105, 0j, z[2], z[5])
        b, db = _split(yeq105_i, 0j, z[1], z[4])
    else:
        a, da = _power(complex(w * z[1], q * z[4]), 1.0, v, vb)
        b, db = _power(complex(w * z[2], q * z[5]), 0.0, v, vb)
    y, dy = y + a + b, dy + da + db
    cut = z[6]
    if cut > 0.0:
        # OpenDSS's low-voltage drop-out (e^{2x} − 1)/(e^{2x} + 1) is tanh x, without
        # its overflow far above the cut-off
        t = math.tanh(_CUTOFF_STEEPNESS * (v / vb - cut))
        g, dg = 0.5 * (1.0 + t), 0.5 * (1.0 - t * t) * _CUTOFF_STEEPNESS / vb
        y, dy = y * g, dy * g + y * dg
    return y, dy


@njit(cache=True, error_model="numpy")
def _admittances(
    par: FloatArray, zip_: FloatArray, v_mag: FloatArray
) -> tuple[ComplexArray, ComplexArray]:  # pragma: no cover - compiled
    y = np.empty(v_mag.shape, dtype=np.complex128)
    dy = np.empty(v_mag.shape, dtype=np.complex128)
    for i in range(v_mag.shape[0]):
        for j in range(v_mag.shape[1]):
            row = (par[i, 0], par[i, 1], par[i, 2], par[i, 3], par[i, 4], par[i, 5],
                   par[i, 6], par[i, 7], par[i, 8], par[i, 9])
            z = (zip_[i, 0], zip_[i, 1], zip_[i, 2], zip_[i, 3], zip_[i, 4], zip_[i, 5],
                 zip_[i, 6])
            y[i, j], dy[i, j] = _admittance(row, z, v_mag[i, j])
    return y, dy


@njit(cache=True, nogil=True, error_model="numpy")
def _currents(
    par: FloatArray, zip_: FloatArray, inc: FloatArray, v_cond: ComplexArray
) -> ComplexArray:  # pragma: no cover - compiled
    m, k = v_cond.shape
    p = inc.shape[0]
    out = np.zeros((m, k), dtype=np.complex128)
    for i in range(m):
        row = (par[i, 0], par[i, 1], par[i, 2], par[i, 3], par[i, 4], par[i, 5], par[i, 6],
               par[i, 7], par[i, 8], par[i, 9])
        z = (zip_[i, 0], zip_[i, 1], zip_[i, 2], zip_[i, 3], zip_[i, 4], zip_[i, 5], zip_[i, 6])
        for ph in range(p):
            v_ph = 0j
            for c in range(k):
                v_ph += inc[ph, c] * v_cond[i, c]
            y, _ = _admittance(row, z, magnitude(v_ph))
            cur = y * v_ph
            for c in range(k):
                out[i, c] += cur * inc[ph, c]
    return out


class LoadArrays(NamedTuple):
    """Every load set of a network in flat arrays, for compiled loops over all of them.

    Set ``s`` is the row ``sets[s] = (first, m, k, p, at_conductor, at_y, at_incidence)``:
    its loads are rows ``first … first + m − 1`` of ``params``, ``zip`` and of any
    per-load scale, and its conductors ``(m, k)``, nominal admittances ``(m, k, k)`` and
    incidence ``(p, k)`` are the flat arrays read from those offsets.
    """

    conductors: IntArray
    y_s: ComplexArray
    params: FloatArray
    zip: FloatArray
    incidence: FloatArray
    sets: IntArray


def pack_loads(sets: Sequence[LoadSet], nominal: Sequence[PrimitiveBlock]) -> LoadArrays:
    """Pack load sets and their nominal blocks (:meth:`LoadSet.nominal_block`, as in ``y``)
    into :class:`LoadArrays`, loads in the order of the sets.

    Examples
    --------
    >>> from feederos.feeders import load_feeder
    >>> from feederos.powerflow.nodes import node_index
    >>> net = load_feeder("ieee13")
    >>> sets = load_injections(net, node_index(net))
    >>> packed = pack_loads(sets, [s.nominal_block() for s in sets])
    >>> packed.params.shape[0] == sum(len(s.names) for s in sets), packed.sets.shape
    (True, (3, 7))
    """
    rows = []
    first = at_c = at_y = at_i = 0
    for s in sets:
        m, k = s.conductors.shape
        p = s.incidence.shape[0]
        rows.append((first, m, k, p, at_c, at_y, at_i))
        first, at_c, at_y, at_i = first + m, at_c + m * k, at_y + m * k * k, at_i + p * k

    def flat(parts: list[npt.NDArray[np.generic]], dtype: type) -> npt.NDArray[Any]:
        return np.concatenate([np.ravel(a) for a in parts]).astype(dtype) if parts else (
            np.zeros(0, dtype=dtype))

    return LoadArrays(
        conductors=flat([s.conductors for s in sets], np.int64),
        y_s=flat([b.y_s for b in nominal], np.complex128),
        params=np.ascontiguousarray(np.concatenate([s._params for s in sets]) if sets
                                    else np.zeros((0, 10))),
        zip=np.ascontiguousarray(np.concatenate([s.zip for s in sets]) if sets
                                 else np.zeros((0, 7))),
        incidence=flat([s.incidence for s in sets], np.float64),
        sets=np.array(rows, dtype=np.int64).reshape(len(rows), 7),
    )


@njit(cache=True, nogil=True, error_model="numpy")
def add_load_compensation(
    out: ComplexArray, loads: LoadArrays, p_scale: FloatArray, q_scale: FloatArray,
    v: ComplexArray,
) -> None:  # pragma: no cover - compiled
    """For each column ``c`` of the node voltages ``v`` ``(n, K)`` [V], add into ``out``
    ``(n, K)`` [A] every load's nominal current (``y_s v_cond``) minus its true current,
    the load's powers scaled by ``p_scale[:, c]`` and ``q_scale[:, c]`` ``(M, K)``.

    One pass over all sets reading the flat arrays in place: slicing them per set would
    cost reference-count updates in every iteration of a solver.
    """
    conductors, y_s, par, zip_, inc, sets = loads
    n_cols = v.shape[1]
    width = 1
    for s in range(sets.shape[0]):
        width = max(width, sets[s, 2])
    vc = np.empty(width, dtype=np.complex128)
    cur = np.empty(width, dtype=np.complex128)
    for s in range(sets.shape[0]):
        first, m, k, n_ph = sets[s, 0], sets[s, 1], sets[s, 2], sets[s, 3]
        at_c, at_y, at_i = sets[s, 4], sets[s, 5], sets[s, 6]
        for e in range(m):
            i = first + e
            ce, ye = at_c + e * k, at_y + e * k * k
            for c in range(n_cols):
                row = (par[i, 0], par[i, 1], par[i, 2] * p_scale[i, c], par[i, 3] * q_scale[i, c],
                       par[i, 4], par[i, 5], par[i, 6], par[i, 7], par[i, 8], par[i, 9])
                z = (zip_[i, 0], zip_[i, 1], zip_[i, 2], zip_[i, 3], zip_[i, 4], zip_[i, 5],
                     zip_[i, 6])
                for a in range(k):
                    node = conductors[ce + a]
                    vc[a] = v[node, c] if node >= 0 else 0j
                    cur[a] = 0j
                for ph in range(n_ph):
                    v_ph = 0j
                    for a in range(k):
                        v_ph += inc[at_i + ph * k + a] * vc[a]
                    y, _ = _admittance(row, z, magnitude(v_ph))
                    i_ph = y * v_ph
                    for a in range(k):
                        cur[a] += i_ph * inc[at_i + ph * k + a]
                for a in range(k):
                    node = conductors[ce + a]
                    if node < 0:
                        continue
                    acc = -cur[a]
                    for b in range(k):
                        acc += y_s[ye + a * k + b] * vc[b]
                    out[node, c] += acc


def load_injections(network: Network, nodes: NodeIndex) -> list[LoadSet]:
    """The network's loads as injection sets, one per connection and phase count.

    The power of each load is scaled as OpenDSS's ``SetNominalLoad`` does outside
    time-series shapes: by ``network.settings.load_multiplier`` unless the load's status
    is ``fixed``, or ``exempt`` in any mode but yearly. Shape multipliers are left to a
    time-series driver (``LoadSet.mult``).

    Examples
    --------
    >>> from feederos.feeders import load_feeder
    >>> from feederos.powerflow.nodes import node_index
    >>> net = load_feeder("ieee13")
    >>> sets = load_injections(net, node_index(net))
    >>> sorted((s.connection.value, s.n_phases, len(s.names)) for s in sets)
    [('delta', 1, 2), ('delta', 3, 1), ('wye', 1, 12)]
    """
    groups: dict[tuple[Connection, int], list[EnergyConsumer]] = {}
    for load in network.loads:
        groups.setdefault((load.connection, load.phases), []).append(load)
    return [_load_set(conn, phases, loads, network, nodes)
            for (conn, phases), loads in groups.items()]


def _load_set(
    connection: Connection, n_phases: int, loads: Sequence[EnergyConsumer], network: Network,
    nodes: NodeIndex,
) -> LoadSet:
    k = load_phase_incidence(n_phases, connection).shape[1]
    settings = network.settings

    def scale(load: EnergyConsumer) -> float:
        if load.status is LoadStatus.FIXED or (
            load.status is LoadStatus.EXEMPT and settings.mode is not SolveMode.YEARLY
        ):
            return 1.0
        return settings.load_multiplier

    def v_base(load: EnergyConsumer) -> float:
        # across one phase: line-to-line for delta, line-to-neutral for a 2- or 3-phase
        # wye, and the rated kV as given for a 1-phase wye load
        if connection is Connection.WYE and n_phases > 1:
            return load.v_kv * 1000.0 / math.sqrt(3.0)
        return load.v_kv * 1000.0

    def arr(values: Sequence[float]) -> FloatArray:
        return np.asarray(values, dtype=np.float64)

    conductors = np.stack([nodes.conductors(ld.terminal, k) for ld in loads])
    zip_rows = [ld.zip_coefficients or (0.0,) * 7 for ld in loads]
    return LoadSet(
        names=tuple(ld.name for ld in loads),
        conductors=conductors.astype(np.int64),
        connection=connection,
        n_phases=n_phases,
        model=np.asarray([int(ld.model) for ld in loads], dtype=np.int64),
        v_base_v=arr([v_base(ld) for ld in loads]),
        p_w=arr([ld.p_kw * 1000.0 / n_phases for ld in loads]),
        q_var=arr([ld.q_kvar * 1000.0 / n_phases for ld in loads]),
        mult=arr([scale(ld) for ld in loads]),
        # the model has no Vlowpu yet; OpenDSS's default applies until it does
        v_low_pu=arr([getattr(ld, "v_low_pu", V_LOW_PU) for ld in loads]),
        v_min_pu=arr([ld.v_min_pu for ld in loads]),
        v_max_pu=arr([ld.v_max_pu for ld in loads]),
        cvr_watts=arr([ld.cvr_watts for ld in loads]),
        cvr_vars=arr([ld.cvr_vars for ld in loads]),
        zip=np.asarray(zip_rows, dtype=np.float64).reshape(len(loads), 7),
    )


def scale_loads(sets: Sequence[InjectionSet],
                scales: Sequence[FloatArray | None]) -> tuple[InjectionSet, ...]:
    """``sets`` with each load set's ``mult`` multiplied by its scale ``(m_s,)``; other
    sets, and sets whose scale is ``None``, as they are (for
    :meth:`~feederos.powerflow.CompiledNetwork.with_injections`).

    Examples
    --------
    >>> from feederos.feeders import load_feeder
    >>> from feederos.powerflow.nodes import node_index
    >>> net = load_feeder("ieee13")
    >>> sets = load_injections(net, node_index(net))
    >>> half = scale_loads(sets, [np.full(len(s.names), 0.5) for s in sets])
    >>> [float(h.mult[0] / s.mult[0]) for h, s in zip(half, sets)]
    [0.5, 0.5, 0.5]
    """
    return tuple(replace(s, mult=s.mult * m) if m is not None and isinstance(s, LoadSet)
                 else s for s, m in zip(sets, scales, strict=True))
