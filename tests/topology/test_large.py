"""The fast queries on a 100,000-bus radial feeder built straight from model objects."""

from __future__ import annotations

import numpy as np
import pytest

from feederos.model import ACLineSegment, Bus, EnergySource, LineImpedance, Network, Terminal
from feederos.topology import (
    downstream_buses,
    energized_buses,
    feeder_order,
    is_radial,
    islands,
    loops,
    parents,
    path_elements,
    path_to_source,
    topology_arrays,
    upstream_element,
)

N_BUSES = 100_000


@pytest.fixture(scope="module")
def big_tree() -> Network:
    """A tree: bus k > 0 hangs under bus (k - 1) // 4 at first, then a long chain."""
    z = LineImpedance(r1_ohm_per_km=0.3, x1_ohm_per_km=0.4)
    names = [f"b{k}" for k in range(N_BUSES)]
    rng = np.random.default_rng(7)
    parent = [
        (k - 1) // 4 if k < 1_000 else (k - 1 if k > 50_000 else int(rng.integers(0, k)))
        for k in range(1, N_BUSES)
    ]
    return Network(
        name="big",
        buses=[Bus(name=n) for n in names],
        sources=[EnergySource(name="grid", terminal=Terminal(bus="b0"), v_kv=12.47,
                              r1_ohm=0.1, x1_ohm=0.5, r0_ohm=0.2, x0_ohm=1.0)],
        lines=[ACLineSegment(name=f"l{k}", bus1=Terminal(bus=names[p]),
                             bus2=Terminal(bus=names[k]), length_km=0.05, impedance=z)
               for k, p in enumerate(parent, start=1)],
    )


@pytest.mark.slow
def test_fast_queries_on_100k_buses(big_tree: Network) -> None:
    arrays = topology_arrays(big_tree)
    assert arrays.n_buses == N_BUSES and arrays.n_edges == N_BUSES - 1
    assert len(energized_buses(big_tree)) == N_BUSES
    assert len(islands(arrays)) == 1
    assert is_radial(big_tree) and loops(arrays) == []
    order = feeder_order(arrays)
    assert order[0] == "b0" and len(order) == N_BUSES
    par = parents(arrays)
    position = {b: i for i, b in enumerate(order)}
    assert all(p is None or position[p] < position[b] for b, p in par.items())
    last = f"b{N_BUSES - 1}"
    path = path_to_source(arrays, last)
    assert path[0] == last and path[-1] == "b0"
    assert len(path_elements(arrays, last)) == len(path) - 1
    assert upstream_element(arrays, last) == ("lines", f"l{N_BUSES - 1}")
    mid = "b60000"
    assert downstream_buses(arrays, mid) == {f"b{k}" for k in range(60_000, N_BUSES)}
    assert downstream_buses(big_tree, "line.l60000") == {f"b{k}" for k in range(60_000, N_BUSES)}
