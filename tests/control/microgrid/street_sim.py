"""A scripted StreetGrid street for the orchestrator tests: honest nodes, faulty ones.

Each house draws the demand of its closed circuits (as the orchestrator's config says)
less its PV, with a little noise; every node reports that with the street's common
voltage and frequency, each with its own measurement noise, so honest reports are
never identical twice. The anchor (islanded) or the grid (connected) supplies the
street's net load plus 2 % losses. Faulty nodes, from ``fault_from_s`` on:

- ``stuck``: repeats its last report exactly;
- ``random``: SOC, P, V and f drawn at random within plausible-looking ranges;
- ``liar``: reports its true SOC, V and f but claims ``LIE_KW`` more consumption, to
  make the street look short of energy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from feederos.control.microgrid.bad_data import Reports
from feederos.control.microgrid.config import OrchestratorConfig, streetgrid_config
from feederos.runtime.bus import InMemoryBus
from feederos.runtime.clock import SimulatedClock
from feederos.runtime.messages import Command, Measurement, decode, encode

LIE_KW = 12.0
"""What a lying node adds to its consumption [kW]."""
LOSSES = 1.02
"""Supply over the street's net load: secondary losses."""


class Fault(StrEnum):
    STUCK = "stuck"
    RANDOM = "random"
    LIAR = "liar"


@dataclass
class StreetSim:
    """The street's physics and its nodes' reports (no bus unless :meth:`publish`)."""

    config: OrchestratorConfig = field(default_factory=streetgrid_config)
    seed: int = 0
    faults: dict[int, Fault] = field(default_factory=dict)
    """House index → fault."""
    fault_from_s: float = 0.0
    pv_factor: float = 0.8
    """PV output over rating."""
    anchor_soc_pct: float = 90.0
    grid_ok: bool = True

    def __post_init__(self) -> None:
        cfg = self.config
        n = len(cfg.houses)
        k = max(len(h.circuits_kw) for h in cfg.houses)
        self.rng = np.random.default_rng(self.seed)
        self.fault_rng = np.random.default_rng(self.seed + 1000)
        self.demand_kw = np.zeros((n, k))
        for i, h in enumerate(cfg.houses):
            self.demand_kw[i, : len(h.circuits_kw)] = h.circuits_kw
        self.closed = np.ones((n, k), bool)
        self.pv_kw = np.array([h.pv_kw for h in cfg.houses])
        self.soc_pct = np.where([h.battery_kwh > 0 for h in cfg.houses], 60.0, 0.0)
        self.extra_kw = np.zeros(n)
        """Load steps scripted by a test (an EV plugged in) [kW]."""
        self._frozen: dict[int, tuple[float, float, float, float]] = {}
        self.critical_opened = 0
        """OPEN commands received for a critical circuit."""

    @property
    def n(self) -> int:
        return len(self.config.houses)

    def true_p_kw(self) -> np.ndarray:
        load = (self.demand_kw * self.closed).sum(axis=1) + self.extra_kw
        p: np.ndarray = load - self.pv_factor * self.pv_kw + self.rng.normal(0.0, 0.02, self.n)
        return p

    def round(self, t_s: float) -> tuple[Reports, Reports, float, float]:
        """One round: (what the nodes report, the truth, anchor p [kW], grid p [kW])."""
        p = self.true_p_kw()
        v_v = 121.0 - 0.1 * p + self.rng.normal(0.0, 0.05, self.n)
        f_common = 60.0 if self.grid_ok else 59.98
        f_hz = f_common + self.rng.normal(0.0, 0.002, self.n)
        soc = self.soc_pct.copy()
        truth = Reports(soc_pct=soc.copy(), p_kw=p.copy(), v_pu=v_v / 120.0, f_hz=f_hz.copy())
        if t_s >= self.fault_from_s:
            for i, fault in self.faults.items():
                if fault is Fault.STUCK:
                    frozen = self._frozen.setdefault(i, (soc[i], p[i], v_v[i], f_hz[i]))
                    soc[i], p[i], v_v[i], f_hz[i] = frozen
                elif fault is Fault.RANDOM:
                    r = self.fault_rng
                    soc[i] = r.uniform(0.0, 100.0)
                    p[i] = r.uniform(-5.0, 15.0)
                    v_v[i] = r.uniform(100.0, 140.0)
                    f_hz[i] = r.uniform(59.5, 60.5)
                else:
                    p[i] += LIE_KW
        supply = LOSSES * float(truth.p_kw.sum()) + 0.1
        anchor_p, grid_p = (0.0, supply) if self.grid_ok else (supply, 0.0)
        return Reports(soc, p, v_v / 120.0, f_hz), truth, anchor_p, grid_p

    # -- on a bus -----------------------------------------------------------------
    def attach(self, bus: InMemoryBus, feeder_id: str) -> list[Command]:
        """Follow the relay commands sent on ``bus``; return the list they are kept in."""
        commands: list[Command] = []

        def on_command(message: object) -> None:
            command = decode(message.payload, Command)  # type: ignore[attr-defined]
            commands.append(command)
            house, _, circuit = command.asset.partition(".")
            i = [h.asset for h in self.config.houses].index(house)
            c = int(circuit[1:])
            if c == 0 and command.action == "open":
                self.critical_opened += 1
            self.closed[i, c] = command.action == "close"

        bus.subscribe(f"feeder/{feeder_id}/commands/+", on_command)
        return commands

    def publish(self, bus: InMemoryBus, feeder_id: str, clock: SimulatedClock) -> Reports:
        """Publish one round's measurements; return the truth."""
        reports, truth, anchor_p, grid_p = self.round(clock.monotonic_s())
        ts = clock.now()

        def send(asset: str, quantity: str, value: float, unit: str) -> None:
            m = Measurement(ts=ts, asset=asset, quantity=quantity, value=value, unit=unit)
            bus.publish(f"feeder/{feeder_id}/measurements/{asset}", encode(m))

        for i, h in enumerate(self.config.houses):
            send(h.asset, "soc_pct", float(reports.soc_pct[i]), "%")
            send(h.asset, "p_kw", float(reports.p_kw[i]), "kW")
            send(h.asset, "v_v", float(reports.v_pu[i] * 120.0), "V")
            send(h.asset, "f_hz", float(reports.f_hz[i]), "Hz")
            send(h.asset, "pv_forecast_kw", float(self.pv_factor * self.pv_kw[i]), "kW")
        send("anchor", "p_kw", anchor_p, "kW")
        send("anchor", "soc_pct", self.anchor_soc_pct, "%")
        send("anchor", "f_hz", 60.0 if self.grid_ok else 59.98, "Hz")
        send("grid", "grid_ok", 1.0 if self.grid_ok else 0.0, "")
        send("grid", "p_kw", grid_p, "kW")
        return truth
