"""The StreetGrid orchestrator: a Feeder OS app that runs an islandable street.

It watches the houses' nodes (``house01`` … : ``soc_pct``, ``p_kw``, ``v_v``,
``f_hz``; optionally ``pv_forecast_kw``), their circuit meters (``houseNN.cK``:
``p_kw``, which updates the circuit's demand while it is on), the anchor battery
(``p_kw`` generation-positive, ``soc_pct``, ``f_hz``) and the interconnection device
(``grid``: ``grid_ok`` 1/0, optionally ``p_kw`` imported). Once a second it

1. filters the node reports (:class:`~.bad_data.BadDataFilter`; the trusted supply
   is the anchor's output plus the grid's measured import) and raises an alarm event
   for each node it flags;
2. works out the street's autonomy from the anchor's SOC and the believed net load
   and steps the state machine (:func:`~.states.next_state`), with an event per
   transition;
3. in SHEDDING and RESTORING, runs the dispatch (:func:`~.dispatch.allocate`) and
   sends ``open`` (shed) or ``close`` (restore) to circuit relays ``houseNN.cK`` —
   only what :func:`~.dispatch.plan_switching` emits, which never opens ``.c0``.
   Reconnected to the grid, it closes whatever is still open. A circuit is not
   switched again within ``min_switch_interval_s`` of its last switching; the nodes'
   own under-frequency trips protect the anchor meanwhile.

It imports only the app SDK, so the same object runs on the twin's in-memory bus,
over Mosquitto and over the LoRa gateway.

Examples
--------
>>> app = StreetOrchestrator()
>>> app.state
<State.GRID_CONNECTED: 'grid_connected'>
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from feederos.control.microgrid.bad_data import BadDataFilter, Reports
from feederos.control.microgrid.config import OrchestratorConfig, streetgrid_config
from feederos.control.microgrid.dispatch import (
    SwitchAction,
    allocate,
    house_weights_kw,
    plan_switching,
    street_supply_kw,
)
from feederos.control.microgrid.states import (
    State,
    StateInputs,
    StateLimits,
    autonomy_h,
    next_state,
)
from feederos.runtime.app import App, on_timer
from feederos.runtime.messages import Action, Measurement, Quality, Severity

__all__ = ["EVALUATE_EVERY_S", "StreetOrchestrator"]

EVALUATE_EVERY_S = 1.0
"""Period of the orchestrator's evaluation [s]."""

_NODE_QUANTITIES = ("soc_pct", "p_kw", "v_v", "f_hz")
_SETTLED = (State.ISLANDED, State.SCARCITY, State.SHEDDING, State.RESTORING)
"""States in which the anchor alone feeds the street, steadily: its output is the supply."""
_STATE_SEVERITY = {State.SCARCITY: Severity.WARNING, State.SHEDDING: Severity.ALARM}


class StreetOrchestrator(App):
    """The StreetGrid orchestrator (see the module docstring).

    The config is an :class:`~.config.OrchestratorConfig` as a mapping; an empty one
    means :func:`~.config.streetgrid_config`.
    """

    def __init__(self) -> None:
        self.state = State.GRID_CONNECTED
        """The street's current state."""
        self.history: list[tuple[float, State, str]] = []
        """Every transition: (time [s], new state, reason)."""
        self.flagged: dict[str, str] = {}
        """Flagged node asset → reason."""

    # -- lifecycle ------------------------------------------------------------------
    def on_start(self) -> None:
        self._configure(self.ctx.config)
        self._entered_s = self.ctx.clock.monotonic_s()
        self._grid_ok = True
        self._grid_ok_since_s: float | None = self._entered_s

    def on_config(self, config: Mapping[str, Any]) -> None:
        self._configure(config)

    def _configure(self, config: Mapping[str, Any]) -> None:
        cfg = OrchestratorConfig.model_validate(dict(config)) if config else streetgrid_config()
        old = getattr(self, "cfg", None)
        self.cfg = cfg
        self.limits: StateLimits = cfg.limits.state_limits()
        if old is not None and old.houses == cfg.houses:
            if _filter_settings(old) != _filter_settings(cfg):
                self.ctx.log.warning("bad-data settings changed: references and flags reset")
                self.flagged.clear()
                self._make_filter()
            return
        n, k = len(cfg.houses), max(len(h.circuits_kw) for h in cfg.houses)
        self._index = {h.asset: i for i, h in enumerate(cfg.houses)}
        self.demand_kw = np.zeros((n, k))
        for i, h in enumerate(cfg.houses):
            self.demand_kw[i, : len(h.circuits_kw)] = h.circuits_kw
        self.served = np.ones((n, k), bool)
        """Circuits the orchestrator has left (or made) closed."""
        self._switched_s = np.full((n, k), -np.inf)
        self._node: dict[str, dict[str, tuple[float, float]]] = {h.asset: {} for h in cfg.houses}
        self._anchor: dict[str, float] = {}
        self._grid_p_kw: float | None = None
        self._make_filter()
        for asset in [*self._index, cfg.anchor.asset, cfg.grid_asset]:
            self.ctx.watch(asset)
        for h in cfg.houses:
            for c in range(len(h.circuits_kw)):
                self.ctx.watch(f"{h.asset}.c{c}")
        self.ctx.log.info("streetgrid orchestrator configured", houses=len(cfg.houses))

    def _make_filter(self) -> None:
        cfg = self.cfg
        battery_kw = np.array([h.battery_kw for h in cfg.houses])
        battery_kwh = np.array([h.battery_kwh for h in cfg.houses])
        # The fastest a home battery's SOC can move, with 50 % margin [%/s].
        rate = np.divide(
            1.5 * 100.0 * battery_kw / 3600.0,
            battery_kwh,
            out=np.zeros_like(battery_kw),
            where=battery_kwh > 0,
        )
        self.filter = BadDataFilter(
            rating_kw=np.array([h.rating_kw for h in cfg.houses]),
            soc_rate_pct_per_s=rate,
            stuck_n=cfg.stuck_n,
            confirm_n=cfg.confirm_n,
            balance_tol_kw=cfg.balance_tol_kw,
            balance_tol_pct=cfg.balance_tol_pct,
        )

    # -- inputs ---------------------------------------------------------------------
    def on_measurement(self, measurement: Measurement) -> None:
        if measurement.quality is Quality.INVALID:
            return
        m, now_s = measurement, self.ctx.clock.monotonic_s()
        if m.asset in self._node:
            self._node[m.asset][m.quantity] = (m.value, now_s)
        elif m.asset == self.cfg.anchor.asset:
            self._anchor[m.quantity] = m.value
        elif m.asset == self.cfg.grid_asset:
            if m.quantity == "grid_ok":
                ok = m.value >= 0.5
                if ok and not self._grid_ok:
                    self._grid_ok_since_s = now_s
                self._grid_ok = ok
                if not ok:
                    self._grid_ok_since_s = None
            elif m.quantity == "p_kw":
                self._grid_p_kw = m.value
        elif m.quantity == "p_kw" and "." in m.asset:
            house, _, circuit = m.asset.partition(".")
            i, c = self._index.get(house), _circuit_index(circuit)
            # A shed circuit reads zero: keep the demand it had while it was on.
            if i is not None and c is not None and c < self.served.shape[1] and self.served[i, c]:
                self.demand_kw[i, c] = max(m.value, 0.0)

    def _reports(self, now_s: float) -> tuple[Reports, np.ndarray]:
        n = len(self.cfg.houses)
        rows = np.full((len(_NODE_QUANTITIES), n), np.nan)
        pv = np.array([h.pv_forecast_kw for h in self.cfg.houses])
        for i, h in enumerate(self.cfg.houses):
            seen = self._node[h.asset]
            for q, quantity in enumerate(_NODE_QUANTITIES):
                value, at_s = seen.get(quantity, (np.nan, -np.inf))
                if now_s - at_s <= self.cfg.stale_s:
                    rows[q, i] = value
            if "pv_forecast_kw" in seen:
                pv[i] = max(seen["pv_forecast_kw"][0], 0.0)
        soc, p, v, f = rows
        return Reports(soc_pct=soc, p_kw=p, v_pu=v / self.cfg.v_nominal_v, f_hz=f), pv

    def _supply_kw(self) -> float | None:
        """What feeds the street by trusted meters [kW], when it is known and steady."""
        anchor_p = self._anchor.get("p_kw")
        if anchor_p is None:
            return None
        if self.state in _SETTLED:
            return anchor_p  # the street breaker is open: the anchor feeds it all
        if self._grid_p_kw is not None and self.state is State.GRID_CONNECTED:
            return anchor_p + self._grid_p_kw
        return None

    # -- the evaluation -------------------------------------------------------------
    @on_timer(every=EVALUATE_EVERY_S)
    def evaluate(self) -> None:
        """Filter the reports, step the state machine, dispatch and switch."""
        cfg, now_s = self.cfg, self.ctx.clock.monotonic_s()
        reports, pv_forecast_kw = self._reports(now_s)
        believed = self.filter.update(now_s, reports, supply_kw=self._supply_kw())
        for finding in believed.findings:
            asset = cfg.houses[finding.node].asset
            self.flagged[asset] = finding.reason.value
            self.ctx.event(
                Severity.ALARM,
                f"node {asset} flagged: {finding.detail}; its reports are replaced",
                node=asset,
                reason=finding.reason.value,
            )
        anchor_soc = self._anchor.get("soc_pct", 0.0)
        net_load_kw = float(np.nansum(believed.p_kw))
        autonomy = autonomy_h(
            anchor_soc_pct=anchor_soc,
            reserve_pct=cfg.limits.reserve_pct,
            energy_kwh=cfg.anchor.energy_kwh,
            net_load_kw=net_load_kw,
        )
        anchor_f = self._anchor.get("f_hz")
        inputs = StateInputs(
            grid_ok=self._grid_ok,
            grid_ok_for_s=0.0 if self._grid_ok_since_s is None else now_s - self._grid_ok_since_s,
            anchor_soc_pct=anchor_soc,
            autonomy_h=autonomy,
            anchor_f_ok=anchor_f is not None and abs(anchor_f - 60.0) <= cfg.anchor.f_band_hz,
            circuits_shed=int((~self.served).sum()),
            t_in_state_s=now_s - self._entered_s,
        )
        state, reason = next_state(self.state, inputs, self.limits)
        if state is not self.state:
            self.ctx.event(
                _STATE_SEVERITY.get(state, Severity.INFO),
                f"street {self.state.value} -> {state.value}: {reason}",
                state=state.value,
                previous=self.state.value,
                reason=reason,
                autonomy_h=None if not np.isfinite(autonomy) else round(autonomy, 3),
                anchor_soc_pct=anchor_soc,
            )
            self.state, self._entered_s = state, now_s
            self.history.append((now_s, state, reason))
        self._dispatch(now_s, anchor_soc, believed.soc_pct, pv_forecast_kw)

    def _dispatch(
        self, now_s: float, anchor_soc: float, soc_pct: np.ndarray, pv_forecast_kw: np.ndarray
    ) -> None:
        cfg = self.cfg
        if self.state is State.GRID_CONNECTED:
            # The grid feeds the street: whatever is still open comes back, in steps.
            target = np.ones_like(self.served)
            actions = plan_switching(
                self.served, target, may_shed=False, max_restores=cfg.restores_per_tick
            )
        elif self.state in (State.SHEDDING, State.RESTORING):
            battery_kwh = np.array([h.battery_kwh for h in cfg.houses])
            battery_kw = np.array([h.battery_kw for h in cfg.houses])
            soc = np.nan_to_num(soc_pct, nan=0.0)
            stored_kw = np.minimum(soc / 100.0 * battery_kwh / cfg.horizon_h, battery_kw)
            supply = street_supply_kw(
                anchor_soc_pct=anchor_soc,
                reserve_pct=cfg.limits.reserve_pct,
                energy_kwh=cfg.anchor.energy_kwh,
                p_rated_kw=cfg.anchor.p_rated_kw,
                horizon_h=cfg.horizon_h,
                house_generation_kw=pv_forecast_kw + stored_kw,
            )
            weights = house_weights_kw(
                pv_forecast_kw=pv_forecast_kw,
                soc_pct=soc,
                battery_kwh=battery_kwh,
                battery_kw=battery_kw,
                horizon_h=cfg.horizon_h,
                base_kw=cfg.base_weight_kw,
            )
            plan = allocate(
                self.demand_kw,
                weights,
                supply,
                served_before=self.served,
                restore_margin=cfg.restore_margin,
            )
            shedding = self.state is State.SHEDDING
            actions = plan_switching(
                self.served,
                plan.served,
                may_shed=shedding,
                may_restore=not shedding,
                max_restores=cfg.restores_per_tick,
            )
        else:
            return
        for action in actions:
            self._switch(now_s, action)

    def _switch(self, now_s: float, action: SwitchAction) -> None:
        i, c = action.house, action.circuit
        if now_s - self._switched_s[i, c] < self.cfg.min_switch_interval_s:
            return  # it moved a moment ago: let it settle rather than chatter
        asset = f"{self.cfg.houses[i].asset}.c{c}"
        self.ctx.command(
            asset,
            Action.CLOSE if action.close else Action.OPEN,
            expires_s=self.cfg.command_expires_s,
        )
        self.served[i, c] = action.close
        self._switched_s[i, c] = now_s


def _circuit_index(text: str) -> int | None:
    if len(text) >= 2 and text[0] == "c" and text[1:].isdigit():
        return int(text[1:])
    return None


def _filter_settings(cfg: OrchestratorConfig) -> tuple[float, ...]:
    return (cfg.stuck_n, cfg.confirm_n, cfg.balance_tol_kw, cfg.balance_tol_pct)
