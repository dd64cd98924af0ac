"""``solve``: one snapshot power flow with the static controls, as OpenDSS's ``Solve``.

Pick a method (:class:`Method`), run it on the compiled network, let the regulators
and capacitor controls act the way OpenDSS's static control mode does (sample, execute
the nearest-delay actions, re-solve, until none are pending), and report the result.
"""

from __future__ import annotations

import weakref
from enum import StrEnum
from functools import partial

import numpy as np
import numpy.typing as npt

from feederos.errors import PowerFlowError
from feederos.model import Network
from feederos.powerflow.compiled import CompiledNetwork, compile_network
from feederos.powerflow.controls import (
    CapacitorControlTable,
    ControlState,
    RegulatorTable,
    SolveOutput,
    TerminalKey,
    capacitor_control_table,
    regulator_table,
    run_static_controls,
    tap_number,
)
from feederos.powerflow.methods.common import MethodOutcome
from feederos.powerflow.methods.fbs import solve_fbs
from feederos.powerflow.methods.fixed_point import solve_fixed_point
from feederos.powerflow.methods.newton import solve_newton
from feederos.powerflow.result import PowerFlowResult, build_result

__all__ = ["Method", "control_tables", "regulator_taps", "solve", "solve_voltages"]

ComplexArray = npt.NDArray[np.complex128]


class Method(StrEnum):
    """Solution methods of :func:`solve`."""

    AUTO = "auto"
    """Fixed point; Newton-Raphson from where it stopped if it does not converge."""
    FIXED_POINT = "fixed-point"
    """Current injection with ``y`` factorised once (OpenDSS's normal method)."""
    NEWTON = "newton"
    """Newton-Raphson in rectangular coordinates."""
    FBS = "fbs"
    """Forward-backward sweep; radial feeders with one source only."""


def solve_voltages(
    compiled: CompiledNetwork,
    *,
    method: Method | str = Method.AUTO,
    tolerance_pu: float = 1e-9,
    max_iterations: int = 100,
    initial: ComplexArray | None = None,
) -> tuple[MethodOutcome, Method]:
    """Node voltages of one solution (no controls) and the method that produced them."""
    method = Method(method)
    kw = {"tolerance_pu": tolerance_pu, "max_iterations": max_iterations, "initial": initial}
    if method is Method.NEWTON:
        return solve_newton(compiled, **kw), method  # type: ignore[arg-type]
    if method is Method.FBS:
        return solve_fbs(compiled, **kw), method  # type: ignore[arg-type]
    out = solve_fixed_point(compiled, **kw)  # type: ignore[arg-type]
    if out.converged or method is Method.FIXED_POINT:
        return out, Method.FIXED_POINT
    kw["initial"] = out.v
    return solve_newton(compiled, **kw), Method.NEWTON  # type: ignore[arg-type]


def _compiled(network: Network | CompiledNetwork) -> CompiledNetwork:
    return network if isinstance(network, CompiledNetwork) else compile_network(network)


def solve(
    network: Network | CompiledNetwork,
    *,
    method: Method | str = Method.AUTO,
    tolerance_pu: float = 1e-9,
    max_iterations: int = 100,
    controls: bool = True,
    max_control_iterations: int | None = None,
    initial: PowerFlowResult | ComplexArray | None = None,
) -> PowerFlowResult:
    """Solve a snapshot power flow, with the regulators and capacitor controls acting.

    Parameters
    ----------
    network
        A network, or one already compiled (reused: its factorisation is cached).
    method
        See :class:`Method`; ``"auto"`` is the fixed point with a Newton fallback.
    tolerance_pu
        Largest change of any node voltage in the last iteration [pu of its base].
    max_iterations
        Iterations per solution before it is reported as not converged.
    controls
        Let regulators and capacitor controls act as OpenDSS's static control mode
        does; ``False`` keeps every tap and capacitor step as compiled.
    max_control_iterations
        Solves the control loop may take (OpenDSS ``maxcontroliter``); default the
        network's ``settings.max_control_iterations``.
    initial
        A previous result or node-voltage vector to start from (warm start).

    Returns
    -------
    PowerFlowResult
        Voltages, branch flows, losses, taps and capacitor states. A solution that did
        not converge is returned with ``converged=False``, its iterations and its worst
        Kirchhoff mismatch and node, not raised.

    Raises
    ------
    PowerFlowError
        If ``method="fbs"`` is asked of a meshed or multi-source network.

    Examples
    --------
    >>> from feederos.feeders import load_feeder
    >>> r = solve(load_feeder("ieee13"))
    >>> r.converged, r.regulator_taps
    (True, {'reg1': 9, 'reg2': 6, 'reg3': 9})
    """
    compiled = _compiled(network)
    v0 = initial.v if isinstance(initial, PowerFlowResult) else initial
    kw = {"method": method, "tolerance_pu": tolerance_pu, "max_iterations": max_iterations}
    net = compiled.network
    regs, caps = control_tables(compiled)
    if not controls or (regs.n == 0 and caps.n == 0):
        out, used = solve_voltages(compiled, initial=v0, **kw)  # type: ignore[arg-type]
        return _result(compiled, out, used, control_iterations=0, actions=(), regs=regs)

    solved: dict[str, object] = {}

    def solve_state(state: ControlState) -> SolveOutput:
        c = compiled.with_state(tap_pu=state.tap_pu, capacitor_states=state.states)
        last = solved.get("out")
        start = last.v if isinstance(last, MethodOutcome) else v0
        out, used = solve_voltages(c, initial=start, **kw)  # type: ignore[arg-type]
        solved.update(compiled=c, out=out, method=used)
        return SolveOutput(v=out.v, terminal_currents=partial(_terminal_currents, c, out.v),
                           converged=out.converged)

    state0 = ControlState(
        tap_pu={t: compiled.tap_pu[t] for t in regs.transformers},
        states={c: compiled.capacitor_states[c] for c in caps.capacitors},
    )
    limit = max_control_iterations or net.settings.max_control_iterations
    outcome = run_static_controls(solve_state, state0, regs, caps,
                                  max_control_iterations=limit)
    actions = tuple(
        f"{a.iteration}: {a.control} {a.target} {a.note}" for a in outcome.actions
    )
    final, last = solved["compiled"], solved["out"]
    assert isinstance(final, CompiledNetwork) and isinstance(last, MethodOutcome)
    return _result(final, last, Method(str(solved["method"])), regs=regs,
                   control_iterations=outcome.control_iterations, actions=actions,
                   controls_settled=outcome.converged)


_TABLES: weakref.WeakKeyDictionary[CompiledNetwork, tuple[RegulatorTable, CapacitorControlTable]]
_TABLES = weakref.WeakKeyDictionary()


def control_tables(compiled: CompiledNetwork) -> tuple[RegulatorTable, CapacitorControlTable]:
    """The regulator and capacitor-control tables, built once per root network.

    Networks derived by :meth:`~CompiledNetwork.with_state` share their root's model and
    node numbering, hence its tables.
    """
    root = compiled.root
    tables = _TABLES.get(root)
    if tables is None:
        tables = (regulator_table(root.network, root.nodes),
                  capacitor_control_table(root.network, root.nodes))
        _TABLES[root] = tables
    return tables


def _terminal_currents(
    compiled: CompiledNetwork, v: ComplexArray, key: TerminalKey
) -> ComplexArray:
    """Currents into a PD element at one terminal's conductors (for the controls) [A]."""
    try:
        block, m = compiled.block(key.kind, key.name)
    except KeyError as exc:
        raise PowerFlowError(str(exc)) from None
    return block.terminal_currents(v, m, key.terminal)


def regulator_taps(compiled: CompiledNetwork, regs: RegulatorTable) -> dict[str, int]:
    """Each regulator's tap position at the network's taps, counted from the middle of
    its range (OpenDSS ``TapNum``), as :attr:`PowerFlowResult.regulator_taps`."""
    return {
        name: tap_number(
            compiled.tap_pu[t][w - 1], regs.min_tap_pu[k], regs.max_tap_pu[k], regs.tap_step_pu[k]
        )
        for k, (name, t, w) in enumerate(zip(regs.names, regs.transformers, regs.tap_winding,
                                             strict=True))
    }


def _result(
    compiled: CompiledNetwork,
    out: MethodOutcome,
    method: Method,
    *,
    control_iterations: int,
    actions: tuple[str, ...],
    regs: RegulatorTable,
    controls_settled: bool = True,
) -> PowerFlowResult:
    taps = regulator_taps(compiled, regs)
    return build_result(
        compiled,
        out.v,
        method=method.value,
        converged=out.converged and controls_settled,
        iterations=out.iterations,
        max_mismatch_a=out.max_mismatch_a,
        worst_node=compiled.nodes.label(out.worst_node) if out.worst_node >= 0 else None,
        control_iterations=control_iterations,
        regulator_taps=taps,
        tap_pu=dict(compiled.tap_pu),
        capacitor_states=dict(compiled.capacitor_states),
        control_actions=actions,
    )
