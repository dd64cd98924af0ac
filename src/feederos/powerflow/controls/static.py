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

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from feederos.errors import PowerFlowError
from feederos.model import Network
from feederos.powerflow.controls._types import ComplexArray, FloatArray, TerminalKey
from feederos.powerflow.controls.capacitors import (
    CLOSE,
    KEEP,
    NONE,
    OPEN,
    CapacitorControlTable,
    capacitor_sample,
    switch_capacitor,
)
from feederos.powerflow.controls.regulators import (
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
    "SolveOutput",
    "initial_control_state",
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


@dataclass
class _Entry:
    time_s: float
    handle: int
    owner: str  # "tap", "reverse" or "cap"
    index: int


@dataclass
class _Queue:
    """OpenDSS ``TControlQueue``: sorted by time; a push goes before equal times."""

    entries: list[_Entry] = field(default_factory=list)
    last_handle: int = 0

    def push(self, time_s: float, owner: str, index: int) -> int:
        self.last_handle += 1
        pos = next((i for i, e in enumerate(self.entries) if time_s <= e.time_s),
                   len(self.entries))
        self.entries.insert(pos, _Entry(time_s, self.last_handle, owner, index))
        return self.last_handle

    def delete(self, handle: int) -> None:
        self.entries = [e for e in self.entries if e.handle != handle]

    def pop_nearest(self) -> list[_Entry]:
        t = self.entries[0].time_s
        batch = [e for e in self.entries if e.time_s <= t]
        self.entries = [e for e in self.entries if e.time_s > t]
        return batch


@dataclass
class _Memory:
    """What each control remembers between samples (OpenDSS object fields)."""

    reg_pending: FloatArray
    reg_armed: list[bool]
    reg_handle: list[int]
    in_reverse: np.ndarray
    reverse_pending: list[bool]
    reverse_handle: list[int]
    cap_pending: list[int]
    cap_armed: list[bool]
    cap_handle: list[int]
    last_open_s: list[float]


def _gather(out: SolveOutput, keys: Sequence[TerminalKey], width: int) -> ComplexArray:
    rows = np.zeros((len(keys), width), dtype=np.complex128)
    for k, key in enumerate(keys):
        i = np.asarray(out.terminal_currents(key), dtype=np.complex128)[:width]
        rows[k, : i.shape[0]] = i
    return rows


def _sample_regulators(table: RegulatorTable, state: ControlState, out: SolveOutput,
                       mem: _Memory, queue: _Queue, now_s: float) -> None:
    if table.n == 0:
        return
    taps = np.array([state.tap_pu[t][w - 1] for t, w in zip(table.transformers,
                                                          table.tap_winding, strict=True)])
    i_w = _gather(out, [table.terminal(k) for k in range(table.n)], table.conductors.shape[1])
    s = regulator_sample(table, taps, out.v, i_w, in_reverse=mem.in_reverse)
    # Arming and queueing are sequential by nature (handles, insertion order).
    for k in range(table.n):
        if table.max_tap_change[k] == 0:
            mem.reg_pending[k] = 0.0
            continue
        if table.reversible[k] and not table.uses_bus[k]:
            fwd, thr = s.forward_power_w[k], table.rev_threshold_w[k]
            leaving = fwd < -thr if not mem.in_reverse[k] else fwd > thr
            back = fwd >= -thr if not mem.in_reverse[k] else fwd <= thr
            if not mem.reverse_pending[k] and leaving:
                mem.reverse_pending[k] = True
                mem.reverse_handle[k] = queue.push(now_s + table.rev_delay_s[k], "reverse", k)
            if mem.reverse_pending[k] and back:
                mem.reverse_pending[k] = False
                queue.delete(mem.reverse_handle[k])
            if mem.in_reverse[k] and table.rev_neutral[k]:
                if not mem.reg_armed[k]:
                    mem.reg_pending[k] = neutral_tap_change(taps[k], table.tap_step_pu[k])
                    if mem.reg_pending[k] != 0.0:
                        mem.reg_handle[k] = queue.push(now_s + table.tap_delay_s[k], "tap", k)
                        mem.reg_armed[k] = True
                continue
        if s.needs_change[k]:
            mem.reg_pending[k] = s.pending_tap_pu[k]
            if mem.reg_pending[k] != 0.0 and not mem.reg_armed[k] and s.can_move[k]:
                mem.reg_handle[k] = queue.push(now_s + s.delay_s[k], "tap", k)
                mem.reg_armed[k] = True
        else:
            mem.reg_pending[k] = 0.0
            if mem.reg_armed[k]:
                queue.delete(mem.reg_handle[k])
                mem.reg_armed[k] = False


def _sample_capacitors(table: CapacitorControlTable, state: ControlState, out: SolveOutput,
                       mem: _Memory, queue: _Queue, now_s: float) -> None:
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
    for k in range(table.n):
        if s.pending[k] != KEEP:
            mem.cap_pending[k] = int(s.pending[k])
        if s.should_switch[k] and not mem.cap_armed[k]:
            if mem.cap_pending[k] == CLOSE:
                since_open = now_s - mem.last_open_s[k]
                delay = table.delay_on_s[k]
                if since_open < table.dead_time_s[k]:
                    delay = max(delay, table.dead_time_s[k] + delay - since_open)
            else:
                delay = table.delay_off_s[k]
            mem.cap_handle[k] = queue.push(now_s + delay, "cap", k)
            mem.cap_armed[k] = True
        if mem.cap_armed[k] and mem.cap_pending[k] == NONE:
            queue.delete(mem.cap_handle[k])
            mem.cap_armed[k] = False


def _execute(entry: _Entry, iteration: int, state: ControlState, regs: RegulatorTable,
             caps: CapacitorControlTable, mem: _Memory, now_s: float
             ) -> tuple[ControlState, ControlAction | None]:
    k = entry.index
    if entry.owner == "reverse":
        if not mem.reverse_pending[k]:
            return state, None
        mem.in_reverse[k] = not mem.in_reverse[k]
        mem.reverse_pending[k] = False
        mode = "reverse" if mem.in_reverse[k] else "forward"
        return state, ControlAction(iteration, entry.time_s, f"regcontrol.{regs.names[k]}",
                                    f"transformer.{regs.transformers[k]}", (), (), mode)
    if entry.owner == "tap":
        mem.reg_armed[k] = False
        if mem.reg_pending[k] == 0.0:
            return state, None
        name, w = regs.transformers[k], int(regs.tap_winding[k]) - 1
        taps = state.tap_pu[name]
        change, steps = at_least_one_tap(float(mem.reg_pending[k]), float(regs.tap_step_pu[k]),
                                         int(regs.max_tap_change[k]))
        new = min(max(taps[w] + change, float(regs.min_tap_pu[k])), float(regs.max_tap_pu[k]))
        mem.reg_pending[k] = 0.0
        after = (*taps[:w], new, *taps[w + 1:])
        state = dataclasses.replace(state, tap_pu={**state.tap_pu, name: after})
        return state, ControlAction(iteration, entry.time_s, f"regcontrol.{regs.names[k]}",
                                    f"transformer.{name}", (taps[w],), (new,),
                                    f"{steps:+d} taps")
    mem.cap_armed[k] = False
    action = mem.cap_pending[k]
    if action not in (OPEN, CLOSE):
        return state, None
    name = caps.capacitors[k]
    before = state.states[name]
    after_states, opened = switch_capacitor(before, action)
    if opened:
        mem.last_open_s[k] = now_s
    state = dataclasses.replace(state, states={**state.states, name: after_states})
    return state, ControlAction(iteration, entry.time_s, f"capcontrol.{caps.names[k]}",
                                f"capacitor.{name}", tuple(map(float, before)),
                                tuple(map(float, after_states)),
                                "open" if action == OPEN else "close")


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
    mem = _Memory(
        reg_pending=np.zeros(regulators.n),
        reg_armed=[False] * regulators.n,
        reg_handle=[0] * regulators.n,
        in_reverse=np.zeros(regulators.n, dtype=np.bool_),
        reverse_pending=[False] * regulators.n,
        reverse_handle=[0] * regulators.n,
        cap_pending=[NONE] * capacitors.n,
        cap_armed=[False] * capacitors.n,
        cap_handle=[0] * capacitors.n,
        last_open_s=[time_s - float(d) for d in capacitors.dead_time_s],
    )
    queue = _Queue()
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
            _sample_regulators(regulators, state, out, mem, queue, time_s)
            _sample_capacitors(capacitors, state, out, mem, queue, time_s)
            if not queue.entries:
                settled = True
                break
            for entry in queue.pop_nearest():
                state, action = _execute(entry, iteration, state, regulators, capacitors,
                                         mem, time_s)
                if action is not None:
                    actions.append(action)
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
