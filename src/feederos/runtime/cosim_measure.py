"""Twin → measurements: what the twin's meters read at a solved step.

For each asset id (:mod:`feederos.runtime.cosim_apply`) the quantities, named from the
glossary (``docs/nomenclature.md``), DER powers generation-positive:

=================  ==========================================================
``<bus>``          ``v_pu`` per phase (a, b, c) [pu]
``inverter.<n>``   ``p_kw`` [kW], ``q_kvar`` [kvar] delivered, ``p_limit_pct`` in
                   force [%], ``v_pu`` per phase at its terminal [pu]
``regulator.<n>``  ``tap`` [step]
``capacitor.<n>``  ``steps_in`` [step]
``switch.<n>``     ``open`` (1 open, 0 closed)
``load.<n>``       ``p_kw`` [kW], ``q_kvar`` [kvar] drawn
=================  ==========================================================

Examples
--------
>>> from datetime import datetime, UTC
>>> from feederos.feeders import load_feeder
>>> from feederos.powerflow import solve
>>> from feederos.runtime.cosim_apply import AssetCatalogue, Setpoints
>>> net = load_feeder("ieee13")
>>> meter = Meter(AssetCatalogue.of(net))
>>> ms = meter.read("675", solve(net), Setpoints(), datetime(2026, 6, 1, tzinfo=UTC))
>>> [(m.quantity, m.phase.value, round(m.value, 3)) for m in ms]
[('v_pu', 'a', 0.976), ('v_pu', 'b', 1.043), ('v_pu', 'c', 0.963)]
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from feederos.powerflow.controls import tap_number
from feederos.powerflow.result import PowerFlowResult
from feederos.runtime.cosim_apply import AssetCatalogue, AssetKind, Setpoints
from feederos.runtime.messages import Measurement, Phase

__all__ = ["Meter"]

_PHASE = {1: Phase.A, 2: Phase.B, 3: Phase.C}


class Meter:
    """Reads assets' measurements off a solved step (see the module docstring)."""

    def __init__(self, assets: AssetCatalogue) -> None:
        self.assets = assets
        self._nodes: dict[tuple[str, int], int] | None = None
        self._powers: tuple[PowerFlowResult, dict[str, tuple[float, float]]] | None = None

    def read(
        self, asset: str, result: PowerFlowResult, setpoints: Setpoints, ts: datetime
    ) -> list[Measurement]:
        """``asset``'s measurements at ``result``, stamped ``ts``; none for an unknown id."""
        kind = self.assets.kind(asset)
        if kind is None:
            return []
        name = self.assets.name(asset)

        def m(quantity: str, value: float, unit: str, phase: Phase | None = None) -> Measurement:
            return Measurement(
                ts=ts, asset=asset, quantity=quantity, phase=phase, value=float(value), unit=unit
            )

        match kind:
            case AssetKind.BUS:
                return [m("v_pu", v, "pu", ph) for ph, v in self._bus_v_pu(result, name, ())]
            case AssetKind.INVERTER:
                inv = self.assets.inverter(asset)
                p_kw, q_kvar = self.power(result, f"inverter.{name}")
                nodes = tuple(inv.terminal.nodes) or tuple(range(1, inv.phases + 1))
                return [
                    m("p_kw", -p_kw, "kW"),
                    m("q_kvar", -q_kvar, "kvar"),
                    m("p_limit_pct", setpoints.p_limit_pct.get(asset, 100.0), "%"),
                    *(
                        m("v_pu", v, "pu", ph)
                        for ph, v in self._bus_v_pu(result, inv.terminal.bus, nodes)
                    ),
                ]
            case AssetKind.REGULATOR:
                reg, winding, w = self.assets.regulator(asset)
                tap = tap_number(
                    result.compiled.tap_pu[reg.transformer][w],
                    winding.min_tap_pu,
                    winding.max_tap_pu,
                    winding.tap_step_pu,
                )
                return [m("tap", tap, "step")]
            case AssetKind.CAPACITOR:
                return [m("steps_in", sum(result.compiled.capacitor_states[name]), "step")]
            case AssetKind.SWITCH:
                sw = next(s for s in result.compiled.network.switches if s.name == name)
                return [m("open", 1.0 if sw.open else 0.0, "-")]
            case AssetKind.LOAD:
                p_kw, q_kvar = self.power(result, f"load.{name}")
                return [m("p_kw", p_kw, "kW"), m("q_kvar", q_kvar, "kvar")]
        return []  # pragma: no cover - every kind is matched above

    def _bus_v_pu(
        self, result: PowerFlowResult, bus: str, nodes: tuple[int, ...]
    ) -> list[tuple[Phase, float]]:
        """Phase voltages of ``bus`` (its ``nodes`` only, if given) [pu]."""
        if self._nodes is None:
            idx = result.compiled.nodes
            self._nodes = {
                (idx.buses[int(b)], int(n)): i
                for i, (b, n) in enumerate(zip(idx.bus, idx.node, strict=True))
            }
        v_pu = result.v_pu
        out = []
        for node in nodes or (1, 2, 3):
            i = self._nodes.get((bus, node))
            if i is not None and node in _PHASE and np.isfinite(v_pu[i]):
                out.append((_PHASE[node], float(v_pu[i])))
        return out

    def power(self, result: PowerFlowResult, element: str) -> tuple[float, float]:
        """``element``'s drawn power at ``result`` [kW, kvar], from its injections table."""
        if self._powers is None or self._powers[0] is not result:
            t = result.injections
            self._powers = (
                result,
                {
                    e: (float(p), float(q))
                    for e, p, q in zip(t.element, t.p_kw, t.q_kvar, strict=True)
                },
            )
        return self._powers[1].get(element, (float("nan"), float("nan")))
