"""The StreetGrid state machine, transition by transition, from tests/data/.../transitions.csv."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import pytest

from feederos.control.microgrid.states import (
    LEGAL,
    RULES,
    State,
    StateInputs,
    StateLimits,
    autonomy_h,
    next_state,
)

TABLE = Path(__file__).resolve().parents[2] / "data" / "control" / "microgrid" / "transitions.csv"
with TABLE.open(newline="") as _f:
    ROWS = list(csv.DictReader(_f))
LIMITS = StateLimits()


def _inputs(row: dict[str, str]) -> StateInputs:
    return StateInputs(
        grid_ok=row["grid_ok"] == "1",
        grid_ok_for_s=float(row["grid_ok_for_s"]),
        anchor_soc_pct=float(row["anchor_soc_pct"]),
        autonomy_h=float(row["autonomy_h"]),
        anchor_f_ok=row["anchor_f_ok"] == "1",
        circuits_shed=int(row["circuits_shed"]),
        t_in_state_s=float(row["t_in_state_s"]),
    )


@pytest.mark.parametrize("row", ROWS, ids=[r["case"] for r in ROWS])
def test_transition(row: dict[str, str]) -> None:
    state, reason = next_state(State(row["state"]), _inputs(row), LIMITS)
    assert state is State(row["expected"])
    assert (reason == "") == (state is State(row["state"]))


def test_every_rule_is_in_the_table() -> None:
    seen = {(State(r["state"]), State(r["expected"])) for r in ROWS if r["state"] != r["expected"]}
    assert seen == LEGAL
    # and every state has a row in which it stays
    assert {State(r["state"]) for r in ROWS if r["state"] == r["expected"]} == set(State)


def test_illegal_transitions_are_impossible() -> None:
    """Over a grid of inputs around every threshold, only LEGAL pairs come out."""
    grid = itertools.product(
        [False, True],
        [0.0, 30.0, 60.0, 1e4],
        [0.0, 20.0, 20.5, 80.0],
        [0.0, 1.99, 2.0, 3.0, 4.0, 4.5, float("inf")],
        [False, True],
        [0, 2],
        [0.0, 1.9, 2.0, 5.0, 10.0, 60.0],
    )
    reached: set[tuple[State, State]] = set()
    for values in grid:
        inputs = StateInputs(*values)
        for state in State:
            after, _ = next_state(state, inputs, LIMITS)
            if after is not state:
                assert (state, after) in LEGAL
                reached.add((state, after))
    assert reached == LEGAL
    # the pairs we never want: straight from the grid into shedding, or back without resync
    assert (State.GRID_CONNECTED, State.SHEDDING) not in LEGAL
    assert (State.ISLANDED, State.GRID_CONNECTED) not in LEGAL
    assert (State.SHEDDING, State.GRID_CONNECTED) not in LEGAL


def test_rules_name_their_reason_and_are_unique() -> None:
    assert all(r.reason for r in RULES)
    assert len({(r.source, r.target) for r in RULES}) == len(RULES)


def test_pure() -> None:
    row = _inputs(ROWS[1])
    assert next_state(State.GRID_CONNECTED, row, LIMITS) == next_state(
        State.GRID_CONNECTED, row, LIMITS
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"shed_h": 3.0, "restore_h": 3.0}, "restore_h"), ({"scarcity_h": 1.0}, "scarcity_h")],
)
def test_inconsistent_limits_are_refused(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        StateLimits(**kwargs)


def test_autonomy() -> None:
    # 60 kWh at 50 % with 20 % reserve: 18 kWh above reserve; at 6 kW that is 3 h
    assert autonomy_h(anchor_soc_pct=50.0, reserve_pct=20.0, energy_kwh=60.0, net_load_kw=6.0) == (
        pytest.approx(3.0)
    )
    assert autonomy_h(anchor_soc_pct=10.0, reserve_pct=20.0, energy_kwh=60.0, net_load_kw=6.0) == 0
