"""Hosting capacity of every IEEE 123 bus: the sweep beside the plain per-bus search.

Run ``python -m bench.hosting_capacity`` from the repository root (``make bench`` does).
Both methods answer the same question with the same checks
(:mod:`feederos.analysis.der_constraints`) at the same two load levels (peak and
minimum daytime, :func:`feederos.analysis.load_levels.default_load_levels`):

- **sweep**: :func:`feederos.analysis.hosting_capacity.hosting_capacity` — every bus
  at once, bracketed by sensitivities and confirmed by batched full power flows;
- **search**: :func:`feederos.analysis.capacity_by_search`, the baseline — per bus and
  level, a real DER element added to a copy of the network and a bisection of full
  power flows, each compiled and solved on its own.

Printed: the time of each, their ratio (search / sweep: above 1, the sweep is faster),
the number of buses, the largest relative difference of the capacities and the number
of buses whose binding constraint differs. ``--buses N`` studies only the first N buses
of the default selection (a quick look); ``--controls`` lets the regulators respond.
Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from feederos.analysis.capacity_search import capacity_by_search
from feederos.analysis.hosting_capacity import candidate_sites, hosting_capacity
from feederos.analysis.load_levels import default_load_levels
from feederos.feeders import load_feeder
from feederos.powerflow import compile_network


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--buses", type=int, default=None, help="study the first N buses")
    parser.add_argument("--controls", action="store_true", help="regulators respond")
    args = parser.parse_args()

    net = load_feeder("ieee123")
    buses = [s.bus for s in candidate_sites(compile_network(net))][:args.buses]
    levels = default_load_levels(net)
    max_kw = 2.0 * sum(ld.p_kw for ld in net.loads)
    hosting_capacity(net, buses=buses[:2], levels=levels)  # compile the kernels first

    t0 = time.perf_counter()
    hc = hosting_capacity(net, buses=buses, levels=levels, controls=args.controls,
                          max_kw=max_kw)
    sweep_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    rel, differ, solves = [], 0, 0
    for row in hc.by_level.itertuples(index=False):
        found = capacity_by_search(net, row.bus, load_mult=row.load_mult, max_kw=max_kw,
                                   controls=args.controls)
        solves += found.solves
        rel.append(abs(row.kw - found.kw) / max(found.kw, 1e-9))
        differ += (row.constraint, row.element) != (found.constraint, found.element)
    search_s = time.perf_counter() - t0

    print(f"IEEE 123 hosting capacity (PV), {len(buses)} buses x {len(levels)} levels "
          f"({', '.join(f'{k} {v:.3f}' for k, v in levels.items())}), "
          f"controls {'responding' if args.controls else 'locked'}")
    print(f"  sweep   {sweep_s:8.2f} s")
    print(f"  search  {search_s:8.2f} s   ({solves} power flows)")
    print(f"  ratio   {search_s / sweep_s:8.1f}x   max |rel diff| {max(rel):.4f}   "
          f"median {float(np.median(rel)):.4f}   binding constraint differs at {differ}")
    print("  binding: " + ", ".join(f"{k} {v}" for k, v in
                                    hc.table.constraint.value_counts().items()))


if __name__ == "__main__":
    main()
