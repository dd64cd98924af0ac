"""Time our power flow against OpenDSS on the IEEE feeders and synthetic feeders.

Run ``python bench/powerflow.py`` (all cases, median of 3) or
``python bench/powerflow.py --quick`` (IEEE 13 and a 1,000-bus synthetic feeder, as CI
does). For each feeder it prints:

- ``compile ms`` — :func:`~feederos.powerflow.compiled.compile_network` (the network is
  read and built before timing starts);
- ``solve ms`` — the first :func:`~feederos.powerflow.solve` of the freshly compiled
  network with the regulator and capacitor controls acting: a cold solve, which
  factorises ``y`` and builds every cache;
- ``warm ms`` — the same solve again on the same compiled network (factors and
  control tables kept, as in a study that solves one network many times);
- ``opendss ms`` — OpenDSS (dss-python) ``Solution.Solve()`` of the same ``.dss`` file
  after ``compile`` and ``set tolerance=1e-9 maxiterations=200 maxcontroliter=200`` (the
  settings of the reference solutions), compile excluded, recompiled before each run so
  every run is a cold start (a master's own ``Solve`` lines are left out); it includes
  building OpenDSS's Y matrix, which our ``compile`` column holds. ``—`` for synthetic
  feeders, which exist only in our format;
- ``ratio`` — OpenDSS time over our cold solve (above 1: we are faster);
- ``max |dV| pu`` — our largest node-voltage difference from OpenDSS's reference
  solution (``reference/<feeder>/voltages.csv``), where there is one.

Then the scaling line: cold solve time per bus for the 1k, 10k and 100k synthetic
feeders (linear scaling keeps it flat). Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from feederos.feeders import generate_feeder
from feederos.io.opendss import read_opendss
from feederos.model import Network
from feederos.powerflow import solve
from feederos.powerflow.compiled import compile_network
from feederos.powerflow.result import PowerFlowResult

REPO = Path(__file__).resolve().parents[1]

SHARED_CASES = {  # name -> (master file, reference folder)
    "ieee13": "13Bus/IEEE13Nodeckt.dss",
    "ieee123": "123Bus/IEEE123Master.dss",
    "ieee8500": "8500-Node/Master.dss",
    "european_lv": "LVTestCase/Master.dss",
}
SYNTHETIC_BUSES = (1_000, 10_000, 100_000)
OPENDSS_SETTINGS = ("set tolerance=1e-9", "set maxiterations=200", "set maxcontroliter=200")


class Case(NamedTuple):
    """One feeder to time: our network, and the OpenDSS file and reference if any."""

    name: str
    network: Network
    dss_file: Path | None = None
    reference: Path | None = None


class Row(NamedTuple):
    """Measured times of one case [s]."""

    name: str
    buses: int
    nodes: int
    compile_s: float
    solve_s: float
    warm_s: float
    opendss_s: float | None
    converged: bool
    max_dv_pu: float | None


_NOT_BUILDING = ("solve", "show", "plot", "export", "visualize")


def _script_without_solve(master: Path, folder: Path) -> Path:
    """A copy of ``master`` (in ``folder``) that builds the circuit but does not solve it.

    Some masters end with ``Solve``: OpenDSS's next ``Solve`` would then start from the
    solved voltages and final taps, which is not what a cold solution costs.
    """
    lines = [f'cd "{master.parent}"']
    for line in master.read_text(encoding="utf-8", errors="replace").splitlines():
        words = line.split()
        if words and words[0].lower() in _NOT_BUILDING:
            continue
        lines.append(line)
    script = folder / f"bench_{master.stem}.dss"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return script


def _opendss_solve_s(master: Path, repeat: int) -> float | None:
    try:
        from dss import DSS  # dss-python: a development dependency only
    except ImportError:  # pragma: no cover - depends on the environment
        return None
    cwd = os.getcwd()  # OpenDSS's compile changes directory; keep ours
    times = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = _script_without_solve(master, Path(folder))
            for _ in range(repeat):
                DSS.Text.Command = f'compile "{path}"'
                for command in OPENDSS_SETTINGS:
                    DSS.Text.Command = command
                t0 = time.perf_counter()
                DSS.ActiveCircuit.Solution.Solve()
                times.append(time.perf_counter() - t0)
                if not DSS.ActiveCircuit.Solution.Converged:
                    print(f"(OpenDSS did not converge on {master.name})")
    finally:
        os.chdir(cwd)
    return statistics.median(times)


def _max_dv_pu(result: PowerFlowResult, reference: Path | None) -> float | None:
    if reference is None or not reference.exists():
        return None
    ref = pd.read_csv(reference, dtype={"bus": str})
    ours = result.voltages.assign(bus=result.voltages.bus.str.lower())
    merged = ours.merge(ref, on=["bus", "node"], suffixes=("", "_ref"))
    merged = merged[np.isfinite(merged.v_pu) & np.isfinite(merged.v_pu_ref)]
    return float(np.abs(merged.v_pu - merged.v_pu_ref).max()) if len(merged) else None


def _measure(case: Case, repeat: int) -> Row:
    compile_t, solve_t, warm_t = [], [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        compiled = compile_network(case.network)
        t1 = time.perf_counter()
        solve(compiled, controls=True)
        t2 = time.perf_counter()
        result = solve(compiled, controls=True)
        t3 = time.perf_counter()
        compile_t.append(t1 - t0)
        solve_t.append(t2 - t1)
        warm_t.append(t3 - t2)
    compile_s, solve_s, warm_s = map(statistics.median, (compile_t, solve_t, warm_t))
    opendss_s = _opendss_solve_s(case.dss_file, repeat) if case.dss_file else None
    return Row(
        name=case.name, buses=len(case.network.buses), nodes=compiled.nodes.n_nodes,
        compile_s=compile_s, solve_s=solve_s, warm_s=warm_s, opendss_s=opendss_s,
        converged=result.converged, max_dv_pu=_max_dv_pu(result, case.reference),
    )


def _cases(feeders_dir: Path, quick: bool) -> list[Case]:
    cases: list[Case] = []
    shared = ["ieee13"] if quick else list(SHARED_CASES)
    for name in shared:
        path = feeders_dir / SHARED_CASES[name]
        if not path.exists():
            print(f"(skipping {name}: {path} not found)")
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # import notes about unsupported parts
            network = read_opendss(path)
        cases.append(Case(name, network, path, feeders_dir / "reference" / name / "voltages.csv"))
    for n_buses in SYNTHETIC_BUSES[:1] if quick else SYNTHETIC_BUSES:
        network = generate_feeder("suburban", n_buses=n_buses, seed=1)
        cases.append(Case(f"synthetic {n_buses // 1000}k", network))
    return cases


def _fmt(x: float | None, spec: str) -> str:
    return "—" if x is None else format(x, spec)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the tables; return an exit code."""
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--feeders-dir", type=Path, default=REPO / ".." / "shared" / "feeders",
                        help="the shared OpenDSS test feeders")
    parser.add_argument("--quick", action="store_true",
                        help="IEEE 13 and the 1k synthetic feeder only")
    parser.add_argument("--repeat", type=int, default=None,
                        help="runs per timing, median taken (default 3; 1 with --quick)")
    args = parser.parse_args(argv)
    repeat = args.repeat if args.repeat is not None else (1 if args.quick else 3)
    cases = _cases(args.feeders_dir.resolve(), args.quick)
    if cases:  # one untimed run first, so no case pays for lazy imports and warm-up
        solve(compile_network(cases[0].network), controls=True)
    rows = [_measure(case, repeat) for case in cases]
    print(f"{'feeder':<14}{'buses':>9}{'nodes':>9}{'compile ms':>12}{'solve ms':>10}"
          f"{'warm ms':>9}{'opendss ms':>12}{'ratio':>8}{'conv':>6}{'max |dV| pu':>13}")
    for r in rows:
        ratio = r.opendss_s / r.solve_s if r.opendss_s is not None and r.solve_s > 0 else None
        opendss_ms = None if r.opendss_s is None else 1e3 * r.opendss_s
        print(f"{r.name:<14}{r.buses:>9,}{r.nodes:>9,}{1e3 * r.compile_s:>12.2f}"
              f"{1e3 * r.solve_s:>10.2f}{1e3 * r.warm_s:>9.2f}{_fmt(opendss_ms, '.2f'):>12}"
              f"{_fmt(ratio, '.2f'):>8}"
              f"{'yes' if r.converged else 'NO':>6}{_fmt(r.max_dv_pu, '.2e'):>13}")
    scaling = [r for r in rows if r.name.startswith("synthetic")]
    if scaling:
        per_bus = ", ".join(f"{r.name.removeprefix('synthetic ')} {1e6 * r.solve_s / r.buses:.1f}"
                            for r in scaling)
        print(f"solve time per bus [µs]: {per_bus}")
    return 0 if all(r.converged for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
