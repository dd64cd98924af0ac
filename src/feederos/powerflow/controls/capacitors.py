"""Capacitor controls (OpenDSS CapControl): what one control samples after a solve.

A control watches one terminal of an element (usually a line just upstream of the
bank) and switches its capacitor by one step towards *on* or *off*: on current, voltage,
kvar, time of day or power factor, with an optional voltage override. This module
holds the compiled settings (:class:`CapacitorControlTable`), the pure decision of one
sample (:func:`capacitor_sample`) and the step arithmetic of one switching action
(:func:`switch_capacitor`); the queue, delays, arming and dead time live in
:mod:`feederos.powerflow.controls.static`.

The decisions follow OpenDSS ``CapControl.pas`` (``Sample``, ``GetControlVoltage``,
``GetControlCurrent``, ``DoPendingAction``) and ``Capacitor.pas`` (``AddStep``,
``SubtractStep``), including two quirks that change results:

* when the bank is on with steps still available and the sensed value lies between
  the settings, a current/kvar/time/pf control keeps its previous pending action
  (:data:`KEEP`) instead of resetting it;
* a current control on one CT phase reads that conductor of the element's *first*
  terminal, whatever ``terminal`` says (:attr:`CapacitorControlTable.ct_terminal`).

Examples
--------
>>> switch_capacitor((1, 1, 0), CLOSE)
((1, 1, 1), False)
>>> switch_capacitor((1,), OPEN)
((0,), True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from feederos.errors import PowerFlowError
from feederos.model import Connection, Network, Terminal
from feederos.model.shunts import CapacitorControlMode
from feederos.powerflow.controls._types import (
    BoolArray,
    ComplexArray,
    FloatArray,
    IntArray,
    TerminalKey,
)
from feederos.powerflow.nodes import GROUND, NodeIndex, node_voltages

__all__ = [
    "CLOSE",
    "KEEP",
    "MODE_CODES",
    "NONE",
    "OPEN",
    "PHASE_AVG",
    "PHASE_MAX",
    "PHASE_MIN",
    "CapacitorControlTable",
    "CapacitorSample",
    "capacitor_control_table",
    "capacitor_sample",
    "last_step_in_service",
    "switch_capacitor",
]

NONE = 0
"""Pending action: nothing (a reset)."""
OPEN = 1
"""Pending action: switch one step off (the whole bank for a single step)."""
CLOSE = 2
"""Pending action: switch one step on."""
KEEP = -1
"""Sample result: leave the previous pending action as it is."""

PHASE_AVG, PHASE_MAX, PHASE_MIN = -1, -2, -3
"""Phase codes of ``pt_phase``/``ct_phase`` besides 1, 2, 3 (OpenDSS's values)."""

MODE_CODES = {
    CapacitorControlMode.CURRENT: 0,
    CapacitorControlMode.VOLTAGE: 1,
    CapacitorControlMode.KVAR: 2,
    CapacitorControlMode.TIME: 3,
    CapacitorControlMode.PF: 4,
}
"""Integer code of each control mode in :attr:`CapacitorControlTable.mode`."""
_CURRENT, _VOLTAGE, _KVAR, _TIME, _PF = range(5)
_PHASES = {"avg": PHASE_AVG, "max": PHASE_MAX, "min": PHASE_MIN, "1": 1, "2": 2, "3": 3}

# OpenDSS element class of a CapControl "element=" → network collections holding it.
_CLASS_COLLECTIONS = {
    "line": ("lines", "switches"),
    "transformer": ("transformers",),
    "capacitor": ("capacitors",),
    "reactor": ("reactors",),
}


@dataclass(frozen=True, eq=False)
class CapacitorControlTable:
    """Settings of ``n`` enabled capacitor controls, in network order, as arrays.

    Attributes
    ----------
    names, capacitors
        Control names and the capacitor each switches.
    mode
        Sensed quantity, a value of :data:`MODE_CODES`.
    monitored
        The monitored element terminal of each control.
    ct_terminal
        Terminal whose conductor currents the current mode reads: the first one for a
        single CT phase (OpenDSS reads ``cBuffer[CTphase]`` without the terminal
        offset), else the monitored one.
    conductors
        Node index of each conductor of the monitored terminal, ``(n, c)``, GROUND
        where grounded or past the element's conductors.
    monitored_phases
        Phases of the monitored element (the avg/max/min voltage span).
    on_value, off_value
        Settings in the sensed unit: A and V on the CT/PT secondary, kvar, hours.
    pf_on, pf_off
        Power-factor settings on OpenDSS's 0…2 scale (above 1 = leading).
    pt_ratio, ct_ratio
        Instrument transformer ratios.
    pt_phase, ct_phase
        Sensed phase 1, 2, 3 or :data:`PHASE_AVG` / :data:`PHASE_MAX` /
        :data:`PHASE_MIN`.
    delay_on_s, delay_off_s, dead_time_s
        Delays before switching on / off, and the lockout after switching off [s].
    v_min_v, v_max_v, voltage_override
        Voltage override limits [V on the PT secondary] and whether they apply.
    n_steps, cap_phases, cap_delta, total_kvar_kvar
        The capacitor: steps, phases, delta connection, total rating [kvar].
    pct_min_kvar
        Share of the bank's kvar that must be flowing before a pf control switches on
        [%] (OpenDSS ``pctMinkvar``, default 50).
    """

    names: tuple[str, ...]
    capacitors: tuple[str, ...]
    mode: IntArray
    monitored: tuple[TerminalKey, ...]
    ct_terminal: tuple[TerminalKey, ...]
    conductors: IntArray
    monitored_phases: IntArray
    on_value: FloatArray
    off_value: FloatArray
    pf_on: FloatArray
    pf_off: FloatArray
    pt_ratio: FloatArray
    ct_ratio: FloatArray
    pt_phase: IntArray
    ct_phase: IntArray
    delay_on_s: FloatArray
    delay_off_s: FloatArray
    dead_time_s: FloatArray
    v_min_v: FloatArray
    v_max_v: FloatArray
    voltage_override: BoolArray
    n_steps: IntArray
    cap_phases: IntArray
    cap_delta: BoolArray
    total_kvar_kvar: FloatArray
    pct_min_kvar: FloatArray

    @property
    def n(self) -> int:
        """Number of controls."""
        return len(self.names)


@dataclass(frozen=True, eq=False)
class CapacitorSample:
    """What each capacitor control decides from one solved state (length ``n``).

    Attributes
    ----------
    measured
        The sensed value of the control's mode (A, V, kvar, h or pf), for reports.
    pending
        :data:`OPEN`, :data:`CLOSE`, :data:`NONE`, or :data:`KEEP` (leave the
        previous pending action).
    should_switch
        A switching action is wanted now (the caller arms it unless already armed).
    override
        The voltage override decided it.
    """

    measured: FloatArray
    pending: IntArray
    should_switch: BoolArray
    override: BoolArray


def _terminal_of(network: Network, element: str, terminal: int) -> tuple[TerminalKey, Terminal
                                                                          | None, int, int]:
    """Resolve ``'line.l1'`` to its collection, the terminal, conductors and phases."""
    cls, _, name = element.partition(".")
    for kind in _CLASS_COLLECTIONS.get(cls, ()):
        for e in network.collection(kind):
            if e.name != name:
                continue
            key = TerminalKey(kind, name, terminal)
            if kind in ("lines", "switches", "reactors"):
                ends = (e.bus1, e.bus2)
                if terminal > 2:
                    break
                return key, ends[terminal - 1], e.phases, e.phases
            if kind == "transformers":
                if terminal > len(e.windings):
                    break
                return key, e.windings[terminal - 1].terminal, e.phases + 1, e.phases
            # capacitors: terminal 2 is the neutral side, grounded unless given
            if terminal > 2:
                break
            term = e.terminal if terminal == 1 else e.terminal2
            return key, term, e.phases, e.phases
    raise PowerFlowError(f"capacitor control: cannot monitor {element!r} terminal {terminal} "
                         f"(supported: {', '.join(_CLASS_COLLECTIONS)})")


def _pf_setting(value: float, default: float) -> float:
    # OpenDSS CapControl: a pf setting in −1…1, negative meaning leading, maps to 0…2.
    if -1.0 <= value <= 1.0:
        return 2.0 + value if value < 0.0 else value
    return default


def capacitor_control_table(network: Network, nodes: NodeIndex) -> CapacitorControlTable:
    """Compile the enabled capacitor controls of ``network``.

    Raises
    ------
    PowerFlowError
        If a control monitors an element the network lacks (or of an unsupported kind).

    Examples
    --------
    >>> from feederos.feeders import load_feeder
    >>> from feederos.powerflow import node_index
    >>> net = load_feeder("ieee13")
    >>> capacitor_control_table(net, node_index(net)).n
    0
    """
    caps = [c for c in network.capacitors if c.control is not None and c.control.enabled]
    resolved = []
    for cap in caps:
        ctrl = cap.control
        assert ctrl is not None
        resolved.append(_terminal_of(network, ctrl.element, ctrl.terminal))
    width = max([r[2] for r in resolved], default=1)
    conductors = np.full((len(caps), width), GROUND, dtype=np.int64)
    for k, (_, term, n_cond, _) in enumerate(resolved):
        if term is not None:
            conductors[k, :n_cond] = nodes.conductors(term, n_cond)
    ctrls = [c.control for c in caps if c.control is not None]
    ct_phase = np.ones(len(caps), dtype=np.int64)  # the model has no CT phase yet

    def attr(name: str) -> FloatArray:
        return np.array([float(getattr(c, name)) for c in ctrls], dtype=np.float64)

    return CapacitorControlTable(
        names=tuple(c.name for c in ctrls),
        capacitors=tuple(c.name for c in caps),
        mode=np.array([MODE_CODES[c.mode] for c in ctrls], dtype=np.int64),
        monitored=tuple(r[0] for r in resolved),
        ct_terminal=tuple(r[0]._replace(terminal=1) if ct_phase[k] > 0 else r[0]
                          for k, r in enumerate(resolved)),
        conductors=conductors,
        monitored_phases=np.array([r[3] for r in resolved], dtype=np.int64),
        on_value=attr("on_setting"),
        off_value=attr("off_setting"),
        pf_on=np.array([_pf_setting(c.on_setting, 0.95) for c in ctrls], dtype=np.float64),
        pf_off=np.array([_pf_setting(c.off_setting, 1.05) for c in ctrls], dtype=np.float64),
        pt_ratio=attr("pt_ratio"),
        ct_ratio=attr("ct_ratio"),
        pt_phase=np.array([_PHASES.get(c.pt_phase.lower(), 1) for c in ctrls], dtype=np.int64),
        ct_phase=ct_phase,
        delay_on_s=attr("delay_s"),
        delay_off_s=attr("delay_off_s"),
        dead_time_s=attr("dead_time_s"),
        v_min_v=np.array([c.v_min_v or 115.0 for c in ctrls], dtype=np.float64),
        v_max_v=np.array([c.v_max_v or 126.0 for c in ctrls], dtype=np.float64),
        voltage_override=np.array([c.voltage_override for c in ctrls], dtype=np.bool_),
        n_steps=np.array([len(c.q_kvar) for c in caps], dtype=np.int64),
        cap_phases=np.array([c.phases for c in caps], dtype=np.int64),
        cap_delta=np.array([c.connection == Connection.DELTA for c in caps], dtype=np.bool_),
        total_kvar_kvar=np.array([sum(c.q_kvar) for c in caps], dtype=np.float64),
        pct_min_kvar=np.full(len(caps), 50.0),
    )


def _phase_reduce(mag: FloatArray, n_span: IntArray, code: IntArray, fixed: FloatArray
                  ) -> FloatArray:
    """Avg/max/min of ``mag[:, :n_span]`` by ``code``, else the ``fixed`` reading."""
    span = np.arange(mag.shape[1])[None, :] < n_span[:, None]
    count = np.maximum(n_span, 1)
    avg = np.where(span, mag, 0.0).sum(axis=1) / count
    big = np.where(span, mag, -np.inf).max(axis=1, initial=-np.inf)
    small = np.where(span, mag, np.inf).min(axis=1, initial=np.inf)
    return np.select([code == PHASE_AVG, code == PHASE_MAX, code == PHASE_MIN],
                     [avg, big, small], fixed)


def _control_voltage(table: CapacitorControlTable, v_cond: ComplexArray) -> FloatArray:
    """Sensed voltage on the PT secondary (OpenDSS ``GetControlVoltage``) [V]."""
    n = table.n
    width = v_cond.shape[1]
    p = np.clip(table.pt_phase, 1, width) - 1
    nxt = np.where(p + 1 >= table.cap_phases, 0, p + 1)  # NextDeltaPhase wraps on the bank
    v_p = v_cond[np.arange(n), p]
    v_next = v_cond[np.arange(n), np.minimum(nxt, width - 1)]
    fixed = np.abs(np.where(table.cap_delta, v_p - v_next, v_p))
    span = np.minimum(table.monitored_phases, width)
    return _phase_reduce(np.abs(v_cond), span, table.pt_phase, fixed) / table.pt_ratio


def _control_current(table: CapacitorControlTable, i_ct: ComplexArray) -> FloatArray:
    """Sensed current on the CT secondary (OpenDSS ``GetControlCurrent``) [A]."""
    n = table.n
    width = i_ct.shape[1]
    p = np.clip(table.ct_phase, 1, width) - 1
    fixed = np.abs(i_ct[np.arange(n), p])
    span = np.minimum(table.cap_phases, width)
    return _phase_reduce(np.abs(i_ct), span, table.ct_phase, fixed) / table.ct_ratio


def capacitor_sample(
    table: CapacitorControlTable,
    states: IntArray,
    v: ComplexArray,
    i_terminal: ComplexArray,
    i_ct: ComplexArray,
    *,
    time_h: float = 0.0,
) -> CapacitorSample:
    """Sample every capacitor control at a solved state (OpenDSS ``TCapControlObj.Sample``).

    Parameters
    ----------
    table
        The controls.
    states
        Step states of each control's capacitor, ``(n, max steps)``, zero-padded.
    v
        Node voltages, indexed by :class:`~feederos.powerflow.NodeIndex` [V].
    i_terminal
        Currents into the monitored element at the monitored terminal's conductors,
        ``(n, ≥ c)``, zero-padded [A].
    i_ct
        The same for :attr:`CapacitorControlTable.ct_terminal` (what a current control
        reads) [A].
    time_h
        Hour of day for time controls (0 in a snapshot) [h].

    Examples
    --------
    A kvar control (on above 150 kvar, off below −225 kvar) of a closed single-step
    bank sees 300 kvar: nothing to do, and with no step left it resets.

    >>> import numpy as np
    >>> t = _example_table()
    >>> s = capacitor_sample(t, np.array([[1]]), np.array([7200.0 + 0j]),
    ...                      np.array([[(300e3j / 7200.0).conjugate()]]), np.zeros((1, 1)))
    >>> round(float(s.measured[0]), 6), int(s.pending[0]), bool(s.should_switch[0])
    (300.0, 0, False)
    """
    n = table.n
    if n == 0:
        return CapacitorSample(np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.bool_),
                               np.zeros(0, np.bool_))
    v_cond = node_voltages(v, table.conductors)
    width = v_cond.shape[1]
    i_term = np.zeros(v_cond.shape, dtype=np.complex128)
    i_term[:, : min(width, i_terminal.shape[1])] = i_terminal[:, :width]
    last = last_step_in_service(states)
    closed = last > 0
    available = table.n_steps - last

    v_sensed = _control_voltage(table, v_cond)
    s_va = np.sum(v_cond * np.conj(i_term), axis=1)
    q_kvar = s_va.imag * 0.001
    s_abs = np.abs(s_va)
    with np.errstate(invalid="ignore", divide="ignore"):
        pf = np.where(s_abs != 0.0, np.abs(s_va.real) / s_abs, 1.0)
    pf = np.where(s_va.imag < 0.0, 2.0 - pf, pf)
    i_sensed = _control_current(table, np.asarray(i_ct, dtype=np.complex128).reshape(n, -1))
    hour = np.full(n, time_h)

    mode = table.mode
    on, off = table.on_value, table.off_value
    measured = np.select([mode == _CURRENT, mode == _VOLTAGE, mode == _KVAR, mode == _TIME],
                         [i_sensed, v_sensed, q_kvar, hour], pf)
    x = measured
    off_next_day = off <= on
    in_on_window = np.where(off_next_day, (x >= on) & (x < 24.0), (x >= on) & (x < off))
    pf_room_open = q_kvar > table.total_kvar_kvar * table.pct_min_kvar * 0.01
    pf_room_more = q_kvar > table.total_kvar_kvar / table.n_steps * 0.5
    # (turn on when open, turn off when closed, one step more when closed)
    want_on = np.select([mode == _VOLTAGE, mode == _TIME, mode == _PF],
                        [x < on, in_on_window, (x < table.pf_on) & pf_room_open], x > on)
    want_off = np.select(
        [mode == _VOLTAGE, mode == _TIME, mode == _PF],
        [x > off, np.where(off_next_day, (x >= off) & (x < on), (x >= off) | (x < on)),
         x > table.pf_off],
        x < off)
    want_more = np.select([mode == _VOLTAGE, mode == _TIME, mode == _PF],
                          [x < on, in_on_window, (x < table.pf_on) & pf_room_more], x > on)
    idle_closed = np.where(mode == _VOLTAGE, NONE, KEEP)
    pending = np.where(
        closed,
        np.where(want_off, OPEN,
                 np.where(available > 0, np.where(want_more, CLOSE, idle_closed), NONE)),
        np.where(want_on, CLOSE, NONE),
    )
    override_on = ~closed & (v_sensed < table.v_min_v)
    override_off = closed & (v_sensed > table.v_max_v)
    override = table.voltage_override & (mode != _VOLTAGE) & (override_on | override_off)
    pending = np.where(override, np.where(closed, OPEN, CLOSE), pending)
    measured = np.where(override, v_sensed, measured)
    return CapacitorSample(
        measured=measured.astype(np.float64),
        pending=pending.astype(np.int64),
        should_switch=((pending == OPEN) | (pending == CLOSE)).astype(np.bool_),
        override=override.astype(np.bool_),
    )


def last_step_in_service(states: IntArray) -> IntArray:
    """Highest step (1-based) that is in, per row of ``states``; 0 when all are out.

    OpenDSS ``FindLastStepInService``: a bank is *closed* when this is above zero.
    """
    states = np.atleast_2d(np.asarray(states))
    if states.shape[1] == 0:
        return np.zeros(states.shape[0], dtype=np.int64)
    on = states == 1
    idx = states.shape[1] - np.argmax(on[:, ::-1], axis=1)
    return np.where(on.any(axis=1), idx, 0).astype(np.int64)


def switch_capacitor(states: tuple[int, ...], action: int) -> tuple[tuple[int, ...], bool]:
    """Step states after one switching action (OpenDSS ``DoPendingAction``).

    :data:`OPEN` takes out the last step in service (a single-step bank opens),
    :data:`CLOSE` puts in the step after it; anything else changes nothing.

    Returns
    -------
    tuple
        The new states and whether this opened a single-step bank (which starts the
        dead time; OpenDSS does not start it for multi-step banks).
    """
    out = list(states)
    last = int(last_step_in_service(np.array([states]))[0])
    if action == OPEN and last > 0:
        out[last - 1] = 0
        return tuple(out), len(states) == 1
    if action == CLOSE and last < len(states):
        out[last] = 1
    return tuple(out), False


def _example_table() -> CapacitorControlTable:
    """A one-control table for the doctests: kvar control of a 1-phase 300 kvar bank."""
    one = np.ones(1)
    key = TerminalKey("lines", "l", 1)
    return CapacitorControlTable(
        names=("c",), capacitors=("cap",), mode=np.array([_KVAR]), monitored=(key,),
        ct_terminal=(key,), conductors=np.array([[0]]), monitored_phases=np.array([1]),
        on_value=150.0 * one, off_value=-225.0 * one, pf_on=0.95 * one, pf_off=1.05 * one,
        pt_ratio=one, ct_ratio=one, pt_phase=np.array([1]), ct_phase=np.array([1]),
        delay_on_s=100.0 * one, delay_off_s=100.0 * one, dead_time_s=300.0 * one,
        v_min_v=7110.0 * one, v_max_v=7740.0 * one, voltage_override=np.array([True]),
        n_steps=np.array([1]), cap_phases=np.array([1]), cap_delta=np.array([False]),
        total_kvar_kvar=300.0 * one, pct_min_kvar=50.0 * one,
    )
