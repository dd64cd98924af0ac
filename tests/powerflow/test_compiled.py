"""A changed state (``with_state``) is the network compiled afresh with that state, and
its solution, through the root's refactorised factors, is the fresh network's solution."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import imported
from feederos.model import Network
from feederos.powerflow.compiled import CompiledNetwork, assemble_y, compile_network
from feederos.powerflow.methods import fixed_point
from feederos.powerflow.solve import solve_voltages

TOL = {"tolerance_pu": 1e-10}


def _with_model_state(net: Network, taps: dict[str, tuple[float, ...]],
                      caps: dict[str, tuple[int, ...]]) -> Network:
    """A copy of ``net`` whose model holds these taps and capacitor states."""
    out = net.model_copy(deep=True)
    for t in out.transformers:
        for w, tap in zip(t.windings, taps.get(t.name, ()), strict=False):
            w.tap_pu = tap
    for c in out.capacitors:
        if c.name in caps:
            c.states = list(caps[c.name])
    return out


def _fresh_y(c: CompiledNetwork):
    return assemble_y(c.nodes.n_nodes, [*c.pd_blocks, c.source_block, *c.nominal_blocks])


@pytest.mark.parametrize("name", ["ieee13", "ieee123"])
def test_a_chain_of_changes_is_the_network_compiled_afresh(name: str) -> None:
    net = imported(name)
    root = compile_network(net)
    regulated = [r.transformer for r in net.regulators]
    caps = [c.name for c in net.capacitors]
    first = root.with_state(tap_pu={regulated[0]: (1.0, 1.05)})
    cap_off = (0,) * len(root.capacitor_states[caps[0]])
    second = first.with_state(tap_pu={regulated[-1]: (1.0, 0.9625)},
                              capacitor_states={caps[0]: cap_off})
    fresh = compile_network(_with_model_state(net, second.tap_pu, second.capacitor_states))
    scale = np.abs(fresh.y.data).max()
    assert np.abs((second.y - fresh.y).toarray()).max() <= 1e-12 * scale
    assert np.abs((second.y_change - (fresh.y - root.y)).toarray()).max() <= 1e-12 * scale
    assert second.root is root and first.parent is root and second.parent is root
    assert np.array_equal(second.y.indices, root.y.indices)  # the pattern is kept
    assert np.abs((_fresh_y(second) - second.y).toarray()).max() <= 1e-12 * scale

    out, _ = solve_voltages(second, **TOL)
    ref, _ = solve_voltages(fresh, **TOL)
    # the same pivot order and pattern as the root's: a refactorisation, not SuperLU's
    assert fixed_point.energized_factor(second).pattern is fixed_point.energized_factor(
        root).pattern
    assert fixed_point.energized_factor(fresh).pattern is not fixed_point.energized_factor(
        root).pattern
    assert np.max(np.abs(out.v - ref.v) / fresh.nodes.v_base_ln_v) < 1e-9


def test_a_zero_pivot_in_the_root_order_is_factorised_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    root = compile_network(imported("ieee13"))
    moved = root.with_state(tap_pu={"reg1": (1.0, 1.05), "reg2": (1.0, 1.05)})
    monkeypatch.setattr(fixed_point.LuFactors, "refactor", _zero_pivot)
    lu = fixed_point.energized_factor(moved)
    assert lu.pattern is not fixed_point.energized_factor(root).pattern
    out, _ = solve_voltages(moved, **TOL)
    assert out.converged


def _zero_pivot(self: object, a_val: np.ndarray) -> None:
    raise ValueError("a zero pivot in the refactorisation")


def test_no_change_is_the_same_network() -> None:
    root = compile_network(imported("ieee13"))
    assert root.with_state(tap_pu={"reg1": root.tap_pu["reg1"]}) is root
    assert root.y_change is None and root.root is root
