"""The StreetGrid street."""

from __future__ import annotations

import pytest

from feederos.feeders import streetgrid_street
from feederos.feeders.streetgrid import N_HOUSES, STREET_BREAKER
from feederos.model import DerKind, Network, SwitchKind, validate


@pytest.fixture(scope="module")
def street() -> Network:
    return streetgrid_street()


def test_valid_without_any_problem(street: Network) -> None:
    assert validate(street) == []
    assert Network.model_validate(street.model_dump()) == street


def test_one_split_phase_transformer(street: Network) -> None:
    (t,) = street.transformers
    assert t.is_center_tapped
    assert 50 <= t.windings[0].s_kva <= 100
    assert [w.v_kv for w in t.windings] == [7.2, 0.12, 0.12]
    assert street.by_name("buses")["primary"].v_base_kv == 12.47
    assert all(b.v_base_kv is not None for b in street.buses)


def test_ten_houses_on_triplex(street: Network) -> None:
    houses = [b.name for b in street.buses if b.name.startswith("house")]
    assert len(houses) == N_HOUSES == 10
    drops = [ln for ln in street.lines if ln.bus2.bus in houses]
    assert len(drops) == 10
    assert {ln.line_code for ln in drops} == {"1/0_AA_TPX"}
    assert all(ln.phases == 2 and ln.bus2.nodes == (1, 2) for ln in drops)
    assert all(0.01 <= ln.length_km <= 0.05 for ln in drops)
    assert all(load.v_kv == 0.24 for load in street.loads)
    assert len(street.loads) == 10


def test_anchor_and_participants(street: Network) -> None:
    inv = street.by_name("inverters")
    anchor = inv["house01_battery"]
    assert anchor.kind is DerKind.BATTERY and anchor.grid_forming
    assert anchor.energy_kwh is not None and anchor.soc_pct is not None
    pv = [i for i in street.inverters if i.kind is DerKind.PV]
    assert sorted(i.terminal.bus for i in pv) == [f"house{h:02d}" for h in range(2, 11)]
    assert all(3.0 <= (i.p_rated_kw or 0) <= 8.0 for i in pv)
    batteries = [i for i in street.inverters if i.kind is DerKind.BATTERY]
    assert len(batteries) == 5  # the anchor and four participants
    assert sum(i.grid_forming for i in street.inverters) == 1
    assert 1 <= len(street.ev_chargers) <= 2


def test_breaker_islands_the_street(street: Network) -> None:
    sw = street.by_name("switches")[STREET_BREAKER]
    assert sw.kind is SwitchKind.BREAKER and not sw.open
    opened = street.model_copy(deep=True)
    opened.switches[0].open = True
    # Still valid: the grid-forming anchor energises the island, the source the primary.
    assert [p for p in validate(opened) if p.severity == "error"] == []
    assert [p for p in validate(opened)] == []
