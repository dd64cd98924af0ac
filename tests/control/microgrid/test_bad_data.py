"""Bad-data detection: each check alone, then 3 faulty nodes of 10 at once."""

from __future__ import annotations

import numpy as np
import pytest

from feederos.control.microgrid.bad_data import BadDataFilter, Reason, Reports

from .street_sim import LIE_KW, Fault, StreetSim

N = 10
STUCK_N, CONFIRM_N = 10, 3


def _filter(**kwargs: float) -> BadDataFilter:
    return BadDataFilter(
        rating_kw=np.full(N, 24.0),
        soc_rate_pct_per_s=np.full(N, 0.06),
        stuck_n=STUCK_N,
        confirm_n=CONFIRM_N,
        **kwargs,
    )


def _round(rng: np.random.Generator) -> Reports:
    return Reports(
        soc_pct=np.full(N, 50.0),
        p_kw=2.0 + rng.normal(0.0, 0.05, N),
        v_pu=1.0 + rng.normal(0.0, 0.003, N),
        f_hz=60.0 + rng.normal(0.0, 0.002, N),
    )


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("soc_pct", 101.0, Reason.SOC_RANGE),
        ("soc_pct", -1.0, Reason.SOC_RANGE),
        ("soc_pct", 55.0, Reason.SOC_RATE),  # 5 % in 1 s; 0.06 %/s + 0.5 % allowed
        ("p_kw", 30.0, Reason.P_RANGE),
        ("p_kw", -25.0, Reason.P_RANGE),
        ("v_pu", 1.25, Reason.V_RANGE),
        ("v_pu", 0.75, Reason.V_RANGE),
        ("f_hz", 66.0, Reason.F_RANGE),
        ("f_hz", 54.0, Reason.F_RANGE),
        ("f_hz", 60.5, Reason.F_CONSENSUS),  # plausible alone, not with the street at 60.000
        ("v_pu", 1.15, Reason.V_CONSENSUS),
        ("p_kw", float("nan"), Reason.MISSING),
    ],
)
def test_plausibility_and_consensus(field: str, value: float, reason: Reason) -> None:
    rng = np.random.default_rng(1)
    f = _filter()
    f.update(0.0, _round(rng), supply_kw=None)
    bad = _round(rng)
    getattr(bad, field)[4] = value
    out = f.update(1.0, bad, supply_kw=None)
    assert out.suspect.tolist() == [i == 4 for i in range(N)]
    assert out.reasons == {4: reason.value}
    # replaced by the node's last good value, not passed on
    assert np.isfinite(out.p_kw[4]) and abs(out.p_kw[4] - 2.0) < 0.3
    assert out.soc_pct[4] == 50.0
    # flagged after CONFIRM_N suspect rounds in a row, with one finding
    findings = []
    for t in range(2, 2 + CONFIRM_N):
        getattr(bad, field)[4] = value
        findings += f.update(float(t), bad, supply_kw=None).findings
    assert [(x.node, x.reason) for x in findings] == [(4, reason)]
    assert f.flagged.tolist() == [i == 4 for i in range(N)]


def test_a_slow_soc_change_and_a_single_spike_are_not_flagged() -> None:
    rng = np.random.default_rng(2)
    f = _filter()
    for t in range(100):
        r = _round(rng)
        r.soc_pct[:] = 50.0 + 0.05 * t  # within 0.06 %/s
        if t == 50:
            r.p_kw[3] = 40.0  # one implausible report: replaced, not flagged
        out = f.update(float(t), r, supply_kw=float(r.p_kw.sum()) if t != 50 else None)
        assert out.suspect.sum() == (1 if t == 50 else 0)
    assert not f.flagged.any()


def test_stuck_node_is_flagged_but_a_quiet_street_is_not() -> None:
    rng = np.random.default_rng(3)
    f = _filter()
    first = _round(rng)
    flagged_at = None
    for t in range(40):
        r = _round(rng)
        for name in ("soc_pct", "p_kw", "v_pu", "f_hz"):
            getattr(r, name)[7] = getattr(first, name)[7]
        out = f.update(float(t), r, supply_kw=None)
        if out.findings and flagged_at is None:
            flagged_at = t
            assert [(x.node, x.reason) for x in out.findings] == [(7, Reason.STUCK)]
    # 10 identical reports make it stuck (round 9), confirmed 3 rounds later (round 11)
    assert flagged_at == STUCK_N + CONFIRM_N - 2
    quiet = _filter()
    same = _round(rng)
    for t in range(40):
        assert not quiet.update(float(t), same, supply_kw=None).suspect.any()


def test_balance_finds_a_liar_and_keeps_the_measured_total() -> None:
    rng = np.random.default_rng(4)
    f = _filter()
    for t in range(30):
        r = _round(rng)
        supply = 1.02 * float(r.p_kw.sum())
        lie = t >= 10
        if lie:
            r.p_kw[2] += 8.0  # plausible alone: 10 kW is within the rating
        out = f.update(float(t), r, supply_kw=supply)
        assert out.suspect[2] == lie
        assert out.suspect.sum() == int(lie)
        assert float(out.p_kw.sum()) == pytest.approx(supply, abs=0.6)
    assert f.flag_reasons == {2: Reason.BALANCE}


def test_an_imbalance_no_node_explains_blames_nobody() -> None:
    """Every node reports as before, the meter says 6 kW more: nobody's replacement helps."""
    rng = np.random.default_rng(5)
    f = _filter()
    for t in range(20):
        r = _round(rng)
        f.update(float(t), r, supply_kw=float(r.p_kw.sum()))
    r = _round(rng)
    out = f.update(20.0, r, supply_kw=float(r.p_kw.sum()) + 6.0)
    assert not out.suspect.any()
    assert out.imbalance_kw == pytest.approx(6.0)


def test_a_one_round_timing_skew_is_not_flagged() -> None:
    """Two EVs plug in while the anchor's report is a round behind: both doubted for that
    round (the evidence says so), trusted again the next, never flagged."""
    rng = np.random.default_rng(5)
    f = _filter()
    for t in range(20):
        r = _round(rng)
        f.update(float(t), r, supply_kw=float(r.p_kw.sum()))
    for t in range(20, 30):
        r = _round(rng)
        r.p_kw[[1, 2]] += 3.0
        late = 6.0 if t == 20 else 0.0
        out = f.update(float(t), r, supply_kw=float(r.p_kw.sum()) - late)
        assert out.suspect.tolist() == [t == 20 and i in (1, 2) for i in range(N)]
    assert not f.flagged.any()


def test_honest_street_with_load_steps_is_never_suspect() -> None:
    sim = StreetSim(seed=6, grid_ok=False)
    f = _filter()
    for t in range(300):
        if t == 100:
            sim.extra_kw[3] = 7.2  # an EV plugs in
        if t == 200:
            sim.extra_kw[3] = 0.0
            sim.soc_pct[2] -= 0.5  # a battery's SOC moves one step
        reports, _, anchor_p, _ = sim.round(float(t))
        out = f.update(float(t), reports, supply_kw=anchor_p)
        assert not out.suspect.any(), (t, out.reasons)


@pytest.mark.parametrize("seed", range(30))
def test_three_faulty_nodes_of_ten_are_flagged_and_outvoted(seed: int) -> None:
    """Stuck, random and lying nodes at once: all three flagged within a bounded number
    of reports, no honest node ever doubted, and the street's believed total stays the
    measured one (within the tolerance), as with honest nodes."""
    rng = np.random.default_rng(seed)
    faulty = rng.choice(N, size=3, replace=False)
    faults = dict(zip(faulty.tolist(), [Fault.STUCK, Fault.RANDOM, Fault.LIAR], strict=True))
    onset = 20
    sim = StreetSim(seed=seed, faults=faults, fault_from_s=onset, grid_ok=False)
    f = _filter()
    flagged_at: dict[int, int] = {}
    honest = [i for i in range(N) if i not in faults]
    for t in range(onset + 60):
        if t == onset + 20:
            sim.pv_factor = 0.5  # a cloud: every house's load changes at once
        if t == onset + 30:
            sim.extra_kw[list(faults)] = 3.0  # the faulty houses' real load changes
        if t == onset + 40:
            sim.extra_kw[honest[0]] = 7.2  # an honest house's EV plugs in
        reports, truth, anchor_p, _ = sim.round(float(t))
        out = f.update(float(t), reports, supply_kw=anchor_p)
        for finding in out.findings:
            flagged_at[finding.node] = t
        assert not out.suspect[honest].any(), (t, out.reasons)
        # what the dispatch sees of the street: the measured total, not the lies
        assert float(out.p_kw.sum()) == pytest.approx(anchor_p, abs=0.6)
        assert abs(float(out.p_kw.sum()) - float(truth.p_kw.sum())) < 0.1 * LIE_KW
    assert set(flagged_at) == set(faults)
    # a liar or a random node within CONFIRM_N reports, a stuck one once it is stuck
    assert max(flagged_at.values()) - onset <= STUCK_N + CONFIRM_N
    for node, fault in faults.items():
        if fault is not Fault.STUCK:
            assert flagged_at[node] - onset < CONFIRM_N
