"""``feederos timeseries``: step a feeder or a .dss scenario through time.

``feederos timeseries ../shared/feeders/scenarios/ieee123_yearly.dss --out runs/123``
runs the scenario as written (its ``Set mode=yearly number=8760 stepsize=1h``) and
prints the run's totals (:meth:`~feederos.timeseries.TimeSeriesResult.summary`). With
``--out DIR`` it writes, per step, ``steps.csv`` (source power, losses, voltage range,
iterations), ``taps.csv`` (regulator taps) and ``capacitors.csv`` (capacitor steps in
service), ``soc.csv`` (each battery's state of charge [%], if there are batteries),
plus ``summary.json``; with ``--record-bus BUS`` and ``--record-element
Line.NAME`` (each repeatable) also ``voltages.csv`` (each phase node of those buses
[pu]), ``currents.csv`` (each element's largest terminal-1 phase current [A]) and
``loadings.csv`` (that over its normal rating [pu]). With ``--parquet`` the run streams
every one of these to ``DIR/*.parquet`` as it goes, a window of steps at a time, and
holds no more than a window of the recorded values (a long run on a large feeder; one
cut into segments on ``--workers`` threads holds at most
:data:`~feederos.timeseries.run.PARALLEL_MEMORY_BYTES` of them). A feeder that cannot
be read, or a record naming what it lacks, exits with status 2; a run with a step that
did not converge reports it and exits with status 1.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from feederos.cli._load import open_network_noting
from feederos.errors import FeederosError
from feederos.model.settings import SolveMode

__all__ = ["timeseries_command"]

console = Console()
err_console = Console(stderr=True)


def timeseries_command(
    feeder: Annotated[str, typer.Argument(
        help="A .dss scenario or feeder, a JSON/YAML network or a built-in.")],
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write steps.csv, taps.csv, capacitors.csv and summary.json here.")] = None,
    steps: Annotated[int | None, typer.Option(
        min=1, help="Number of steps (default: the scenario's 'number').")] = None,
    step_s: Annotated[float | None, typer.Option(
        "--step-s", min=1e-3, help="Step length [s] (default: the scenario's).")] = None,
    mode: Annotated[SolveMode | None, typer.Option(
        help="yearly or daily (default: the scenario's mode).")] = None,
    controls: Annotated[bool, typer.Option(
        "--controls/--no-controls", help="Let regulators and capacitors act.")] = True,
    record_bus: Annotated[list[str] | None, typer.Option(
        "--record-bus", help="Record this bus's phase voltages at every step "
                             "(repeatable).")] = None,
    record_element: Annotated[list[str] | None, typer.Option(
        "--record-element", help="Record this element's current and loading at every "
                                 "step, as class.name, e.g. Line.650632 (repeatable).")] = None,
    parquet: Annotated[bool, typer.Option(
        "--parquet", help="Stream the frames to Parquet files in --out as the run goes, "
                          "instead of writing CSV at the end.")] = False,
    workers: Annotated[int, typer.Option(
        min=1, help="Threads that solve segments of a long series at once "
                    "(1: one after another).")] = 2,
) -> None:
    """Run a quasi-static time series and print its totals."""
    from feederos.timeseries import Record, run  # the solver stack loads only when used

    if parquet and out is None:
        err_console.print("[bold red]error:[/] --parquet streams into --out DIR; give one")
        raise typer.Exit(2)
    try:
        network = open_network_noting(feeder, console, err_console)
        t0 = time.perf_counter()
        with console.status("stepping"):
            result = run(network, steps=steps, step_s=step_s, mode=mode,
                         controls=controls, record=Record(buses=tuple(record_bus or ()),
                                                          elements=tuple(record_element or ())),
                         out=out if parquet else None, workers=workers)
        seconds = time.perf_counter() - t0
    except (FeederosError, ValueError) as exc:
        err_console.print(f"[bold red]error:[/] {feeder}: {exc}", highlight=False,
                          soft_wrap=True)
        raise typer.Exit(2) from None
    summary = {**result.summary(), "seconds": seconds}
    table = Table(title=f"{network.name}: {summary['steps']} steps of "
                        f"{summary['step_h']:g} h in {seconds:.2f} s")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        table.add_row(key, f"{value:,.6g}" if isinstance(value, float) else str(value))
    console.print(table)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        if not parquet:
            result.steps.to_csv(out / "steps.csv", index_label="step")
            result.taps.to_csv(out / "taps.csv", index_label="step")
            result.capacitors.to_csv(out / "capacitors.csv", index_label="step")
            if len(result.soc_pct.columns):
                result.soc_pct.to_csv(out / "soc.csv", index_label="step")
            if record_bus:
                result.voltages_pu.to_csv(out / "voltages.csv", index_label="step")
            if record_element:
                result.currents_a.to_csv(out / "currents.csv", index_label="step")
                result.loadings_pu.to_csv(out / "loadings.csv", index_label="step")
        strict = {k: None if isinstance(v, float) and math.isnan(v) else v  # JSON has no NaN
                  for k, v in summary.items()}
        (out / "summary.json").write_text(json.dumps(strict, indent=1) + "\n", encoding="utf-8")
        err_console.print(f"[green]wrote[/] {out}")
    if summary["steps_not_converged"]:
        err_console.print(f"[bold red]error:[/] {summary['steps_not_converged']} steps did not "
                          "converge (see the steps' column converged)")
        raise typer.Exit(1)
