"""``feederos microgrid``: run the StreetGrid microgrid twin.

``feederos microgrid run scenarios/grid_failure.json --out runs/gf`` runs the scenario
(:func:`feederos.microgrid.run_scenario`), prints its report — critical load served,
energy not served, frequency range, minimum SOC, sheds and restores, voltages, cable
loading, isolation — and with ``--out DIR`` writes ``frequency.png``, ``soc.png``,
``load.png``, ``report.html`` (self-contained) and ``summary.json``. A scenario that
cannot be read exits with status 2; a run that broke a limit (frequency outside
59.3–60.5 Hz, a voltage outside ANSI range B, back-feed while islanded, a power flow that
did not converge) prints it and exits with status 1.

``--controller orchestrator`` replaces the houses' local shed rule by the StreetGrid
orchestrator app on the runtime's in-memory bus
(:class:`feederos.microgrid.orchestrated.OrchestratedController`), fed every
``--every-s`` seconds; the report then also lists the app's state changes, its commands
and the nodes it flagged.
"""

from __future__ import annotations

import json
import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from feederos.errors import FeederosError

__all__ = ["app"]

app = typer.Typer(
    name="microgrid",
    help="StreetGrid microgrid twin: island a street of houses around a grid-forming battery.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


class Controller(StrEnum):
    """Who sheds and restores circuits in the island."""

    LOCAL = "local"
    ORCHESTRATOR = "orchestrator"


F_LIMITS_HZ = (59.3, 60.5)
"""Frequency band the island must keep [Hz]."""


def limit_breaches(summary: dict[str, Any]) -> list[str]:
    """What a run's summary shows outside its limits (empty if nothing).

    Examples
    --------
    >>> limit_breaches({"f_min_hz": 59.2, "f_max_hz": 60.1})
    ['frequency 59.200–60.100 Hz leaves 59.3–60.5 Hz']
    """
    out = []
    lo, hi = summary["f_min_hz"], summary["f_max_hz"]
    if not (math.isnan(lo) or F_LIMITS_HZ[0] <= lo <= hi <= F_LIMITS_HZ[1]):
        out.append(f"frequency {lo:.3f}–{hi:.3f} Hz leaves {F_LIMITS_HZ[0]}–{F_LIMITS_HZ[1]} Hz")
    for key, what in (
        ("range_b_violations", "steps with a voltage outside ANSI range B"),
        ("isolation_violations", "islanded steps with back-feed"),
        ("not_converged", "power flows that did not converge"),
    ):
        if summary.get(key):
            out.append(f"{summary[key]} {what}")
    return out


@app.callback()
def microgrid() -> None:
    """StreetGrid microgrid twin: island a street of houses around a grid-forming battery."""


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities as ``None`` (JSON has no NaN)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@app.command("run")
def run_command(
    scenario: Annotated[
        Path, typer.Argument(help="A scenario JSON file, e.g. scenarios/grid_failure.json.")
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the plots, report.html and summary.json here."),
    ] = None,
    power_flow: Annotated[
        bool,
        typer.Option(
            "--power-flow/--no-power-flow",
            help="Solve the street's voltages, loading and isolation at every step.",
        ),
    ] = True,
    controller: Annotated[
        Controller,
        typer.Option(
            "--controller",
            help="local: each house's shed rule; orchestrator: the StreetGrid app on the bus.",
        ),
    ] = Controller.LOCAL,
    every_s: Annotated[
        float,
        typer.Option(
            "--every-s",
            min=1.0,
            help="With the orchestrator: period of the measurements it gets [s].",
        ),
    ] = 10.0,
) -> None:
    """Run a microgrid scenario and print its report."""
    from feederos.microgrid import read_scenario, run_scenario
    from feederos.microgrid.orchestrated import OrchestratedController

    orchestrated: OrchestratedController | None = None
    try:
        s = read_scenario(scenario)
        if controller is Controller.ORCHESTRATOR:
            orchestrated = OrchestratedController(s, every_s=every_s)
        with console.status(f"running {s.name} ({s.steps} steps)"):
            result = run_scenario(s, controller=orchestrated, power_flow=power_flow)
    except FeederosError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    finally:
        if orchestrated is not None:
            orchestrated.close()
    console.print(result.report(), markup=False, highlight=False, soft_wrap=True)
    if orchestrated is not None:
        opens = sum(c.action == "open" for _, c in orchestrated.commands)
        lines = [
            f"orchestrator states: {' -> '.join(orchestrated.states) or 'grid_connected'}",
            f"orchestrator commands: {opens} open, {len(orchestrated.commands) - opens} close",
            f"nodes flagged: {', '.join(sorted(orchestrated.app.flagged)) or 'none'}",
        ]
        console.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)
    summary = result.summary()
    if out is not None:
        files = result.plot(out)
        (out / "summary.json").write_text(
            json.dumps(_finite(summary), indent=2) + "\n", encoding="utf-8"
        )
        console.print(
            f"wrote {', '.join(f.name for f in files)}, summary.json to {out}",
            highlight=False,
            soft_wrap=True,
        )
    breaches = limit_breaches(summary)
    for b in breaches:
        err_console.print(f"[bold red]limit:[/] {b}", highlight=False, soft_wrap=True)
    if breaches:
        raise typer.Exit(1)
