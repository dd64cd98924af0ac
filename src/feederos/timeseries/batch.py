"""Many load scenarios of one network, solved together.

A planner's "what if" sweep — every hour of a year as an independent snapshot, thousands
of DER or EV adoption draws — asks for the same network under many load states. This
module solves them as blocks of columns (:mod:`feederos.powerflow.methods.many`): one
compile and one factorisation for all, each block's loads evaluated in one compiled pass
and its triangular solves reading the factors once. Blocks bound the memory
(``chunk`` scenarios at a time) and run on ``workers`` threads; the kernels release the
GIL, so both cores work.

Each scenario is solved as :func:`feederos.powerflow.solve` would solve it alone with
``controls=False`` (taps and capacitor states as compiled), from the same start (the
no-load voltages), to the same tolerance.

Examples
--------
>>> import numpy as np
>>> from feederos.feeders import load_feeder
>>> out = solve_batch(load_feeder("ieee13"), np.array([0.5, 1.0]))
>>> out.totals[["converged"]].values.ravel().tolist()
[True, True]
>>> bool(out.totals.source_p_kw[0] < out.totals.source_p_kw[1])
True
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from feederos.model import Network
from feederos.powerflow.compiled import CompiledNetwork, compile_network
from feederos.powerflow.injections.loads import LoadSet
from feederos.powerflow.methods.fixed_point import energized_factor, no_load_voltages
from feederos.powerflow.methods.many import solve_fixed_point_many
from feederos.powerflow.totals import totals_many

__all__ = ["BatchResult", "load_scales", "solve_batch"]

FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]


@dataclass(frozen=True)
class BatchResult:
    """What :func:`solve_batch` produced.

    Attributes
    ----------
    totals
        One row per scenario: ``source_p_kw``, ``source_q_kvar``, ``losses_kw``,
        ``losses_kvar``, ``v_min_pu``, ``v_max_pu``, ``loading_max_pu`` (largest thermal
        loading, pu of normal rating), ``converged``, ``iterations``.
    v
        Node voltages ``(K, n_nodes)`` [V] if asked for (``record_voltages``), indexed
        by ``compiled.nodes``; else ``None``.
    compiled
        The network as solved.
    """

    totals: pd.DataFrame
    v: ComplexArray | None
    compiled: CompiledNetwork


def load_scales(compiled: CompiledNetwork, mult: FloatArray) -> list[FloatArray | None]:
    """Per injection set, the scale ``(m_s, K)`` of each load in each scenario.

    ``mult`` is ``(K,)`` (every load alike) or ``(K, n_loads)`` with one column per load
    of ``compiled.network.loads``, in that order [pu of the load's compiled power].

    Raises
    ------
    ValueError
        If ``mult`` has the wrong shape or holds a value that is not finite.
    """
    mult = np.asarray(mult, dtype=np.float64)
    loads = [ld.name for ld in compiled.network.loads]
    if mult.ndim == 1:
        mult = np.repeat(mult[:, None], len(loads), axis=1)
    if mult.ndim != 2 or mult.shape[1] != len(loads) or mult.shape[0] == 0:
        raise ValueError(f"load multipliers of shape {mult.shape}: give (scenarios,) or "
                         f"(scenarios, {len(loads)}) with one column per load, in the order "
                         "of network.loads")
    if not np.isfinite(mult).all():
        scenario, column = np.argwhere(~np.isfinite(mult))[0]
        raise ValueError(f"load multiplier of scenario {scenario} for load "
                         f"{loads[column]!r} is {mult[scenario, column]}; give a finite number")
    column_of = {name: j for j, name in enumerate(loads)}
    return [
        np.ascontiguousarray(mult[:, [column_of[n] for n in s.names]].T)
        if isinstance(s, LoadSet) else None
        for s in compiled.injections
    ]


def solve_batch(
    network: Network | CompiledNetwork,
    p_mult: FloatArray,
    q_mult: FloatArray | None = None,
    *,
    chunk: int = 16,
    workers: int = 2,
    tolerance_pu: float = 1e-9,
    max_iterations: int = 100,
    record_voltages: bool = False,
) -> BatchResult:
    """Solve every scenario of load multipliers (see the module docstring).

    Parameters
    ----------
    network
        The network (taps and capacitor states as compiled hold in every scenario).
    p_mult, q_mult
        Multipliers of each load's active and reactive power (:func:`load_scales`);
        ``q_mult`` defaults to ``p_mult``.
    chunk
        Scenarios solved together; memory grows with it (about ``24·n_nodes`` bytes
        per scenario and Anderson step).
    workers
        Threads solving blocks at once.
    tolerance_pu, max_iterations
        Per scenario, as :func:`feederos.powerflow.solve`.
    record_voltages
        Keep every scenario's node voltages.
    """
    compiled = network if isinstance(network, CompiledNetwork) else compile_network(network)
    p = load_scales(compiled, p_mult)
    q = p if q_mult is None else load_scales(compiled, q_mult)
    k = next(a.shape[1] for a in p if a is not None)
    energized_factor(compiled)  # factorise once, before the threads share it
    start = no_load_voltages(compiled)
    if chunk < 1 or workers < 1:
        raise ValueError("chunk and workers must be at least 1")

    def block(lo: int) -> tuple[int, pd.DataFrame, ComplexArray]:
        cols = slice(lo, min(k, lo + chunk))
        out = solve_fixed_point_many(
            compiled, [None if a is None else a[:, cols] for a in p],
            [None if a is None else a[:, cols] for a in q],
            tolerance_pu=tolerance_pu, max_iterations=max_iterations, initial=start)
        t = totals_many(compiled, out.v)
        frame = pd.DataFrame({
            "source_p_kw": t.source_va.real / 1e3, "source_q_kvar": t.source_va.imag / 1e3,
            "losses_kw": t.losses_va.real / 1e3, "losses_kvar": t.losses_va.imag / 1e3,
            "v_min_pu": t.v_min_pu, "v_max_pu": t.v_max_pu, "loading_max_pu": t.loading_max_pu,
            "converged": out.converged, "iterations": out.iterations,
        }, index=range(cols.start, cols.stop))
        return lo, frame, out.v

    starts = range(0, k, chunk)
    v = np.empty((k, compiled.nodes.n_nodes), dtype=np.complex128) if record_voltages else None
    frames: list[pd.DataFrame] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for lo, frame, v_block in pool.map(block, starts):
            frames.append(frame)
            if v is not None:
                v[lo:lo + v_block.shape[1]] = v_block.T
    return BatchResult(totals=pd.concat(frames), v=v, compiled=compiled)
