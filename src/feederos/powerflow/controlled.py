"""A snapshot with its static controls, solved with no Python between iterations.

:func:`~feederos.powerflow.solve` runs OpenDSS's STATIC control loop
(:func:`~feederos.powerflow.controls.run_static_controls`) around a Python solver
callback, and derives a :class:`~feederos.powerflow.CompiledNetwork` for every control
state. A time series solves thousands of snapshots of one network, and that Python costs
more than the arithmetic. Here the same loop runs in one compiled call
(:func:`solve_controlled`), on arrays packed once per network
(:class:`ControlledNetwork`), from the same kernels:

- the fixed point (:func:`~feederos.powerflow.methods.fixed_point.fixed_point_iterations`)
  with the factors of the present taps and capacitor steps, refactorised in place when a
  control acts (:func:`~feederos.powerflow.methods.lu.refactor_columns`, on the root's
  pivot order as :meth:`~feederos.powerflow.methods.lu.LuFactors.refactor`);
- a moved transformer's admittance from its tap scaling
  (:func:`~feederos.powerflow.primitives.transformers.tap_scaled_y`), a switched bank's
  as its steps in service times one step's;
- the regulators' and capacitor controls' samples, arming, queue and actions
  (:func:`~feederos.powerflow.controls.regulators.sample_regulators`,
  :func:`~feederos.powerflow.controls.capacitors.sample_capacitors`,
  :func:`~feederos.powerflow.controls.static.execute_nearest` ...);
- the totals of :func:`~feederos.powerflow.totals.totals_many` (:func:`snapshot_totals`).

Only networks whose injections are all loads, none of them at a source node, are packed
(:meth:`ControlledNetwork.supports`); a snapshot whose fixed point does not converge
(where :func:`~feederos.powerflow.solve` goes on with Newton-Raphson, :data:`NOT_CONVERGED`)
or whose refactorisation meets a zero pivot (:data:`ZERO_PIVOT`) is reported back for the
caller to solve with :func:`~feederos.powerflow.solve`. Controls act at simulation time 0,
as :func:`~feederos.powerflow.solve` has them.

Examples
--------
IEEE 13 solved with its regulators, as :func:`~feederos.powerflow.solve` solves it:

>>> import numpy as np
>>> from feederos.feeders import load_feeder
>>> from feederos.powerflow import compile_network, solve
>>> from feederos.powerflow.methods.fixed_point import no_load_voltages
>>> c = compile_network(load_feeder("ieee13"))
>>> net = ControlledNetwork(c)
>>> state = net.state()
>>> v = no_load_voltages(c)
>>> status, iterations, control_iterations, settled = solve_controlled(
...     net.arrays, state, net.unit_scale, v, 1e-9, 100, 10)
>>> status == SOLVED, settled, net.regulator_taps(state)
(True, True, {'reg1': 9, 'reg2': 6, 'reg3': 9})
>>> ref = solve(c)
>>> bool(np.abs(v - ref.v).max() < 1e-6), control_iterations == ref.control_iterations
(True, True)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from numba import njit

from feederos.powerflow.compiled import CompiledNetwork
from feederos.powerflow.controls.capacitors import (
    CapacitorArrays,
    CapacitorControlTable,
    capacitors_near_edge,
    sample_capacitors,
)
from feederos.powerflow.controls.regulators import (
    RegulatorArrays,
    RegulatorTable,
    regulators_near_edge,
    sample_regulators,
)
from feederos.powerflow.controls.static import (
    QUEUED_CAPACITOR,
    QUEUED_TAP,
    LoopMemory,
    arm_capacitors,
    arm_regulators,
    execute_nearest,
    loop_memory,
    reset_loop,
)
from feederos.powerflow.injections.loads import LoadArrays, LoadSet, magnitude
from feederos.powerflow.methods.anderson import (
    AndersonHistory,
    anderson_history,
    anderson_restart,
)
from feederos.powerflow.methods.common import source_currents, voltage_scale_v
from feederos.powerflow.methods.fixed_point import (
    energized_factor,
    fixed_point_iterations,
    load_nodes,
    no_load_voltages,
    packed_loads,
    y_positions_of_a,
)
from feederos.powerflow.methods.lu import LuArrays, RefactorPattern, lu_solve, refactor_columns
from feederos.powerflow.primitives.shunts import capacitor_blocks
from feederos.powerflow.primitives.transformers import TapScaling, tap_scaled_y
from feederos.powerflow.solve import control_tables
from feederos.powerflow.totals import (
    _pd_powers,
    inverse_ratings,
    rated_conductors,
    shunt_elements,
)

__all__ = [
    "CONTROL_SAMPLE_PU",
    "EDGE_REL",
    "NOT_CONVERGED",
    "ROUNDING_SHARE",
    "SOLVED",
    "ZERO_PIVOT",
    "ControlledArrays",
    "ControlledNetwork",
    "ControlledState",
    "FactorState",
    "MovableArrays",
    "PdArrays",
    "SensorArrays",
    "SolverArrays",
    "TotalsArrays",
    "current_factors",
    "move_bank",
    "move_transformer",
    "no_load_start",
    "snapshot_totals",
    "solve_controlled",
    "solve_rounding_pu",
    "tap_numbers",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]
BoolArray = npt.NDArray[np.bool_]

SOLVED = 0
"""Status of a snapshot solved here."""
NOT_CONVERGED = 1
"""Status of a snapshot whose fixed point did not converge: :func:`~feederos.powerflow.solve`
goes on with Newton-Raphson, so solve it there."""
ZERO_PIVOT = 2
"""Status of a control state whose refactorisation met a zero pivot in the root's order:
:func:`~feederos.powerflow.solve` factorises it afresh, so solve there."""

CONTROL_SAMPLE_PU = 1e-6
"""Largest last change [pu] of a solution the controls may act on before it is finished
(:func:`solve_controlled`): a hundred times tighter than OpenDSS's default tolerance. Over
IEEE 123's year and IEEE 8500's first 240 h every tap, capacitor step and control
iteration count came out as with every solve taken to 1e-9."""

ROUNDING_SHARE = 0.01
"""Largest share of the tolerance the rounding of a plain LU solve may take before each
solved snapshot is refined (:attr:`SolverArrays.rounding_pu`): the refinement's
double-double residual costs more than a third of a solve's iteration. IEEE 123's
rounding is 5e-9 pu, so it is refined at 1e-9 and not at 1e-6; a node held by 1e-10 S
through a switch rounds to ~1e-4 pu and is refined at any tolerance."""

EDGE_REL = 1e-4
"""How near a control's decision may be to flipping [relative to the sensed value] and
still be taken from a solution known to :data:`CONTROL_SAMPLE_PU`: a hundred times the
voltage error such a solution can carry."""


class SolverArrays(NamedTuple):
    """What the fixed point needs: the root's factors and their refactorisation pattern,
    the loads, the source currents [A], the energised nodes, ``1/`` each node's
    voltage scale [1/V] and its square, the loads' nodes (the ones mixed), and the
    rounding of the root's plain LU solve [pu] (``(1,)``: what one refinement changes
    in the no-load solution, :func:`solve_rounding_pu`)."""

    root_lu: LuArrays
    pattern: RefactorPattern
    loads: LoadArrays
    i_src: ComplexArray
    live: IntArray
    inv_scale: FloatArray
    inv_scale_sq: FloatArray
    mixed: IntArray
    rounding_pu: FloatArray


class PdArrays(NamedTuple):
    """Every PD block flat: conductors, "counts towards losses" and ``1/`` normal
    rating (:func:`~feederos.powerflow.totals.inverse_ratings`) per element, and per
    block ``(m, k, conductor offset, y offset, first element, rated conductors)``. The
    admittances, which the controls move, are :attr:`ControlledState.pd_y`."""

    conductors: IntArray
    counts: BoolArray
    inv_rating: FloatArray
    blocks: IntArray


class MovableArrays(NamedTuple):
    """The elements the controls move.

    Per regulated transformer: where its ``y_s`` is in ``pd_y`` (``tr_at_y``) and its
    conductors in :attr:`PdArrays.conductors` (``tr_at_c``), its conductors and windings,
    its tap scaling ``y_tap``, ``y_fixed`` ``(T, K, K)`` and where each entry is in the
    factors' ``a_val`` (``tr_a``, −1: nowhere). The same per
    controlled bank, ``y_step`` the admittance of one step. ``b_column`` is the column of
    the permuted matrix each ``a_val`` entry is in (a change there stales that column of
    the factors).
    """

    tr_at_y: IntArray
    tr_at_c: IntArray
    tr_k: IntArray
    tr_windings: IntArray
    y_tap: ComplexArray
    y_fixed: ComplexArray
    tr_a: IntArray
    bank_at_y: IntArray
    bank_k: IntArray
    y_step: ComplexArray
    bank_a: IntArray
    b_column: IntArray


class SensorArrays(NamedTuple):
    """Where the controls read their currents.

    Per regulator: its transformer's row among the movable ones and where the sensed
    winding's rows start. Per capacitor control: its bank's row, and its monitored element
    as ``y`` offset, conductor offset, conductors, and first row and rows of the
    monitored terminal (``mon_first``, ``mon_n``) and of the CT terminal (``ct_first``).
    """

    reg_transformer: IntArray
    reg_first: IntArray
    cap_bank: IntArray
    mon_at_y: IntArray
    mon_at_c: IntArray
    mon_k: IntArray
    mon_first: IntArray
    mon_n: IntArray
    ct_first: IntArray


class TotalsArrays(NamedTuple):
    """Source nodes, each node's place among them (−1: none), the nodes whose voltage
    counts in the range and their bases [V]."""

    src_nodes: IntArray
    slot: IntArray
    service: IntArray
    v_base_v: FloatArray


class ControlledArrays(NamedTuple):
    """A root network and its controls, packed for :func:`solve_controlled`.

    Grouped by use: every array a compiled function takes costs two atomic
    reference-count updates per call, so each helper takes only its group.
    """

    solver: SolverArrays
    regs: RegulatorArrays
    caps: CapacitorArrays
    pd: PdArrays
    movable: MovableArrays
    sensors: SensorArrays
    totals: TotalsArrays


class FactorState(NamedTuple):
    """``y`` on the factors' pattern (``a_val``) and its refactorisation; ``flags`` is
    ``[refactorised, stale]``: the root's factors serve until a control acts, stale
    ones are refactorised before the next solve, only in the ``changed`` columns and
    those that depend on them after the first time
    (:func:`~feederos.powerflow.methods.lu.refactor_columns`)."""

    a_val: ComplexArray
    l_val: ComplexArray
    u_val: ComplexArray
    u_diag_inv: ComplexArray
    flags: IntArray
    changed: BoolArray


class ControlledState(NamedTuple):
    """The control state of a :class:`ControlledNetwork` and what follows from it,
    updated in place by :func:`solve_controlled`.

    Attributes
    ----------
    tap_pu
        Taps of the regulated transformers' windings ``(T, W)`` [pu].
    cap_states
        Step states of the controlled banks ``(C, S)``, zero-padded.
    pd_y
        Every PD element's admittance, flat as :attr:`PdArrays.blocks` [S].
    factors
        ``y`` and its factors at the state.
    memory, history, log
        The control loop's memory and queue, the Anderson history, the actions taken.
    """

    tap_pu: FloatArray
    cap_states: IntArray
    pd_y: ComplexArray
    factors: FactorState
    memory: LoopMemory
    history: AndersonHistory
    log: FloatArray


class _Element(NamedTuple):
    """Where one PD element sits in :class:`PdArrays`: its block and row, and the offsets
    of its admittance (in ``pd_y``) and its conductors."""

    block: int
    row: int
    at_y: int
    at_c: int
    k: int


class _PdLayout:
    """Every PD block of a network flat (:class:`PdArrays`), and where each element is."""

    def __init__(self, root: CompiledNetwork) -> None:
        self.root = root
        rows, conductors, counts, inv_rating, y = [], [], [], [], []
        self._starts: list[tuple[int, int]] = []
        at_c = at_y = first = 0
        for b, rating_a in zip(root.pd_blocks, root.pd_rating_a, strict=True):
            m, k = b.conductors.shape
            rows.append((m, k, at_c, at_y, first, rated_conductors(b)))
            self._starts.append((at_c, at_y))
            conductors.append(b.conductors.ravel())
            counts.append(~shunt_elements(b, root.nodes.bus))
            inv_rating.append(inverse_ratings(rating_a))
            y.append(b.y_s.ravel())
            at_c, at_y, first = at_c + m * k, at_y + m * k * k, first + m
        self.arrays = PdArrays(np.ascontiguousarray(np.concatenate(conductors), dtype=np.int64),
                               np.concatenate(counts).astype(np.bool_),
                               np.ascontiguousarray(np.concatenate(inv_rating), dtype=np.float64),
                               np.array(rows, dtype=np.int64).reshape(-1, 6))
        self.y = np.ascontiguousarray(np.concatenate(y), dtype=np.complex128)
        self._block_of = {id(b): i for i, b in enumerate(root.pd_blocks)}

    def element(self, kind: str, name: str) -> _Element:
        block, m = self.root.block(kind, name)
        i = self._block_of[id(block)]
        k = block.conductors.shape[1]
        at_c, at_y = self._starts[i]
        return _Element(i, m, at_y + m * k * k, at_c + m * k, k)

    def terminal_row(self, e: _Element, terminal: int) -> int:
        """First row of ``terminal`` (1-based) in the element's admittance."""
        return (terminal - 1) * self.root.pd_blocks[e.block].conductors_per_terminal


def _movable(pd: _PdLayout, transformers: list[str], banks: list[str]) -> MovableArrays:
    """The regulated transformers and controlled banks as :class:`MovableArrays`."""
    root = pd.root
    lu = energized_factor(root)
    a_of_y = np.full(root.y.nnz, -1, dtype=np.int64)
    a_of_y[y_positions_of_a(root)] = np.arange(lu.a_val.size)
    tr = [pd.element("transformers", t) for t in transformers]
    bk = [pd.element("capacitors", c) for c in banks]
    width = max([e.k for e in (*tr, *bk)], default=1)

    def padded(values: list[ComplexArray]) -> ComplexArray:
        out = np.zeros((len(values), width, width), dtype=np.complex128)
        for i, y in enumerate(values):
            out[i, : y.shape[0], : y.shape[1]] = y
        return out

    def a_positions(elements: list[_Element]) -> IntArray:
        out = np.full((len(elements), width, width), -1, dtype=np.int64)
        for i, e in enumerate(elements):
            pos = root._y_positions[e.block][e.row]
            out[i, : e.k, : e.k] = np.where(pos >= 0, a_of_y[np.maximum(pos, 0)], -1)
        return out

    scalings = {e.block: TapScaling.of(root.network, root.nodes, root.pd_blocks[e.block])
                for e in tr}
    one_step = {name: (1,) + (0,) * (len(root.capacitor_states[name]) - 1) for name in banks}
    unit = {name: (b, m) for b in capacitor_blocks(root.network, root.nodes, states=one_step)
            for m, name in enumerate(b.names)}

    def ints(values: list[int]) -> IntArray:
        return np.array(values, dtype=np.int64)

    return MovableArrays(
        tr_at_y=ints([e.at_y for e in tr]), tr_at_c=ints([e.at_c for e in tr]),
        tr_k=ints([e.k for e in tr]),
        tr_windings=ints([root.pd_blocks[e.block].n_terminals for e in tr]),
        y_tap=padded([scalings[e.block].y_tap[e.row] for e in tr]),
        y_fixed=padded([scalings[e.block].y_fixed[e.row] for e in tr]),
        tr_a=a_positions(tr), bank_at_y=ints([e.at_y for e in bk]),
        bank_k=ints([e.k for e in bk]),
        y_step=padded([unit[name][0].y_s[unit[name][1]] for name in banks]),
        bank_a=a_positions(bk),
        b_column=np.ascontiguousarray(lu.perm_c[lu.a_idx], dtype=np.int64))


def _sensors(pd: _PdLayout, regs: RegulatorTable, caps: CapacitorControlTable,
             transformers: list[str], banks: list[str]) -> SensorArrays:
    """Where each control reads its currents, as :class:`SensorArrays`."""
    tr = {t: pd.element("transformers", t) for t in transformers}
    mon = [pd.element(key.kind, key.name) for key in caps.monitored]

    def ints(values: list[int]) -> IntArray:
        return np.array(values, dtype=np.int64)

    return SensorArrays(
        reg_transformer=ints([transformers.index(t) for t in regs.transformers]),
        reg_first=ints([pd.terminal_row(tr[t], int(w))
                        for t, w in zip(regs.transformers, regs.winding, strict=True)]),
        cap_bank=ints([banks.index(c) for c in caps.capacitors]),
        mon_at_y=ints([e.at_y for e in mon]), mon_at_c=ints([e.at_c for e in mon]),
        mon_k=ints([e.k for e in mon]),
        mon_first=ints([pd.terminal_row(e, key.terminal)
                        for e, key in zip(mon, caps.monitored, strict=True)]),
        mon_n=ints([pd.root.pd_blocks[e.block].conductors_per_terminal for e in mon]),
        # the CT terminal is one of the monitored element's (capacitor_control_table)
        ct_first=ints([pd.terminal_row(e, key.terminal)
                       for e, key in zip(mon, caps.ct_terminal, strict=True)]))


def _totals(root: CompiledNetwork) -> TotalsArrays:
    """Source nodes and voltage-range nodes, as :func:`~feederos.powerflow.totals.totals_many`
    takes them."""
    src = np.unique(root.source_block.conductors)
    src = src[src >= 0].astype(np.int64)
    slot = np.full(root.nodes.n_nodes, -1, dtype=np.int64)
    slot[src] = np.arange(src.size)
    nodes = root.nodes
    base = nodes.v_base_ln_v
    service = np.flatnonzero(root.energized & (nodes.node >= 1) & (nodes.node <= 3)
                             & np.isfinite(base) & (base > 0)).astype(np.int64)
    return TotalsArrays(src, slot, service, np.ascontiguousarray(base[service]))


def solve_rounding_pu(root: CompiledNetwork) -> float:
    """How far one refinement moves the no-load solution of ``root``'s plain LU solve
    [pu of each node's voltage scale]: the rounding the refinement of
    :func:`~feederos.powerflow.methods.fixed_point.fixed_point_iterations` corrects.

    Its size is set by the admittances' spread, not by the loads: a tap or a load moves
    it little, and :data:`ROUNDING_SHARE` leaves a hundredfold margin.

    >>> from feederos.feeders import load_feeder
    >>> from feederos.powerflow import compile_network
    >>> 1e-12 < solve_rounding_pu(compile_network(load_feeder("ieee13"))) < 1e-8
    True
    """
    live = np.flatnonzero(root.energized)
    x = no_load_voltages(root)[live]
    refined = energized_factor(root).refine(x, source_currents(root)[live])
    return float(np.max(np.abs(refined - x) / voltage_scale_v(root)[live], initial=0.0))


class ControlledNetwork:
    """A root network packed for :func:`solve_controlled` (see the module docstring).

    Attributes
    ----------
    root
        The network as compiled.
    regs, caps
        Its control tables.
    transformers, banks
        The regulated transformers and controlled capacitor banks, the rows of
        :attr:`ControlledState.tap_pu` and :attr:`ControlledState.cap_states`.
    arrays
        Everything :func:`solve_controlled` reads.
    unit_scale
        Every load at its compiled power ``(M, 1)``.

    Raises
    ------
    ValueError
        If the network is not supported (:meth:`supports`).
    """

    def __init__(self, root: CompiledNetwork) -> None:
        if not self.supports(root):
            raise ValueError(f"{root.name!r}: only networks whose injections are all loads, "
                             "none at a source node, solve their controls compiled")
        self.root = root
        self.regs, self.caps = control_tables(root)
        self.transformers = list(dict.fromkeys(self.regs.transformers))
        self.banks = list(dict.fromkeys(self.caps.capacitors))
        lu = energized_factor(root)
        inv_scale = 1.0 / voltage_scale_v(root)
        loads = packed_loads(root)
        solver = SolverArrays(
            root_lu=lu.arrays, pattern=lu.pattern, loads=loads,
            i_src=source_currents(root), live=np.flatnonzero(root.energized).astype(np.int64),
            inv_scale=inv_scale, inv_scale_sq=inv_scale * inv_scale, mixed=load_nodes(loads),
            rounding_pu=np.array([solve_rounding_pu(root)]))
        pd = _PdLayout(root)
        self._pd_y = pd.y
        self.arrays = ControlledArrays(
            solver, self.regs.arrays, self.caps.arrays, pd.arrays,
            _movable(pd, self.transformers, self.banks),
            _sensors(pd, self.regs, self.caps, self.transformers, self.banks), _totals(root))
        self.unit_scale = np.ones((solver.loads.params.shape[0], 1))

    @property
    def pd_offsets(self) -> list[tuple[int, int]]:
        """Per PD block of the root, the offsets of its first element's conductors and
        admittance in :attr:`PdArrays.conductors` and :attr:`ControlledState.pd_y`."""
        return [(int(row[2]), int(row[3])) for row in self.arrays.pd.blocks]

    @staticmethod
    def supports(root: CompiledNetwork) -> bool:
        """Whether the network can be packed: its injections are all loads (the
        compiled fixed point evaluates no other kind), none at a source node (whose
        current the source totals would need)."""
        if not all(isinstance(s, LoadSet) for s in root.injections):
            return False
        conductors = root.source_block.conductors
        source_nodes = set(conductors[conductors >= 0].tolist())
        return not any(source_nodes.intersection(s.conductors[s.conductors >= 0].tolist())
                       for s in root.injections)

    def state(self) -> ControlledState:
        """A fresh state at the root's taps and capacitor steps."""
        a = self.arrays
        w = max(a.movable.tr_windings.tolist(), default=1)
        tap_pu = np.zeros((len(self.transformers), w))
        for t, name in enumerate(self.transformers):
            taps = self.root.tap_pu[name]
            tap_pu[t, : len(taps)] = taps
        s = max([len(self.root.capacitor_states[c]) for c in self.banks], default=1)
        cap_states = np.zeros((len(self.banks), s), dtype=np.int64)
        for c, name in enumerate(self.banks):
            states = self.root.capacitor_states[name]
            cap_states[c, : len(states)] = states
        p = a.solver.pattern
        factors = FactorState(a.solver.root_lu.a_val.copy(),
                              np.zeros(p.l_idx.size, dtype=np.complex128),
                              np.zeros(p.u_idx.size, dtype=np.complex128),
                              np.zeros(a.solver.live.size, dtype=np.complex128),
                              np.zeros(2, dtype=np.int64),
                              np.zeros(a.solver.live.size, dtype=np.bool_))
        memory = loop_memory(self.regs.n, self.caps.n)
        return ControlledState(tap_pu=tap_pu, cap_states=cap_states, pd_y=self._pd_y.copy(),
                               factors=factors, memory=memory,
                               history=anderson_history(a.solver.mixed.size),
                               log=np.zeros((memory.queue_time_s.size, 6)))

    def set_state(self, state: ControlledState, tap_pu: dict[str, tuple[float, ...]],
                  capacitor_states: dict[str, tuple[int, ...]]) -> None:
        """Move ``state`` to these taps and steps (as a compiled network's ``tap_pu`` and
        ``capacitor_states``), its admittances and factors with them."""
        for t, name in enumerate(self.transformers):
            taps = tap_pu[name]
            state.tap_pu[t, : len(taps)] = taps
        for c, name in enumerate(self.banks):
            states = capacitor_states[name]
            state.cap_states[c, : len(states)] = states
        m = self.arrays.movable
        for t in range(len(self.transformers)):
            move_transformer(m, state.tap_pu, state.pd_y, state.factors, t)
        for c in range(len(self.banks)):
            move_bank(m, state.cap_states, state.pd_y, state.factors, c)

    def tap_pu(self, tap_pu: FloatArray) -> dict[str, tuple[float, ...]]:
        """Taps ``(T, W)`` (as :attr:`ControlledState.tap_pu`) per regulated transformer,
        as :attr:`CompiledNetwork.tap_pu` has them [pu]."""
        return {name: tuple(float(x) for x in tap_pu[t, : len(self.root.tap_pu[name])])
                for t, name in enumerate(self.transformers)}

    def capacitor_states(self, cap_states: IntArray) -> dict[str, tuple[int, ...]]:
        """Step states ``(C, S)`` (as :attr:`ControlledState.cap_states`) per controlled
        bank, as :attr:`CompiledNetwork.capacitor_states` has them."""
        return {name: tuple(int(x) for x in cap_states[c, : len(
            self.root.capacitor_states[name])]) for c, name in enumerate(self.banks)}

    def regulator_taps(self, state: ControlledState) -> dict[str, int]:
        """Tap positions per regulator, as :attr:`PowerFlowResult.regulator_taps`."""
        out = np.zeros(self.regs.n, dtype=np.int64)
        tap_numbers(self.arrays.regs, self.arrays.sensors.reg_transformer, state.tap_pu, out)
        return dict(zip(self.regs.names, out.tolist(), strict=True))


@njit(cache=True, nogil=True)
def tap_numbers(regs: RegulatorArrays, reg_transformer: IntArray, tap_pu: FloatArray,
                out: IntArray) -> None:  # pragma: no cover - compiled
    """Each regulator's tap position counted from the middle of its range (OpenDSS
    ``TapNum``, :func:`~feederos.powerflow.controls.tap_number`)."""
    for k in range(out.size):
        tap = tap_pu[reg_transformer[k], regs.tap_winding[k] - 1]
        low, high = regs.min_tap_pu[k], regs.max_tap_pu[k]
        out[k] = round((tap - (high + low) / 2.0) / regs.tap_step_pu[k])


@njit(cache=True, nogil=True)
def _set_element(pd_y: ComplexArray, factors: FactorState, b_column: IntArray, at_y: int,
                 k: int, positions: IntArray,
                 y: ComplexArray) -> None:  # pragma: no cover - compiled
    """Put an element's new admittance ``y`` ``(k, k)`` into ``pd_y`` and its change into
    ``a_val`` (as ``CompiledNetwork.with_state`` patches ``y``); the factors go stale."""
    a_val, changed = factors.a_val, factors.changed
    for p in range(k):
        for q in range(k):
            old = pd_y[at_y + p * k + q]
            pd_y[at_y + p * k + q] = y[p, q]
            at = positions[p, q]
            if at >= 0 and y[p, q] != old:
                a_val[at] += y[p, q] - old
                changed[b_column[at]] = True
    factors.flags[1] = 1


@njit(cache=True, nogil=True)
def move_transformer(m: MovableArrays, tap_pu: FloatArray, pd_y: ComplexArray,
                     factors: FactorState, t: int) -> None:  # pragma: no cover - compiled
    """Regulated transformer ``t`` at its taps ``tap_pu[t]``."""
    k = m.tr_k[t]
    y = np.empty((k, k), dtype=np.complex128)
    tap_scaled_y(m.y_tap[t, :k, :k], m.y_fixed[t, :k, :k], tap_pu[t, :m.tr_windings[t]].copy(),
                 y)
    _set_element(pd_y, factors, m.b_column, m.tr_at_y[t], k, m.tr_a[t], y)


@njit(cache=True, nogil=True)
def move_bank(m: MovableArrays, cap_states: IntArray, pd_y: ComplexArray,
              factors: FactorState, c: int) -> None:  # pragma: no cover - compiled
    """Controlled bank ``c`` with the steps ``cap_states[c]`` in service."""
    k = m.bank_k[c]
    steps = float(cap_states[c].sum())
    y = np.empty((k, k), dtype=np.complex128)
    for p in range(k):
        for q in range(k):
            y[p, q] = m.y_step[c, p, q] * steps
    _set_element(pd_y, factors, m.b_column, m.bank_at_y[c], k, m.bank_a[c], y)


@njit(cache=True, nogil=True)
def current_factors(
    solver: SolverArrays, factors: FactorState
) -> tuple[LuArrays, bool]:  # pragma: no cover - compiled
    """The factors at the state: the root's until a control acted, then the
    refactorisation (redone when stale); ``False`` on a zero pivot."""
    flags, p, r = factors.flags, solver.pattern, solver.root_lu
    if flags[1]:
        if not flags[0]:  # the first time on this pattern: every column
            factors.changed[:] = True
        flags[0] = 1
        flags[1] = 0
        if not refactor_columns(p, factors.a_val, factors.l_val, factors.u_val,
                                factors.u_diag_inv, factors.changed):
            flags[0] = 0  # the values left are unusable: all columns next time
            flags[1] = 1
            return r, False
    if not flags[0]:
        return r, True
    return LuArrays(r.perm_r, r.perm_c, p.l_ptr, p.l_idx, factors.l_val, p.u_ptr, p.u_idx,
                    factors.u_val, factors.u_diag_inv, r.a_ptr, r.a_idx, factors.a_val, p.l_col,
                    p.u_col), True


@njit(cache=True, nogil=True)
def no_load_start(solver: SolverArrays, factors: FactorState,
                  v: ComplexArray) -> bool:  # pragma: no cover - compiled
    """``v`` = the voltages with the loads as their nominal admittances, at the state
    (:func:`~feederos.powerflow.methods.fixed_point.no_load_voltages`)."""
    f, ok = current_factors(solver, factors)
    if not ok:
        return False
    live = solver.live
    b = np.empty(live.size, dtype=np.complex128)
    for q in range(live.size):
        b[q] = solver.i_src[live[q]]
    x = lu_solve(f, b)
    v[:] = 0j
    for q in range(live.size):
        v[live[q]] = x[q]
    return True


@njit(cache=True, nogil=True)
def _terminal_currents(pd_y: ComplexArray, conductors: IntArray, at_y: int, at_c: int, k: int,
                       first: int, rows: int, v: ComplexArray,
                       out: ComplexArray) -> None:  # pragma: no cover - compiled
    """Currents into one element at ``rows`` conductors from row ``first`` into ``out``
    (zero beyond), as ``PrimitiveBlock.terminal_currents``."""
    out[:] = 0j
    for p in range(min(rows, out.size)):
        acc = 0j
        for q in range(k):
            node = conductors[at_c + q]
            if node >= 0:
                acc += pd_y[at_y + (first + p) * k + q] * v[node]
        out[p] = acc


@njit(cache=True, nogil=True, inline="always")
def _regulator_inputs(
    s: SensorArrays, m: MovableArrays, tap_winding: IntArray, n_phases: IntArray,
    conductors: IntArray, tap_pu: FloatArray, pd_y: ComplexArray, v: ComplexArray,
    taps: FloatArray, i_winding: ComplexArray,
) -> None:  # pragma: no cover - compiled
    """Each regulator's tap [pu] and sensed winding's currents [A] into ``taps`` and
    ``i_winding``, as :func:`~feederos.powerflow.controls.run_static_controls` gathers
    them."""
    for k in range(taps.size):
        t = s.reg_transformer[k]
        taps[k] = tap_pu[t, tap_winding[k] - 1]
        _terminal_currents(pd_y, conductors, m.tr_at_y[t], m.tr_at_c[t], m.tr_k[t],
                           s.reg_first[k], n_phases[k] + 1, v, i_winding[k])


@njit(cache=True, nogil=True, inline="always")
def _capacitor_inputs(
    s: SensorArrays, cap_states: IntArray, conductors: IntArray, pd_y: ComplexArray,
    v: ComplexArray, states: IntArray, i_term: ComplexArray, i_ct: ComplexArray,
) -> None:  # pragma: no cover - compiled
    """Each capacitor control's bank states and monitored and CT currents [A]."""
    for k in range(states.shape[0]):
        states[k] = cap_states[s.cap_bank[k]]
        _terminal_currents(pd_y, conductors, s.mon_at_y[k], s.mon_at_c[k], s.mon_k[k],
                           s.mon_first[k], s.mon_n[k], v, i_term[k])
        _terminal_currents(pd_y, conductors, s.mon_at_y[k], s.mon_at_c[k], s.mon_k[k],
                           s.ct_first[k], s.mon_n[k], v, i_ct[k])


@njit(cache=True, nogil=True, inline="always")
def _sample(
    a: ControlledArrays, state: ControlledState, v: ComplexArray, taps: FloatArray,
    i_winding: ComplexArray, states: IntArray, i_term: ComplexArray, i_ct: ComplexArray,
    edge_rel: float,
) -> bool:  # pragma: no cover - compiled
    """Sample the regulators, then the capacitor controls, at ``v`` and arm or disarm
    them; whether a decision was within ``edge_rel`` of flipping."""
    regs, caps, sensors, mem = a.regs, a.caps, a.sensors, state.memory
    near = False
    if regs.winding.size:
        _regulator_inputs(sensors, a.movable, regs.tap_winding, regs.n_phases,
                          a.pd.conductors, state.tap_pu, state.pd_y, v, taps, i_winding)
        s = sample_regulators(regs, taps, v, i_winding, mem.in_reverse)
        near = regulators_near_edge(regs, s[0], mem.in_reverse, edge_rel)
        arm_regulators(regs, taps, s[2], s[3], s[4], s[5], s[6], mem, 0.0)
    if caps.mode.size:
        _capacitor_inputs(sensors, state.cap_states, a.pd.conductors, state.pd_y, v, states,
                          i_term, i_ct)
        c = sample_capacitors(caps, states, v, i_term, i_ct, 0.0)
        near = near or capacitors_near_edge(caps, c[0], edge_rel)
        arm_capacitors(caps, c[1], c[2], mem, 0.0)
    return near


@njit(cache=True, nogil=True)
def solve_controlled(
    a: ControlledArrays, state: ControlledState, scale: FloatArray, v: ComplexArray,
    tolerance_pu: float, max_iterations: int, max_control_iterations: int,
    first: ComplexArray | None = None,
) -> tuple[int, int, int, bool]:  # pragma: no cover - compiled
    """Solve one snapshot from ``v`` (replaced by the solution) with the loads' powers
    scaled by ``scale`` ``(M, 1)``, letting the controls act from ``state`` (updated),
    as :func:`~feederos.powerflow.controls.run_static_controls` does. ``first``, if
    given, receives the first solve's solution: the snapshot at the controls' state
    it began with, solved to the looser of the tolerance and
    :data:`CONTROL_SAMPLE_PU`.

    Each control iteration first solves to :data:`CONTROL_SAMPLE_PU` only, unrefined,
    and samples there: a sample that moves a tap or a bank is acted on as it is, unless
    a decision is within :data:`EDGE_REL` of flipping; a sample that moves nothing, or
    sits at an edge, has its solve finished to ``tolerance_pu`` and refined (where the
    network's rounding is not under :data:`ROUNDING_SHARE` of the tolerance), and is
    taken again. So the settled solution is as tight as asked, and the intermediate
    ones, only ever used to choose the next move, cost about half. Each solve's Anderson mixing
    starts with the rows the last one kept
    (:func:`~feederos.powerflow.methods.anderson.anderson_restart`), this snapshot's or
    the previous one's in ``state.history``: on IEEE 8500's first 240 h a quarter fewer
    iterations.

    Returns the status (:data:`SOLVED`, :data:`NOT_CONVERGED` or :data:`ZERO_PIVOT`),
    the last solve's iterations, the control iterations and whether the controls
    settled.
    """
    solver, regs, caps, movable, sensors = a.solver, a.regs, a.caps, a.movable, a.sensors
    tap_pu, cap_states, pd_y, factors = state.tap_pu, state.cap_states, state.pd_y, \
        state.factors
    mem, log = state.memory, state.log
    taps = np.empty(regs.winding.size)
    i_winding = np.zeros((regs.winding.size, regs.conductors.shape[1]), dtype=np.complex128)
    states = np.zeros((caps.mode.size, cap_states.shape[1]), dtype=np.int64)
    i_term = np.zeros((caps.mode.size, caps.conductors.shape[1]), dtype=np.complex128)
    i_ct = np.zeros_like(i_term)
    g = np.zeros(v.size, dtype=np.complex128)
    work = np.empty((3, solver.live.size), dtype=np.complex128)
    history = state.history
    loose = max(tolerance_pu, CONTROL_SAMPLE_PU)
    refine = solver.rounding_pu[0] >= ROUNDING_SHARE * tolerance_pu
    reset_loop(mem, caps.dead_time_s, 0.0)
    iteration = 0
    while True:
        iteration += 1
        f, ok = current_factors(solver, factors)
        if not ok:
            return ZERO_PIVOT, 0, iteration, False
        anderson_restart(history)
        last = iteration >= max_control_iterations
        converged, iterations, tight = fixed_point_iterations(
            f, solver.loads, scale, scale, solver.i_src, solver.live, solver.inv_scale_sq, v, g,
            tolerance_pu, max_iterations, history, work, solver.mixed,
            tolerance_pu if last else loose, refine)
        if not converged:
            return NOT_CONVERGED, iterations, iteration, False
        if first is not None and iteration == 1:
            first[:] = v
        if last:
            return SOLVED, iterations, iteration, False
        while True:
            near = _sample(a, state, v, taps, i_winding, states, i_term, i_ct, EDGE_REL)
            if tight or (mem.queue_size[0] > 0 and not near):
                break
            converged, more, tight = fixed_point_iterations(
                f, solver.loads, scale, scale, solver.i_src, solver.live, solver.inv_scale_sq,
                v, g, tolerance_pu, max_iterations, history, work, solver.mixed, 0.0, refine)
            iterations += more
            if not converged:
                return NOT_CONVERGED, iterations, iteration, False
        if mem.queue_size[0] == 0:
            return SOLVED, iterations, iteration, True
        rows = execute_nearest(regs, caps, mem, tap_pu, sensors.reg_transformer, cap_states,
                               sensors.cap_bank, 0.0, log)
        for e in range(rows):
            k = int(log[e, 1])
            if log[e, 0] == QUEUED_TAP and log[e, 3] != log[e, 4]:
                move_transformer(movable, tap_pu, pd_y, factors, sensors.reg_transformer[k])
            elif log[e, 0] == QUEUED_CAPACITOR and log[e, 4] >= 0:
                move_bank(movable, cap_states, pd_y, factors, sensors.cap_bank[k])


@njit(cache=True, nogil=True)
def snapshot_totals(
    pd: PdArrays, totals: TotalsArrays, pd_y: ComplexArray, v: ComplexArray
) -> tuple[complex, complex, float, float, float]:  # pragma: no cover - compiled
    """Source power and losses [VA], the voltage range [pu] and the largest thermal
    loading [pu of normal rating] of a solution with the admittances ``pd_y``, as
    :func:`~feederos.powerflow.totals.totals_many` takes them."""
    n = v.size
    v2 = v.reshape((n, 1))
    losses = np.zeros(1, dtype=np.complex128)
    drawn = np.zeros((totals.src_nodes.size, 1), dtype=np.complex128)
    loading = np.zeros(1)
    blocks = pd.blocks
    for b in range(blocks.shape[0]):
        m, k, at_c, at_y, first = (blocks[b, 0], blocks[b, 1], blocks[b, 2], blocks[b, 3],
                                   blocks[b, 4])
        _pd_powers(pd_y[at_y:at_y + m * k * k].reshape((m, k, k)),
                   pd.conductors[at_c:at_c + m * k].reshape((m, k)),
                   pd.counts[first:first + m], v2, totals.slot, losses, drawn, blocks[b, 5],
                   pd.inv_rating[first:first + m], loading)
    source = 0j
    for s in range(totals.src_nodes.size):
        source += v[totals.src_nodes[s]] * drawn[s, 0].conjugate()
    lo, hi = np.inf, -np.inf
    for q in range(totals.service.size):
        x = magnitude(v[totals.service[q]]) / totals.v_base_v[q]
        lo = min(lo, x)
        hi = max(hi, x)
    if totals.service.size == 0:
        lo = hi = np.nan
    rated = False
    for e in range(pd.inv_rating.size):  # the first element is rated on most feeders
        if pd.inv_rating[e] > 0.0:
            rated = True
            break
    return source, losses[0], lo, hi, np.sqrt(loading[0]) if rated else np.nan
