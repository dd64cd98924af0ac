"""Capacitor controls (OpenDSS CapControl): what one control samples after a solve.

A control watches one terminal of an element (usually a line just upstream of the
bank) and switches its capacitor by one step towards *on* or *off*: on current, voltage,
kvar, time of day or power factor, with an optional voltage override. This module
holds the compiled settings (:class:`CapacitorControlTable`), the pure decision of one
sample (:func:`capacitor_sample`, a compiled kernel, :func:`sample_capacitors`, on the
table's arrays, :class:`CapacitorArrays`) and the step arithmetic of one switching
action (:func:`switch_capacitor`, :func:`switch_step`); the queue, delays, arming and
dead time live in :mod:`feederos.powerflow.controls.static`.

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
from functools import cached_property
from typing import NamedTuple

import numpy as np
from numba import njit

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
from feederos.powerflow.nodes import GROUND, NodeIndex

__all__ = [
    "CLOSE",
    "KEEP",
    "MODE_CODES",
    "NONE",
    "OPEN",
    "PHASE_AVG",
    "PHASE_MAX",
    "PHASE_MIN",
    "CapacitorArrays",
    "CapacitorControlTable",
    "CapacitorSample",
    "capacitor_control_table",
    "capacitor_sample",
    "capacitors_near_edge",
    "last_step_in_service",
    "sample_capacitors",
    "switch_capacitor",
    "switch_step",
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


class CapacitorArrays(NamedTuple):
    """The numeric columns of a :class:`CapacitorControlTable`, as the compiled kernels
    take them (same names, units and meaning)."""

    mode: IntArray
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

    @cached_property
    def arrays(self) -> CapacitorArrays:
        """The numeric columns as :class:`CapacitorArrays` (contiguous, for the kernels)."""
        return CapacitorArrays(*(np.ascontiguousarray(getattr(self, f))
                                 for f in CapacitorArrays._fields))


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
    out = sample_capacitors(
        table.arrays, np.ascontiguousarray(np.atleast_2d(states), dtype=np.int64),
        np.ascontiguousarray(v, dtype=np.complex128),
        np.ascontiguousarray(i_terminal, dtype=np.complex128).reshape(n, -1),
        np.ascontiguousarray(i_ct, dtype=np.complex128).reshape(n, -1), float(time_h))
    return CapacitorSample(*out)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _phase_reduce(mag: FloatArray, n_span: int, code: int,
                  fixed: float) -> float:  # pragma: no cover - compiled
    """Avg/max/min of ``mag[:n_span]`` by ``code``, else the ``fixed`` reading."""
    total, big, small = 0.0, -np.inf, np.inf
    for a in range(n_span):
        total += mag[a]
        big = max(big, mag[a])
        small = min(small, mag[a])
    if code == PHASE_AVG:
        return total / max(n_span, 1)
    if code == PHASE_MAX:
        return big
    if code == PHASE_MIN:
        return small
    return fixed


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def sample_capacitors(
    t: CapacitorArrays, states: IntArray, v: ComplexArray, i_terminal: ComplexArray,
    i_ct: ComplexArray, time_h: float,
) -> tuple[FloatArray, IntArray, BoolArray, BoolArray]:  # pragma: no cover - compiled
    """:func:`capacitor_sample`'s arithmetic: the fields of :class:`CapacitorSample`, in
    order.

    Per control: the sensed voltage (``GetControlVoltage``: the PT phase, line-to-line
    against the next phase of a delta bank, or the avg/max/min over the monitored
    element's phases), current (``GetControlCurrent``), kvar and power factor of the
    monitored terminal, then the on/off decision of its mode and the voltage override.
    """
    n, width = t.conductors.shape
    measured = np.zeros(n)
    pending = np.zeros(n, dtype=np.int64)
    should_switch = np.zeros(n, dtype=np.bool_)
    override = np.zeros(n, dtype=np.bool_)
    vc = np.zeros(width, dtype=np.complex128)
    mag = np.zeros(max(width, i_ct.shape[1]))
    for k in range(n):
        for a in range(width):
            node = t.conductors[k, a]
            vc[a] = v[node] if node >= 0 else 0j
        last = _last_step(states[k])
        closed = last > 0
        available = t.n_steps[k] - last

        p = min(max(t.pt_phase[k], 1), width) - 1
        nxt = 0 if p + 1 >= t.cap_phases[k] else p + 1  # NextDeltaPhase wraps on the bank
        v_p = vc[p]
        fixed = abs(v_p - vc[min(nxt, width - 1)]) if t.cap_delta[k] else abs(v_p)
        for a in range(width):
            mag[a] = abs(vc[a])
        v_sensed = _phase_reduce(mag, min(t.monitored_phases[k], width), t.pt_phase[k],
                                 fixed) / t.pt_ratio[k]

        s_va = 0j
        for a in range(min(width, i_terminal.shape[1])):
            s_va += vc[a] * i_terminal[k, a].conjugate()
        q_kvar = s_va.imag * 0.001
        s_abs = abs(s_va)
        pf = abs(s_va.real) / s_abs if s_abs != 0.0 else 1.0
        if s_va.imag < 0.0:
            pf = 2.0 - pf

        w_ct = i_ct.shape[1]
        for a in range(w_ct):
            mag[a] = abs(i_ct[k, a])
        i_fixed = mag[min(max(t.ct_phase[k], 1), w_ct) - 1]
        i_sensed = _phase_reduce(mag, min(t.cap_phases[k], w_ct), t.ct_phase[k],
                                 i_fixed) / t.ct_ratio[k]

        mode = t.mode[k]
        on, off = t.on_value[k], t.off_value[k]
        if mode == _CURRENT:
            x = i_sensed
        elif mode == _VOLTAGE:
            x = v_sensed
        elif mode == _KVAR:
            x = q_kvar
        elif mode == _TIME:
            x = time_h
        else:
            x = pf
        off_next_day = off <= on
        in_on_window = (x >= on) and ((x < 24.0) if off_next_day else (x < off))
        # turn on when open, turn off when closed, one step more when closed
        if mode == _VOLTAGE:
            want_on, want_off, want_more = x < on, x > off, x < on
        elif mode == _TIME:
            want_on = want_more = in_on_window
            want_off = ((x >= off) and (x < on)) if off_next_day else ((x >= off) or (x < on))
        elif mode == _PF:
            want_on = x < t.pf_on[k] and q_kvar > (t.total_kvar_kvar[k] * t.pct_min_kvar[k]
                                                    * 0.01)
            want_more = x < t.pf_on[k] and q_kvar > t.total_kvar_kvar[k] / t.n_steps[k] * 0.5
            want_off = x > t.pf_off[k]
        else:
            want_on, want_off, want_more = x > on, x < off, x > on
        if closed:
            if want_off:
                action = OPEN
            elif available > 0:
                action = CLOSE if want_more else (NONE if mode == _VOLTAGE else KEEP)
            else:
                action = NONE
        else:
            action = CLOSE if want_on else NONE
        overridden = t.voltage_override[k] and mode != _VOLTAGE and (
            (not closed and v_sensed < t.v_min_v[k]) or (closed and v_sensed > t.v_max_v[k]))
        if overridden:
            action = OPEN if closed else CLOSE
            x = v_sensed
        measured[k] = x
        pending[k] = action
        should_switch[k] = action in (OPEN, CLOSE)
        override[k] = overridden
    return measured, pending, should_switch, override


@njit(cache=True, nogil=True, inline="always")
def capacitors_near_edge(
    t: CapacitorArrays, measured: FloatArray, rel: float
) -> bool:  # pragma: no cover - compiled
    """Whether a sample's measured values (:func:`sample_capacitors`' first field) put any
    control within ``rel`` (relative) of its on or off setting, where its decision flips
    (time controls: never; power-factor controls: their ``pf_on``/``pf_off``).

    The companion of :func:`~feederos.powerflow.controls.regulators.regulators_near_edge`.
    Not covered: the voltage override's limits, and the power-factor control's kvar
    conditions.

    Examples
    --------
    >>> t = _example_table().arrays  # kvar control: on above 150 kvar, off below -225
    >>> near = [capacitors_near_edge(t, np.array([q]), 1e-4) for q in (150.001, 100.0)]
    >>> near
    [True, False]
    """
    for k in range(measured.size):
        mode = t.mode[k]
        if mode == _TIME:
            continue
        on, off = (t.pf_on[k], t.pf_off[k]) if mode == _PF else (t.on_value[k], t.off_value[k])
        x = measured[k]
        if abs(x - on) < rel * max(abs(on), 1e-12) or abs(x - off) < rel * max(abs(off), 1e-12):
            return True
    return False


def last_step_in_service(states: IntArray) -> IntArray:
    """Highest step (1-based) that is in, per row of ``states``; 0 when all are out.

    OpenDSS ``FindLastStepInService``: a bank is *closed* when this is above zero.
    """
    rows = np.atleast_2d(np.asarray(states, dtype=np.int64))
    return np.array([_last_step(np.ascontiguousarray(r)) for r in rows], dtype=np.int64)


@njit(cache=True, nogil=True)
def _last_step(states: IntArray) -> int:  # pragma: no cover - compiled
    """:func:`last_step_in_service` of one bank."""
    for a in range(states.size - 1, -1, -1):
        if states[a] == 1:
            return a + 1
    return 0


@njit(cache=True, nogil=True)
def switch_step(
    states: IntArray, n_steps: int, action: int
) -> tuple[int, bool]:  # pragma: no cover - compiled
    """One switching action on a bank's step states ``states[:n_steps]``, in place
    (OpenDSS ``DoPendingAction``).

    :data:`OPEN` takes out the last step in service, :data:`CLOSE` puts in the step
    after it; anything else changes nothing. Returns the step toggled (0-based, −1 for
    none) and whether this opened a single-step bank (which starts the dead time;
    OpenDSS does not start it for multi-step banks).
    """
    last = _last_step(states[:n_steps])
    if action == OPEN and last > 0:
        states[last - 1] = 0
        return last - 1, n_steps == 1
    if action == CLOSE and last < n_steps:
        states[last] = 1
        return last, False
    return -1, False


def switch_capacitor(states: tuple[int, ...], action: int) -> tuple[tuple[int, ...], bool]:
    """Step states after one switching action (:func:`switch_step` on a tuple).

    Returns
    -------
    tuple
        The new states and whether this opened a single-step bank.
    """
    out = np.array(states, dtype=np.int64)
    _, opened = switch_step(out, out.size, action)
    return tuple(int(x) for x in out), bool(opened)


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
