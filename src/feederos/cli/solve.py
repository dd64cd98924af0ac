"""``feederos solve``: run a power flow and print or save its result.

Output formats (``--format``):

- ``table`` (default) — a summary (convergence, source power, losses, voltage range,
  regulator taps, capacitor states, violations) and the node voltages, with rich;
- ``csv`` — the node voltages, exactly the columns ``bus,node,v_volts,angle_deg,v_pu``
  (buses in lower case, ``node`` the OpenDSS node number), the layout of the OpenDSS
  reference files;
- ``json`` — the document of :mod:`feederos.powerflow.result_document` (summary,
  voltages, branches, violations; NaN as ``null``; units in the key names).

``--out PATH`` writes the output to a file instead of the terminal. A solution that does
not converge is still reported, then the command exits with status 1; a feeder that
cannot be read or solved exits with status 2.
"""

from __future__ import annotations

import json
import math
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from feederos.cli._load import open_network_noting
from feederos.errors import FeederosError
from feederos.powerflow.result import PowerFlowResult
from feederos.powerflow.result_document import result_document
from feederos.powerflow.solve import Method

__all__ = ["OutputFormat", "solve_command"]

console = Console()
err_console = Console(stderr=True)

_MAX_TABLE_ROWS = 60


class OutputFormat(StrEnum):
    """What ``feederos solve`` writes."""

    TABLE = "table"
    CSV = "csv"
    JSON = "json"


def _fmt(x: float, digits: int = 4) -> str:
    return "—" if math.isnan(x) else f"{x:.{digits}f}"


def _print_tables(result: PowerFlowResult, out: Console, seconds: float) -> None:
    s = result.summary()
    summary = Table(title=f"feederos solve — {result.compiled.name}", show_header=False)
    converged = "[green]yes[/]" if result.converged else "[bold red]NO[/]"
    rows = [
        ("converged", f"{converged} ({result.method}, {result.iterations} iterations, "
                      f"{result.control_iterations} control rounds, {seconds:.2f} s)"),
        ("max mismatch", f"{result.max_mismatch_a:.3g} A"
                         + (f" at {result.worst_node}" if result.worst_node else "")),
        ("source", f"{result.source_p_kw:,.2f} kW, {result.source_q_kvar:,.2f} kvar"),
        ("losses", f"{result.total_losses_kw:,.2f} kW, {result.total_losses_kvar:,.2f} kvar"),
        ("voltage", f"{_fmt(result.v_min_pu)} – {_fmt(result.v_max_pu)} pu"),
        ("regulator taps", ", ".join(f"{k} {v:+d}" for k, v in result.regulator_taps.items())
                           or "none"),
        ("capacitors", ", ".join(f"{k} {''.join(map(str, v))}"
                                 for k, v in result.capacitor_states.items()) or "none"),
        ("violations", f"{s['n_violations']} (ANSI C84.1 range A, overloads > 100 %)"),
    ]
    for key, value in rows:
        summary.add_row(key, value)
    out.print(summary)
    volts = Table("bus", "node", "v_volts", "angle_deg", "v_pu", title="voltages")
    shown = result.voltages.head(_MAX_TABLE_ROWS)
    for row in shown.itertuples():
        volts.add_row(str(row.bus), str(row.node), f"{row.v_volts:,.2f}",
                      f"{row.angle_deg:.2f}", _fmt(float(row.v_pu)))  # type: ignore[arg-type]
    out.print(volts)
    hidden = len(result.voltages) - len(shown)
    if hidden > 0:
        out.print(f"… and {hidden} more nodes (use --format csv for all)")


def solve_command(
    feeder: Annotated[str, typer.Argument(help="A .dss file, a JSON/YAML network or a built-in.")],
    method: Annotated[Method, typer.Option(help="Solution method.")] = Method.AUTO,
    controls: Annotated[
        bool, typer.Option("--controls/--no-controls", help="Let regulators and capacitors act.")
    ] = True,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="Output format.")
    ] = OutputFormat.TABLE,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the output to this file.")
    ] = None,
) -> None:
    """Solve the power flow of a feeder and print voltages, powers and violations."""
    from feederos.powerflow import solve  # the solver stack loads only when it is used

    try:
        network = open_network_noting(feeder, console, err_console)
        t0 = time.perf_counter()
        with console.status("solving"):
            result = solve(network, method=method, controls=controls)
        seconds = time.perf_counter() - t0
    except FeederosError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
    if output is OutputFormat.CSV:
        text = result.voltages_csv()
    elif output is OutputFormat.JSON:
        text = json.dumps(result_document(result), indent=1) + "\n"
    else:
        text = ""
    if output is OutputFormat.TABLE:
        if out is None:
            _print_tables(result, console, seconds)
        else:
            with out.open("w", encoding="utf-8") as f:
                _print_tables(result, Console(file=f, width=120), seconds)
    elif out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
    if out is not None:
        err_console.print(f"[green]wrote[/] {out}")
    if not result.converged:
        where = f" at {result.worst_node}" if result.worst_node else ""
        err_console.print(
            f"[bold red]error:[/] {result.compiled.name}: the power flow did not converge "
            f"({result.method}, {result.iterations} iterations, max mismatch "
            f"{result.max_mismatch_a:.3g} A{where})", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
