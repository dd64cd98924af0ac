"""Generators and EV chargers as voltage-dependent current injections, as OpenDSS has them.

Every power-converting shunt element of OpenDSS (``Generator``, ``PVSystem``,
``Storage``, ``Load``) draws or injects its nominal power ``S`` per phase as a constant
power ``I = conj(S / V)`` while the voltage across each of its *branches* (phase to
neutral for wye, phase to next phase for delta) stays within ``[Vminpu, Vmaxpu]`` of
its base, and turns into the constant admittance that gives ``S`` at the limit outside
that band (OpenDSS ``generator.pas`` ``DoConstantPQGen``; ``PVsystem.pas`` and
``Storage.pas`` copy it). This module holds that shared branch model
(:func:`branch_currents`), its derivative, and the injection sets of generators and of
EV chargers; PV and batteries are in :mod:`~feederos.powerflow.injections.inverters`.

Conventions: ``s_va`` is the *generated* complex power per phase [VA] (a load has
``-S``), branch currents ``i_b`` flow *out of* the element at the branch's first
conductor, and the conductor currents the injection sets return flow *into* the
element (OpenDSS's ``CktElement.Currents``).

Examples
--------
>>> import numpy as np
>>> v_b = np.array([[2400.0 + 0j]])  # 1 kW generated at exactly base voltage
>>> i_b, _, _ = branch_currents(v_b, np.array([1000.0 + 0j]), np.array([2400.0]),
...                             np.array([0.9]), np.array([1.1]), delta=False, n_phases=1)
>>> round(float(i_b[0, 0].real), 4)
0.4167
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from feederos.errors import FeederosError
from feederos.model import Connection, EVCharger, Generator, Network
from feederos.powerflow.injections.base import ComplexArray, FloatArray, IntArray
from feederos.powerflow.nodes import NodeIndex
from feederos.powerflow.primitives.block import PrimitiveBlock

__all__ = [
    "BranchLayout",
    "EVChargerInjections",
    "GeneratorInjections",
    "branch_admittance_block",
    "branch_currents",
    "branch_layout",
    "branch_voltages",
    "complex_to_real_jacobian",
    "ev_charger_injections",
    "generator_injections",
    "stamp_branch_jacobian",
]

_SQRT3 = math.sqrt(3.0)

LOAD_V_MIN_PU = 0.95
"""OpenDSS ``Load`` default ``Vminpu``: constant power above it [pu]."""
LOAD_V_MAX_PU = 1.05
"""OpenDSS ``Load`` default ``Vmaxpu``: constant power below it [pu]."""
LOAD_V_LOW_PU = 0.50
"""OpenDSS ``Load`` default ``Vlowpu``: below it the load is its nominal admittance [pu]."""


@dataclass(frozen=True)
class BranchLayout:
    """How ``n_phases`` branches of an element sit between its ``k`` conductors.

    Branch ``b`` runs from conductor ``frm[b]`` to conductor ``to[b]``: the neutral
    (last conductor) for wye, the next conductor (wrapping) for delta, as OpenDSS's
    ``StickCurrInTerminalArray`` places them.
    """

    n_phases: int
    n_conductors: int
    delta: bool
    frm: IntArray
    to: IntArray
    incidence: FloatArray = field(repr=False)
    """``(k, n_phases)``: conductor current into the element per unit branch current out."""


def branch_layout(n_phases: int, delta: bool) -> BranchLayout:
    """Branch layout of a wye or delta element with ``n_phases`` phases.

    A wye element has ``n_phases + 1`` conductors (its neutral last); a delta element
    has 3 conductors when three-phase and ``n_phases + 1`` otherwise (OpenDSS's
    ``SetNcondsForConnection``: line-to-line and open delta).

    Examples
    --------
    >>> lay = branch_layout(3, True)
    >>> lay.frm.tolist(), lay.to.tolist()
    ([0, 1, 2], [1, 2, 0])
    """
    k = n_phases + 1 if (not delta or n_phases < 3) else n_phases
    frm = np.arange(n_phases, dtype=np.int64)
    to = np.full(n_phases, k - 1, dtype=np.int64) if not delta else (frm + 1) % k
    inc = np.zeros((k, n_phases))
    inc[frm, np.arange(n_phases)] -= 1.0
    inc[to, np.arange(n_phases)] += 1.0
    return BranchLayout(n_phases, k, delta, frm, to, inc)


def branch_currents(
    v_b: ComplexArray,
    s_va: ComplexArray,
    v_base_v: FloatArray,
    v_min_pu: FloatArray,
    v_max_pu: FloatArray,
    *,
    delta: bool,
    n_phases: int,
    v_low_pu: FloatArray | None = None,
) -> tuple[ComplexArray, ComplexArray, ComplexArray]:
    """OpenDSS's constant-PQ branch model with constant-Z outside ``[v_min, v_max]``.

    Parameters
    ----------
    v_b
        Branch voltages ``(m, n_phases)`` [V].
    s_va
        Generated power per phase ``(m,)`` [VA]; negative real part for a load.
    v_base_v
        Base of each element ``(m,)``: line-to-neutral for 2- and 3-phase elements,
        the rated voltage for 1-phase ones [V].
    v_min_pu, v_max_pu
        Band of constant power ``(m,)`` [pu].
    delta
        Delta-connected: the branch voltage magnitude is divided by √3 (2- and 3-phase)
        before the band test, and the admittance is a third of the wye one.
    n_phases
        Phases per element.
    v_low_pu
        Loads only: below ``v_min`` the current is interpolated linearly in ``|V|``
        down to the nominal admittance at ``v_low`` (OpenDSS ``Load``
        ``InterpolateY95_YLow``); ``None`` for generators.

    Returns
    -------
    i_b
        Branch currents out of the element ``(m, n_phases)`` [A], ``conj(s) · g``.
    g
        The factor ``g`` [1/V] with ``i_b = conj(s_va) · g``: ``1/conj(v_b)`` inside the
        band, ``y · v_b / conj(s)`` outside.
    d_g
        ``(a, b)`` stacked on a leading axis of 2: ``dg = a dv_b + b conj(dv_b)``.
    """
    s = s_va[:, None]
    vb = v_b
    vmag = np.abs(vb)
    vmag_ln = vmag / _SQRT3 if (delta and n_phases > 1) else vmag
    base = v_base_v[:, None]
    y_scale = 1.0 / 3.0 if delta else 1.0
    lo = v_min_pu[:, None] * base
    hi = v_max_pu[:, None] * base
    below = vmag_ln <= lo
    above = vmag_ln > hi
    # Z outside the band: y = conj(s) / (v_base · v_lim)²; g = y · v_b / conj(s).
    with np.errstate(divide="ignore", invalid="ignore"):
        safe = np.where(vb == 0, 1.0, vb)
        g_pq = 1.0 / np.conj(safe)
        y_lo = y_scale / (lo * lo)
        y_hi = y_scale / (hi * hi)
    g = np.where(below, y_lo * vb, np.where(above, y_hi * vb, g_pq))
    a = np.where(below, y_lo + 0j, np.where(above, y_hi + 0j, 0j))
    b = np.where(below | above, 0j, -g_pq * g_pq)
    if v_low_pu is not None:
        v_low = v_low_pu[:, None] * base
        nominal = below & (vmag_ln <= v_low)
        interp = below & ~nominal
        y_nom = y_scale / (base * base)
        # OpenDSS Load: I = (I_low + M95 (|V| - V_low)) · V/|V|, I_low = Y V_low, I95 = Y95 V95.
        i_low = y_nom * v_low
        i_95 = y_lo * lo
        m95 = (i_95 - i_low) / np.where(lo > v_low, lo - v_low, 1.0)
        c0 = i_low - m95 * v_low
        with np.errstate(divide="ignore", invalid="ignore"):
            mag = np.where(vmag == 0, 1.0, vmag)
            unit = vb / mag
            g_int = m95 * vb + c0 * unit
            a_int = m95 + c0 / (2.0 * mag)
            b_int = -c0 * unit * unit / (2.0 * mag)
        g = np.where(nominal, y_nom * vb, np.where(interp, g_int, g))
        a = np.where(nominal, y_nom + 0j, np.where(interp, a_int, a))
        b = np.where(nominal, 0j, np.where(interp, b_int, b))
    i_b = np.conj(s) * g
    return i_b.astype(np.complex128), g.astype(np.complex128), np.stack([a, b]).astype(
        np.complex128
    )


def complex_to_real_jacobian(hol: ComplexArray, anti: ComplexArray) -> FloatArray:
    """Real Jacobian ``(m, 2k, 2k)`` of ``dI = hol · dV + anti · conj(dV)``.

    Rows and columns ordered ``Re 0..k-1`` then ``Im 0..k-1`` (the
    :meth:`~feederos.powerflow.injections.base.InjectionSet.jacobian` layout).

    Examples
    --------
    >>> import numpy as np
    >>> complex_to_real_jacobian(np.array([[[2j]]]), np.array([[[0j]]])).tolist()
    [[[0.0, -2.0], [2.0, 0.0]]]
    """
    m, k, _ = hol.shape
    d_re = hol + anti  # ∂I/∂Re V
    d_im = 1j * (hol - anti)  # ∂I/∂Im V
    jac = np.empty((m, 2 * k, 2 * k))
    jac[:, :k, :k] = d_re.real
    jac[:, k:, :k] = d_re.imag
    jac[:, :k, k:] = d_im.real
    jac[:, k:, k:] = d_im.imag
    return jac


def branch_voltages(layout: BranchLayout, v_cond: ComplexArray) -> ComplexArray:
    """Voltage across each branch ``(m, n_phases)`` from conductor voltages [V]."""
    return (v_cond[:, layout.frm] - v_cond[:, layout.to]).astype(np.complex128)


def _to_conductors(layout: BranchLayout, i_b: ComplexArray) -> ComplexArray:
    out: ComplexArray = np.einsum("ib,mb->mi", layout.incidence, i_b).astype(np.complex128)
    return out


def stamp_branch_jacobian(layout: BranchLayout, hol_b: ComplexArray, anti_b: ComplexArray
                          ) -> tuple[ComplexArray, ComplexArray]:
    """Conductor-level ``(hol, anti)`` from diagonal branch derivatives ``(m, n_phases)``.

    ``i_cond = C · i_b`` and ``v_b = -Cᵀ · v_cond`` with ``C`` the layout's incidence.
    """
    c = layout.incidence
    hol = -np.einsum("ib,mb,jb->mij", c, hol_b, c)
    anti = -np.einsum("ib,mb,jb->mij", c, anti_b, c)
    return hol.astype(np.complex128), anti.astype(np.complex128)


def branch_admittance_block(kind: str, names: tuple[str, ...], conductors: IntArray,
                            layout: BranchLayout, y_branch: ComplexArray) -> PrimitiveBlock:
    """Yprim of elements made of one admittance ``y_branch`` ``(m,)`` per branch [S]."""
    c = layout.incidence
    y = np.einsum("ib,m,jb->mij", c, y_branch, c).astype(np.complex128)
    return PrimitiveBlock(kind=kind, names=names, conductors=conductors, y_s=y, n_terminals=1)


def _v_base_gen_v(v_kv: float, n_phases: int) -> float:
    # OpenDSS: 2- and 3-phase ratings are line-to-line, so the base is kV/√3.
    return v_kv * 1000.0 / _SQRT3 if n_phases in (2, 3) else v_kv * 1000.0


@dataclass(frozen=True, eq=False)
class GeneratorInjections:
    """``m`` OpenDSS generators with one conductor layout.

    Models (OpenDSS ``Generator.model``): 1 constant P and Q, 2 constant admittance,
    4 constant P with fixed Q (``kvar`` as an admittance outside the band), 5 constant P
    with Q as a constant admittance. All are constant admittance outside
    ``[v_min_pu, v_max_pu]``, as in OpenDSS.
    """

    names: tuple[str, ...]
    conductors: IntArray
    layout: BranchLayout
    s_va: ComplexArray
    """Generated power per phase ``(m,)`` [VA]."""
    v_base_v: FloatArray
    v_min_pu: FloatArray
    v_max_pu: FloatArray
    model: IntArray
    kind: str = "generators"

    def _admittance(self) -> ComplexArray:
        y_scale = 1.0 / 3.0 if self.layout.delta else 1.0
        return (np.conj(self.s_va) / self.v_base_v**2 * y_scale).astype(np.complex128)

    def nominal_block(self) -> PrimitiveBlock:
        """OpenDSS's generator Yprim: ``-conj(S)/V²`` per branch (generation)."""
        return branch_admittance_block(self.kind, self.names, self.conductors, self.layout,
                                       -self._admittance())

    def _parts(self, v_cond: ComplexArray) -> tuple[ComplexArray, ComplexArray, ComplexArray]:
        lay = self.layout
        v_b = branch_voltages(lay, v_cond)
        p = self.s_va.real.astype(np.complex128)
        q = (1j * self.s_va.imag).astype(np.complex128)
        band = (self.v_base_v, self.v_min_pu, self.v_max_pu)
        i_p, _, dg_p = branch_currents(v_b, p, *band, delta=lay.delta, n_phases=lay.n_phases)
        i_s, _, dg_s = branch_currents(v_b, self.s_va, *band, delta=lay.delta,
                                       n_phases=lay.n_phases)
        # Constant Z (model 2): y = conj(S)/V² at all voltages.
        y_z = self._admittance()[:, None]
        # Models 4/5: the reactive part is a fixed admittance outside the band (4) or at
        # all voltages (5), beside the constant-P (or band-limited) real part.
        y_q = np.conj(q)[:, None] / self.v_base_v[:, None] ** 2 * (
            1.0 / 3.0 if lay.delta else 1.0)
        i_q_pq, _, dg_q = branch_currents(v_b, q, *band, delta=lay.delta,
                                          n_phases=lay.n_phases)
        in_band = (dg_q[0] == 0)  # constant-power region
        mod = self.model[:, None]
        i_b = np.where(mod == 2, y_z * v_b, i_s)
        i_b = np.where(mod == 4, i_p + np.where(in_band, i_q_pq, y_q * v_b), i_b)
        i_b = np.where(mod == 5, i_p + y_q * v_b, i_b)
        zero = np.zeros_like(y_z * v_b)
        hol = np.where(mod == 2, y_z + zero, np.conj(self.s_va)[:, None] * dg_s[0])
        anti = np.where(mod == 2, zero, np.conj(self.s_va)[:, None] * dg_s[1])
        p_hol = np.conj(p)[:, None] * dg_p[0]
        p_anti = np.conj(p)[:, None] * dg_p[1]
        q4_hol = np.where(in_band, np.conj(q)[:, None] * dg_q[0], y_q + zero)
        q4_anti = np.where(in_band, np.conj(q)[:, None] * dg_q[1], zero)
        hol = np.where(mod == 4, p_hol + q4_hol, hol)
        anti = np.where(mod == 4, p_anti + q4_anti, anti)
        hol = np.where(mod == 5, p_hol + y_q, hol)
        anti = np.where(mod == 5, p_anti, anti)
        return i_b.astype(np.complex128), hol.astype(np.complex128), anti.astype(np.complex128)

    def currents(self, v_cond: ComplexArray) -> ComplexArray:
        """Currents into each generator per conductor ``(m, k)`` [A]."""
        i_b, _, _ = self._parts(v_cond)
        return _to_conductors(self.layout, i_b)

    def jacobian(self, v_cond: ComplexArray) -> FloatArray:
        """Analytic ``∂(Re I, Im I)/∂(Re V, Im V)`` ``(m, 2k, 2k)`` [S]."""
        _, hol_b, anti_b = self._parts(v_cond)
        return complex_to_real_jacobian(*stamp_branch_jacobian(self.layout, hol_b, anti_b))


@dataclass(frozen=True, eq=False)
class EVChargerInjections:
    """``m`` EV chargers drawing ``p_kw`` at ``pf`` as OpenDSS constant-PQ loads (model 1).

    Constant power within 0.95–1.05 pu, constant admittance above, and below 0.95 pu
    OpenDSS's low-voltage interpolation down to the nominal admittance at 0.5 pu
    (OpenDSS ``Load.pas`` ``DoConstantPQLoad`` with default ``Vminpu``, ``Vmaxpu``,
    ``Vlowpu``). A load's delta base is its line-to-line rating.
    """

    names: tuple[str, ...]
    conductors: IntArray
    layout: BranchLayout
    s_va: ComplexArray
    """*Generated* power per phase ``(m,)``: minus the charging power [VA]."""
    v_base_v: FloatArray
    kind: str = "ev_chargers"

    def _bounds(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        m = len(self.names)
        return (np.full(m, LOAD_V_MIN_PU), np.full(m, LOAD_V_MAX_PU), np.full(m, LOAD_V_LOW_PU))

    def nominal_block(self) -> PrimitiveBlock:
        """The loads' nominal admittance ``conj(S_load)/V²`` per branch."""
        y = (-np.conj(self.s_va) / self.v_base_v**2).astype(np.complex128)
        return branch_admittance_block(self.kind, self.names, self.conductors, self.layout, y)

    def _parts(self, v_cond: ComplexArray) -> tuple[ComplexArray, ComplexArray]:
        v_b = branch_voltages(self.layout, v_cond)
        v_min, v_max, v_low = self._bounds()
        # A load compares |V| of each branch with its own base and never scales by 1/3.
        i_b, _, d_g = branch_currents(v_b, self.s_va, self.v_base_v, v_min, v_max,
                                      delta=False, n_phases=self.layout.n_phases,
                                      v_low_pu=v_low)
        return i_b, np.conj(self.s_va)[:, None] * d_g

    def currents(self, v_cond: ComplexArray) -> ComplexArray:
        """Currents into each charger per conductor ``(m, k)`` [A]."""
        i_b, _ = self._parts(v_cond)
        return _to_conductors(self.layout, i_b)

    def jacobian(self, v_cond: ComplexArray) -> FloatArray:
        """Analytic ``∂(Re I, Im I)/∂(Re V, Im V)`` ``(m, 2k, 2k)`` [S]."""
        _, d = self._parts(v_cond)
        return complex_to_real_jacobian(*stamp_branch_jacobian(self.layout, d[0], d[1]))


SUPPORTED_GENERATOR_MODELS = (1, 2, 4, 5)
"""OpenDSS generator models reproduced; 3 (PV bus), 6 (user) and 7 (current limited) are not."""


def _group_key(n_phases: int, connection: Connection) -> tuple[int, bool]:
    return n_phases, connection is Connection.DELTA


def generator_injections(network: Network, nodes: NodeIndex) -> list[GeneratorInjections]:
    """The enabled generators of ``network``, one set per conductor layout.

    A generator delivers ``p_kw`` and ``q_kvar`` split equally over its phases (OpenDSS
    ``SetNominalGeneration`` in snapshot mode with ``GenMult = 1``).

    Raises
    ------
    FeederosError
        If a generator uses an OpenDSS model other than 1, 2, 4 or 5.
    """
    groups: dict[tuple[int, bool], list[Generator]] = {}
    for gen in network.generators:
        if not gen.enabled:
            continue
        if gen.model not in SUPPORTED_GENERATOR_MODELS:
            raise FeederosError(
                f"generator {gen.name!r}: OpenDSS model {gen.model} is not supported "
                f"(supported: {', '.join(map(str, SUPPORTED_GENERATOR_MODELS))})")
        groups.setdefault(_group_key(gen.phases, gen.connection), []).append(gen)
    out: list[GeneratorInjections] = []
    for (n_ph, delta), gens in groups.items():
        lay = branch_layout(n_ph, delta)
        out.append(GeneratorInjections(
            names=tuple(g.name for g in gens),
            conductors=np.stack([nodes.conductors(g.terminal, lay.n_conductors)
                                 for g in gens]),
            layout=lay,
            s_va=np.array([complex(g.p_kw, g.q_kvar) * 1000.0 / n_ph for g in gens]),
            v_base_v=np.array([_v_base_gen_v(g.v_kv, n_ph) for g in gens]),
            v_min_pu=np.array([g.v_min_pu for g in gens]),
            v_max_pu=np.array([g.v_max_pu for g in gens]),
            model=np.array([g.model for g in gens], dtype=np.int64),
        ))
    return out


def _v_base_load_v(v_kv: float, n_phases: int, connection: Connection) -> float:
    # OpenDSS Load.UpdateVoltageBases: delta uses the rating as is (line to line).
    if connection is Connection.DELTA:
        return v_kv * 1000.0
    return _v_base_gen_v(v_kv, n_phases)


def ev_charger_injections(network: Network, nodes: NodeIndex) -> list[EVChargerInjections]:
    """The EV chargers of ``network`` as constant-PQ loads, one set per conductor layout."""
    groups: dict[tuple[int, bool], list[EVCharger]] = {}
    for ev in network.ev_chargers:
        groups.setdefault(_group_key(ev.phases, ev.connection), []).append(ev)
    out: list[EVChargerInjections] = []
    for (n_ph, delta), evs in groups.items():
        lay = branch_layout(n_ph, delta)
        s_load = [complex(ev.p_kw, ev.p_kw * math.sqrt(1.0 / ev.pf**2 - 1.0)) * 1000.0 / n_ph
                  for ev in evs]
        out.append(EVChargerInjections(
            names=tuple(ev.name for ev in evs),
            conductors=np.stack([nodes.conductors(ev.terminal, lay.n_conductors)
                                 for ev in evs]),
            layout=lay,
            s_va=-np.array(s_load, dtype=np.complex128),
            v_base_v=np.array([_v_base_load_v(ev.v_kv, n_ph, ev.connection) for ev in evs]),
        ))
    return out
