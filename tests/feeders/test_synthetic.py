"""The synthetic feeder generator."""

from __future__ import annotations

import time
from collections import defaultdict, deque

import pytest

from feederos.feeders import MAX_BUSES, MIN_BUSES, PROFILES, ProfileName, generate_feeder
from feederos.model import DerKind, LoadClass, Network, Severity, validate

PROFILE_NAMES = [p.value for p in ProfileName]


def _closed_edges(net: Network) -> list[tuple[str, str]]:
    edges = [(ln.bus1.bus, ln.bus2.bus) for ln in net.lines]
    edges += [(s.bus1.bus, s.bus2.bus) for s in net.switches if not s.open]
    for t in net.transformers:
        edges += [(t.windings[0].terminal.bus, w.terminal.bus) for w in t.windings[1:]
                  if w.terminal.bus != t.windings[0].terminal.bus]
    # A centre-tapped unit has two windings on one secondary bus: one edge, not two.
    return list(dict.fromkeys(edges))


def assert_radial(net: Network) -> None:
    """Closed branches form a spanning tree of the buses (union-find)."""
    parent = {b.name: b.name for b in net.buses}

    def find(a: str) -> str:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    edges = _closed_edges(net)
    for a, b in edges:
        ra, rb = find(a), find(b)
        assert ra != rb, f"loop closed by {a}-{b}"
        parent[ra] = rb
    assert len(edges) == len(net.buses) - 1
    assert len({find(b.name) for b in net.buses}) == 1


def assert_phases_consistent(net: Network) -> None:
    """Walking down from the source, every branch uses only phases its parent bus has."""
    have: dict[str, set[int]] = {"sourcebus": {1, 2, 3}}
    down: dict[str, list[tuple[str, tuple[int, ...], tuple[int, ...]]]] = defaultdict(list)
    for ln in net.lines:
        down[ln.bus1.bus].append((ln.bus2.bus, ln.bus1.nodes, ln.bus2.nodes))
    for s in net.switches:
        if not s.open:
            down[s.bus1.bus].append((s.bus2.bus, s.bus1.nodes, s.bus2.nodes))
    for t in net.transformers:
        w0 = t.windings[0].terminal
        for w in t.windings[1:]:
            nodes = tuple(n for n in w.terminal.nodes if n)
            down[w0.bus].append((w.terminal.bus, w0.nodes, nodes))
    queue = deque(["sourcebus"])
    while queue:
        bus = queue.popleft()
        for child, up_nodes, child_nodes in down[bus]:
            assert {n for n in up_nodes if n} <= have[bus], (bus, child, up_nodes)
            first = child not in have
            have.setdefault(child, set()).update(n for n in child_nodes if n)
            if first:
                queue.append(child)
    assert set(have) == {b.name for b in net.buses}


@pytest.mark.parametrize("profile", PROFILE_NAMES)
@pytest.mark.parametrize("n_buses", [10, 11, 37, 100, 1000])
def test_exact_bus_count_valid_radial(profile: str, n_buses: int) -> None:
    net = generate_feeder(profile, n_buses=n_buses, seed=n_buses)
    assert len(net.buses) == n_buses
    assert validate(net) == []  # neither errors nor warnings
    assert_radial(net)
    assert_phases_consistent(net)
    assert all(b.v_base_kv is not None and b.x is not None and b.y is not None
               for b in net.buses)
    assert {b.v_base_kv for b in net.buses} <= set(net.voltage_bases_kv)
    assert len(net.sources) == 1 and net.transformers[0].is_substation


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_same_seed_same_network(profile: str) -> None:
    a = generate_feeder(profile, n_buses=500, seed=42)
    b = generate_feeder(profile, n_buses=500, seed=42)
    assert a.model_dump_json() == b.model_dump_json()
    assert generate_feeder(profile, n_buses=500, seed=43).model_dump_json() != a.model_dump_json()


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_objects_are_valid_pydantic_models(profile: str) -> None:
    net = generate_feeder(profile, n_buses=300, seed=5)
    assert Network.model_validate(net.model_dump()) == net
    assert Network.model_validate_json(net.model_dump_json(exclude_defaults=True)) == net


def test_equipment_of_a_mid_size_feeder() -> None:
    net = generate_feeder("rural", n_buses=2000, seed=3)
    assert len(net.regulators) == 1
    assert net.capacitors and net.capacitors[0].control is not None
    ties = [s for s in net.switches if s.normal_open]
    assert 1 <= len(ties) <= 5 and all(s.open for s in ties)
    assert any(s.kind == "breaker" for s in net.switches)
    assert any(d.kind == "fuse" for d in net.protective_devices)
    assert all(ln.reliability is not None for ln in net.lines)
    assert any(t.is_center_tapped for t in net.transformers)
    assert any(t.phases == 3 and not t.is_substation for t in net.transformers)
    assert any(i.kind is DerKind.PV for i in net.inverters)
    assert net.ev_chargers
    phases = {ln.phases for ln in net.lines}
    assert phases == {1, 2, 3}


def _stats(profile: str) -> dict[str, float]:
    trunk, lateral_1ph, laterals, ug, total = 0.0, 0, 0, 0.0, 0.0
    com_kw = all_kw = 0.0
    for seed in range(3):
        net = generate_feeder(profile, n_buses=1500, seed=seed)
        codes = {"336_ACSR", "556_ACSR", "500_AA_CN"}
        trunk += sum(ln.length_km for ln in net.lines if ln.line_code in codes)
        laterals += sum(1 for ln in net.lines if ln.line_code not in codes)
        lateral_1ph += sum(1 for ln in net.lines if ln.phases == 1)
        ug += sum(ln.length_km for ln in net.lines if ln.line_code and "_AA_" in ln.line_code)
        total += sum(ln.length_km for ln in net.lines)
        com_kw += sum(ld.p_kw for ld in net.loads if ld.load_class is LoadClass.COMMERCIAL)
        all_kw += sum(ld.p_kw for ld in net.loads)
    return {"trunk_km": trunk / 3, "single_phase_share": lateral_1ph / laterals,
            "underground_share": ug / total, "commercial_share": com_kw / all_kw}


def test_profiles_differ() -> None:
    rural, urban = _stats("rural"), _stats("urban")
    assert rural["trunk_km"] > 2 * urban["trunk_km"]
    assert rural["single_phase_share"] > urban["single_phase_share"]
    assert rural["underground_share"] < urban["underground_share"]
    assert rural["commercial_share"] < urban["commercial_share"]
    lo, hi = PROFILES["rural"].trunk_length_km
    assert lo * 0.9 <= rural["trunk_km"] <= hi


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="between 10 and 100000"):
        generate_feeder("urban", n_buses=MIN_BUSES - 1, seed=0)
    with pytest.raises(ValueError):
        generate_feeder("urban", n_buses=MAX_BUSES + 1, seed=0)
    with pytest.raises(ValueError, match="unknown feeder profile"):
        generate_feeder("lunar", n_buses=100, seed=0)
    with pytest.raises(TypeError):
        generate_feeder("urban", n_buses=100.0, seed=0)  # type: ignore[arg-type]


def test_name() -> None:
    assert generate_feeder("urban", n_buses=20, seed=9).name == "urban-20-s9"
    assert generate_feeder("urban", n_buses=20, seed=9, name="mine").name == "mine"


@pytest.mark.slow
@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_hundred_thousand_buses(profile: str) -> None:
    t0 = time.perf_counter()
    net = generate_feeder(profile, n_buses=100_000, seed=1)
    elapsed = time.perf_counter() - t0
    assert len(net.buses) == 100_000
    assert elapsed < 20.0
    assert [p for p in validate(net) if p.severity is Severity.ERROR] == []
    assert_radial(net)
