"""Voltage regulators (OpenDSS RegControl): what one control samples after a solve.

A regulator senses one phase of a transformer winding through a potential transformer
(PT), adds the line-drop compensator (LDC) voltage of the winding current through a
current transformer (CT), and asks for a tap change when the result leaves the band
``v_set_v ± band_v / 2`` (all on the 120 V PT secondary). This module holds the
compiled settings (:class:`RegulatorTable`) and the pure decision of one sample
(:func:`regulator_sample`, a compiled kernel, :func:`sample_regulators`, on the table's
arrays, :class:`RegulatorArrays`, which :mod:`feederos.powerflow.controlled` calls
too); the queue, delays and arming live in :mod:`feederos.powerflow.controls.static`.

The arithmetic follows OpenDSS ``RegControl.pas`` (``Sample``, ``GetControlVoltage``,
``AtLeastOneTap``) step for step, because the tap a regulator ends on is a rounding
decision and must come out as OpenDSS's does:

* sensed voltage: conductor ``p`` minus the winding's neutral conductor for a wye
  winding, conductor ``p`` minus the next (``DeltaDirection``) for a delta winding
  (``TTransfObj.GetWindingVoltages``), divided by the PT ratio;
* LDC: ``Vcontrol + (R + jX)·I/CT`` with ``I`` the current *into* the transformer at
  the sensed winding's conductor ``p``; on the load side that is minus the load
  current, so this is ``V − (R + jX)·I_load``;
* boost ``(v_set − |Vcontrol|)·PT / VBase`` rounded half-to-even to whole tap steps;
* in STATIC mode one action moves ``trunc(0.7·|pending| / step)`` taps, at least one,
  at most ``max_tap_change``.

Examples
--------
Ten steps pending move seven at once; the step is OpenDSS's ``(max − min) / n_taps``
(with a step of exactly 0.00625, 0.7 × 10 would come out as 6.999… and move six):

>>> step = (1.1 - 0.9) / 32
>>> at_least_one_tap(10 * step, step, 16)
(0.04375000000000001, 7)
>>> tap_number(1.05625, 0.9, 1.1, 0.00625)
9
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np
from numba import njit

from feederos.errors import PowerFlowError, TopologyError
from feederos.model import Connection, Network
from feederos.model.transformers import PhaseShift, PowerTransformer, TapChangerPhase
from feederos.powerflow.controls._types import (
    BoolArray,
    ComplexArray,
    FloatArray,
    IntArray,
    TerminalKey,
)
from feederos.powerflow.nodes import GROUND, NodeIndex

__all__ = [
    "PT_MAX",
    "PT_MIN",
    "RegulatorArrays",
    "RegulatorSample",
    "RegulatorTable",
    "at_least_one_tap",
    "neutral_tap_change",
    "regulator_sample",
    "regulator_table",
    "regulators_near_edge",
    "sample_regulators",
    "tap_number",
]

PT_MAX = -2
"""``pt_phase`` code: regulate on the phase with the highest voltage."""
PT_MIN = -3
"""``pt_phase`` code: regulate on the phase with the lowest voltage."""

_PT_CODE = {
    TapChangerPhase.A: 1,
    TapChangerPhase.B: 2,
    TapChangerPhase.C: 3,
    TapChangerPhase.MAX: PT_MAX,
    TapChangerPhase.MIN: PT_MIN,
}
_EPSILON = 1e-12  # OpenDSS DSSGlobals.EPSILON, used for "tap is at neutral"


class RegulatorArrays(NamedTuple):
    """The numeric columns of a :class:`RegulatorTable`, as the compiled kernels take
    them (same names, units and meaning)."""

    winding: IntArray
    tap_winding: IntArray
    n_phases: IntArray
    conductors: IntArray
    is_delta: BoolArray
    delta_direction: IntArray
    v_base_v: FloatArray
    uses_bus: BoolArray
    bus_nodes: IntArray
    pt_ratio: FloatArray
    remote_pt_ratio: FloatArray
    ct_primary_a: FloatArray
    v_set_v: FloatArray
    band_v: FloatArray
    ldc_r_v: FloatArray
    ldc_x_v: FloatArray
    delay_s: FloatArray
    tap_delay_s: FloatArray
    max_tap_change: IntArray
    pt_phase: IntArray
    v_limit_v: FloatArray
    inverse_time: BoolArray
    reversible: BoolArray
    rev_v_set_v: FloatArray
    rev_band_v: FloatArray
    rev_ldc_r_v: FloatArray
    rev_ldc_x_v: FloatArray
    rev_threshold_w: FloatArray
    rev_delay_s: FloatArray
    rev_neutral: BoolArray
    min_tap_pu: FloatArray
    max_tap_pu: FloatArray
    tap_step_pu: FloatArray


@dataclass(frozen=True, eq=False)
class RegulatorTable:
    """Settings of ``n`` enabled regulators, in network order, as arrays.

    Voltages and LDC settings are on the PT secondary (120 V base) as in the model;
    the reverse-power settings have OpenDSS's defaults (the model has no fields for
    them yet).

    Attributes
    ----------
    names
        Regulator (RegControl) names.
    transformers
        Controlled transformer of each.
    winding
        Sensed winding, 1-based (OpenDSS ``winding``).
    tap_winding
        Winding whose tap moves, 1-based (OpenDSS ``TapWinding``; the sensed one).
    n_phases
        Phases of the transformer.
    conductors
        Node index of each conductor of the sensed winding's terminal, ``(n, c)`` with
        ``c = max(n_phases) + 1`` columns, :data:`~feederos.powerflow.GROUND` where
        grounded or past the winding's ``n_phases + 1`` conductors.
    is_delta
        Sensed winding is delta connected.
    delta_direction
        +1 or −1: which neighbour conductor a delta winding's phase is measured against.
    v_base_v
        Rated voltage of the sensed winding per turn group (OpenDSS ``VBase``) [V].
    uses_bus, bus_nodes
        Whether a remote bus is regulated instead of the winding, and that bus's two
        sensed nodes ``(n, 2)`` (GROUND where absent).
    pt_ratio, remote_pt_ratio, ct_primary_a
        PT ratio (winding and remote bus) and CT primary rating [A].
    v_set_v, band_v, ldc_r_v, ldc_x_v
        Set point, bandwidth and LDC settings [V on the PT secondary].
    delay_s, tap_delay_s
        Delay before the first tap and between taps [s].
    max_tap_change
        Most tap steps in one action (0 freezes the regulator).
    pt_phase
        Sensed phase 1, 2, 3 or :data:`PT_MAX` / :data:`PT_MIN`.
    v_limit_v
        First-house protection limit [V on the PT secondary]; 0 = off.
    inverse_time
        Delay shortens with the voltage error (OpenDSS ``inversetime``).
    reversible, rev_v_set_v, rev_band_v, rev_ldc_r_v, rev_ldc_x_v, rev_threshold_w,
    rev_delay_s, rev_neutral
        Reverse-power operation (OpenDSS ``reversible``, ``revvreg``...).
    min_tap_pu, max_tap_pu, tap_step_pu
        Limits and step of the tapped winding [pu].
    """

    names: tuple[str, ...]
    transformers: tuple[str, ...]
    winding: IntArray
    tap_winding: IntArray
    n_phases: IntArray
    conductors: IntArray
    is_delta: BoolArray
    delta_direction: IntArray
    v_base_v: FloatArray
    uses_bus: BoolArray
    bus_nodes: IntArray
    pt_ratio: FloatArray
    remote_pt_ratio: FloatArray
    ct_primary_a: FloatArray
    v_set_v: FloatArray
    band_v: FloatArray
    ldc_r_v: FloatArray
    ldc_x_v: FloatArray
    delay_s: FloatArray
    tap_delay_s: FloatArray
    max_tap_change: IntArray
    pt_phase: IntArray
    v_limit_v: FloatArray
    inverse_time: BoolArray
    reversible: BoolArray
    rev_v_set_v: FloatArray
    rev_band_v: FloatArray
    rev_ldc_r_v: FloatArray
    rev_ldc_x_v: FloatArray
    rev_threshold_w: FloatArray
    rev_delay_s: FloatArray
    rev_neutral: BoolArray
    min_tap_pu: FloatArray
    max_tap_pu: FloatArray
    tap_step_pu: FloatArray

    @property
    def n(self) -> int:
        """Number of regulators."""
        return len(self.names)

    def terminal(self, k: int) -> TerminalKey:
        """The transformer terminal whose currents regulator ``k`` needs."""
        return TerminalKey("transformers", self.transformers[k], int(self.winding[k]))

    @cached_property
    def arrays(self) -> RegulatorArrays:
        """The numeric columns as :class:`RegulatorArrays` (contiguous, for the kernels)."""
        return RegulatorArrays(*(np.ascontiguousarray(getattr(self, f))
                                 for f in RegulatorArrays._fields))


@dataclass(frozen=True, eq=False)
class RegulatorSample:
    """What each regulator decides from one solved state (all arrays of length ``n``).

    Attributes
    ----------
    v_control_v
        The compared voltage ``|Vcontrol|`` (divided by the tap in reverse mode)
        [V on the PT secondary].
    controlled_phase
        Phase (1-based) the voltage was taken from.
    needs_change
        Out of band, or above the voltage limit.
    pending_tap_pu
        Tap change wanted, a whole number of steps (may be 0 when out of band by less
        than half a step) [pu]; meaningful where ``needs_change``.
    can_move
        The tap is not already at the limit in the wanted direction (OpenDSS arms the
        control only then).
    delay_s
        Delay of the first tap change (inverse time applied) [s].
    forward_power_w
        Active power flowing through the sensed winding away from the transformer,
        ``−Re(Σ V·I*)`` over its conductors [W]; the reverse-power test uses it.
    """

    v_control_v: FloatArray
    controlled_phase: IntArray
    needs_change: BoolArray
    pending_tap_pu: FloatArray
    can_move: BoolArray
    delay_s: FloatArray
    forward_power_w: FloatArray


def _delta_direction(t: PowerTransformer) -> int:
    # OpenDSS TTransfObj.RecalcElementData: same connections → +1; otherwise the
    # high-voltage winding's connection and the lead/lag convention decide.
    w1, w2 = t.windings[0], t.windings[1]
    if w1.connection == w2.connection:
        return 1
    hv = w1 if w1.v_kv >= w2.v_kv else w2
    lead = t.phase_shift == PhaseShift.LEAD
    if hv.connection == Connection.WYE:
        return -1 if lead else 1
    return 1 if lead else -1


def _bus_spec(spec: str, nodes: NodeIndex) -> tuple[int, int]:
    # OpenDSS gives the regulated-bus terminal two conductors (nodes 1 and 2 unless the
    # bus spec names others); a node the bus lacks reads as ground.
    parts = spec.split(".")
    bus, listed = parts[0], [int(p) for p in parts[1:] if p]
    if bus not in nodes.buses:
        raise PowerFlowError(f"regulated bus {bus!r} is not in the network")
    wanted = [*listed, *[n for n in (1, 2) if n not in listed]][:2]
    out = []
    for n in wanted:
        try:
            out.append(nodes.of(bus, n))
        except TopologyError:
            out.append(GROUND)
    return out[0], out[1]


def regulator_table(network: Network, nodes: NodeIndex) -> RegulatorTable:
    """Compile the enabled regulators of ``network``.

    Raises
    ------
    PowerFlowError
        If a regulator names a transformer, winding or bus the network lacks.

    Examples
    --------
    >>> from feederos.feeders import load_feeder
    >>> from feederos.powerflow import node_index
    >>> net = load_feeder("ieee13")
    >>> table = regulator_table(net, node_index(net))
    >>> table.names, float(table.v_base_v[0]), round(float(table.tap_step_pu[0]), 9)
    (('reg1', 'reg2', 'reg3'), 2400.0, 0.00625)
    """
    transformers = {t.name: t for t in network.transformers}
    regs = [r for r in network.regulators if r.enabled]
    c = max([transformers[r.transformer].phases + 1 for r in regs
             if r.transformer in transformers], default=2)
    cols: dict[str, list[float]] = {k: [] for k in (
        "v_base_v", "pt_phase", "delta_direction", "min_tap_pu", "max_tap_pu", "tap_step_pu")}
    conductors = np.full((len(regs), max(c, 4)), GROUND, dtype=np.int64)
    bus_nodes = np.full((len(regs), 2), GROUND, dtype=np.int64)
    for k, r in enumerate(regs):
        t = transformers.get(r.transformer)
        if t is None:
            raise PowerFlowError(f"regulator {r.name!r}: no transformer {r.transformer!r}")
        if r.winding > len(t.windings):
            raise PowerFlowError(f"regulator {r.name!r}: transformer {t.name!r} has no "
                                 f"winding {r.winding}")
        w = t.windings[r.winding - 1]
        n_cond = t.phases + 1
        conductors[k, :n_cond] = nodes.conductors(w.terminal, n_cond)
        if r.monitored_bus is not None:
            bus_nodes[k] = _bus_spec(r.monitored_bus, nodes)
        pt = _PT_CODE[r.pt_phase]
        if r.monitored_bus is None and pt > t.phases:
            pt = 1  # OpenDSS RegControl.RecalcElementData resets an impossible phase
        wye_3ph = w.connection == Connection.WYE and t.phases > 1
        cols["v_base_v"].append(w.v_kv * 1000.0 / math.sqrt(3) if wye_3ph else w.v_kv * 1000.0)
        cols["pt_phase"].append(pt)
        cols["delta_direction"].append(_delta_direction(t))
        cols["min_tap_pu"].append(w.min_tap_pu)
        cols["max_tap_pu"].append(w.max_tap_pu)
        cols["tap_step_pu"].append((w.max_tap_pu - w.min_tap_pu) / w.n_taps)

    def col(key: str) -> FloatArray:
        return np.array(cols[key], dtype=np.float64)

    def attr(name: str) -> FloatArray:
        return np.array([float(getattr(r, name)) for r in regs], dtype=np.float64)

    n = len(regs)
    winding = np.array([r.winding for r in regs], dtype=np.int64)
    return RegulatorTable(
        names=tuple(r.name for r in regs),
        transformers=tuple(r.transformer for r in regs),
        winding=winding,
        tap_winding=winding.copy(),
        n_phases=np.array([transformers[r.transformer].phases for r in regs], dtype=np.int64),
        conductors=conductors,
        is_delta=np.array([transformers[r.transformer].windings[r.winding - 1].connection
                           == Connection.DELTA for r in regs], dtype=np.bool_),
        delta_direction=col("delta_direction").astype(np.int64),
        v_base_v=col("v_base_v"),
        uses_bus=np.array([r.monitored_bus is not None for r in regs], dtype=np.bool_),
        bus_nodes=bus_nodes,
        pt_ratio=attr("pt_ratio"),
        remote_pt_ratio=attr("pt_ratio"),
        ct_primary_a=attr("ct_primary_a"),
        v_set_v=attr("v_set_v"),
        band_v=attr("band_v"),
        ldc_r_v=attr("ldc_r_v"),
        ldc_x_v=attr("ldc_x_v"),
        delay_s=attr("delay_s"),
        tap_delay_s=attr("tap_delay_s"),
        max_tap_change=np.array([r.max_tap_change for r in regs], dtype=np.int64),
        pt_phase=col("pt_phase").astype(np.int64),
        v_limit_v=np.array([r.v_limit_v or 0.0 for r in regs], dtype=np.float64),
        inverse_time=np.zeros(n, dtype=np.bool_),
        reversible=np.array([r.reversible for r in regs], dtype=np.bool_),
        rev_v_set_v=np.full(n, 120.0),
        rev_band_v=np.full(n, 3.0),
        rev_ldc_r_v=np.zeros(n),
        rev_ldc_x_v=np.zeros(n),
        rev_threshold_w=np.full(n, 100_000.0),
        rev_delay_s=np.full(n, 60.0),
        rev_neutral=np.zeros(n, dtype=np.bool_),
        min_tap_pu=col("min_tap_pu"),
        max_tap_pu=col("max_tap_pu"),
        tap_step_pu=col("tap_step_pu"),
    )


def regulator_sample(
    table: RegulatorTable,
    tap_pu: FloatArray,
    v: ComplexArray,
    i_winding: ComplexArray,
    *,
    in_reverse: BoolArray | None = None,
) -> RegulatorSample:
    """Sample every regulator at a solved state (OpenDSS ``TRegControlObj.Sample``).

    Parameters
    ----------
    table
        The regulators.
    tap_pu
        Present tap of each regulator's tapped winding, shape ``(n,)`` [pu].
    v
        Node voltages, indexed by :class:`~feederos.powerflow.NodeIndex` [V].
    i_winding
        Currents *into* the transformer at each conductor of the sensed winding's
        terminal (``PrimitiveBlock.currents`` columns ``(w-1)·c … w·c`` with
        ``c = phases + 1``), shape ``(n, ≥ c)``, zero-padded [A].
    in_reverse
        Regulators in reverse-power mode (default none).

    Returns
    -------
    RegulatorSample
        The decision of each regulator; arming and queueing are the caller's.

    Examples
    --------
    A single-phase regulator at 2520 V on a 2400 V winding with PT 20 reads 126 V; the
    set point 120 V asks for ``(120 − 126)·20 / 2400 = −0.05`` pu, eight steps down.

    >>> import numpy as np
    >>> t = _example_table()
    >>> s = regulator_sample(t, np.array([1.0]), np.array([2520.0 + 0j]),
    ...                      np.zeros((1, 2), complex))
    >>> float(s.v_control_v[0]), bool(s.needs_change[0]), float(s.pending_tap_pu[0])
    (126.0, True, -0.05)
    """
    n = table.n
    if in_reverse is None:
        in_reverse = np.zeros(n, dtype=np.bool_)
    if n == 0:
        empty = np.zeros(0)
        return RegulatorSample(empty, np.zeros(0, np.int64), np.zeros(0, np.bool_), empty,
                               np.zeros(0, np.bool_), empty, empty)
    out = sample_regulators(table.arrays, np.ascontiguousarray(tap_pu, dtype=np.float64),
                            np.ascontiguousarray(v, dtype=np.complex128),
                            np.ascontiguousarray(i_winding, dtype=np.complex128),
                            np.ascontiguousarray(in_reverse, dtype=np.bool_))
    return RegulatorSample(*out)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def sample_regulators(
    t: RegulatorArrays, tap_pu: FloatArray, v: ComplexArray, i_winding: ComplexArray,
    in_reverse: BoolArray,
) -> tuple[FloatArray, IntArray, BoolArray, FloatArray, BoolArray, FloatArray,
           FloatArray]:  # pragma: no cover - compiled
    """:func:`regulator_sample`'s arithmetic: the fields of :class:`RegulatorSample`, in
    order.

    Per regulator, as OpenDSS ``Sample``/``GetControlVoltage`` do it: the winding's phase
    voltages (``TTransfObj.GetWindingVoltages``: wye phase minus the winding's neutral
    conductor; delta phase minus the ``RotatePhases`` neighbour, which for one- and
    two-phase units may point past the winding and then reads ground), or the remote
    bus's, on the PT phase; the LDC drop; the band test; the boost rounded half-to-even
    to whole steps (``np.rint``, as Pascal's ``Round``).
    """
    n = t.winding.size
    c = t.conductors.shape[1]
    v_control_v = np.zeros(n)
    controlled_phase = np.zeros(n, dtype=np.int64)
    needs_change = np.zeros(n, dtype=np.bool_)
    pending_tap_pu = np.zeros(n)
    can_move = np.zeros(n, dtype=np.bool_)
    delay_s = np.zeros(n)
    forward_power_w = np.zeros(n)
    vc = np.zeros(c, dtype=np.complex128)
    ic = np.zeros(c, dtype=np.complex128)
    winding_v = np.zeros(3, dtype=np.complex128)
    sensed = np.zeros(3, dtype=np.complex128)
    for k in range(n):
        for a in range(c):
            node = t.conductors[k, a]
            vc[a] = v[node] if node >= 0 else 0j
            ic[a] = i_winding[k, a] if a < i_winding.shape[1] else 0j
        n_ph = t.n_phases[k]
        many = n_ph > 2
        for ph in range(3):
            if t.is_delta[k]:
                nxt = ph + 1 + t.delta_direction[k]
                if many and nxt > n_ph:
                    nxt = 1
                if many and nxt < 1:
                    nxt = n_ph
                if not many and nxt < 1:
                    nxt = 3
                other = vc[min(nxt, c) - 1] if nxt <= n_ph + 1 else 0j
                winding_v[ph] = vc[ph] - other
            else:
                winding_v[ph] = vc[ph] - vc[n_ph]
        # A remote bus is sensed as one phase: node 1, or node 1 minus node 2 for delta.
        if t.uses_bus[k]:
            b0, b1 = t.bus_nodes[k, 0], t.bus_nodes[k, 1]
            v_bus = v[b0] if b0 >= 0 else 0j
            if t.is_delta[k] and 1 + t.delta_direction[k] == 2:
                v_bus = v_bus - (v[b1] if b1 >= 0 else 0j)
            sensed[0], sensed[1], sensed[2] = v_bus, 0j, 0j
            n_sensed = 1
            pt = t.remote_pt_ratio[k]
        else:
            sensed[:] = winding_v
            n_sensed = n_ph
            pt = t.pt_ratio[k]
        cp = 0 if t.uses_bus[k] else max(t.pt_phase[k], 1) - 1
        if t.pt_phase[k] == PT_MAX or t.pt_phase[k] == PT_MIN:
            cp = 0  # the first phase of the highest (lowest) magnitude
            highest = t.pt_phase[k] == PT_MAX
            for ph in range(1, min(n_sensed, 3)):
                mag, best = abs(sensed[ph]), abs(sensed[cp])
                if (mag > best) if highest else (mag < best):
                    cp = ph
        v_control = sensed[cp] / pt
        v_local = abs(winding_v[0] / t.pt_ratio[k]) if t.uses_bus[k] else abs(v_control)
        reverse = in_reverse[k]
        if not t.uses_bus[k] and (t.ldc_r_v[k] != 0 or t.ldc_x_v[k] != 0):
            z = (complex(t.rev_ldc_r_v[k], t.rev_ldc_x_v[k]) if reverse
                 else complex(t.ldc_r_v[k], t.ldc_x_v[k]))
            v_control = v_control + z * (ic[cp] / t.ct_primary_a[k])
        v_actual = abs(v_control)
        if reverse:
            v_actual = v_actual / tap_pu[k]
        v_reg = t.rev_v_set_v[k] if reverse else t.v_set_v[k]
        band = t.rev_band_v[k] if reverse else t.band_v[k]
        over_limit = t.v_limit_v[k] > 0 and v_local > t.v_limit_v[k]
        needs = abs(v_reg - v_actual) > band / 2.0 or over_limit
        boost_v = t.v_limit_v[k] - v_local if over_limit else v_reg - v_actual
        boost_pu = boost_v * t.pt_ratio[k] / t.v_base_v[k]
        step = t.tap_step_pu[k]
        pending = np.rint(boost_pu / step) * step
        if t.tap_winding[k] != t.winding[k] or reverse:
            pending = -pending
        if t.inverse_time[k]:
            delay_s[k] = t.delay_s[k] / min(10.0, 2.0 * abs(t.v_set_v[k] - v_actual)
                                            / t.band_v[k])
        else:
            delay_s[k] = t.delay_s[k]
        v_control_v[k] = v_actual
        controlled_phase[k] = cp + 1
        needs_change[k] = needs
        pending_tap_pu[k] = pending if needs else 0.0
        can_move[k] = tap_pu[k] < t.max_tap_pu[k] if pending > 0 else tap_pu[k] > t.min_tap_pu[k]
        power = 0j
        for a in range(c):
            power += vc[a] * ic[a].conjugate()
        forward_power_w[k] = -power.real
    return (v_control_v, controlled_phase, needs_change, pending_tap_pu, can_move, delay_s,
            forward_power_w)


@njit(cache=True, nogil=True, inline="always")
def regulators_near_edge(
    t: RegulatorArrays, v_control_v: FloatArray, in_reverse: BoolArray, rel: float
) -> bool:  # pragma: no cover - compiled
    """Whether a sample's control voltages (:func:`sample_regulators`' first field) put
    any regulator within ``rel`` of its voltage (relative) of a point where its decision
    flips: a band edge, or a boost halfway between two whole tap steps.

    A control loop that samples a solution known only to ``rel``'s order solves further
    before it acts on such a sample. Not covered: the ``v_limit_v`` override and the
    choice of phase under ``PT_MAX``/``PT_MIN``.

    Examples
    --------
    >>> t = _example_table().arrays
    >>> rev = np.zeros(1, dtype=np.bool_)
    >>> float(t.v_set_v[0]), float(t.band_v[0])
    (120.0, 2.0)
    >>> regulators_near_edge(t, np.array([118.9995]), rev, 1e-4)  # 0.5 mV off the edge
    True
    >>> regulators_near_edge(t, np.array([118.5]), rev, 1e-4)
    False
    """
    for k in range(v_control_v.size):
        v_actual = v_control_v[k]
        reverse = in_reverse[k]
        v_reg = t.rev_v_set_v[k] if reverse else t.v_set_v[k]
        band = t.rev_band_v[k] if reverse else t.band_v[k]
        slack = rel * v_actual
        off_band = abs(v_reg - v_actual) - band / 2.0
        if abs(off_band) < slack:
            return True
        if off_band < 0.0:  # in band: no boost is taken, its rounding cannot matter
            continue
        volts_per_step = t.tap_step_pu[k] * t.v_base_v[k] / t.pt_ratio[k]
        steps = (v_reg - v_actual) / volts_per_step
        if abs(abs(steps - math.floor(steps)) - 0.5) * volts_per_step < slack:
            return True
    return False


@njit(cache=True, nogil=True)
def at_least_one_tap(
    pending_pu: float, step_pu: float, max_tap_change: int
) -> tuple[float, int]:  # pragma: no cover - compiled
    """Tap change one STATIC-mode action makes (OpenDSS ``AtLeastOneTap``).

    Moves 70 % of the pending change, at least one step and at most
    ``max_tap_change`` steps, in the pending direction.

    Returns
    -------
    tuple
        The change [pu] and the signed number of steps.
    """
    n = math.trunc(0.7 * abs(pending_pu) / step_pu)
    n = min(max(n, 1), max_tap_change)
    return (n * step_pu, n) if pending_pu > 0.0 else (-n * step_pu, -n)


@njit(cache=True, nogil=True)
def neutral_tap_change(tap_pu: float, step_pu: float) -> float:  # pragma: no cover - compiled
    """Change that brings a tap back to neutral (1.0) in whole steps [pu].

    Used by a reversible regulator with ``revNeutral`` in reverse mode.
    """
    if abs(tap_pu - 1.0) <= _EPSILON:
        return 0.0
    return float(np.rint((1.0 - tap_pu) / step_pu) * step_pu)


def tap_number(tap_pu: float, min_tap_pu: float, max_tap_pu: float, step_pu: float) -> int:
    """Tap position counted from the middle of the range (OpenDSS ``TapNum``)."""
    return round((tap_pu - (max_tap_pu + min_tap_pu) / 2.0) / step_pu)


def _example_table() -> RegulatorTable:
    """A one-regulator table for the doctests: 1-phase wye, 2400 V, PT 20, no LDC."""
    one = np.ones(1)
    return RegulatorTable(
        names=("r",), transformers=("t",), winding=np.array([2]), tap_winding=np.array([2]),
        n_phases=np.array([1]), conductors=np.array([[0, GROUND, GROUND, GROUND]]),
        is_delta=np.array([False]), delta_direction=np.array([1]), v_base_v=2400.0 * one,
        uses_bus=np.array([False]), bus_nodes=np.array([[GROUND, GROUND]]),
        pt_ratio=20.0 * one, remote_pt_ratio=20.0 * one, ct_primary_a=300.0 * one,
        v_set_v=120.0 * one, band_v=2.0 * one, ldc_r_v=0.0 * one, ldc_x_v=0.0 * one,
        delay_s=15.0 * one, tap_delay_s=2.0 * one, max_tap_change=np.array([16]),
        pt_phase=np.array([1]), v_limit_v=0.0 * one, inverse_time=np.array([False]),
        reversible=np.array([False]), rev_v_set_v=120.0 * one, rev_band_v=3.0 * one,
        rev_ldc_r_v=0.0 * one, rev_ldc_x_v=0.0 * one, rev_threshold_w=1e5 * one,
        rev_delay_s=60.0 * one, rev_neutral=np.array([False]), min_tap_pu=0.9 * one,
        max_tap_pu=1.1 * one, tap_step_pu=0.00625 * one,
    )
