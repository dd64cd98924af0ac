"""What a microgrid run produced: per-step arrays, a summary, a report and plots.

Examples
--------
>>> SwitchEvent(3600.0, "house03.c1", "shed")
SwitchEvent(t_s=3600.0, circuit='house03.c1', action='shed')
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import numpy.typing as npt

from feederos.microgrid.scenario import Scenario
from feederos.microgrid.street_flow import RANGE_B_PU, StreetFlow

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["MicrogridResult", "SwitchEvent"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

PLOTS = ("frequency.png", "soc.png", "load.png")
"""Files :meth:`MicrogridResult.plot` writes, besides ``report.html``."""


class SwitchEvent(NamedTuple):
    """A circuit shed or restored."""

    t_s: float
    circuit: str
    action: str


@dataclass(frozen=True)
class MicrogridResult:
    """Per-step record of a run (``t_s`` and every ``*_w`` array: one value per step).

    ``mode`` is 0 connected, -1 dark (black start), 1 islanded. Powers are street totals
    [W]; ``f_hz`` is NaN while the street is dark; ``soc_pct`` is ``(steps, batteries)``
    for the home batteries named in ``battery_names``.
    """

    scenario: Scenario
    t_s: FloatArray
    mode: IntArray
    f_hz: FloatArray
    soc_anchor_pct: FloatArray
    battery_names: tuple[str, ...]
    soc_pct: FloatArray
    critical_demand_w: FloatArray
    critical_served_w: FloatArray
    noncritical_demand_w: FloatArray
    noncritical_served_w: FloatArray
    ev_demand_w: FloatArray
    ev_served_w: FloatArray
    pv_w: FloatArray
    pv_available_w: FloatArray
    p_anchor_w: FloatArray
    shortfall_w: FloatArray
    surplus_w: FloatArray
    ev_undelivered_kwh: float
    events: tuple[SwitchEvent, ...]
    flow: StreetFlow | None
    simulate_s: float
    run_s: float

    def summary(self) -> dict[str, Any]:
        """The run's figures of merit (all over the outage unless named otherwise).

        ``critical_served_pct``: critical energy served over demanded, dark black-start
        seconds included. ``critical_served_above_reserve_pct``: the same over the
        energised island steps with the anchor above its reserve — "while stored energy
        allows". ``energy_not_served_kwh``: critical and non-critical load not served plus
        EV energy still missing at departure. Voltages, loading and isolation come from
        the power flow (absent without one).
        """
        dt_h = self.scenario.step_s / 3600.0
        out = self.mode != 0
        island = self.mode == 1
        anchor = self.scenario.anchor
        above = island & (self.soc_anchor_pct > anchor.reserve_pct)
        crit_d = float(self.critical_demand_w[out].sum())
        crit_s = float(self.critical_served_w[out].sum())
        crit_d_above = float(self.critical_demand_w[above].sum())
        crit_s_above = float(self.critical_served_w[above].sum())
        ens_wh = (
            crit_d
            - crit_s
            + float(self.noncritical_demand_w[out].sum() - self.noncritical_served_w[out].sum())
        ) * dt_h
        f = self.f_hz[island]
        s: dict[str, Any] = {
            "scenario": self.scenario.name,
            "topology": self.scenario.topology.value,
            "steps": int(self.t_s.size),
            "islanded_h": float(island.sum() * dt_h),
            "dark_s": float((self.mode == -1).sum() * self.scenario.step_s),
            "f_min_hz": float(f.min()) if f.size else float("nan"),
            "f_max_hz": float(f.max()) if f.size else float("nan"),
            "critical_served_pct": 100.0 * crit_s / crit_d if crit_d else 100.0,
            "critical_served_above_reserve_pct": 100.0 * crit_s_above / crit_d_above
            if crit_d_above
            else 100.0,
            "energy_not_served_kwh": ens_wh / 1000.0 + self.ev_undelivered_kwh,
            "ev_undelivered_kwh": self.ev_undelivered_kwh,
            "pv_curtailed_kwh": float(
                (self.pv_available_w - self.pv_w)[island].sum() * dt_h / 1000.0
            ),
            "soc_anchor_min_pct": float(self.soc_anchor_pct.min()),
            "soc_battery_min_pct": {
                n: float(self.soc_pct[:, j].min()) for j, n in enumerate(self.battery_names)
            },
            "sheds": sum(e.action == "shed" for e in self.events),
            "restores": sum(e.action == "restore" for e in self.events),
            "anchor_shortfall_s": float((self.shortfall_w > 0).sum() * self.scenario.step_s),
            "anchor_surplus_s": float((self.surplus_w > 0).sum() * self.scenario.step_s),
            "simulate_s": self.simulate_s,
            "run_s": self.run_s,
        }
        if self.flow is not None:
            fl = self.flow
            v = fl.v_house_pu
            s |= {
                "power_flows": int(fl.solved_steps.size),
                "power_flow_s": fl.solve_s,
                "v_min_pu": float(np.nanmin(v)),
                "v_max_pu": float(np.nanmax(v)),
                "range_b_violations": int(
                    ((v < RANGE_B_PU[0]) | (v > RANGE_B_PU[1])).any(axis=(1, 2)).sum()
                ),
                "loading_max_pu": float(np.nanmax(fl.loading_max_pu)),
                "isolation_violations": int((~fl.isolated).sum()),
                "backfeed_v_max": float(np.nanmax(fl.backfeed_v))
                if np.isfinite(fl.backfeed_v).any()
                else 0.0,
                "not_converged": int((~fl.converged).sum()),
            }
        return s

    def report(self) -> str:
        """The summary as text, one figure a line."""
        s = self.summary()
        lines = [
            f"StreetGrid microgrid run: {s['scenario']} ({s['topology']}), "
            f"{s['steps']} steps, islanded {s['islanded_h']:.2f} h, "
            f"dark {s['dark_s']:.0f} s at black start"
        ]
        for label, value in _rows(s):
            lines.append(f"  {label:<38} {value}")
        return "\n".join(lines)

    def plot(self, out_dir: str | Path) -> list[Path]:
        """Write ``frequency.png``, ``soc.png``, ``load.png`` and a self-contained
        ``report.html`` (the PNGs embedded, the summary table) into ``out_dir``."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        t_h = self.t_s / 3600.0
        files: list[Path] = []

        def save(name: str, draw: Any) -> None:
            fig, ax = plt.subplots(figsize=(10, 4))
            draw(ax)
            self._outage(ax)
            ax.set_xlabel("time [h]")
            ax.grid(alpha=0.3)
            ax.legend(loc="best", fontsize=8)
            fig.tight_layout()
            fig.savefig(out / name, dpi=100)
            plt.close(fig)
            files.append(out / name)

        def freq(ax: Axes) -> None:
            ax.plot(t_h, self.f_hz, lw=0.8, label="frequency")
            ax.axhline(59.3, color="r", ls=":", lw=0.8, label="59.3 / 60.5 Hz")
            ax.axhline(60.5, color="r", ls=":", lw=0.8)
            ax.set_ylabel("f [Hz]")

        def soc(ax: Axes) -> None:
            ax.plot(t_h, self.soc_anchor_pct, lw=1.2, label="anchor")
            for j, name in enumerate(self.battery_names):
                ax.plot(t_h, self.soc_pct[:, j], lw=0.8, label=name)
            ax.axhline(
                self.scenario.anchor.reserve_pct, color="k", ls=":", lw=0.8, label="anchor reserve"
            )
            ax.set_ylabel("SOC [%]")

        def load(ax: Axes) -> None:
            kw = 1e-3
            ax.plot(t_h, self.critical_demand_w * kw, lw=0.8, label="critical demanded")
            ax.plot(t_h, self.critical_served_w * kw, lw=0.8, ls="--", label="critical served")
            ax.plot(
                t_h,
                (self.noncritical_demand_w + self.ev_demand_w) * kw,
                lw=0.8,
                label="non-critical + EV demanded",
            )
            ax.plot(
                t_h,
                (self.noncritical_served_w + self.ev_served_w) * kw,
                lw=0.8,
                ls="--",
                label="non-critical + EV served",
            )
            ax.plot(t_h, self.pv_w * kw, lw=0.8, label="PV")
            ax.set_ylabel("P [kW]")

        save("frequency.png", freq)
        save("soc.png", soc)
        save("load.png", load)
        files.append(self._html(out, files))
        return files

    def _outage(self, ax: Axes) -> None:
        out = np.flatnonzero(self.mode != 0)
        if out.size:
            ax.axvspan(
                self.t_s[out[0]] / 3600.0,
                self.t_s[out[-1]] / 3600.0,
                color="0.9",
                zorder=0,
                label="outage (islanded)",
            )

    def _html(self, out: Path, pngs: list[Path]) -> Path:
        s = self.summary()
        rows = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in _rows(s)
        )
        imgs = "".join(
            f'<h2>{p.stem}</h2><img alt="{p.stem}" src="data:image/png;base64,'
            f'{base64.b64encode(p.read_bytes()).decode()}">'
            for p in pngs
        )
        title = html.escape(f"StreetGrid: {s['scenario']} ({s['topology']})")
        page = (
            f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>"
            "<style>body{font-family:sans-serif;max-width:1040px;margin:auto}"
            "th{text-align:left;padding-right:2em}</style></head><body>"
            f"<h1>{title}</h1><table>{rows}</table>{imgs}</body></html>"
        )
        path = out / "report.html"
        path.write_text(page, encoding="utf-8")
        return path


def _rows(s: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [
        ("frequency range (islanded) [Hz]", f"{s['f_min_hz']:.3f} – {s['f_max_hz']:.3f}"),
        ("critical load served [%]", f"{s['critical_served_pct']:.3f}"),
        ("critical served, anchor > reserve [%]", f"{s['critical_served_above_reserve_pct']:.3f}"),
        ("energy not served [kWh]", f"{s['energy_not_served_kwh']:.2f}"),
        ("  of which EV energy missed [kWh]", f"{s['ev_undelivered_kwh']:.2f}"),
        ("PV curtailed while islanded [kWh]", f"{s['pv_curtailed_kwh']:.2f}"),
        ("anchor minimum SOC [%]", f"{s['soc_anchor_min_pct']:.1f}"),
        (
            "home batteries minimum SOC [%]",
            ", ".join(f"{k} {v:.1f}" for k, v in s["soc_battery_min_pct"].items()) or "-",
        ),
        ("sheds / restores", f"{s['sheds']} / {s['restores']}"),
        (
            "anchor at a limit: short / surplus [s]",
            f"{s['anchor_shortfall_s']:.0f} / {s['anchor_surplus_s']:.0f}",
        ),
    ]
    if "v_min_pu" in s:
        rows += [
            ("house voltage range [pu of 120 V]", f"{s['v_min_pu']:.4f} – {s['v_max_pu']:.4f}"),
            ("steps outside ANSI C84.1 range B", str(s["range_b_violations"])),
            ("largest cable loading [pu]", f"{s['loading_max_pu']:.3f}"),
            ("isolation violations (back-feed)", str(s["isolation_violations"])),
            ("power flows solved / not converged", f"{s['power_flows']} / {s['not_converged']}"),
        ]
    rows.append(("run time [s]", f"{s['run_s']:.1f}"))
    return rows
