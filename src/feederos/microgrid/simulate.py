"""The StreetGrid twin: an energy balance of the street at every step, islanded or not.

Sequence of a scenario: connected (the utility feeds the street, frequency 60 Hz, the
anchor charges at ``grid_charge_kw``); at ``outage_start_h`` the grid fails, the
participants' inverters cease to energise (IEEE 1547-2018 clause 8.1, unintentional
islanding) and every house opens its non-critical and EV relays; the anchor opens the
interconnection device (or the transfer switches move to the mesh) and black-starts the
street after ``black_start_s``; participants re-enter service under clause 4.10
(:mod:`feederos.microgrid.ieee1547`) and the controller restores circuits. When the grid
returns at ``outage_end_h`` the island stays until the utility has been back for the same
enter-service delay, then the anchor synchronises and recloses.

Each islanded step, in order:

1. The controller (:class:`~feederos.microgrid.control.ShedController`) sees the state
   and sheds or restores circuits and sets PV limits; a decision that would shed a
   critical circuit raises :class:`ControlError`.
2. Served load: critical, non-critical and EV circuits that are closed. EVs are
   deferrable: a shed charger catches up later; what is still missing at departure is
   energy not served.
   An anchor that empties (``soc_min_pct``) stops: the street is dark until the grid
   returns (no second black start in this model).
3. PV in service: available power less the frequency-droop reduction (first order with
   the 1547 open-loop response time), capped by the enter-service ramp and the PV limit.
4. Home batteries: self-consumption of their own house (no export), within power and
   energy limits, one-way efficiency both ways.
5. The anchor balances the rest, ``P = Σ loads − Σ PV − Σ batteries`` (network losses are
   not in the balance; the power flow reports them), within its rating, its charge taper
   and its energy. A shortfall it cannot cover is load not served (EV, then non-critical,
   then critical); a surplus it cannot take is PV curtailed within the step; either
   pushes the frequency (:mod:`feederos.microgrid.anchor`).
6. Frequency: first order towards the frequency-shift set point for the anchor's SOC,
   minus its droop, plus the push.

Simplifications, each checked or bounded elsewhere: the enter-service *voltage* window
is not evaluated inside the loop (the anchor holds 1.0 pu at its terminals; the power
flow then reports every house's voltage, which on ``grid_failure`` stays within
0.938–1.009 pu, inside 0.917–1.05); reclosing onto the returned grid is taken as an
instantaneous synchronised transfer; network losses are left out of the balance.

Examples
--------
>>> from feederos.microgrid.scenario import read_scenario
>>> from pathlib import Path
>>> s = read_scenario(Path(__file__).parents[3] / "scenarios" / "grid_failure.json")
>>> r = run_scenario(s.model_copy(update={"duration_h": 1.5}), power_flow=False)
>>> r.f_hz.size, 59.3 <= r.summary()["f_min_hz"]
(5400, True)
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from feederos.errors import FeederosError
from feederos.microgrid.anchor import (
    DROOP_HZ_PER_PU,
    FREQUENCY_TIME_CONSTANT_S,
    PUSH_HZ_PER_S,
    charge_limit_pu,
    frequency_shift_hz,
)
from feederos.microgrid.control import (
    CIRCUITS,
    ControlDecision,
    LocalShedRule,
    ShedController,
    StreetState,
)
from feederos.microgrid.ieee1547 import (
    ENTER_SERVICE_F_HZ,
    F_NOMINAL_HZ,
    TRIP_F_HZ,
    frequency_droop_pu,
    response_factor,
)
from feederos.microgrid.networks import house_names
from feederos.microgrid.profiles import street_demand
from feederos.microgrid.result import MicrogridResult, SwitchEvent
from feederos.microgrid.scenario import Scenario, ScenarioError
from feederos.microgrid.street_flow import street_flow

__all__ = ["MODE_CONNECTED", "MODE_DARK", "MODE_ISLAND", "ControlError", "run_scenario"]

FloatArray = npt.NDArray[np.float64]

MODE_CONNECTED, MODE_DARK, MODE_ISLAND = 0, -1, 1
"""Per-step modes: fed by the utility, de-energised (black start), islanded."""
_Q_PER_P = math.tan(math.acos(0.95))  # household load at 0.95 lagging; PV, EV, batteries at 1


class ControlError(FeederosError):
    """A controller's decision cannot be applied (e.g. it sheds a critical circuit)."""


@dataclass
class _Participants:
    """Enter-service state of the participants' inverters (IEEE 1547-2018 4.10)."""

    in_service: npt.NDArray[np.bool_]
    wait_s: FloatArray
    ramp_pu: FloatArray

    def trip(self) -> None:
        self.in_service[:] = False
        self.wait_s[:] = 0.0
        self.ramp_pu[:] = 0.0


def run_scenario(
    scenario: Scenario,
    *,
    controller: ShedController | None = None,
    power_flow: bool = True,
    threshold_w: float = 0.0,
    max_gap_s: float | None = None,
) -> MicrogridResult:
    """Run the scenario (module docstring) and, with ``power_flow``, the street's power flow.

    Parameters
    ----------
    scenario
        The scenario.
    controller
        Decides sheds, restores and PV limits; default :class:`LocalShedRule`.
    power_flow
        Solve the street's voltages, loading and isolation
        (:func:`~feederos.microgrid.street_flow.street_flow`).
    threshold_w, max_gap_s
        Event-step selection of the power flow; by default (0 W, one step) every
        energised step is solved — 93,600 steps of the 10-house street take about 2 s.

    Raises
    ------
    ScenarioError
        If a house is not on the StreetGrid street.
    ControlError
        If the controller sheds a critical circuit or names an unknown circuit.
    """
    t_start = time.perf_counter()
    houses = [h.name for h in scenario.houses]
    street = house_names()
    unknown = [h for h in houses if h not in street]
    if unknown:
        raise ScenarioError(
            f"scenario {scenario.name!r}: houses {unknown} are not on the "
            f"StreetGrid street; use names among {street[0]}…{street[-1]}"
        )
    ctrl: ShedController = LocalShedRule() if controller is None else controller
    dt = scenario.step_s
    n, nh = scenario.steps, len(houses)
    demand = street_demand(scenario)
    a = houses.index(scenario.anchor.house)
    anc = scenario.anchor
    p_anchor_max = anc.s_kva * 1000.0
    e_anchor_wh = anc.energy_kwh * 1000.0
    eff_a = anc.efficiency_pct / 100.0
    pv_rating = np.array([h.pv_kw * 1000.0 for h in scenario.houses])
    bat_idx = [i for i, h in enumerate(scenario.houses) if h.battery is not None]
    bats = [scenario.houses[i].battery for i in bat_idx]
    b_p = np.array([b.p_kw * 1000.0 for b in bats if b is not None])
    b_e = np.array([b.energy_kwh * 1000.0 for b in bats if b is not None])
    b_min = np.array([b.soc_min_pct / 100.0 for b in bats if b is not None]) * b_e
    b_eff = np.array([b.efficiency_pct / 100.0 for b in bats if b is not None])
    b_wh = np.array([b.soc_pct / 100.0 for b in bats if b is not None]) * b_e
    ev_idx = [i for i, h in enumerate(scenario.houses) if h.ev is not None]
    evs = [scenario.houses[i].ev for i in ev_idx]
    ev_left_wh = np.array([e.energy_kwh * 1000.0 for e in evs if e is not None])
    ev_p = np.array([e.p_kw * 1000.0 for e in evs if e is not None])
    ev_on = np.array([e.arrival_h * 3600.0 for e in evs if e is not None])
    ev_off = np.array([e.departure_h * 3600.0 for e in evs if e is not None])
    ev_missed_wh = 0.0
    ev_departed = np.zeros(len(evs), dtype=bool)

    settings = scenario.participants
    k_out0 = round(scenario.outage_start_h * 3600.0 / dt)
    k_grid = round(scenario.outage_end_h * 3600.0 / dt)
    k_dark = k_out0 + math.ceil(anc.black_start_s / dt)
    k_reclose = k_grid + math.ceil(settings.enter_service_delay_s / dt)
    alpha_fw = response_factor(dt, settings.response_time_s)
    alpha_f = 1.0 - math.exp(-dt / FREQUENCY_TIME_CONSTANT_S)

    mode = np.full(n, MODE_CONNECTED, dtype=np.int64)
    mode[k_out0 : min(k_reclose, n)] = MODE_ISLAND
    mode[k_out0 : min(k_dark, n)] = MODE_DARK
    rec = {
        name: np.zeros(n)
        for name in (
            "f_hz",
            "soc_anchor_pct",
            "crit_d",
            "crit_s",
            "nc_d",
            "nc_s",
            "ev_d",
            "ev_s",
            "pv_w",
            "pv_avail_w",
            "p_anchor_w",
            "shortfall_w",
            "surplus_w",
        )
    }
    soc_b = np.zeros((n, len(bats)))
    p_net = np.zeros((n, len(street)))
    q_net = np.zeros((n, len(street)))
    col = np.array([street.index(h) for h in houses])
    events: list[SwitchEvent] = []

    closed = np.ones((nh, len(CIRCUITS)), dtype=bool)
    pv_limit = np.full(nh, 100.0)
    part = _Participants(np.ones(nh, dtype=bool), np.zeros(nh), np.ones(nh))
    fw_pu = np.zeros(nh)
    f = F_NOMINAL_HZ
    push = 0.0
    e_a = anc.soc_pct / 100.0 * e_anchor_wh
    e_a_min = anc.soc_min_pct / 100.0 * e_anchor_wh
    last_net = np.zeros(nh)
    anchor_down = False

    def apply(decision: ControlDecision, t_s: float) -> None:
        for ids, close in ((decision.open, False), (decision.close, True)):
            for cid in ids:
                house, _, circ = cid.partition(".")
                if house not in houses or circ not in CIRCUITS:
                    raise ControlError(
                        f"decision at t={t_s:.0f} s names {cid!r}; use "
                        f"<house>.<c0|c1|c2> with a house of the scenario"
                    )
                i, c = houses.index(house), CIRCUITS.index(circ)
                if c == 0 and not close:
                    raise ControlError(
                        f"decision at t={t_s:.0f} s sheds the critical "
                        f"circuit {cid!r}; critical circuits are never shed"
                    )
                if closed[i, c] != close:
                    closed[i, c] = close
                    events.append(SwitchEvent(t_s, cid, "restore" if close else "shed"))
        for house, pct in decision.pv_limit_pct.items():
            if house not in houses:
                raise ControlError(f"PV limit at t={t_s:.0f} s for unknown house {house!r}")
            pv_limit[houses.index(house)] = min(max(pct, 0.0), 100.0)

    for k in range(n):
        t_s = k * dt
        m = mode[k]
        if k == k_out0:  # the grid fails: participants cease to energise, relays open
            part.trip()
            for i, h in enumerate(houses):
                for c in (1, 2):
                    if closed[i, c]:
                        closed[i, c] = False
                        events.append(SwitchEvent(t_s, f"{h}.{CIRCUITS[c]}", "shed"))
        if anchor_down and m == MODE_ISLAND:
            m = mode[k] = MODE_DARK
        soc_a = 100.0 * e_a / e_anchor_wh
        plugged = (ev_on <= t_s) & (t_s < ev_off) & (ev_left_wh > 0.0)
        leaving = (t_s >= ev_off) & ~ev_departed
        if leaving.any():
            ev_missed_wh += float(ev_left_wh[leaving].sum())
            ev_departed |= leaving
        ev_dem = np.zeros(nh)
        ev_dem[ev_idx] = np.where(plugged, np.minimum(ev_p, ev_left_wh * 3600.0 / dt), 0.0)
        crit_d, nc_d = demand.critical_w[k], demand.noncritical_w[k]
        pv_avail = demand.pv_avail_w[k]
        if m == MODE_DARK:
            rec["f_hz"][k] = math.nan
            rec["soc_anchor_pct"][k] = soc_a
            rec["crit_d"][k], rec["nc_d"][k] = crit_d.sum(), nc_d.sum()
            rec["ev_d"][k] = ev_dem.sum()
            rec["pv_avail_w"][k] = pv_avail.sum()
            soc_b[k] = 100.0 * b_wh / b_e
            if k + 1 == k_dark and not anchor_down:  # energised: frequency from the anchor's curve
                f = float(frequency_shift_hz(soc_a))
            continue
        grid = m == MODE_CONNECTED
        state = StreetState(
            t_s=t_s,
            f_hz=f,
            anchor_soc_pct=soc_a,
            grid_ok=k >= k_grid or k < k_out0,
            islanded=not grid,
            houses=tuple(houses),
            net_p_w=last_net.copy(),
            circuits_closed=closed.copy(),
            pv_limit_pct=pv_limit.copy(),
        )
        apply(ctrl.decide(state), t_s)
        crit = crit_d * closed[:, 0]
        nc = nc_d * closed[:, 1]
        ev = ev_dem * closed[:, 2]
        # Participants (IEEE 1547-2018): enter service, then frequency-droop and ramp.
        in_window = ENTER_SERVICE_F_HZ[0] <= f <= ENTER_SERVICE_F_HZ[1]
        waiting = ~part.in_service
        part.wait_s[waiting] = part.wait_s[waiting] + dt if in_window else 0.0
        entering = waiting & (part.wait_s >= settings.enter_service_delay_s)
        part.in_service |= entering
        part.ramp_pu[entering] = 0.0
        if f < TRIP_F_HZ[0] or f > TRIP_F_HZ[1]:
            part.trip()
        part.ramp_pu[part.in_service] = np.minimum(
            1.0, part.ramp_pu[part.in_service] + dt / settings.enter_service_ramp_s
        )
        fw_target = frequency_droop_pu(f, db_of_hz=settings.db_of_hz, k_of=settings.k_of)
        fw_pu += (fw_target - fw_pu) * alpha_fw
        cap = np.minimum(part.ramp_pu, pv_limit / 100.0) * pv_rating
        pv = np.where(
            part.in_service, np.minimum(np.maximum(pv_avail - fw_pu * pv_rating, 0.0), cap), 0.0
        )
        # Home batteries: self-consumption, out of service with their inverter.
        own = (crit + nc + ev - pv)[bat_idx]
        dis_lim = np.minimum(b_p, np.maximum(b_wh - b_min, 0.0) * b_eff * 3600.0 / dt)
        chg_lim = np.minimum(b_p, np.maximum(b_e - b_wh, 0.0) / b_eff * 3600.0 / dt)
        bp = np.where(part.in_service[bat_idx], np.clip(own, -chg_lim, dis_lim), 0.0)
        b_wh -= np.where(bp > 0, bp / b_eff, bp * b_eff) * dt / 3600.0
        house_net = crit + nc + ev - pv
        house_net[bat_idx] -= bp
        shortfall = surplus = 0.0
        if grid:
            f, push = F_NOMINAL_HZ, 0.0
            p_a = -min(
                anc.grid_charge_kw * 1000.0,
                p_anchor_max * charge_limit_pu(soc_a),
                max(e_anchor_wh - e_a, 0.0) / eff_a * 3600.0 / dt,
            )
            house_net[a] -= p_a
        else:
            required = float(house_net.sum())
            dis_a = min(p_anchor_max, max(e_a - e_a_min, 0.0) * eff_a * 3600.0 / dt)
            chg_a = min(
                p_anchor_max * charge_limit_pu(soc_a),
                max(e_anchor_wh - e_a, 0.0) / eff_a * 3600.0 / dt,
            )
            p_a = min(max(required, -chg_a), dis_a)
            if dis_a <= 0.0 and required > 0.0:  # empty: the anchor stops, the street is dark
                anchor_down = True
                part.trip()
                events.append(SwitchEvent(t_s, "anchor", "shutdown"))
            if required > dis_a:  # not enough: drop EV, then non-critical, then critical
                shortfall = required - dis_a
                left = shortfall
                for part_w in (ev, nc, crit):
                    cut = min(left, float(part_w.sum()))
                    if cut > 0.0:
                        share = part_w * (cut / part_w.sum())
                        part_w -= share
                        house_net -= share
                        left -= cut
            elif required < -chg_a:  # too much: PV curtailed within the step
                surplus = -chg_a - required
                scale = surplus / pv.sum() if pv.sum() > 0 else 0.0
                house_net += pv * scale
                pv = pv * (1.0 - scale)
            if surplus > 0.0:
                push += PUSH_HZ_PER_S * dt
            elif shortfall > 0.0:
                push -= PUSH_HZ_PER_S * dt
            else:  # released at the same rate once the participants have responded
                push -= math.copysign(min(abs(push), PUSH_HZ_PER_S * dt), push)
            target = float(frequency_shift_hz(soc_a)) - DROOP_HZ_PER_PU * p_a / p_anchor_max
            f += (target + push - f) * alpha_f
        e_a -= (p_a / eff_a if p_a > 0 else p_a * eff_a) * dt / 3600.0
        ev_left_wh[:] -= ev[ev_idx] * dt / 3600.0
        last_net = house_net
        rec["f_hz"][k] = f
        rec["soc_anchor_pct"][k] = 100.0 * e_a / e_anchor_wh
        rec["crit_d"][k], rec["crit_s"][k] = crit_d.sum(), crit.sum()
        rec["nc_d"][k], rec["nc_s"][k] = nc_d.sum(), nc.sum()
        rec["ev_d"][k], rec["ev_s"][k] = ev_dem.sum(), ev.sum()
        rec["pv_w"][k], rec["pv_avail_w"][k] = pv.sum(), pv_avail.sum()
        rec["p_anchor_w"][k] = p_a
        rec["shortfall_w"][k], rec["surplus_w"][k] = shortfall, surplus
        soc_b[k] = 100.0 * b_wh / b_e
        p_net[k, col] = house_net
        q_net[k, col] = (crit + nc) * _Q_PER_P
    t_sim = time.perf_counter() - t_start
    flow = None
    if power_flow:
        flow = street_flow(
            scenario.topology,
            p_net,
            q_net,
            live=mode != MODE_DARK,
            islanded=mode == MODE_ISLAND,
            anchor_house=anc.house,
            threshold_w=threshold_w,
            max_gap_steps=1 if max_gap_s is None else max(1, round(max_gap_s / dt)),
        )
    return MicrogridResult(
        scenario=scenario,
        t_s=np.arange(n, dtype=np.float64) * dt,
        mode=mode,
        f_hz=rec["f_hz"],
        soc_anchor_pct=rec["soc_anchor_pct"],
        battery_names=tuple(f"{houses[i]}_battery" for i in bat_idx),
        soc_pct=soc_b,
        critical_demand_w=rec["crit_d"],
        critical_served_w=rec["crit_s"],
        noncritical_demand_w=rec["nc_d"],
        noncritical_served_w=rec["nc_s"],
        ev_demand_w=rec["ev_d"],
        ev_served_w=rec["ev_s"],
        pv_w=rec["pv_w"],
        pv_available_w=rec["pv_avail_w"],
        p_anchor_w=rec["p_anchor_w"],
        shortfall_w=rec["shortfall_w"],
        surplus_w=rec["surplus_w"],
        ev_undelivered_kwh=ev_missed_wh / 1000.0,
        events=tuple(events),
        flow=flow,
        simulate_s=t_sim,
        run_s=time.perf_counter() - t_start,
    )
