"""The result of a power flow: node voltages and what follows from them, as tables.

:func:`build_result` takes the solved node voltages of a
:class:`~feederos.powerflow.compiled.CompiledNetwork` and computes, with batched array
products, every power-delivery element's conductor currents and powers, the sources'
and loads' powers and the losses. :class:`PowerFlowResult` keeps those arrays and shows
them as pandas tables in the style of pandapower's ``res_bus``/``res_line``, built on
first use:

- :attr:`PowerFlowResult.voltages` — one row per node;
- :attr:`PowerFlowResult.branches` — one row per conductor of each PD element;
- :attr:`PowerFlowResult.losses` and :attr:`PowerFlowResult.loading` — one row per PD
  element;
- :attr:`PowerFlowResult.injections` — one row per load, generator or inverter;
- :meth:`PowerFlowResult.violations` — ANSI C84.1 voltages and thermal overloads.

Power conventions follow OpenDSS's ``CktElement.Powers``: the power of a conductor is
``V·conj(I)`` with ``I`` the current flowing *into* the element there, so a PD element's
losses are the sum over all its conductors, and a load's power is positive. Sources are
reported as the power they deliver (``source_p_kw`` is OpenDSS's ``-TotalPower``).

Element names are ``kind.name`` with the kind singular: ``line.650632``,
``switch.671692``, ``transformer.sub``, ``capacitor.cap1``, ``reactor.x``, ``load.671``.

Examples
--------
>>> from feederos.feeders import load_feeder
>>> from feederos.powerflow import solve
>>> r = solve(load_feeder("ieee13"))
>>> r.converged
True
>>> r.voltages.columns.tolist()
['bus', 'node', 'phase', 'v_volts', 'angle_deg', 'v_pu', 'energized']
>>> r.losses.sort_values("p_kw").element.iloc[-1]  # the element losing most
'line.650632'
>>> balance_kw = r.source_p_kw - r.losses.p_kw.sum() - r.injections.p_kw.sum()
>>> bool(abs(balance_kw) < 1e-3)  # kW: Kirchhoff holds to the solver tolerance
True
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from feederos.powerflow.nodes import node_voltages
from feederos.powerflow.primitives.block import PrimitiveBlock
from feederos.powerflow.totals import rated_conductors, shunt_elements, totals_many
from feederos.powerflow.violations import (
    VIOLATION_COLUMNS,
    AnsiRange,
    ansi_c84_1_limits,
    overload_violations,
    voltage_violations,
)

if TYPE_CHECKING:  # pragma: no cover - only read here; compiled imports the solvers
    from feederos.powerflow.compiled import CompiledNetwork

__all__ = ["PowerFlowResult", "build_result", "element_kind"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]

_SINGULAR = {
    "lines": "line",
    "switches": "switch",
    "transformers": "transformer",
    "capacitors": "capacitor",
    "reactors": "reactor",
    "sources": "source",
    "loads": "load",
    "generators": "generator",
    "inverters": "inverter",
    "ev_chargers": "ev_charger",
}
_PHASES = {1: "a", 2: "b", 3: "c"}


def element_kind(collection: str) -> str:
    """Singular element kind of a network collection, as used in result names.

    Examples
    --------
    >>> element_kind("switches"), element_kind("loads")
    ('switch', 'load')
    """
    return _SINGULAR.get(collection, collection.removesuffix("s"))


@dataclass(frozen=True, eq=False)
class _PdArrays:
    """Currents and powers of one PD block at the solution."""

    block: PrimitiveBlock
    rating_a: FloatArray
    i_a: ComplexArray  # (m, k) into the element per conductor [A]
    s_va: ComplexArray  # (m, k) V·conj(I) per conductor [VA]

    shunt: npt.NDArray[np.bool_]  # (m,) shunt capacitor or reactor

    @property
    def n_phase_conductors(self) -> int:
        return rated_conductors(self.block)


def _pd_arrays(block: PrimitiveBlock, rating_a: FloatArray, v: ComplexArray,
               node_bus: IntArray) -> _PdArrays:
    v_cond = node_voltages(v, block.conductors)
    i_a = np.einsum("mij,mj->mi", block.y_s, v_cond)
    return _PdArrays(block=block, rating_a=rating_a, i_a=i_a, s_va=v_cond * np.conj(i_a),
                     shunt=shunt_elements(block, node_bus))


@dataclass(frozen=True, eq=False)
class PowerFlowResult:
    """One solved power flow (see the module docstring for the tables).

    Attributes
    ----------
    compiled
        The network as solved (with the final taps and capacitor states).
    v
        Node voltages to ground, indexed by ``compiled.nodes`` [V].
    method
        Method that produced the solution (``fixed-point``, ``newton``, ``fbs``).
    converged
        Whether the last solution met the tolerance (and the controls settled).
    iterations
        Iterations of the last solution.
    max_mismatch_a
        Largest current mismatch at any node at the end [A].
    worst_node
        ``bus.node`` with that mismatch, if known.
    control_iterations
        Control rounds (re-solves after a tap or capacitor change).
    regulator_taps
        Final tap number of each regulator (0 = neutral).
    tap_pu
        Final tap of every winding of every transformer [pu].
    capacitor_states
        Final step states of every capacitor.
    control_actions
        What the controls did, in order, for the log.
    source_p_kw, source_q_kvar
        Power delivered by all sources into the network [kW], [kvar].
    total_losses_kw, total_losses_kvar
        Losses of all PD elements except shunt capacitors and reactors, as OpenDSS's
        ``Circuit.Losses`` [kW], [kvar].
    loading_max_pu
        Largest thermal loading of a rated PD element: the most ``loading_pct`` of
        :attr:`loading` has, over 100 [pu of normal rating]; NaN if none is rated.
    """

    compiled: CompiledNetwork
    v: ComplexArray
    method: str
    converged: bool
    iterations: int
    max_mismatch_a: float
    worst_node: str | None
    control_iterations: int
    regulator_taps: dict[str, int]
    tap_pu: dict[str, tuple[float, ...]]
    capacitor_states: dict[str, tuple[int, ...]]
    control_actions: tuple[str, ...]
    source_p_kw: float
    source_q_kvar: float
    total_losses_kw: float
    total_losses_kvar: float
    loading_max_pu: float
    _pd: tuple[_PdArrays, ...] = field(repr=False)

    # ---------------------------------------------------------------- voltages
    @cached_property
    def v_pu(self) -> FloatArray:
        """Voltage magnitude of each node on its bus's line-to-neutral base [pu]."""
        return np.abs(self.v) / self.compiled.nodes.v_base_ln_v

    @cached_property
    def _service_v_pu(self) -> FloatArray:
        """``v_pu`` where it is a service voltage (energised phase nodes), else NaN."""
        nodes = self.compiled.nodes
        keep = self.compiled.energized & (nodes.node >= 1) & (nodes.node <= 3)
        return np.where(keep, self.v_pu, np.nan)

    @property
    def v_min_pu(self) -> float:
        """Lowest voltage of an energised phase node with a base [pu] (NaN if none)."""
        x = self._service_v_pu
        return float(np.nanmin(x)) if np.isfinite(x).any() else math.nan

    @property
    def v_max_pu(self) -> float:
        """Highest voltage of an energised phase node with a base [pu] (NaN if none)."""
        x = self._service_v_pu
        return float(np.nanmax(x)) if np.isfinite(x).any() else math.nan

    @cached_property
    def voltages(self) -> pd.DataFrame:
        """One row per node.

        Columns ``bus``, ``node`` (OpenDSS node number), ``phase`` (``a``/``b``/``c``
        for nodes 1–3, else the node number as text), ``v_volts`` (to ground),
        ``angle_deg``, ``v_pu`` (on the bus's line-to-neutral base; NaN without one),
        ``energized``.
        """
        nodes = self.compiled.nodes
        node = nodes.node
        return pd.DataFrame({
            "bus": np.asarray(nodes.buses, dtype=object)[nodes.bus],
            "node": node,
            "phase": [_PHASES.get(int(n), str(n)) for n in node],
            "v_volts": np.abs(self.v),
            "angle_deg": np.degrees(np.angle(self.v)),
            "v_pu": self.v_pu,
            "energized": self.compiled.energized,
        })

    def voltages_csv(self, path: str | os.PathLike[str] | None = None) -> str:
        """Voltages as CSV ``bus,node,v_volts,angle_deg,v_pu``, buses in lower case.

        The layout of OpenDSS reference files (``reference/<feeder>/voltages.csv``).
        Writes to ``path`` when given; returns the text either way.
        """
        table = self.voltages[["bus", "node", "v_volts", "angle_deg", "v_pu"]].copy()
        table["bus"] = table["bus"].str.lower()
        buf = io.StringIO()
        table.to_csv(buf, index=False, lineterminator="\n")
        text = buf.getvalue()
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        return text

    # ---------------------------------------------------------------- PD elements
    @cached_property
    def branches(self) -> pd.DataFrame:
        """One row per conductor of each power-delivery element.

        Columns ``element`` (``kind.name``), ``terminal`` and ``conductor`` (1-based),
        ``bus``, ``node`` (OpenDSS node number, 0 = ground), ``i_a`` and ``angle_deg``
        of the current into the element, ``p_kw`` and ``q_kvar`` into the element at
        that conductor, and the element's ``loading_pct``.
        """
        nodes = self.compiled.nodes
        bus_names = np.asarray(nodes.buses, dtype=object)
        parts: list[pd.DataFrame] = []
        for pd_arr, loading in zip(self._pd, self._loading_parts, strict=True):
            b = pd_arr.block
            m, k = b.conductors.shape
            cpt = b.conductors_per_terminal
            cond = b.conductors
            grounded = cond < 0
            node_no = np.where(grounded, 0, nodes.node[np.maximum(cond, 0)])
            bus_of = np.where(grounded, -1, nodes.bus[np.maximum(cond, 0)])
            # A grounded conductor names no bus: take its terminal's (or element's) bus.
            term_bus = bus_of.reshape(m, b.n_terminals, cpt).max(axis=2)
            term_bus = np.where(term_bus < 0, term_bus.max(axis=1, keepdims=True), term_bus)
            bus_idx = np.repeat(term_bus, cpt, axis=1)
            parts.append(pd.DataFrame({
                "element": np.repeat(loading["element"].to_numpy(), k),
                "terminal": np.tile(np.arange(k) // cpt + 1, m),
                "conductor": np.tile(np.arange(k) % cpt + 1, m),
                "bus": np.where(bus_idx >= 0, bus_names[np.maximum(bus_idx, 0)], "").ravel(),
                "node": node_no.ravel(),
                "i_a": np.abs(pd_arr.i_a).ravel(),
                "angle_deg": np.degrees(np.angle(pd_arr.i_a)).ravel(),
                "p_kw": pd_arr.s_va.real.ravel() / 1e3,
                "q_kvar": pd_arr.s_va.imag.ravel() / 1e3,
                "loading_pct": np.repeat(loading["loading_pct"].to_numpy(), k),
            }))
        return _concat(parts, ["element", "terminal", "conductor", "bus", "node", "i_a",
                               "angle_deg", "p_kw", "q_kvar", "loading_pct"])

    @cached_property
    def _loading_parts(self) -> list[pd.DataFrame]:
        nodes = self.compiled.nodes
        parts = []
        for pd_arr in self._pd:
            b = pd_arr.block
            n = pd_arr.n_phase_conductors
            i_abs = np.abs(pd_arr.i_a[:, :n])
            worst = np.argmax(i_abs, axis=1) if n else np.zeros(b.n_elements, dtype=np.int64)
            i_max = i_abs[np.arange(b.n_elements), worst] if n else np.zeros(b.n_elements)
            cond = b.conductors[np.arange(b.n_elements), worst]
            with np.errstate(invalid="ignore", divide="ignore"):
                loading = np.where(pd_arr.rating_a > 0, 100.0 * i_max / pd_arr.rating_a, np.nan)
            prefix = element_kind(b.kind) + "."
            parts.append(pd.DataFrame({
                "element": [prefix + name for name in b.names],
                "i_max_a": i_max,
                "node": np.where(cond >= 0, nodes.node[np.maximum(cond, 0)], 0),
                "rating_a": pd_arr.rating_a,
                "loading_pct": loading,
            }))
        return parts

    @cached_property
    def loading(self) -> pd.DataFrame:
        """One row per PD element: its thermal loading.

        Columns ``element``, ``i_max_a`` (largest terminal-1 phase current, as OpenDSS's
        ``MaxTerminalOneIMag``), ``node`` (the node it flows at), ``rating_a`` (normal
        rating; NaN if none) and ``loading_pct`` (``100·i_max_a/rating_a``).
        """
        return _concat(self._loading_parts,
                       ["element", "i_max_a", "node", "rating_a", "loading_pct"])

    @cached_property
    def losses(self) -> pd.DataFrame:
        """One row per PD element: ``element``, ``p_kw``, ``q_kvar``, ``shunt``.

        ``p_kw``/``q_kvar`` sum ``V·conj(I)`` over all the element's conductors (a
        capacitor's ``q_kvar`` is negative); ``shunt`` marks the shunt capacitors and
        reactors that :attr:`total_losses_kw` leaves out, as OpenDSS does.
        """
        parts = []
        for pd_arr in self._pd:
            s_kva = pd_arr.s_va.sum(axis=1) / 1e3
            prefix = element_kind(pd_arr.block.kind) + "."
            parts.append(pd.DataFrame({
                "element": [prefix + name for name in pd_arr.block.names],
                "p_kw": s_kva.real,
                "q_kvar": s_kva.imag,
                "shunt": pd_arr.shunt,
            }))
        return _concat(parts, ["element", "p_kw", "q_kvar", "shunt"])

    # ---------------------------------------------------------------- PC elements
    @cached_property
    def injections(self) -> pd.DataFrame:
        """One row per load, generator or inverter: ``element``, ``p_kw``, ``q_kvar``.

        The power the element draws from the network (OpenDSS's ``Powers``): positive
        for a load, negative for a generator or an inverter that exports.
        """
        parts = []
        for inj in self.compiled.injections:
            v_cond = node_voltages(self.v, inj.conductors)
            s_kva = (v_cond * np.conj(inj.currents(v_cond))).sum(axis=1) / 1e3
            prefix = element_kind(inj.kind) + "."
            parts.append(pd.DataFrame({
                "element": [prefix + name for name in inj.names],
                "p_kw": s_kva.real,
                "q_kvar": s_kva.imag,
            }))
        return _concat(parts, ["element", "p_kw", "q_kvar"])

    # ---------------------------------------------------------------- checks
    def violations(self, *, range: AnsiRange | str = AnsiRange.A) -> pd.DataFrame:
        """ANSI C84.1 voltage violations and thermal overloads.

        Voltages of energised phase nodes are compared with the service-voltage limits
        of ``range`` (A: 0.95–1.05 pu, B: 0.9167–1.0583 pu) on each bus's
        line-to-neutral base; PD elements with ``loading_pct`` above 100 are overloaded.
        See :mod:`feederos.powerflow.violations`.

        Returns
        -------
        pandas.DataFrame
            Columns ``kind``, ``element``, ``node``, ``value``, ``limit``.
        """
        nodes = self.compiled.nodes
        volts = voltage_violations(np.asarray(nodes.buses, dtype=object)[nodes.bus],
                                   nodes.node, self._service_v_pu,
                                   limits=ansi_c84_1_limits(range))
        load = self.loading
        over = overload_violations(load["element"].to_numpy(), load["node"].to_numpy(),
                                   load["loading_pct"].to_numpy())
        return _concat([volts, over], list(VIOLATION_COLUMNS))

    def summary(self) -> dict[str, object]:
        """The headline numbers, as plain Python values (for printing or JSON)."""
        return {
            "network": self.compiled.name,
            "method": self.method,
            "converged": self.converged,
            "iterations": self.iterations,
            "control_iterations": self.control_iterations,
            "max_mismatch_a": self.max_mismatch_a,
            "worst_node": self.worst_node,
            "source_p_kw": self.source_p_kw,
            "source_q_kvar": self.source_q_kvar,
            "losses_kw": self.total_losses_kw,
            "losses_kvar": self.total_losses_kvar,
            "v_min_pu": self.v_min_pu,
            "v_max_pu": self.v_max_pu,
            "regulator_taps": dict(self.regulator_taps),
            "capacitor_states": {k: list(s) for k, s in self.capacitor_states.items()},
            "n_violations": len(self.violations()),
        }


def _concat(parts: Sequence[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: [] for c in columns})
    return pd.concat(parts, ignore_index=True)[columns]


def build_result(
    compiled: CompiledNetwork,
    v: ComplexArray,
    *,
    method: str,
    converged: bool,
    iterations: int,
    max_mismatch_a: float,
    worst_node: str | None,
    control_iterations: int,
    regulator_taps: dict[str, int],
    tap_pu: dict[str, tuple[float, ...]],
    capacitor_states: dict[str, tuple[int, ...]],
    control_actions: Sequence[str],
) -> PowerFlowResult:
    """Currents, powers and losses at node voltages ``v`` of ``compiled``.

    Parameters
    ----------
    compiled
        The network as solved.
    v
        Node voltages [V], length ``compiled.nodes.n_nodes``.
    method, converged, iterations, max_mismatch_a, worst_node, control_iterations
        How the solution was reached (see :class:`PowerFlowResult`).
    regulator_taps, tap_pu, capacitor_states, control_actions
        The final control state and the actions taken.

    Returns
    -------
    PowerFlowResult
        Arrays computed now; tables built on first access.
    """
    v = np.asarray(v, dtype=np.complex128)
    if v.shape != (compiled.nodes.n_nodes,):
        raise ValueError(f"v has shape {v.shape}, expected ({compiled.nodes.n_nodes},)")
    pd_parts = tuple(_pd_arrays(b, r, v, compiled.nodes.bus)
                     for b, r in zip(compiled.pd_blocks, compiled.pd_rating_a, strict=True))
    totals = totals_many(compiled, v[:, None])
    losses_va, source_va = complex(totals.losses_va[0]), complex(totals.source_va[0])
    return PowerFlowResult(
        compiled=compiled,
        v=v,
        method=str(method),
        converged=bool(converged),
        iterations=int(iterations),
        max_mismatch_a=float(max_mismatch_a),
        worst_node=worst_node,
        control_iterations=int(control_iterations),
        regulator_taps=dict(regulator_taps),
        tap_pu=dict(tap_pu),
        capacitor_states=dict(capacitor_states),
        control_actions=tuple(control_actions),
        source_p_kw=source_va.real / 1e3,
        source_q_kvar=source_va.imag / 1e3,
        total_losses_kw=losses_va.real / 1e3,
        total_losses_kvar=losses_va.imag / 1e3,
        loading_max_pu=float(totals.loading_max_pu[0]),
        _pd=pd_parts,
    )
