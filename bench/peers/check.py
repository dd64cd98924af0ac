"""Self-check of the peers: same answers as ours on one snapshot, and a batch that runs.

Run from the repository root, in the environment that has the ``bench`` extra
(``make bench-peers``, or ``.venv/bench/bin/python -m bench.peers.check``).

On the 1,000-bus :func:`~bench.peers.network.three_phase_feeder` (seed 1) it solves
scenario 0 of :func:`~bench.peers.network.load_scenarios` with our
:func:`feederos.powerflow.solve` and with each peer, and prints the largest complex
voltage difference ``max |V_ours − V_peer|`` over all bus phases [pu]:

- power-grid-model (Newton-Raphson and iterative current): the model is exact, so
  the check fails above 1e-6 pu;
- pandapower on the feeder itself: an approximation (sequence data, see
  :mod:`bench.peers.pandapower_3ph`), printed, not checked;
- pandapower on the transposed twin, which its sequence data hold exactly: the check
  fails above 1e-6 pu (a conversion error would show here).

Then it times one power-grid-model batch of 1,000 buses × 100 scenarios per method,
sequential and on two threads, and pandapower's ``runpp_3ph`` per step (10 steps).
Exits 1 if a check fails. Takes about half a minute.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import numpy.typing as npt

from feederos.model import Network
from feederos.powerflow import solve

from .network import (
    bus_voltages_pu,
    load_scenarios,
    three_phase_feeder,
    transposed_twin,
    with_load_powers,
)
from .pgm import CalculationMethod, pgm_batch, pgm_prepare

__all__ = ["main"]

N_BUSES = 1_000
N_SCENARIOS = 100
EXACT_PU = 1e-6
"""Largest difference accepted where a peer holds the feeder exactly [pu]."""
_TOLERANCE_PU = 1e-10  # every engine solves tighter than the agreement checked
_PANDAPOWER_STEPS = 10
_METHODS = (CalculationMethod.iterative_current, CalculationMethod.newton_raphson)


def _max_dv(a: npt.NDArray[np.complex128], b: npt.NDArray[np.complex128]) -> float:
    return float(np.nanmax(np.abs(a - b)))


def _ours(network: Network, p_kw: npt.NDArray[np.float64], q_kvar: npt.NDArray[np.float64]
          ) -> npt.NDArray[np.complex128]:
    result = solve(with_load_powers(network, p_kw, q_kvar), tolerance_pu=_TOLERANCE_PU)
    if not result.converged:
        raise RuntimeError(f"our solve of {network.name} did not converge")
    return bus_voltages_pu(result)


def main() -> int:
    """Run the check; print the table; return the exit status (0 when it passes)."""
    net = three_phase_feeder(N_BUSES, seed=1)
    p_kw, q_kvar = load_scenarios(net, N_SCENARIOS, seed=0)
    print(f"feeder {net.name}: {len(net.buses)} buses, {len(net.lines)} lines, "
          f"{len(net.loads)} loads ({sum(ld.phases == 3 for ld in net.loads)} three-phase)")
    ours = _ours(net, p_kw[0], q_kvar[0])
    print(f"ours, scenario 0: |V| {np.nanmin(np.abs(ours)):.4f}–{np.nanmax(np.abs(ours)):.4f} pu")
    failed: list[str] = []

    print("\nagreement with ours on scenario 0, max |V_ours - V_peer| [pu]")
    prep = pgm_prepare(net)
    for method in _METHODS:
        _, u = pgm_batch(net, p_kw[:1], q_kvar[:1], method=method, threads=-1,
                         tolerance_pu=_TOLERANCE_PU, prepared=prep)
        dv = _max_dv(u[0], ours)
        print(f"  power-grid-model {method.name:<18} {dv:9.2e}   exact model, limit {EXACT_PU:g}")
        if dv > EXACT_PU:
            failed.append(f"power-grid-model {method.name}")

    try:
        from .pandapower_3ph import pandapower_loop, pandapower_net
    except ImportError as exc:  # the main dev env: pandapower needs pandas 2.3
        print(f"  pandapower: not importable here ({exc}); run in .venv/bench")
        pandapower_loop = pandapower_net = None  # type: ignore[assignment]
    if pandapower_loop is not None and pandapower_net is not None:
        _, u = pandapower_loop(net, p_kw[:1], q_kvar[:1])
        print(f"  pandapower runpp_3ph  feeder      {_max_dv(u[0], ours):9.2e}   "
              "sequence data: untransposed coupling averaged out")
        twin = transposed_twin(net)
        _, u = pandapower_loop(twin, p_kw[:1], q_kvar[:1])
        dv = _max_dv(u[0], _ours(twin, p_kw[0], q_kvar[0]))
        print(f"  pandapower runpp_3ph  transposed  {dv:9.2e}   exact model, limit {EXACT_PU:g}")
        if dv > EXACT_PU:
            failed.append("pandapower (transposed twin)")

    print(f"\ntimings, {N_BUSES} buses × {N_SCENARIOS} scenarios")
    print(f"  power-grid-model convert {prep.convert_s:.3f} s, build model {prep.build_s:.4f} s")
    for method in _METHODS:
        for threads in (-1, 2):
            seconds, _ = pgm_batch(net, p_kw, q_kvar, method=method, threads=threads,
                                   prepared=prep)
            label = "sequential" if threads < 0 else f"threading={threads}"
            print(f"  power-grid-model {method.name:<18} {label:<12} {seconds:7.3f} s "
                  f"({seconds / N_SCENARIOS * 1e3:.2f} ms/scenario)")
    if pandapower_loop is not None and pandapower_net is not None:
        t0 = time.perf_counter()
        pn = pandapower_net(net)
        build_s = time.perf_counter() - t0
        seconds, _ = pandapower_loop(net, p_kw, q_kvar, sample=_PANDAPOWER_STEPS, prepared=pn)
        print(f"  pandapower runpp_3ph (net built in {build_s:.2f} s) {seconds:7.2f} s "
              f"({seconds / N_SCENARIOS * 1e3:.0f} ms/step), extrapolated from "
              f"{_PANDAPOWER_STEPS} steps")

    if failed:
        print(f"\nFAILED: {', '.join(failed)} above {EXACT_PU:g} pu")
        return 1
    print("\nOK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
