"""Voltage regulators (OpenDSS RegControl): what one control samples after a solve.

A regulator senses one phase of a transformer winding through a potential transformer
(PT), adds the line-drop compensator (LDC) voltage of the winding current through a
current transformer (CT), and asks for a tap change when the result leaves the band
``v_set_v ± band_v / 2`` (all on the 120 V PT secondary). This module holds the
compiled settings (:class:`RegulatorTable`) and the pure decision of one sample
(:func:`regulator_sample`); the queue, delays and arming live in
:mod:`feederos.powerflow.controls.static`.

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

import numpy as np

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
from feederos.powerflow.nodes import GROUND, NodeIndex, node_voltages

__all__ = [
    "PT_MAX",
    "PT_MIN",
    "RegulatorSample",
    "RegulatorTable",
    "at_least_one_tap",
    "neutral_tap_change",
    "regulator_sample",
    "regulator_table",
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


def _winding_voltages(table: RegulatorTable, v_cond: ComplexArray) -> ComplexArray:
    """Voltage across each phase of the sensed winding, ``(n, 3)`` [V].

    OpenDSS ``TTransfObj.GetWindingVoltages``: wye phase minus the winding's neutral
    conductor; delta phase minus the ``RotatePhases`` neighbour (which for one- and
    two-phase units may point past the winding and then reads ground).
    """
    n = table.n
    rows = np.arange(n)[:, None]
    phase = np.arange(1, 4)[None, :]
    neutral = v_cond[np.arange(n), table.n_phases]
    wye = v_cond[:, :3] - neutral[:, None]
    nxt = phase + table.delta_direction[:, None]
    many = (table.n_phases > 2)[:, None]
    nxt = np.where(many & (nxt > table.n_phases[:, None]), 1, nxt)
    nxt = np.where(many & (nxt < 1), table.n_phases[:, None], nxt)
    nxt = np.where(~many & (nxt < 1), 3, nxt)
    inside = nxt <= table.n_phases[:, None] + 1
    other = np.where(inside, v_cond[rows, np.minimum(nxt, v_cond.shape[1]) - 1], 0.0)
    delta = v_cond[:, :3] - other
    out: ComplexArray = np.where(table.is_delta[:, None], delta, wye).astype(np.complex128)
    return out


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
    rows = np.arange(n)
    v_cond = node_voltages(v, table.conductors)
    i_pad = np.zeros(v_cond.shape, dtype=np.complex128)
    i_pad[:, : i_winding.shape[1]] = i_winding[:, : v_cond.shape[1]]
    winding_v = _winding_voltages(table, v_cond)

    # A remote bus is sensed as one phase: node 1, or node 1 minus node 2 for delta.
    v_bus = node_voltages(v, table.bus_nodes)
    nxt = 1 + table.delta_direction
    bus_delta = np.where(nxt == 2, v_bus[:, 1], 0.0)
    bus_v = np.where(table.is_delta, v_bus[:, 0] - bus_delta, v_bus[:, 0])
    sensed = np.where(table.uses_bus[:, None],
                      np.pad(bus_v[:, None], ((0, 0), (0, 2))), winding_v)
    n_sensed = np.where(table.uses_bus, 1, table.n_phases)
    pt = np.where(table.uses_bus, table.remote_pt_ratio, table.pt_ratio)

    mag = np.abs(sensed)
    valid = np.arange(3)[None, :] < n_sensed[:, None]
    phase_max = np.argmax(np.where(valid, mag, -np.inf), axis=1)
    phase_min = np.argmin(np.where(valid, mag, np.inf), axis=1)
    fixed = np.where(table.uses_bus, 0, np.maximum(table.pt_phase, 1) - 1)
    cp = np.where(table.pt_phase == PT_MAX, phase_max,
                  np.where(table.pt_phase == PT_MIN, phase_min, fixed))
    v_control = sensed[rows, cp] / pt

    active_limit = table.v_limit_v > 0
    v_local = np.where(table.uses_bus, np.abs(winding_v[:, 0] / table.pt_ratio),
                       np.abs(v_control))

    ldc = ~table.uses_bus & ((table.ldc_r_v != 0) | (table.ldc_x_v != 0))
    z = np.where(in_reverse, table.rev_ldc_r_v + 1j * table.rev_ldc_x_v,
                 table.ldc_r_v + 1j * table.ldc_x_v)
    i_ldc = i_pad[rows, cp] / table.ct_primary_a
    v_control = np.where(ldc, v_control + z * i_ldc, v_control)

    v_actual = np.abs(v_control)
    v_actual = np.where(in_reverse, v_actual / tap_pu, v_actual)
    v_reg = np.where(in_reverse, table.rev_v_set_v, table.v_set_v)
    band = np.where(in_reverse, table.rev_band_v, table.band_v)
    over_limit = active_limit & (v_local > table.v_limit_v)
    needs = (np.abs(v_reg - v_actual) > band / 2.0) | over_limit
    boost_v = np.where(over_limit, table.v_limit_v - v_local, v_reg - v_actual)
    boost_pu = boost_v * table.pt_ratio / table.v_base_v
    step = table.tap_step_pu
    pending = np.round(boost_pu / step) * step  # half-to-even, as Pascal's Round
    flip = (table.tap_winding != table.winding) | in_reverse
    pending = np.where(flip, -pending, pending)
    can_move = np.where(pending > 0, tap_pu < table.max_tap_pu, tap_pu > table.min_tap_pu)

    with np.errstate(divide="ignore"):  # only read where out of band, never 0 there
        shorter = table.delay_s / np.minimum(
            10.0, 2.0 * np.abs(table.v_set_v - v_actual) / table.band_v)
    delay = np.where(table.inverse_time, shorter, table.delay_s)
    forward = -np.real(np.sum(v_cond * np.conj(i_pad), axis=1))
    return RegulatorSample(
        v_control_v=v_actual.astype(np.float64),
        controlled_phase=(cp + 1).astype(np.int64),
        needs_change=needs.astype(np.bool_),
        pending_tap_pu=np.where(needs, pending, 0.0).astype(np.float64),
        can_move=can_move.astype(np.bool_),
        delay_s=delay.astype(np.float64),
        forward_power_w=forward.astype(np.float64),
    )


def at_least_one_tap(pending_pu: float, step_pu: float, max_tap_change: int) -> tuple[float, int]:
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


def neutral_tap_change(tap_pu: float, step_pu: float) -> float:
    """Change that brings a tap back to neutral (1.0) in whole steps [pu].

    Used by a reversible regulator with ``revNeutral`` in reverse mode.
    """
    if abs(tap_pu - 1.0) <= _EPSILON:
        return 0.0
    return float(round((1.0 - tap_pu) / step_pu) * step_pu)


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
