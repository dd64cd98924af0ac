"""The hosting-capacity sweep against a plain bisection of full power flows per bus."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from feederos.analysis.capacity_search import capacity_by_search
from feederos.analysis.der_constraints import HostingLimits, ReverseFlow
from feederos.analysis.hosting_capacity import (
    PROBE_PREFIX,
    HostingCapacity,
    candidate_sites,
    hosting_capacity,
)
from feederos.feeders import load_feeder
from feederos.model import Network
from feederos.powerflow import compile_network

# One- and three-phase buses near and far from the substation, behind each regulator,
# bound at the two levels by every kind of constraint the feeder has (see the test).
IEEE123_SAMPLE = ["1", "9", "10", "35", "49", "76", "95", "114", "300"]
LEVELS = {"peak": 1.0, "min_daytime": 0.36}


@pytest.fixture(scope="module")
def ieee123() -> Network:
    return load_feeder("ieee123")


def _max_kw(network: Network) -> float:
    return 2.0 * sum(ld.p_kw for ld in network.loads)


@pytest.fixture(scope="module")
def ieee123_sweep(ieee123: Network) -> HostingCapacity:
    return hosting_capacity(ieee123, buses=IEEE123_SAMPLE, levels=LEVELS)


@pytest.mark.parametrize("bus", IEEE123_SAMPLE)
@pytest.mark.parametrize("level", LEVELS)
def test_sweep_agrees_with_search_of_full_power_flows(ieee123: Network,
                                                      ieee123_sweep: HostingCapacity,
                                                      bus: str, level: str) -> None:
    row = ieee123_sweep.by_level.set_index(["bus", "level"]).loc[(bus, level)]
    found = capacity_by_search(ieee123, bus, load_mult=LEVELS[level], max_kw=_max_kw(ieee123))
    assert row.kw == pytest.approx(found.kw, rel=0.01)
    assert (row.constraint, row.element) == (found.constraint, found.element)


def test_sample_meets_every_kind_of_constraint(ieee123_sweep: HostingCapacity) -> None:
    # the sample is only a test of the sweep if it binds in different ways
    seen = set(ieee123_sweep.by_level.constraint)
    assert {"overvoltage", "reverse_flow"} <= seen
    assert {"creg1a", "creg2a", "creg4b", "83.2", "114.1"} <= set(ieee123_sweep.by_level.element)


@pytest.mark.parametrize("bus", ["9", "10"])
def test_responding_controls_agree_with_search(ieee123: Network, bus: str) -> None:
    hc = hosting_capacity(ieee123, buses=[bus], levels={"peak": 1.0}, controls=True)
    found = capacity_by_search(ieee123, bus, max_kw=_max_kw(ieee123), controls=True)
    row = hc.table.iloc[0]
    assert row.kw == pytest.approx(found.kw, rel=0.01)
    assert row.constraint == found.constraint


def test_controls_that_respond_let_more_in_where_a_regulator_moves(ieee123: Network) -> None:
    locked = hosting_capacity(ieee123, buses=["9"], levels={"peak": 1.0})
    moving = hosting_capacity(ieee123, buses=["9"], levels={"peak": 1.0}, controls=True)
    assert moving.table.kw[0] > 5 * locked.table.kw[0]


@pytest.mark.parametrize("bus", ["675", "611"])
def test_ev_load_agrees_with_search(bus: str) -> None:
    net = load_feeder("ieee13")
    hc = hosting_capacity(net, kind="ev", buses=[bus], levels={"peak": 1.0})
    found = capacity_by_search(net, bus, kind="ev", max_kw=_max_kw(net))
    assert hc.table.kw[0] == pytest.approx(found.kw, rel=0.01)
    assert hc.table.constraint[0] == found.constraint
    assert found.constraint in ("undervoltage", "thermal", "voltage_change")


def test_reverse_flow_limit_can_be_switched_off(ieee123: Network) -> None:
    both = hosting_capacity(ieee123, buses=["10"], levels={"min_daytime": 0.36})
    free = hosting_capacity(ieee123, buses=["10"], levels={"min_daytime": 0.36},
                            limits=HostingLimits(reverse_flow=frozenset()))
    assert both.table.constraint[0] == "reverse_flow"
    assert free.table.constraint[0] != "reverse_flow"
    assert free.table.kw[0] > both.table.kw[0]
    only_sub = HostingLimits(reverse_flow=frozenset({ReverseFlow.SUBSTATION}))
    sub = hosting_capacity(ieee123, buses=["10"], levels={"min_daytime": 0.36},
                           limits=only_sub)
    assert sub.table.element[0] != "creg2a"


def test_per_bus_table_takes_the_smallest_level(ieee123_sweep: HostingCapacity) -> None:
    smallest = ieee123_sweep.by_level.groupby("bus").kw.min()
    table = ieee123_sweep.table.set_index("bus")
    assert np.allclose(table.loc[smallest.index, "kw"], smallest)
    assert list(ieee123_sweep.table.bus) == IEEE123_SAMPLE
    assert set(table.phases) == {1, 3}


def test_standing_violations_are_listed_and_left_out(ieee123: Network) -> None:
    hc = hosting_capacity(ieee123, buses=["1"], levels={"peak": 1.0})
    standing = hc.standing
    # IEEE 123 at peak carries 158 % of line L115's default 400 A rating without any PV
    assert ("thermal", "line.l115") in set(zip(standing.constraint, standing.element,
                                               strict=True))
    assert hc.table.element[0] != "line.l115"


def test_default_selection_is_every_one_and_three_phase_bus(ieee123: Network) -> None:
    sites = candidate_sites(compile_network(ieee123))
    assert {len(s.nodes) for s in sites} == {1, 3}
    names = {s.bus for s in sites}
    assert "150" not in names and "149" in names  # 150 is the source's bus
    assert len(sites) == 127  # all 132 buses but the source's and four two-phase ones
    two_phase = candidate_sites(compile_network(ieee123), ["36"])
    assert two_phase[0].nodes == (1, 2) and "36" not in names  # studied only if asked
    hc = hosting_capacity(ieee123, buses=["36"], levels={"peak": 1.0})
    assert hc.table.phases[0] == 2 and hc.table.kw[0] > 0


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"buses": ["nowhere"]}, "bus 'nowhere' is not in network"),
    ({"levels": {"peak": -1.0}}, "load level 'peak'"),
    ({"max_kw": 0.0}, "max_kw"),
    ({"kind": "wind"}, "wind"),
])
def test_bad_arguments_are_named(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        hosting_capacity(load_feeder("ieee13"), **kwargs)  # type: ignore[arg-type]


def test_the_network_is_not_changed() -> None:
    net = load_feeder("ieee13")
    before = net.model_dump()
    hosting_capacity(net, buses=["675"], levels={"peak": 1.0})
    assert net.model_dump() == before
    assert not any(ld.name.startswith(PROBE_PREFIX) for ld in net.loads)


def test_csv_and_geojson(tmp_path: Path) -> None:
    net = load_feeder("ieee13")  # has bus coordinates
    hc = hosting_capacity(net, buses=["675", "611", "652"], levels={"peak": 1.0})
    hc.to_csv(tmp_path / "hc.csv")
    back = pd.read_csv(tmp_path / "hc.csv", dtype={"bus": str})
    assert back.bus.tolist() == ["675", "611", "652"]
    assert np.allclose(back.kw, hc.table.kw)
    doc = hc.to_geojson(tmp_path / "hc.geojson")
    assert json.loads((tmp_path / "hc.geojson").read_text()) == doc
    features = doc["features"]
    assert isinstance(features, list) and len(features) == 3
    bus675 = next(f for f in features if f["properties"]["bus"] == "675")
    x, y = (b for b in net.buses if b.name == "675").__next__().x, \
        next(b for b in net.buses if b.name == "675").y
    assert bus675["geometry"] == {"type": "Point", "coordinates": [x, y]}
    assert bus675["properties"]["pv_kw"] == pytest.approx(float(hc.table.kw[0]))


def test_buses_without_coordinates_are_left_off_the_map(ieee123: Network) -> None:
    hc = hosting_capacity(ieee123, buses=["1"], levels={"peak": 1.0})
    assert hc.to_geojson()["features"] == []


def test_progress_counts_buses_bracketed_and_changes_nothing() -> None:
    net = load_feeder("ieee13")
    kw: dict[str, object] = {"buses": ["675", "611", "652"],
                             "levels": {"peak": 1.0, "light": 0.4}}
    calls: list[tuple[int, int]] = []
    seen = hosting_capacity(net, progress=lambda done, total: calls.append((done, total)),
                            **kw)  # type: ignore[arg-type]
    plain = hosting_capacity(net, **kw)  # type: ignore[arg-type]
    done = [d for d, _ in calls]
    assert {t for _, t in calls} == {6}  # 3 buses × 2 levels
    assert done == sorted(done) and done[-1] == 6
    assert 3 in done  # the first level closes before the second starts
    assert len(calls) > 2  # a call per round, not only at the end
    pd.testing.assert_frame_equal(seen.table, plain.table)
    pd.testing.assert_frame_equal(seen.by_level, plain.by_level)
    pd.testing.assert_frame_equal(seen.standing, plain.standing)
