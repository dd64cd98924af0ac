"""The StreetGrid orchestrator app as the twin's controller, over the runtime bus.

:class:`OrchestratedController` is a :class:`~feederos.microgrid.control.ShedController`
that hosts :class:`~feederos.control.microgrid.StreetOrchestrator` in an
:class:`~feederos.runtime.host.AppHost` on an :class:`~feederos.runtime.bus.InMemoryBus`
with a :class:`~feederos.runtime.clock.SimulatedClock`. Every ``every_s`` of twin time it
publishes what the street's meters would report — the same topics and quantities as in
the field, so the recorded payloads can be replayed over Mosquitto — then sets the clock
to the step's time, ticks the host, and turns the app's ``open``/``close`` commands on
``houseNN.cK`` into the twin's :class:`~feederos.microgrid.control.ControlDecision`.

What the twin's meters report (each refers to the step just simulated):

- each house node ``houseNN``: ``p_kw`` its net power (consumption positive; the anchor's
  own charging is metered by the anchor, not by its host house), ``v_v`` a linearised
  power flow of the street around zero load (sensitivities from
  :func:`~feederos.microgrid.street_flow.street_flow`, islanded or connected), ``f_hz``
  the street's frequency, ``soc_pct`` 0 — the twin's :class:`StreetState` carries no
  home-battery SOC, so home batteries are behind the meter here (``battery_kwh`` 0 in the
  config) and act only through the house's net power;
- each closed circuit ``houseNN.cK``: ``p_kw`` its demand, by exception (when it
  changes; an open circuit reads zero, which is not its demand, so it reports nothing);
- ``anchor``: ``p_kw`` (generation positive, from its SOC change through its one-way
  efficiency), ``soc_pct``, ``f_hz``;
- ``grid``: ``grid_ok`` and ``p_kw`` imported.

A :class:`MeasurementFault` corrupts what chosen house nodes report (stuck, random,
false); the physics stays honest, only what the orchestrator hears is wrong.

The orchestrator sheds and restores; the houses' PV inverters keep their own curtailment
on the anchor's frequency-shift signal (the PV limits of
:class:`~feederos.microgrid.control.LocalShedRule`; its sheds and restores are not used),
as the orchestrator sends no PV limits.

The twin trips the non-critical relays when the grid fails. The orchestrator believes
them closed (it never opened them), so each node recloses a relay it tripped itself —
never one the orchestrator opened — once the street frequency has been at least
``reclose_above_hz`` for ``reclose_delay_s`` plus ``reclose_stagger_s`` × the house's
position (the enter-service delay of IEEE 1547-2018 4.10.2, staggered so the anchor picks
the load up in steps).

Examples
--------
>>> from feederos.microgrid import Scenario
>>> s = Scenario.model_validate({
...     "name": "tiny", "start": "2023-07-15T05:00", "duration_h": 1, "outage_start_h": 0.1,
...     "outage_end_h": 0.9, "weather": {"latitude_deg": 39.7, "longitude_deg": -105.2},
...     "anchor": {"house": "house01"},
...     "houses": [{"name": "house01", "peak_kw": 3.0, "critical_share": 0.4}]})
>>> orchestrator_config(s).houses[0].circuits_kw
[1.2, 1.8, 0.0]
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from feederos.control.microgrid import (
    AnchorConfig,
    HouseConfig,
    LimitsConfig,
    OrchestratorConfig,
    StreetOrchestrator,
)
from feederos.microgrid.control import (
    CIRCUITS,
    ControlDecision,
    LocalShedRule,
    StreetState,
    circuit_id,
)
from feederos.microgrid.networks import house_names
from feederos.microgrid.profiles import street_demand
from feederos.microgrid.scenario import Scenario
from feederos.microgrid.street_flow import street_flow
from feederos.runtime.bus import InMemoryBus
from feederos.runtime.bus.base import BusMessage
from feederos.runtime.clock import SimulatedClock
from feederos.runtime.host import AppHost
from feederos.runtime.messages import Action, Command, Event, Measurement, decode, encode
from feederos.runtime.topics import measurement_topic

__all__ = [
    "FaultKind",
    "MeasurementFault",
    "OrchestratedController",
    "Published",
    "orchestrator_config",
    "scenario_clock_start",
]

FloatArray = npt.NDArray[np.float64]

V_BASE_V = 120.0
"""Line-to-neutral base of the node voltages [V]."""


class FaultKind(StrEnum):
    """How a faulty node's reports are wrong."""

    STUCK = "stuck"
    """Repeats its first faulty report exactly."""
    RANDOM = "random"
    """SOC, P, V and f drawn at random within plausible-looking ranges."""
    FALSE = "false"
    """True SOC, V and f, but ``false_kw`` more consumption than it has."""


@dataclass(frozen=True)
class MeasurementFault:
    """A node's corrupted reports from ``from_s`` [s after the scenario start] on."""

    kind: FaultKind
    from_s: float = 0.0
    false_kw: float = 12.0
    """What a ``false`` node adds to its consumption [kW]."""


@dataclass(frozen=True)
class Published:
    """One measurement payload the twin published: at which step, where, what."""

    step: int
    topic: str
    payload: bytes


def scenario_clock_start(scenario: Scenario) -> datetime:
    """The scenario's start as a timezone-aware time (its UTC offset, else UTC).

    >>> s = Scenario.model_validate({
    ...     "name": "t", "start": "2023-07-15T05:00", "duration_h": 1, "outage_start_h": 0.1,
    ...     "outage_end_h": 0.9, "anchor": {"house": "house01"}, "houses": [{"name": "house01",
    ...     "peak_kw": 3.0, "critical_share": 0.4}], "weather": {"latitude_deg": 39.7,
    ...     "longitude_deg": -105.2, "utc_offset_h": -7}})
    >>> scenario_clock_start(s).isoformat()
    '2023-07-15T05:00:00-07:00'
    """
    offset_h = scenario.weather.utc_offset_h
    zone = UTC if offset_h is None else timezone(timedelta(hours=offset_h))
    return datetime.fromisoformat(scenario.start).replace(tzinfo=zone)


def orchestrator_config(
    scenario: Scenario, *, limits: Mapping[str, float] | None = None
) -> OrchestratorConfig:
    """The orchestrator's config for the scenario's street.

    Per house: ``c0`` critical and ``c1`` non-critical at their share of the house's
    peak, ``c2`` its EV charger (0 kW without one) — the twin's circuits. The anchor's
    energy, rating, reserve and black-start time come from the scenario; ``limits``
    overrides other state-machine thresholds (:class:`LimitsConfig` fields).
    """
    houses = [
        HouseConfig(
            asset=h.name,
            circuits_kw=[
                round(h.peak_kw * h.critical_share, 3),
                round(h.peak_kw * (1.0 - h.critical_share), 3),
                0.0 if h.ev is None else h.ev.p_kw,
            ],
            pv_kw=h.pv_kw,
        )
        for h in scenario.houses
    ]
    anchor = scenario.anchor
    lim = {"reserve_pct": anchor.reserve_pct, "black_start_s": anchor.black_start_s}
    lim |= dict(limits or {})
    return OrchestratorConfig(
        houses=houses,
        anchor=AnchorConfig(energy_kwh=anchor.energy_kwh, p_rated_kw=anchor.s_kva),
        limits=LimitsConfig.model_validate(lim),
        v_nominal_v=V_BASE_V,
    )


def _voltage_sensitivity(scenario: Scenario, islanded: bool) -> tuple[FloatArray, FloatArray]:
    """Street voltages at zero load [pu] and their change per kW at each house [pu/kW]."""
    n = len(house_names())
    p_w = np.vstack([np.zeros(n), 1000.0 * np.eye(n)])
    flow = street_flow(
        scenario.topology,
        p_w,
        np.zeros_like(p_w),
        live=np.ones(n + 1, bool),
        islanded=np.full(n + 1, islanded),
        anchor_house=scenario.anchor.house,
    )
    v = flow.v_house_pu.mean(axis=2)  # the two 120 V legs
    return v[0], (v[1:] - v[0]).T


class OrchestratedController:
    """The twin's controller is the StreetGrid orchestrator app (module docstring).

    Parameters
    ----------
    scenario
        The scenario the twin runs (houses, anchor, the demand the circuit meters read).
    every_s
        Period of the measurements, the clock and the host's tick [s of twin time].
    faults
        House name → what is wrong with its node's reports.
    config
        The orchestrator's config; default :func:`orchestrator_config` of the scenario.
    feeder_id
        The feeder id on the bus.
    record
        Keep every published measurement payload (:attr:`published`) for a replay.
    seed
        Of the random faults.
    reclose_above_hz, reclose_delay_s, reclose_stagger_s
        When a node recloses a relay the grid failure tripped [Hz], [s], [s].
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        every_s: float = 1.0,
        faults: Mapping[str, MeasurementFault] | None = None,
        config: OrchestratorConfig | None = None,
        feeder_id: str = "streetgrid-twin",
        record: bool = False,
        seed: int = 0,
        reclose_above_hz: float = 59.95,
        reclose_delay_s: float = 300.0,
        reclose_stagger_s: float = 30.0,
    ) -> None:
        if every_s < scenario.step_s:
            raise ValueError(
                f"every_s={every_s} is shorter than the scenario's step_s={scenario.step_s}"
            )
        self.scenario = scenario
        self.every_s = every_s
        self.faults = dict(faults or {})
        unknown = sorted(set(self.faults) - {h.name for h in scenario.houses})
        if unknown:
            raise ValueError(f"faults name houses {unknown} that are not in {scenario.name!r}")
        self.config = config if config is not None else orchestrator_config(scenario)
        self.feeder_id = feeder_id
        self.record = record
        self.reclose_above_hz = reclose_above_hz
        self.reclose_delay_s = reclose_delay_s
        self.reclose_stagger_s = reclose_stagger_s
        self.start = scenario_clock_start(scenario)
        self.clock = SimulatedClock(self.start)
        self.bus = InMemoryBus()
        self.app = StreetOrchestrator()
        self.host = AppHost(
            self.app,
            self.bus,
            feeder_id=feeder_id,
            app_name="streetgrid",
            clock=self.clock,
            config=self.config.model_dump(mode="json"),
            heartbeat_s=None,
            log_stream=io.StringIO(),
        )
        self.published: list[Published] = []
        """Measurement payloads published (with ``record``)."""
        self.events: list[Event] = []
        """Every event the app raised, in order."""
        self.commands: list[tuple[int, Command]] = []
        """Every command the app sent, with the twin step it was sent at."""
        self.reclosed: list[tuple[float, str]] = []
        """Relays the nodes reclosed themselves after the grid failure tripped them."""
        self._pending: list[Command] = []
        self.bus.subscribe(f"feeder/{feeder_id}/commands/+", self._on_command)
        self.bus.subscribe(f"feeder/{feeder_id}/events/+", self._on_event)
        self._houses = [h.name for h in scenario.houses]
        street = house_names()
        self._col = np.array([street.index(h) for h in self._houses])
        self._anchor_i = self._houses.index(scenario.anchor.house)
        self._demand = street_demand(scenario)
        self._ev = [h.ev for h in scenario.houses]
        self._ev_left_kwh = np.array([0.0 if e is None else e.energy_kwh for e in self._ev])
        self._v = {flag: _voltage_sensitivity(scenario, flag) for flag in (False, True)}
        self._rng = np.random.default_rng(seed)
        self._frozen: dict[str, tuple[float, float, float, float]] = {}
        self._commanded_open: set[str] = set()
        self._meter: dict[str, float] = {}
        self._curtail = LocalShedRule()
        """The inverters' own curtailment on the anchor's frequency (its PV limits only)."""
        self._ok_since_s: float | None = None
        self._prev: StreetState | None = None
        self._next_s = 0.0
        self._step = 0
        self.host.start()

    # -- the bus ------------------------------------------------------------------
    def _on_command(self, message: BusMessage) -> None:
        self._pending.append(decode(message.payload, Command, topic=message.topic))

    def _on_event(self, message: BusMessage) -> None:
        self.events.append(decode(message.payload, Event, topic=message.topic))

    def _send(self, asset: str, quantity: str, value: float, unit: str) -> None:
        m = Measurement(ts=self.clock.now(), asset=asset, quantity=quantity, value=value, unit=unit)
        topic = measurement_topic(self.feeder_id, asset)
        payload = encode(m)
        if self.record:
            self.published.append(Published(self._step, topic, payload))
        self.bus.publish(topic, payload)

    # -- the controller -----------------------------------------------------------
    def decide(self, state: StreetState) -> ControlDecision:
        """Publish the meters (every ``every_s``), tick the app, apply its commands."""
        self._step = round(state.t_s / self.scenario.step_s)
        self.clock.set(self.start + timedelta(seconds=state.t_s))
        if state.t_s + 1e-9 >= self._next_s:
            self._publish(state)
            self._next_s = state.t_s + self.every_s
            self.host.tick()
        opened: list[str] = []
        closed: list[str] = []
        for command in self._pending:
            self.commands.append((self._step, command))
            if command.action is Action.OPEN:
                self._commanded_open.add(command.asset)
                opened.append(command.asset)
            elif command.action is Action.CLOSE:
                self._commanded_open.discard(command.asset)
                closed.append(command.asset)
        self._pending.clear()
        closed += self._reclose(state, set(opened))
        limits = self._curtail.decide(state).pv_limit_pct
        self._prev = state
        return ControlDecision(open=tuple(opened), close=tuple(closed), pv_limit_pct=limits)

    def _reclose(self, state: StreetState, opening: set[str]) -> list[str]:
        """Relays the grid failure tripped and whose node now recloses them."""
        prev = self._prev
        if (
            prev is None
            or prev.islanded != state.islanded
            or state.t_s - prev.t_s > self.scenario.step_s
        ):
            self._ok_since_s = None  # the street changed hands or was dark: start again
        if state.f_hz < self.reclose_above_hz:
            self._ok_since_s = None
        elif self._ok_since_s is None:
            self._ok_since_s = state.t_s
        if self._ok_since_s is None:
            return []
        held_s = state.t_s - self._ok_since_s
        out = []
        for i, house in enumerate(state.houses):
            if held_s < self.reclose_delay_s + i * self.reclose_stagger_s:
                continue
            for c in range(1, len(CIRCUITS)):
                cid = circuit_id(house, c)
                if not state.circuits_closed[i, c] and cid not in self._commanded_open | opening:
                    out.append(cid)
                    self.reclosed.append((state.t_s, cid))
        return out

    def _publish(self, state: StreetState) -> None:
        prev = self._prev
        dt_s = state.t_s - prev.t_s if prev is not None else 0.0
        islanded = prev.islanded if prev is not None else state.islanded
        p_anchor_kw = self._anchor_kw(state, dt_s)
        p_kw = state.net_p_w / 1000.0
        if not islanded:  # connected, the anchor's charging is in its house's net power
            p_kw = p_kw.copy()
            p_kw[self._anchor_i] += p_anchor_kw
        v0, sens = self._v[islanded]
        street_p = np.zeros(len(v0))
        street_p[self._col] = p_kw
        v_v = V_BASE_V * (v0 + sens @ street_p)[self._col]
        k = min(self._step, self.scenario.steps - 1)
        for i, house in enumerate(self._houses):
            soc, p, v, f = self._report(
                house, state.t_s, 0.0, float(p_kw[i]), float(v_v[i]), state.f_hz
            )
            self._send(house, "soc_pct", soc, "%")
            self._send(house, "p_kw", p, "kW")
            self._send(house, "v_v", v, "V")
            self._send(house, "f_hz", f, "Hz")
            demands = self._circuit_w(i, k, state.t_s, dt_s, state.circuits_closed[i, 2])
            for c, demand_w in enumerate(demands):
                cid = circuit_id(house, c)
                # By exception, as circuit meters report: the demand is held for a minute.
                if state.circuits_closed[i, c] and self._meter.get(cid) != demand_w:
                    self._meter[cid] = demand_w
                    self._send(cid, "p_kw", demand_w / 1000.0, "kW")
                elif not state.circuits_closed[i, c]:
                    self._meter.pop(cid, None)
        self._send("anchor", "p_kw", p_anchor_kw, "kW")
        self._send("anchor", "soc_pct", state.anchor_soc_pct, "%")
        self._send("anchor", "f_hz", state.f_hz, "Hz")
        self._send("grid", "grid_ok", 1.0 if state.grid_ok else 0.0, "")
        self._send("grid", "p_kw", 0.0 if islanded else float(state.net_p_w.sum()) / 1000.0, "kW")

    def _anchor_kw(self, state: StreetState, dt_s: float) -> float:
        """The anchor's output over the last stretch, from its SOC change [kW]."""
        prev = self._prev
        if prev is None or dt_s <= 0.0:
            return 0.0
        anchor = self.scenario.anchor
        eff = anchor.efficiency_pct / 100.0
        de_kwh = (state.anchor_soc_pct - prev.anchor_soc_pct) / 100.0 * anchor.energy_kwh
        p_kw = -de_kwh * 3600.0 / dt_s
        return p_kw * eff if p_kw > 0.0 else p_kw / eff

    def _circuit_w(
        self, i: int, k: int, t_s: float, dt_s: float, ev_on: bool
    ) -> tuple[float, float, float]:
        """What house ``i``'s circuits c0, c1, c2 demand at step ``k`` [W]."""
        ev = self._ev[i]
        ev_w = 0.0
        if ev is not None and ev.arrival_h * 3600.0 <= t_s < ev.departure_h * 3600.0:
            ev_w = min(ev.p_kw * 1000.0, self._ev_left_kwh[i] * 3.6e6 / self.scenario.step_s)
            if ev_on:  # what the car took since the last report
                self._ev_left_kwh[i] = max(self._ev_left_kwh[i] - ev_w * dt_s / 3.6e6, 0.0)
        return (
            float(self._demand.critical_w[k, i]),
            float(self._demand.noncritical_w[k, i]),
            ev_w,
        )

    def _report(
        self, house: str, t_s: float, soc: float, p: float, v: float, f: float
    ) -> tuple[float, float, float, float]:
        """What the house's node reports: the truth, or its fault's corruption."""
        fault = self.faults.get(house)
        if fault is None or t_s < fault.from_s:
            return soc, p, v, f
        if fault.kind is FaultKind.STUCK:
            return self._frozen.setdefault(house, (soc, p, v, f))
        if fault.kind is FaultKind.RANDOM:
            r = self._rng
            return (
                float(r.uniform(0.0, 100.0)),
                float(r.uniform(-5.0, 15.0)),
                float(r.uniform(0.9, 1.1) * V_BASE_V),
                float(r.uniform(59.5, 60.5)),
            )
        return soc, p + fault.false_kw, v, f

    def close(self) -> None:
        """Stop the app and close the bus."""
        self.host.stop()
        self.bus.close()

    @property
    def states(self) -> list[str]:
        """The app's state changes, in order (from its events)."""
        return [str(e.data["state"]) for e in self.events if "state" in e.data]
