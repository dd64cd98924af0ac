"""The control loop of a snapshot solution, as OpenDSS runs it in STATIC control mode.

How a solver plugs in
---------------------
The power-flow solver owns the numbers; this module owns the loop. The solver builds
the two tables once per network and then hands over a ``solve`` callback::

    regs = regulator_table(network, nodes)            # RegControls
    caps = capacitor_control_table(network, nodes)    # CapControls
    state0 = initial_control_state(network, regs, caps)

    def solve(state: ControlState) -> SolveOutput:
        # set each transformer's taps from state.tap_pu[name] (one value per winding,
        # [pu]) and each capacitor's step states from state.states[name]; elements
        # not listed keep the model's values. Then solve and return:
        return SolveOutput(v=v, terminal_currents=partial(currents_at, v), converged=ok)

    outcome = run_static_controls(solve, state0, regs, caps, max_control_iterations=...)

``SolveOutput.v`` is the node-voltage vector (indexed by
:class:`~feederos.powerflow.NodeIndex`, volts to ground). ``terminal_currents(key)``
returns, for a :class:`~feederos.powerflow.controls.TerminalKey` ``(kind, name,
terminal)``, the currents *into* that element at each conductor of that terminal —
for a :class:`~feederos.powerflow.PrimitiveBlock` ``b`` and element ``m`` that is
``b.currents(v)[m, (terminal-1)·c : terminal·c]`` with ``c = b.conductors_per_terminal``;
:func:`terminal_currents_from_blocks` builds exactly that. The keys asked for are
``("transformers", regulated transformer, winding)`` for every regulator and the
monitored terminal of every capacitor control (a line, switch, transformer, capacitor
or reactor; see :attr:`CapacitorControlTable.monitored` and ``ct_terminal``).

What the loop does (OpenDSS ``TSolutionObj.SolveSnap``, ``DoControlActions`` and
``TControlQueue``)
---------------------------------------------------------------------------------
1. Solve. If the solve did not converge, stop.
2. Sample every enabled control (regulators, then capacitor controls). A control that
   wants to act and is not *armed* pushes one action onto the queue at
   ``now + delay`` and becomes armed; a control back in band deletes its action. An
   armed control keeps its place in the queue but refreshes what it will do (the tap
   change it computes at its latest sample is the one it makes).
3. If the queue is empty, the controls have settled: stop. Otherwise execute every
   action at the *nearest* time (ties: the most recently pushed first) and go to 1.
   Time does not advance in STATIC mode, so the queue orders controls by their delays:
   a 15 s regulator moves, re-samples and moves again before a 30 s one moves once.
4. Each solve counts as one control iteration; the solve number
   ``max_control_iterations`` samples nothing and the loop stops unsettled (OpenDSS
   warns "Max Control Iterations Exceeded"). The network's
   ``settings.max_control_iterations`` is OpenDSS's ``maxcontroliter``.

The memory, the queue and every decision on them (arming, pushing, deleting, executing
the nearest actions) are compiled kernels on arrays (:class:`LoopMemory`,
:func:`arm_regulators`, :func:`arm_capacitors`, :func:`execute_nearest`):
:func:`run_static_controls` calls them around its Python callback, and
:mod:`feederos.powerflow.controlled` runs the same loop with no Python at all.

The queue is not cleared between iterations, and a regulator action in STATIC mode
moves ``trunc(0.7·pending/step)`` taps (at least 1, at most ``max_tap_change``) at
once. Not modelled: regulator cogeneration mode and ``LDC_Z``; capacitor ``VBus``
override bus, user-written controls; ordering ties between a regulator and a capacitor
control by definition order (they never interact within one batch).

Examples
--------
>>> import numpy as np
>>> from feederos.powerflow.controls.regulators import _example_table
>>> regs = _example_table()
>>> def solve(state):  # an ideal source behind the regulator: 2400 V × tap
...     v = np.array([2400.0 * state.tap_pu["t"][1] + 0j])
...     return SolveOutput(v=v, terminal_currents=lambda key: np.zeros(2, complex))
>>> no_caps = _empty_capacitor_table()
>>> out = run_static_controls(solve, ControlState({"t": (1.0, 1.0)}, {}), regs, no_caps,
...                           max_control_iterations=10)
>>> out.state.tap_pu["t"][1], out.control_iterations, out.converged
(1.0, 1, True)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from feederos.errors import PowerFlowError
from feederos.model import Network
from feederos.powerflow.controls._types import (
    BoolArray,
    ComplexArray,
    FloatArray,
    IntArray,
    TerminalKey,
)
from feederos.powerflow.controls.capacitors import (
    CLOSE,
    KEEP,
    NONE,
    OPEN,
    CapacitorArrays,
    CapacitorControlTable,
    capacitor_sample,
    switch_step,
)
from feederos.powerflow.controls.regulators import (
    RegulatorArrays,
    RegulatorTable,
    at_least_one_tap,
    neutral_tap_change,
    regulator_sample,
)
from feederos.powerflow.primitives.block import PrimitiveBlock

__all__ = [
    "ControlAction",
    "ControlOutcome",
    "ControlState",
    "LoopMemory",
    "SolveOutput",
    "arm_capacitors",
    "arm_regulators",
    "execute_nearest",
    "initial_control_state",
    "loop_memory",
    "reset_loop",
    "run_static_controls",
    "terminal_currents_from_blocks",
]


@dataclass(frozen=True)
class ControlState:
    """The settings the controls move, as handed to the solver.

    Attributes
    ----------
    tap_pu
        Transformer name → tap of each winding [pu], for the regulated transformers.
    states
        Capacitor name → state of each step (1 in, 0 out), for the controlled banks.
    """

    tap_pu: Mapping[str, tuple[float, ...]]
    states: Mapping[str, tuple[int, ...]]


@dataclass(frozen=True, eq=False)
class SolveOutput:
    """What the solver returns for one :class:`ControlState`.

    Attributes
    ----------
    v
        Node voltages [V].
    terminal_currents
        ``key → currents into the element at that terminal's conductors`` [A].
    converged
        Whether the power flow converged (the loop stops on a failed solve).
    """

    v: ComplexArray
    terminal_currents: Callable[[TerminalKey], ComplexArray]
    converged: bool = True


@dataclass(frozen=True)
class ControlAction:
    """One action the controls took, for the result report.

    Attributes
    ----------
    iteration
        Control iteration after whose solve it was taken (1-based).
    time_s
        Its time in the control queue: the sampling time plus the delay [s].
    control
        ``"regcontrol.<name>"`` or ``"capcontrol.<name>"``.
    target
        ``"transformer.<name>"`` or ``"capacitor.<name>"``.
    before, after
        Tap of the tapped winding [pu], or the capacitor's step states.
    note
        ``"+3 taps"``, ``"open"``, ``"close"``, ``"reverse"``...
    """

    iteration: int
    time_s: float
    control: str
    target: str
    before: tuple[float, ...]
    after: tuple[float, ...]
    note: str


@dataclass(frozen=True, eq=False)
class ControlOutcome:
    """Result of :func:`run_static_controls`.

    Attributes
    ----------
    state
        Final taps and capacitor states.
    control_iterations
        Solves done (OpenDSS ``Solution.ControlIterations``).
    actions
        Every executed action in order.
    converged
        The controls settled (queue empty) and the last solve converged.
    output
        The last solve's output, at ``state``.
    """

    state: ControlState
    control_iterations: int
    actions: tuple[ControlAction, ...]
    converged: bool
    output: SolveOutput


def initial_control_state(
    network: Network, regulators: RegulatorTable, capacitors: CapacitorControlTable
) -> ControlState:
    """Taps of the regulated transformers and states of the controlled banks, as imported."""
    transformers = {t.name: t for t in network.transformers}
    banks = {c.name: c for c in network.capacitors}
    return ControlState(
        tap_pu={name: tuple(w.tap_pu for w in transformers[name].windings)
                for name in dict.fromkeys(regulators.transformers)},
        states={name: tuple(banks[name].states) for name in capacitors.capacitors},
    )


def terminal_currents_from_blocks(
    blocks: Sequence[PrimitiveBlock],
) -> Callable[[ComplexArray, TerminalKey], ComplexArray]:
    """``(v, key) → currents into the element at the key's terminal`` from its block.

    Build it once per network; bind ``v`` per solve (``functools.partial(f, v)``).

    Raises
    ------
    PowerFlowError
        When called with an element none of the blocks holds.
    """
    where = {(b.kind, name): (b, m) for b in blocks for m, name in enumerate(b.names)}

    def currents(v: ComplexArray, key: TerminalKey) -> ComplexArray:
        try:
            b, m = where[(key.kind, key.name)]
        except KeyError:
            raise PowerFlowError(f"no primitive block holds {key.kind} {key.name!r}") from None
        return b.terminal_currents(v, m, key.terminal)

    return currents


QUEUED_TAP, QUEUED_REVERSE, QUEUED_CAPACITOR = 0, 1, 2
"""Owners of a queue entry: a regulator's tap change, its reverse-power switch, and a
capacitor control's switching."""


class LoopMemory(NamedTuple):
    """What each control remembers between samples (OpenDSS object fields) and the
    control queue (OpenDSS ``TControlQueue``: sorted by time, a push going before equal
    times), as arrays the compiled kernels update in place.

    Made by :func:`loop_memory`, cleared for a snapshot by :func:`reset_loop`.
    ``queue_size`` is ``[entries, last handle given]``.
    """

    reg_pending: FloatArray
    reg_armed: BoolArray
    reg_handle: IntArray
    in_reverse: BoolArray
    reverse_pending: BoolArray
    reverse_handle: IntArray
    cap_pending: IntArray
    cap_armed: BoolArray
    cap_handle: IntArray
    last_open_s: FloatArray
    queue_time_s: FloatArray
    queue_handle: IntArray
    queue_owner: IntArray
    queue_index: IntArray
    queue_size: IntArray


def loop_memory(n_regulators: int, n_capacitors: int) -> LoopMemory:
    """Memory for ``n_regulators`` and ``n_capacitors`` controls (each holds at most a
    tap and a reverse entry, or one switching entry, in the queue)."""
    n, m = n_regulators, n_capacitors
    q = 2 * n + m
    return LoopMemory(np.zeros(n), np.zeros(n, np.bool_), np.zeros(n, np.int64),
                      np.zeros(n, np.bool_), np.zeros(n, np.bool_), np.zeros(n, np.int64),
                      np.zeros(m, np.int64), np.zeros(m, np.bool_), np.zeros(m, np.int64),
                      np.zeros(m), np.zeros(q), np.zeros(q, np.int64), np.zeros(q, np.int64),
                      np.zeros(q, np.int64), np.zeros(2, np.int64))


@njit(cache=True, nogil=True)
def reset_loop(mem: LoopMemory, dead_time_s: FloatArray,
               time_s: float) -> None:  # pragma: no cover - compiled
    """Fresh memory and an empty queue for a snapshot at ``time_s`` [s] (each bank
    counts as opened its dead time ago)."""
    mem.reg_pending[:] = 0.0
    mem.reg_armed[:] = False
    mem.reg_handle[:] = 0
    mem.in_reverse[:] = False
    mem.reverse_pending[:] = False
    mem.reverse_handle[:] = 0
    mem.cap_pending[:] = NONE
    mem.cap_armed[:] = False
    mem.cap_handle[:] = 0
    for k in range(dead_time_s.size):
        mem.last_open_s[k] = time_s - dead_time_s[k]
    mem.queue_size[:] = 0


@njit(cache=True, nogil=True)
def _push(mem: LoopMemory, time_s: float, owner: int,
          index: int) -> int:  # pragma: no cover - compiled
    n = mem.queue_size[0]
    mem.queue_size[1] += 1
    pos = n
    for e in range(n):
        if time_s <= mem.queue_time_s[e]:
            pos = e
            break
    for e in range(n, pos, -1):
        mem.queue_time_s[e] = mem.queue_time_s[e - 1]
        mem.queue_handle[e] = mem.queue_handle[e - 1]
        mem.queue_owner[e] = mem.queue_owner[e - 1]
        mem.queue_index[e] = mem.queue_index[e - 1]
    mem.queue_time_s[pos] = time_s
    mem.queue_handle[pos] = mem.queue_size[1]
    mem.queue_owner[pos] = owner
    mem.queue_index[pos] = index
    mem.queue_size[0] = n + 1
    return int(mem.queue_size[1])


@njit(cache=True, nogil=True)
def _delete(mem: LoopMemory, handle: int) -> None:  # pragma: no cover - compiled
    kept = 0
    for e in range(mem.queue_size[0]):
        if mem.queue_handle[e] == handle:
            continue
        mem.queue_time_s[kept] = mem.queue_time_s[e]
        mem.queue_handle[kept] = mem.queue_handle[e]
        mem.queue_owner[kept] = mem.queue_owner[e]
        mem.queue_index[kept] = mem.queue_index[e]
        kept += 1
    mem.queue_size[0] = kept


@njit(cache=True, nogil=True, inline="always")
def arm_regulators(
    t: RegulatorArrays, tap_pu: FloatArray, needs_change: BoolArray, pending_tap_pu: FloatArray,
    can_move: BoolArray, delay_s: FloatArray, forward_power_w: FloatArray, mem: LoopMemory,
    now_s: float,
) -> None:  # pragma: no cover - compiled
    """Arm, refresh or disarm each regulator after a sample (step 2 of the module
    docstring), from :func:`~feederos.powerflow.controls.regulators.regulator_sample`'s
    fields and each regulator's present tap [pu]. Sequential by nature: handles and
    insertion order."""
    for k in range(t.winding.size):
        if t.max_tap_change[k] == 0:
            mem.reg_pending[k] = 0.0
            continue
        if t.reversible[k] and not t.uses_bus[k]:
            fwd, thr = forward_power_w[k], t.rev_threshold_w[k]
            leaving = fwd > thr if mem.in_reverse[k] else fwd < -thr
            back = fwd <= thr if mem.in_reverse[k] else fwd >= -thr
            if not mem.reverse_pending[k] and leaving:
                mem.reverse_pending[k] = True
                mem.reverse_handle[k] = _push(mem, now_s + t.rev_delay_s[k], QUEUED_REVERSE, k)
            if mem.reverse_pending[k] and back:
                mem.reverse_pending[k] = False
                _delete(mem, mem.reverse_handle[k])
            if mem.in_reverse[k] and t.rev_neutral[k]:
                if not mem.reg_armed[k]:
                    mem.reg_pending[k] = neutral_tap_change(tap_pu[k], t.tap_step_pu[k])
                    if mem.reg_pending[k] != 0.0:
                        mem.reg_handle[k] = _push(mem, now_s + t.tap_delay_s[k], QUEUED_TAP, k)
                        mem.reg_armed[k] = True
                continue
        if needs_change[k]:
            mem.reg_pending[k] = pending_tap_pu[k]
            if mem.reg_pending[k] != 0.0 and not mem.reg_armed[k] and can_move[k]:
                mem.reg_handle[k] = _push(mem, now_s + delay_s[k], QUEUED_TAP, k)
                mem.reg_armed[k] = True
        else:
            mem.reg_pending[k] = 0.0
            if mem.reg_armed[k]:
                _delete(mem, mem.reg_handle[k])
                mem.reg_armed[k] = False


@njit(cache=True, nogil=True, inline="always")
def arm_capacitors(
    t: CapacitorArrays, pending: IntArray, should_switch: BoolArray, mem: LoopMemory,
    now_s: float,
) -> None:  # pragma: no cover - compiled
    """Arm or disarm each capacitor control after a sample, from
    :func:`~feederos.powerflow.controls.capacitors.capacitor_sample`'s fields; a close
    waits out the dead time since the bank last opened."""
    for k in range(t.mode.size):
        if pending[k] != KEEP:
            mem.cap_pending[k] = pending[k]
        if should_switch[k] and not mem.cap_armed[k]:
            if mem.cap_pending[k] == CLOSE:
                since_open = now_s - mem.last_open_s[k]
                delay = t.delay_on_s[k]
                if since_open < t.dead_time_s[k]:
                    delay = max(delay, t.dead_time_s[k] + delay - since_open)
            else:
                delay = t.delay_off_s[k]
            mem.cap_handle[k] = _push(mem, now_s + delay, QUEUED_CAPACITOR, k)
            mem.cap_armed[k] = True
        if mem.cap_armed[k] and mem.cap_pending[k] == NONE:
            _delete(mem, mem.cap_handle[k])
            mem.cap_armed[k] = False


@njit(cache=True, nogil=True)
def execute_nearest(
    regs: RegulatorArrays, caps: CapacitorArrays, mem: LoopMemory, tap_pu: FloatArray,
    reg_transformer: IntArray, cap_states: IntArray, cap_bank: IntArray, now_s: float,
    log: FloatArray,
) -> int:  # pragma: no cover - compiled
    """Pop the actions at the nearest queue time and execute them in queue order
    (step 3 of the module docstring), in place.

    ``tap_pu[reg_transformer[k], w]`` is the tap of winding ``w`` of regulator ``k``'s
    transformer [pu]; ``cap_states[cap_bank[k]]`` the step states of control ``k``'s
    bank. Each action taken is a row of ``log``: ``(owner, control, queue time,
    a, b, c)`` with ``(in reverse, 0, 0)`` for a reverse switch, ``(tap before, tap
    after, steps)`` for a tap change, ``(action, step toggled or −1, 0)`` for a
    capacitor. Returns the rows written.
    """
    n = mem.queue_size[0]
    nearest = mem.queue_time_s[0]
    count = 0
    while count < n and mem.queue_time_s[count] <= nearest:
        count += 1
    owners = mem.queue_owner[:count].copy()
    indices = mem.queue_index[:count].copy()
    times = mem.queue_time_s[:count].copy()
    for e in range(count, n):  # the rest move to the front
        mem.queue_time_s[e - count] = mem.queue_time_s[e]
        mem.queue_handle[e - count] = mem.queue_handle[e]
        mem.queue_owner[e - count] = mem.queue_owner[e]
        mem.queue_index[e - count] = mem.queue_index[e]
    mem.queue_size[0] = n - count
    rows = 0
    for e in range(count):
        k = indices[e]
        if owners[e] == QUEUED_REVERSE:
            if not mem.reverse_pending[k]:
                continue
            mem.in_reverse[k] = not mem.in_reverse[k]
            mem.reverse_pending[k] = False
            a, b, c = 1.0 if mem.in_reverse[k] else 0.0, 0.0, 0.0
        elif owners[e] == QUEUED_TAP:
            mem.reg_armed[k] = False
            if mem.reg_pending[k] == 0.0:
                continue
            tr, w = reg_transformer[k], regs.tap_winding[k] - 1
            before = tap_pu[tr, w]
            change, steps = at_least_one_tap(mem.reg_pending[k], regs.tap_step_pu[k],
                                             regs.max_tap_change[k])
            tap_pu[tr, w] = min(max(before + change, regs.min_tap_pu[k]), regs.max_tap_pu[k])
            mem.reg_pending[k] = 0.0
            a, b, c = before, tap_pu[tr, w], float(steps)
        else:
            mem.cap_armed[k] = False
            action = mem.cap_pending[k]
            if action != OPEN and action != CLOSE:
                continue
            bank = cap_bank[k]
            toggled, opened = switch_step(cap_states[bank], caps.n_steps[k], action)
            if opened:
                mem.last_open_s[k] = now_s
            a, b, c = float(action), float(toggled), 0.0
        log[rows, 0] = owners[e]
        log[rows, 1] = k
        log[rows, 2] = times[e]
        log[rows, 3] = a
        log[rows, 4] = b
        log[rows, 5] = c
        rows += 1
    return rows


def _gather(out: SolveOutput, keys: Sequence[TerminalKey], width: int) -> ComplexArray:
    rows = np.zeros((len(keys), width), dtype=np.complex128)
    for k, key in enumerate(keys):
        i = np.asarray(out.terminal_currents(key), dtype=np.complex128)[:width]
        rows[k, : i.shape[0]] = i
    return rows


class _Frame:
    """A :class:`ControlState` as the kernels' arrays, and back.

    ``tap_pu`` holds the regulated transformers' taps ``(T, W)``, ``cap_states`` the
    controlled banks' step states ``(C, S)``, zero-padded.
    """

    def __init__(self, regs: RegulatorTable, caps: CapacitorControlTable) -> None:
        self.regs, self.caps = regs, caps
        self.transformers = list(dict.fromkeys(regs.transformers))
        self.banks = list(dict.fromkeys(caps.capacitors))
        self.reg_transformer = np.array([self.transformers.index(t) for t in regs.transformers],
                                        dtype=np.int64)
        self.cap_bank = np.array([self.banks.index(c) for c in caps.capacitors], dtype=np.int64)

    def arrays(self, state: ControlState) -> tuple[FloatArray, IntArray]:
        taps = [state.tap_pu[t] for t in self.transformers]
        tap_pu = np.zeros((len(taps), max((len(t) for t in taps), default=1)))
        for i, t in enumerate(taps):
            tap_pu[i, : len(t)] = t
        states = [state.states[c] for c in self.banks]
        cap_states = np.zeros((len(states), max((len(s) for s in states), default=1)),
                              dtype=np.int64)
        for i, st in enumerate(states):
            cap_states[i, : len(st)] = st
        return tap_pu, cap_states

    def regulator_taps(self, state: ControlState) -> FloatArray:
        """The tap of each regulator's tapped winding [pu]."""
        return np.array([state.tap_pu[t][w - 1] for t, w in
                         zip(self.regs.transformers, self.regs.tap_winding, strict=True)],
                        dtype=np.float64)

    def applied(self, state: ControlState, log: FloatArray, iteration: int
                ) -> tuple[ControlState, list[ControlAction]]:
        """``state`` after the executed actions of ``log``, and those actions."""
        regs, caps = self.regs, self.caps
        taps, banks = dict(state.tap_pu), dict(state.states)
        actions = []
        for owner, index, time_s, a, b, c in log.tolist():
            k = int(index)
            if owner == QUEUED_REVERSE:
                actions.append(ControlAction(iteration, time_s, f"regcontrol.{regs.names[k]}",
                                             f"transformer.{regs.transformers[k]}", (), (),
                                             "reverse" if a else "forward"))
            elif owner == QUEUED_TAP:
                name, w = regs.transformers[k], int(regs.tap_winding[k]) - 1
                taps[name] = (*taps[name][:w], b, *taps[name][w + 1:])
                actions.append(ControlAction(iteration, time_s, f"regcontrol.{regs.names[k]}",
                                             f"transformer.{name}", (a,), (b,),
                                             f"{int(c):+d} taps"))
            else:
                name = caps.capacitors[k]
                before = banks[name]
                after = tuple(1 - x if i == int(b) else x for i, x in enumerate(before))
                banks[name] = after
                actions.append(ControlAction(iteration, time_s, f"capcontrol.{caps.names[k]}",
                                             f"capacitor.{name}", tuple(map(float, before)),
                                             tuple(map(float, after)),
                                             "open" if int(a) == OPEN else "close"))
        return ControlState(tap_pu=taps, states=banks), actions


def _sample_regulators(frame: _Frame, state: ControlState, out: SolveOutput, mem: LoopMemory,
                       now_s: float) -> None:
    table = frame.regs
    if table.n == 0:
        return
    taps = frame.regulator_taps(state)
    i_w = _gather(out, [table.terminal(k) for k in range(table.n)], table.conductors.shape[1])
    s = regulator_sample(table, taps, out.v, i_w, in_reverse=mem.in_reverse)
    arm_regulators(table.arrays, taps, s.needs_change, s.pending_tap_pu, s.can_move,
                   s.delay_s, s.forward_power_w, mem, now_s)


def _sample_capacitors(frame: _Frame, state: ControlState, out: SolveOutput, mem: LoopMemory,
                       now_s: float) -> None:
    table = frame.caps
    if table.n == 0:
        return
    width = max(int(table.n_steps.max()), 1)
    states = np.zeros((table.n, width), dtype=np.int64)
    for k, name in enumerate(table.capacitors):
        states[k, : len(state.states[name])] = state.states[name]
    cols = table.conductors.shape[1]
    i_term = _gather(out, table.monitored, cols)
    i_ct = i_term if table.ct_terminal == table.monitored else _gather(out, table.ct_terminal,
                                                                       cols)
    s = capacitor_sample(table, states, out.v, i_term, i_ct, time_h=(now_s / 3600.0) % 24.0)
    arm_capacitors(table.arrays, s.pending, s.should_switch, mem, now_s)


def run_static_controls(
    solve: Callable[[ControlState], SolveOutput],
    state0: ControlState,
    regulators: RegulatorTable,
    capacitors: CapacitorControlTable,
    *,
    max_control_iterations: int,
    time_s: float = 0.0,
) -> ControlOutcome:
    """Solve, sample the controls and act until they settle (see the module docstring).

    Parameters
    ----------
    solve
        Solves the network at a control state.
    state0
        Starting taps and capacitor states (:func:`initial_control_state`).
    regulators, capacitors
        The compiled controls.
    max_control_iterations
        Most solves (OpenDSS ``MaxControlIter``, default 10).
    time_s
        Simulation time of this snapshot; queue times are ``time_s + delay`` and a
        time-of-day capacitor control reads it [s].
    """
    frame = _Frame(regulators, capacitors)
    mem = loop_memory(regulators.n, capacitors.n)
    reset_loop(mem, capacitors.arrays.dead_time_s, float(time_s))
    log = np.zeros((mem.queue_time_s.size, 6))
    state = state0
    actions: list[ControlAction] = []
    iteration = 0
    settled = False
    while True:
        iteration += 1
        out = solve(state)
        if iteration < max_control_iterations:
            if not out.converged:
                break
            _sample_regulators(frame, state, out, mem, time_s)
            _sample_capacitors(frame, state, out, mem, time_s)
            if mem.queue_size[0] == 0:
                settled = True
                break
            tap_pu, cap_states = frame.arrays(state)
            rows = execute_nearest(regulators.arrays, capacitors.arrays, mem, tap_pu,
                                   frame.reg_transformer, cap_states, frame.cap_bank,
                                   float(time_s), log)
            state, taken = frame.applied(state, log[:rows], iteration)
            actions.extend(taken)
        if iteration >= max_control_iterations:
            break
    return ControlOutcome(state=state, control_iterations=iteration, actions=tuple(actions),
                          converged=settled and out.converged, output=out)


def _empty_capacitor_table() -> CapacitorControlTable:
    """A table with no capacitor controls (doctests and regulator-only runs)."""
    i0 = np.zeros(0, dtype=np.int64)
    f0 = np.zeros(0)
    b0 = np.zeros(0, dtype=np.bool_)
    return CapacitorControlTable(
        names=(), capacitors=(), mode=i0, monitored=(), ct_terminal=(),
        conductors=np.zeros((0, 1), dtype=np.int64), monitored_phases=i0, on_value=f0,
        off_value=f0, pf_on=f0, pf_off=f0, pt_ratio=f0, ct_ratio=f0, pt_phase=i0,
        ct_phase=i0, delay_on_s=f0, delay_off_s=f0, dead_time_s=f0, v_min_v=f0, v_max_v=f0,
        voltage_override=b0, n_steps=i0, cap_phases=i0, cap_delta=b0, total_kvar_kvar=f0,
        pct_min_kvar=f0,
    )
