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
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from feederos.model import Connection, EnergyConsumer, Network
from feederos.model.loads import LoadModel, LoadStatus
from feederos.model.settings import SolveMode
from feederos.powerflow.nodes import NodeIndex
from feederos.powerflow.primitives.block import PrimitiveBlock

__all__ = ["V_LOW_PU", "LoadSet", "load_injections", "load_phase_incidence"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]

V_LOW_PU = 0.5
"""OpenDSS's default ``Vlowpu``: below it every load model is its nominal impedance [pu]."""

_Array = npt.NDArray[Any]  # float or complex, as NumPy's promotion decides
_Pair = tuple[_Array, _Array]  # an admittance y(|V|) [S] and its derivative dy/d|V| [S/V]

_OPEN_NEUTRAL_FACTOR = 1.000001
"""OpenDSS scales a wye load's neutral diagonal by this when ``Rneut`` is open (default)."""

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

    @property
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
        y = np.empty(v_mag_v.shape, dtype=np.complex128)
        dy = np.empty(v_mag_v.shape, dtype=np.complex128)
        for code in np.unique(self.model):
            rows = np.flatnonzero(self.model == code)
            y[rows], dy[rows] = _model_admittance(LoadModel(int(code)), self, rows, v_mag_v[rows])
        return y, dy

    def currents(self, v_cond: ComplexArray) -> ComplexArray:
        """Currents into each load at each conductor ``(m, k)`` [A]."""
        v_ph = self.phase_voltages(v_cond)
        y, _ = self.phase_admittances(np.abs(v_ph))
        return np.asarray((y * v_ph) @ self.incidence, dtype=np.complex128)

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


def _model_admittance(
    model: LoadModel, s: LoadSet, rows: IntArray, v_mag: FloatArray
) -> tuple[ComplexArray, ComplexArray]:
    """``y`` and ``dy/d|V|`` ``(r, p)`` of the loads ``rows``, all of model ``model``."""

    def col(a: _Array) -> _Array:  # per-load constants against (r, p) arrays
        return a[rows][:, None]

    vb, mult = col(s.v_base_v), col(s.mult)
    w, q = col(s.p_w) * mult, col(s.q_var) * mult  # OpenDSS's WNominal, varNominal
    yeq = (w - 1j * q) / vb**2
    zero = np.zeros_like(v_mag, dtype=np.complex128)
    if model is LoadModel.CONSTANT_Z:
        return yeq + zero, zero
    v_min, v_max, v_low = col(s.v_min_pu), col(s.v_max_pu), col(s.v_low_pu)
    # OpenDSS's guards for limits of zero: no Yeq95, and Yeq105 falls back to Yeq.
    yeq95 = np.where(v_min != 0.0, yeq / np.where(v_min != 0.0, v_min, 1.0) ** 2, 0.0)
    yeq105 = yeq / np.where(v_max != 0.0, v_max, 1.0) ** 2
    yeq105_i = yeq / np.where(v_max != 0.0, v_max, 1.0)
    v_lo, v_95, v_105 = v_low * vb, v_min * vb, v_max * vb
    i_low = yeq * v_lo
    span = np.where(v_95 != v_lo, v_95 - v_lo, 1.0)  # an empty band when equal
    m95 = (yeq95 * v_95 - i_low) / span  # current rises linearly to the model's value at vmin
    m95_i = (yeq * vb - i_low) / span
    safe = np.where(v_mag > 0.0, v_mag, 1.0)  # 1/|V| only where the band excludes |V| = 0

    def const(y0: _Array) -> _Pair:
        return y0 + zero, zero

    def power(s0: _Array, n: _Array | float) -> _Pair:
        # S = s0 (|V|/V_base)^n drawn as conj(S/V): y = conj(s0) |V|^(n-2) / V_base^n
        y0 = np.conj(s0) * safe ** (n - 2.0) / vb**n
        return y0, (n - 2.0) * y0 / safe

    def line(i_lo: _Array, slope: _Array) -> _Pair:
        # current i_lo + slope (|V| - V_low) in phase with V: y = a/|V| + slope
        a = i_lo - slope * v_lo
        return a / safe + slope, -a / safe**2

    def add(*parts: _Pair) -> _Pair:
        return sum((p[0] for p in parts), zero), sum((p[1] for p in parts), zero)

    def split(part: _Pair, k_re: _Array, k_im: _Array) -> _Pair:
        # ZIP weights the real and imaginary parts of an admittance separately
        return (part[0].real * k_re + 1j * part[0].imag * k_im,
                part[1].real * k_re + 1j * part[1].imag * k_im)

    q_fixed = col(s.q_var)  # models 6 and 7 hold Q at its rating, without multipliers
    y_fixed_q = -q_fixed / vb**2
    if model in (LoadModel.CONSTANT_PQ, LoadModel.CONSTANT_P_QUADRATIC_Q, LoadModel.EXPONENTIAL):
        mid, high = line(i_low, m95), const(yeq105)
        if model is LoadModel.CONSTANT_PQ:
            nominal = power(w + 1j * q, 0.0)
        elif model is LoadModel.CONSTANT_P_QUADRATIC_Q:
            nominal = add(power(w + 0j, 0.0), const(1j * yeq.imag))
        else:  # OpenDSS's cvrvars = 2 shortcut (j·Im Yeq·V) is the same power law
            nominal = add(power(w + 0j, col(s.cvr_watts)), power(1j * q, col(s.cvr_vars)))
    elif model is LoadModel.CONSTANT_I:
        mid, high, nominal = line(i_low, m95_i), const(yeq105_i), power(w + 1j * q, 1.0)
    elif model in (LoadModel.CONSTANT_P_FIXED_Q, LoadModel.CONSTANT_P_FIXED_Z_Q):
        mid = const(yeq95.real + 1j * y_fixed_q)
        high = const(yeq105.real + 1j * y_fixed_q)
        if model is LoadModel.CONSTANT_P_FIXED_Q:
            nominal = power(w + 1j * q_fixed, 0.0)
        else:
            nominal = add(power(w + 0j, 0.0), const(1j * y_fixed_q))
    else:  # ZIP
        z = s.zip[rows]
        zc = [z[:, i : i + 1] for i in range(7)]
        z_part = split(const(yeq), zc[0], zc[3])
        nominal = add(z_part, power(w * zc[1] + 1j * q * zc[4], 1.0),
                      power(w * zc[2] + 1j * q * zc[5], 0.0))
        mid = add(z_part, split(line(i_low, m95), zc[2], zc[5]),
                  split(line(i_low, m95_i), zc[1], zc[4]))
        high = add(z_part, split(const(yeq105), zc[2], zc[5]),
                   split(const(yeq105_i), zc[1], zc[4]))
        nominal, mid, high = (_cutoff(p, v_mag, vb, zc[6]) for p in (nominal, mid, high))
    low = v_mag <= v_lo
    in_mid = ~low & (v_mag <= v_95)
    in_high = ~low & ~in_mid & (v_mag > v_105)
    y = np.where(low, yeq, np.where(in_mid, mid[0], np.where(in_high, high[0], nominal[0])))
    dy = np.where(low, 0.0, np.where(in_mid, mid[1], np.where(in_high, high[1], nominal[1])))
    return y.astype(np.complex128), dy.astype(np.complex128)


def _cutoff(part: _Pair, v_mag: _Array, vb: _Array, cut: _Array) -> _Pair:
    """ZIP low-voltage drop-out: ``y · ½(1 + tanh(500 (|V|/V_base − cut)))`` where cut > 0.

    OpenDSS writes the tanh as ``(e^{2x} − 1)/(e^{2x} + 1)``; ``tanh`` is the same
    function without its overflow far above the cut-off.
    """
    t = np.tanh(_CUTOFF_STEEPNESS * (v_mag / vb - cut))
    on = cut > 0.0
    g = np.where(on, 0.5 * (1.0 + t), 1.0)
    dg = np.where(on, 0.5 * (1.0 - t * t) * _CUTOFF_STEEPNESS / vb, 0.0)
    return part[0] * g, part[1] * g + part[0] * dg


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
