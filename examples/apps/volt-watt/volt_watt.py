"""Volt-watt: cap DER active power as the voltage rises, per IEEE Std 1547-2018.

IEEE Std 1547-2018, clause 5.4.2 ("Voltage-active power mode"), Table 10 (default
settings, Category A and B): the DER's active power is limited to ``P1`` (its rating) at
or below ``V1 = 1.06 pu`` and falls linearly to ``P2`` at ``V2 = 1.10 pu`` and above,
``P2`` being 20 % of rating (the lesser of 0.2 Prated and Pmin) for a DER that cannot
absorb active power and 0 % for one that can. ``V1`` may be set in 1.05-1.09 pu and
``V2`` in ``V1 + 0.02`` - 1.10 pu.

The app watches, per DER, the ``v_pu`` measurements of an asset (a bus, or the DER's
own terminal), keeps the latest good value of each phase, and once a second works out
the limit at the highest (or mean) phase voltage. It sends
``set_p_limit_pct`` to the DER when the limit moved by at least ``deadband_pct`` from
the last one sent (a return to ``P1`` is always sent), never sooner than
``min_interval_s`` after its last command to that DER, each lapsing after
``expires_s``. It raises a warning event when it starts curtailing a DER and an info
event when it releases it. It uses only the app SDK: no transport, no twin.

Examples
--------
>>> curve_pct(1.08, v1_pu=1.06, p1_pct=100.0, v2_pu=1.10, p2_pct=20.0)
60.0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from feederos.runtime.app import App, on_timer
from feederos.runtime.messages import Action, Measurement, Quality, Severity

DEFAULTS: dict[str, Any] = {
    "v1_pu": 1.06,
    "p1_pct": 100.0,
    "v2_pu": 1.10,
    "p2_pct": 20.0,
    "phases": "max",
    "deadband_pct": 2.0,
    "min_interval_s": 60.0,
    "expires_s": 1800.0,
}
"""The config's defaults, as ``config.schema.json`` declares them."""

EVALUATE_EVERY_S = 1.0
"""How often the limits are worked out [s]: well inside 1547-2018's 10 s default
open-loop response time."""


def curve_pct(v_pu: float, *, v1_pu: float, p1_pct: float, v2_pu: float, p2_pct: float) -> float:
    """The volt-watt limit at ``v_pu`` [% of rating]: ``p1_pct`` up to ``v1_pu``,
    linear to ``p2_pct`` at ``v2_pu``, ``p2_pct`` above (IEEE 1547-2018, Table 10)."""
    if v_pu <= v1_pu:
        return p1_pct
    if v_pu >= v2_pu:
        return p2_pct
    return p1_pct + (p2_pct - p1_pct) * (v_pu - v1_pu) / (v2_pu - v1_pu)


@dataclass
class _Der:
    asset: str
    watch: str
    phases: dict[str, float] = field(default_factory=dict)
    """Latest good v_pu of each phase of the watched asset [pu]."""
    seen: datetime | None = None
    sent_pct: float = 100.0
    sent_at_s: float | None = None


class VoltWatt(App):
    """The volt-watt controller (see the module docstring)."""

    def on_start(self) -> None:
        self._configure(self.ctx.config)

    def on_config(self, config: Mapping[str, Any]) -> None:
        self._configure(config)

    def _configure(self, config: Mapping[str, Any]) -> None:
        c = {**DEFAULTS, **config}
        if c["v2_pu"] < c["v1_pu"] + 0.02 - 1e-12:
            raise ValueError(
                f"volt-watt config: v2_pu={c['v2_pu']} must be at least "
                f"v1_pu + 0.02 = {c['v1_pu'] + 0.02:.2f} (IEEE 1547-2018 Table 10)"
            )
        if not c.get("ders"):
            raise ValueError("volt-watt config: 'ders' is empty; list the DER to control")
        self.settings = c
        old = getattr(self, "ders", {})
        self.ders: dict[str, _Der] = {}
        for entry in c["ders"]:
            asset = entry["asset"]
            der = old.get(asset) or _Der(asset, entry.get("watch", asset))
            der.watch = entry.get("watch", asset)
            self.ders[asset] = der
            self.ctx.watch(der.watch)
        self.ctx.log.info(
            "volt-watt configured",
            ders=sorted(self.ders),
            v1_pu=c["v1_pu"],
            v2_pu=c["v2_pu"],
            p2_pct=c["p2_pct"],
        )

    def on_measurement(self, measurement: Measurement) -> None:
        if measurement.quantity != "v_pu" or measurement.quality is not Quality.GOOD:
            return
        phase = measurement.phase.value if measurement.phase is not None else "-"
        for der in self.ders.values():
            if der.watch == measurement.asset:
                der.phases[phase] = measurement.value
                der.seen = measurement.ts

    @on_timer(every=EVALUATE_EVERY_S)
    def evaluate(self) -> None:
        """Work out each DER's limit and command it where it moved enough."""
        c = self.settings
        now_s = self.ctx.clock.monotonic_s()
        for der in self.ders.values():
            if not der.phases:
                continue
            values = list(der.phases.values())
            v_pu = max(values) if c["phases"] == "max" else sum(values) / len(values)
            limit = round(
                curve_pct(
                    v_pu, v1_pu=c["v1_pu"], p1_pct=c["p1_pct"], v2_pu=c["v2_pu"], p2_pct=c["p2_pct"]
                ),
                1,
            )
            release = limit == c["p1_pct"] and der.sent_pct != c["p1_pct"]
            if limit == der.sent_pct or (
                not release and abs(limit - der.sent_pct) < c["deadband_pct"]
            ):
                continue
            if der.sent_at_s is not None and now_s - der.sent_at_s < c["min_interval_s"]:
                continue
            self.ctx.command(der.asset, Action.SET_P_LIMIT_PCT, limit, expires_s=c["expires_s"])
            self.ctx.log.info("p limit sent", der=der.asset, v_pu=round(v_pu, 4), limit_pct=limit)
            if der.sent_pct == c["p1_pct"] and limit < c["p1_pct"]:
                self.ctx.event(
                    Severity.WARNING,
                    f"volt-watt curtails {der.asset} to {limit} % at {v_pu:.4f} pu",
                    der=der.asset,
                    v_pu=v_pu,
                    limit_pct=limit,
                )
            elif release:
                self.ctx.event(
                    Severity.INFO,
                    f"volt-watt releases {der.asset} at {v_pu:.4f} pu",
                    der=der.asset,
                    v_pu=v_pu,
                )
            der.sent_pct, der.sent_at_s = limit, now_s
