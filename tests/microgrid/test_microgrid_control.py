"""Controllers: the local shed rule, a plugged-in controller, and what the twin refuses."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from feederos.microgrid import (
    ControlDecision,
    ControlError,
    LocalShedRule,
    Scenario,
    StreetState,
    run_scenario,
)

HOUSES = ("house01", "house02", "house03")


def state(t_s: float, f_hz: float, soc: float = 50.0, closed: bool = True) -> StreetState:
    c = np.ones((3, 3), dtype=bool)
    c[:, 1:] = closed
    return StreetState(
        t_s=t_s,
        f_hz=f_hz,
        anchor_soc_pct=soc,
        grid_ok=False,
        islanded=True,
        houses=HOUSES,
        net_p_w=np.zeros(3),
        circuits_closed=c,
        pv_limit_pct=np.full(3, 100.0),
    )


def test_the_rule_sheds_ev_first_then_non_critical_never_critical() -> None:
    rule = LocalShedRule()
    decisions = [rule.decide(state(t, 59.85)) for t in range(4)]
    assert decisions[1].open == ()  # under 2 s: nothing yet
    assert decisions[2].open == ("house01.c2", "house02.c2", "house03.c2")
    rule = LocalShedRule()
    opened = {c for t in range(4) for c in rule.decide(state(t, 59.7)).open}
    assert opened == {f"{h}.c{c}" for h in HOUSES for c in (1, 2)}
    rule = LocalShedRule()
    opened = {c for t in range(4) for c in rule.decide(state(t, 60.0, soc=15.0)).open}
    assert not any(c.endswith(".c0") for c in opened) and opened


def test_the_rule_restores_with_hysteresis_and_stagger() -> None:
    rule = LocalShedRule()
    restored: dict[str, float] = {}
    for t in range(0, 400):
        f = 59.9 if t < 10 else 59.96  # inside the hysteresis band first: no restore
        for cid in rule.decide(state(float(t), f, closed=False)).close:
            restored.setdefault(cid, float(t))
    assert restored["house01.c1"] == 310.0  # 300 s after the frequency came back
    assert restored["house02.c1"] == 340.0 and restored["house03.c2"] == 370.0


def test_the_rule_curtails_pv_when_the_anchor_is_full() -> None:
    rule = LocalShedRule()
    rule.decide(state(0.0, 60.4))
    d = rule.decide(state(1.0, 60.4))
    assert d.pv_limit_pct == {h: 99.0 for h in HOUSES}
    s = replace(state(2.0, 60.1), pv_limit_pct=np.full(3, 50.0))
    assert rule.decide(s).pv_limit_pct == {h: 50.5 for h in HOUSES}


class Recorder:
    """A controller that keeps every state it saw and sheds house05.c1 once islanded."""

    def __init__(self) -> None:
        self.states: list[StreetState] = []

    def decide(self, state: StreetState) -> ControlDecision:
        self.states.append(state)
        if state.islanded:
            return ControlDecision(open=("house05.c1",), close=("house02.c1",))
        return ControlDecision(close=("house02.c1", "house05.c1"))


def test_a_plugged_in_controller_is_called_every_energised_step(midday: Scenario) -> None:
    rec = Recorder()
    r = run_scenario(midday, controller=rec, power_flow=False)
    assert len(rec.states) == int((r.mode != -1).sum())
    assert [s.t_s for s in rec.states[:3]] == [0.0, 1.0, 2.0]
    island = [s for s in rec.states if s.islanded]
    assert island and not island[0].grid_ok
    i5 = [h.name for h in midday.houses].index("house05")
    assert all(not s.circuits_closed[i5, 1] for s in island[1:])
    assert {(e.circuit, e.action) for e in r.events} >= {
        ("house02.c1", "restore"),
        ("house05.c1", "shed"),
    }


class ShedsCritical:
    def decide(self, state: StreetState) -> ControlDecision:
        return ControlDecision(open=("house03.c0",)) if state.islanded else ControlDecision()


def test_shedding_a_critical_circuit_is_refused(midday: Scenario) -> None:
    with pytest.raises(ControlError, match=r"critical circuit 'house03.c0'"):
        run_scenario(midday, controller=ShedsCritical(), power_flow=False)
