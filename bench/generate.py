"""Time generating and validating a large synthetic feeder for each profile.

Run ``python bench/generate.py`` (default 100,000 buses) or
``python bench/generate.py --n-buses 10000 --repeat 3``; prints one table row per
profile: generation, ``validate()``, and the ``Network.model_validate`` round trip
that proves the generated objects are valid pydantic models.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

from feederos.feeders import ProfileName, generate_feeder
from feederos.model import Network, Severity, validate


def _best(fn: object, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table; return an exit code (1 on any error)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-buses", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs")
    args = parser.parse_args(argv)
    print(f"{'profile':<10}{'buses':>9}{'elements':>10}{'generate s':>12}"
          f"{'validate s':>12}{'revalidate s':>14}{'errors':>8}")
    status = 0
    for profile in ProfileName:
        t_gen, net = _best(
            lambda p=profile: generate_feeder(p, n_buses=args.n_buses, seed=args.seed),
            args.repeat,
        )
        assert isinstance(net, Network)
        t_val, problems = _best(lambda n=net: validate(n), args.repeat)
        t_rev, _ = _best(lambda n=net: Network.model_validate(n.model_dump()), args.repeat)
        errors = sum(1 for p in problems if p.severity is Severity.ERROR)  # type: ignore[attr-defined]
        status = max(status, 1 if errors else 0)
        n_elements = sum(net.element_counts().values())
        print(f"{profile.value:<10}{len(net.buses):>9,}{n_elements:>10,}{t_gen:>12.2f}"
              f"{t_val:>12.2f}{t_rev:>14.2f}{errors:>8}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
