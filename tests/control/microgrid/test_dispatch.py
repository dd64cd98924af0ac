"""Economic dispatch: hand-computed cases, hysteresis, and the critical-circuit guard."""

from __future__ import annotations

import numpy as np
import pytest

from feederos.control.microgrid.dispatch import (
    CRITICAL_CIRCUIT,
    SwitchAction,
    allocate,
    fair_shares_kw,
    house_weights_kw,
    plan_switching,
    street_supply_kw,
)


def test_critical_first_then_fair_share_by_weight() -> None:
    # Critical 1 + 1 = 2 kW; 4 kW left shared 1:3 -> shares 1 and 3 kW.
    # House 0 (share 1): c1 (2 kW) does not fit, c2 (1 kW) does.
    # House 1 (share 3): c1 (1 kW) fits, c2 (3 kW) not in the 2 kW left.
    # Leftover 4 - 2 = 2 kW, houses by weight (1 then 0): house 1 c2 (3) no, house 0 c1 (2) yes.
    demand = np.array([[1.0, 2.0, 1.0], [1.0, 1.0, 3.0]])
    plan = allocate(demand, np.array([1.0, 3.0]), supply_kw=6.0)
    assert plan.served.tolist() == [[True, True, True], [True, True, False]]
    assert plan.shares_kw.tolist() == [1.0, 3.0]
    assert plan.critical_kw == 2.0
    assert plan.deficit_kw == 0.0
    assert float((demand * plan.served).sum()) == 6.0


def test_supply_below_critical_serves_critical_and_sheds_everything_else() -> None:
    demand = np.array([[2.0, 1.0], [3.0, 1.0], [1.0, 0.5]])
    plan = allocate(demand, np.ones(3), supply_kw=4.0)
    assert plan.served[:, CRITICAL_CIRCUIT].all()
    assert not plan.served[:, 1:].any()
    assert plan.deficit_kw == pytest.approx(2.0)  # 6 kW critical on 4 kW


def test_fair_share_is_capped_and_redistributed() -> None:
    # 9 kW over weights 1:1:1 -> 3 each; house 0 wants only 1, so the 8 kW left are split
    # over houses 1 and 2 by their weights -> 4 each, both under their caps.
    shares = fair_shares_kw(9.0, np.array([1.0, 1.0, 1.0]), np.array([1.0, 5.0, 5.0]))
    assert shares.tolist() == [1.0, 4.0, 4.0]
    # weights 1:3 over 8 kW: 2 and 6, house 1 capped at 5 -> house 0 gets 3
    shares = fair_shares_kw(8.0, np.array([1.0, 3.0]), np.array([10.0, 5.0]))
    assert shares.tolist() == [3.0, 5.0]
    # more supply than demand: everyone gets their cap
    assert fair_shares_kw(100.0, np.ones(2), np.array([1.0, 2.0])).tolist() == [1.0, 2.0]
    assert fair_shares_kw(-1.0, np.ones(2), np.array([1.0, 2.0])).tolist() == [0.0, 0.0]


def test_weights_count_pv_and_stored_energy() -> None:
    # house 1: 1 + 3 PV + min(80 % of 13.5 kWh / 3 h = 3.6, 5) = 7.6
    # house 2: 1 + 0 + min(100 % of 30 kWh / 3 h = 10, 5 kW rating) = 6
    w = house_weights_kw(
        pv_forecast_kw=np.array([0.0, 3.0, 0.0]),
        soc_pct=np.array([0.0, 80.0, 100.0]),
        battery_kwh=np.array([0.0, 13.5, 30.0]),
        battery_kw=np.array([0.0, 5.0, 5.0]),
        horizon_h=3.0,
    )
    assert w.tolist() == pytest.approx([1.0, 7.6, 6.0])


def test_street_supply() -> None:
    # 60 kWh at 80 %, 20 % reserve: 36 kWh over 1 h = 36 kW, capped at the 30 kW rating
    kw = street_supply_kw(
        anchor_soc_pct=80.0,
        reserve_pct=20.0,
        energy_kwh=60.0,
        p_rated_kw=30.0,
        horizon_h=1.0,
        house_generation_kw=np.array([2.0, -1.0]),
    )
    assert kw == 32.0  # a negative generation (a charging battery) adds nothing
    below = street_supply_kw(
        anchor_soc_pct=15.0,
        reserve_pct=20.0,
        energy_kwh=60.0,
        p_rated_kw=30.0,
        horizon_h=3.0,
        house_generation_kw=np.array([1.5]),
    )
    assert below == 1.5
    with pytest.raises(ValueError, match="horizon_h"):
        street_supply_kw(
            anchor_soc_pct=50.0,
            reserve_pct=20.0,
            energy_kwh=60.0,
            p_rated_kw=30.0,
            horizon_h=0.0,
            house_generation_kw=np.zeros(1),
        )


def test_hysteresis_a_shed_circuit_needs_headroom_to_return() -> None:
    demand = np.array([[1.0, 1.0]])
    on = np.array([[True, True]])
    off = np.array([[True, False]])
    # 2.1 kW: enough to keep c1 on (1 + 1), not to bring it back (1 + 1.2)
    assert allocate(demand, np.ones(1), 2.1, served_before=on).served[0, 1]
    assert not allocate(demand, np.ones(1), 2.1, served_before=off).served[0, 1]
    assert allocate(demand, np.ones(1), 2.2, served_before=off).served[0, 1]
    # a supply wobbling around the demand does not make it chatter
    state = on
    flips = 0
    for supply in [1.95, 2.05, 1.95, 2.05, 2.1, 2.15, 2.1]:
        after = allocate(demand, np.ones(1), supply, served_before=state).served
        flips += int(after[0, 1] != state[0, 1])
        state = after
    assert flips == 1  # shed once at 1.95, not back until 2.2


def test_plan_switching_never_opens_a_critical_circuit() -> None:
    before = np.ones((3, 4), bool)
    after = np.zeros((3, 4), bool)  # a plan (or a bug) asking for everything off
    actions = plan_switching(before, after)
    assert actions
    assert all(not a.close and a.circuit != CRITICAL_CIRCUIT for a in actions)
    assert len(actions) == 9


def test_plan_switching_closes_critical_first_in_steps() -> None:
    before = np.array([[True, False, False], [False, False, True]])
    after = np.ones((2, 3), bool)
    assert plan_switching(before, after, max_restores=2) == [
        SwitchAction(1, 0, close=True),
        SwitchAction(0, 1, close=True),
    ]
    assert plan_switching(before, after, may_restore=False) == []
    assert plan_switching(np.ones((2, 3), bool), ~before, may_shed=False) == []
