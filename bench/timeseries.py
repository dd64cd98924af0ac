"""Time series and batch scenarios: ours beside OpenDSS, power-grid-model and pandapower.

Run ``python -m bench.timeseries`` from the repository root (``make bench`` does, in
``.venv/bench``, the environment with the peers: pyproject's ``bench`` extra). Options:
``--quick`` (short runs, to see that everything works), ``--steps-8500 N`` (hours of the
IEEE 8500 year, default all 8760: OpenDSS alone needs three to four minutes for them),
``--scenarios K`` (scenarios of the 10k-bus batch, default 8760).

Every line is one run of each engine on the same input, in the same process, timed
after reading and compiling (each engine's compile is reported apart where it has one):

1. **Time series** of the .dss scenarios in ``../shared/feeders/scenarios`` —
   IEEE 123 yearly (8760 h, regulators acting), the European LV 1-minute day (1440
   steps, 55 load profiles) and the first ``--steps-8500`` hours of IEEE 8500 yearly
   (its first hours are its heaviest: 240 of them cost ours 5.9 ms a step on one
   thread, the year 4.1).
   OpenDSS (dss-python) runs the same file with one ``Solve`` of ``number`` steps at
   its own settings (tolerance 1e-4, one thread); ours is :func:`feederos.timeseries.run`
   at 1e-6 (:data:`TOLERANCE_PU`, a hundred times tighter: on IEEE 123 and the LV day
   every tap and capacitor step comes out as at 1e-9, ``tests/timeseries/test_run.py``)
   on one thread and on :data:`WORKERS` (the series cut into segments solved at once,
   spliced to the sequential taps and capacitor steps), and at its default 1e-9 on
   :data:`WORKERS`. ``ratio`` = OpenDSS time / ours (above 1: we are faster). A series
   without controls (the LV day) or shorter than two segments runs on one thread
   whatever ``workers`` says.
2. **Batch**: ``--scenarios`` independent load scenarios (hour ``k`` of a year) of a
   10,000-bus three-phase feeder every peer can hold exactly
   (:func:`bench.peers.network.three_phase_feeder`): ours
   (:func:`feederos.timeseries.batch.solve_batch`, two threads) against
   power-grid-model's asymmetric batch (iterative current and Newton-Raphson, two
   threads) and pandapower's ``runpp_3ph`` in a loop (a sample of steps, extrapolated,
   if pandapower is installed). ``max |dV| pu``: the largest difference of any node
   voltage from ours over the first 16 scenarios.
3. **Scaling**: our batch time per scenario and bus on 1k, 10k and 100k-bus feeders of
   the same kind, with power-grid-model's iterative current beside it.

Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from bench.peers.network import bus_voltages_pu, load_scenarios, three_phase_feeder

from feederos.io.opendss import read_opendss
from feederos.model import Network
from feederos.powerflow import compile_network
from feederos.timeseries import run
from feederos.timeseries.batch import BatchResult, solve_batch

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO.parent / "shared" / "feeders" / "scenarios"
CHECK_SCENARIOS = 16
TOLERANCE_PU = 1e-6
"""Our tolerance in the time-series lines: a hundred times OpenDSS's default."""
WORKERS = 2
"""Threads of our time series' second column (:func:`feederos.timeseries.run`'s
``workers``: the series cut into segments solved at once) and of the batch."""


def _opendss_seconds(scenario: Path, steps: int | None) -> float:
    import dss

    engine = dss.DSS
    cwd = os.getcwd()
    try:
        engine.Text.Command = f'compile "{scenario}"'
    finally:
        os.chdir(cwd)
    if steps is not None:
        engine.Text.Command = f"set number={steps}"
    t0 = time.perf_counter()
    engine.ActiveCircuit.Solution.Solve()
    return time.perf_counter() - t0


def _read(scenario: Path) -> Network:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_opendss(scenario)


def time_series(steps_8500: int, quick: bool) -> None:
    print(f"\n== time series: .dss scenarios, ours (tolerance {TOLERANCE_PU:g}, one thread and "
          f"{WORKERS}; 1e-9 on {WORKERS}) vs OpenDSS (its 1e-4, one thread) ==")
    print(f"{'scenario':<22}{'steps':>7}{'opendss s':>11}{'ms/step':>9}"
          f"{'ours 1 thr':>12}{'ratio':>8}{f'ours {WORKERS} thr':>12}{'ratio':>8}"
          f"{'1e-9 s':>9}{'ratio':>8}")
    cases = [("ieee123_yearly", 168 if quick else None), ("european_lv_daily", None),
             ("ieee8500_yearly", 24 if quick else steps_8500)]
    for name, steps in cases:
        scenario = SCENARIOS / f"{name}.dss"
        network = _read(scenario)
        n = steps or network.settings.number
        seconds = {}
        for tol, workers in ((TOLERANCE_PU, 1), (TOLERANCE_PU, WORKERS), (1e-9, WORKERS)):
            run(network, steps=2, tolerance_pu=tol)  # compile (or load numba's cache) first
            t0 = time.perf_counter()
            out = run(network, steps=n, tolerance_pu=tol, workers=workers)
            seconds[tol, workers] = time.perf_counter() - t0
            assert out.steps.converged.all(), name
        theirs = _opendss_seconds(scenario, n)
        one, two, tight = (seconds[TOLERANCE_PU, 1], seconds[TOLERANCE_PU, WORKERS],
                           seconds[1e-9, WORKERS])
        print(f"{name:<22}{n:>7}{theirs:>11.2f}{theirs / n * 1e3:>9.2f}{one:>12.2f}"
              f"{theirs / one:>8.2f}{two:>12.2f}{theirs / two:>8.2f}{tight:>9.2f}"
              f"{theirs / tight:>8.2f}")


def _ours_batch(network: Network, p_kw: np.ndarray,
                q_kvar: np.ndarray) -> tuple[float, BatchResult]:
    compiled = compile_network(network)
    p0 = np.array([ld.p_kw for ld in network.loads])
    q0 = np.array([ld.q_kvar for ld in network.loads])
    p_mult = p_kw / p0
    q_mult = np.divide(q_kvar, q0, out=np.ones_like(q_kvar), where=q0 != 0)
    solve_batch(compiled, p_mult[:2], q_mult[:2])  # compile the kernels, factorise
    t0 = time.perf_counter()
    out = solve_batch(compiled, p_mult, q_mult, workers=WORKERS)
    seconds = time.perf_counter() - t0
    assert out.totals.converged.all()
    check = solve_batch(compiled, p_mult[:CHECK_SCENARIOS], q_mult[:CHECK_SCENARIOS],
                        record_voltages=True)
    return seconds, check


def _ours_bus_pu(check: BatchResult) -> np.ndarray:
    """Our voltages of the check scenarios in the peers' layout ``(K, buses, 3)`` [pu]."""
    assert check.v is not None
    return np.array([bus_voltages_pu(SimpleNamespace(compiled=check.compiled, v=v))  # type: ignore[arg-type]
                     for v in check.v])


def batch(n_buses: int, scenarios: int, quick: bool) -> None:
    print(f"\n== batch: {scenarios} load scenarios of a {n_buses:,}-bus three-phase feeder ==")
    network = three_phase_feeder(n_buses, seed=1)
    p_kw, q_kvar = load_scenarios(network, scenarios, seed=2)
    ours, check = _ours_batch(network, p_kw, q_kvar)
    ours_pu = _ours_bus_pu(check)
    print(f"{'engine':<34}{'s':>9}{'ms/scenario':>13}{'ratio':>8}{'max |dV| pu':>13}")
    print(f"{'feederos solve_batch (2 threads)':<34}{ours:>9.2f}{ours / scenarios * 1e3:>13.2f}"
          f"{1.0:>8.2f}{'—':>13}")
    try:
        from bench.peers.pgm import pgm_batch, pgm_prepare
    except ImportError:
        print("power-grid-model: not installed (make bench-install)")
    else:
        prepared = pgm_prepare(network)
        for method in ("iterative_current", "newton_raphson"):
            seconds, _ = pgm_batch(network, p_kw, q_kvar, method=method, threads=2,
                                   prepared=prepared, chunk=500)
            _, u = pgm_batch(network, p_kw[:CHECK_SCENARIOS], q_kvar[:CHECK_SCENARIOS],
                             method=method, threads=2, prepared=prepared)
            dv = float(np.nanmax(np.abs(u - ours_pu)))
            print(f"{'power-grid-model ' + method:<34}{seconds:>9.2f}"
                  f"{seconds / scenarios * 1e3:>13.2f}{seconds / ours:>8.2f}{dv:>13.2e}")
    try:
        from bench.peers.pandapower_3ph import pandapower_loop
    except ImportError:
        print("pandapower: not installed (make bench-install)")
        return
    sample = 3 if quick else 12
    seconds, u = pandapower_loop(network, p_kw, q_kvar, sample=sample)
    print(f"{'pandapower runpp_3ph loop':<34}{seconds:>9.1f}{seconds / scenarios * 1e3:>13.1f}"
          f"{seconds / ours:>8.1f}{'(approx.)':>13}   extrapolated from {sample} steps")


def scaling(quick: bool) -> None:
    print("\n== scaling: batch time per scenario and bus (64 scenarios) ==")
    print(f"{'buses':>9}{'ours ms/scen':>14}{'ours µs/bus':>13}{'pgm IC ms/scen':>16}"
          f"{'ratio':>8}")
    sizes = (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    for n in sizes:
        network = three_phase_feeder(n, seed=1)
        p_kw, q_kvar = load_scenarios(network, 64, seed=2)
        ours, _ = _ours_batch(network, p_kw, q_kvar)
        line = f"{n:>9,}{ours / 64 * 1e3:>14.2f}{ours / 64 / n * 1e6:>13.3f}"
        try:
            from bench.peers.pgm import pgm_batch
        except ImportError:
            print(line)
            continue
        theirs, _ = pgm_batch(network, p_kw, q_kvar, method="iterative_current", threads=2)
        print(f"{line}{theirs / 64 * 1e3:>16.2f}{theirs / ours:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs")
    parser.add_argument("--steps-8500", type=int, default=8760)
    parser.add_argument("--scenarios", type=int, default=8760)
    args = parser.parse_args()
    time_series(args.steps_8500, args.quick)
    batch(10_000, 256 if args.quick else args.scenarios, args.quick)
    scaling(args.quick)


if __name__ == "__main__":
    main()
