"""``feederos hosting-capacity``: how much PV (or EV charging) each bus of a feeder takes.

``feederos hosting-capacity ieee123 --out runs/hc`` studies every one- and three-phase
bus at the feeder's peak and minimum-daytime load
(:func:`~feederos.analysis.hosting_capacity.hosting_capacity`), prints the buses that
take least with what binds them, and with ``--out DIR`` writes ``hosting_capacity.csv``
(one row per bus), ``by_level.csv`` (per bus and level), ``standing.csv`` (limits
broken without any DER) and ``hosting_capacity.geojson`` (buses with coordinates, for
maps). A feeder that cannot be read, or a bad option, exits with status 2.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from feederos.cli._load import open_network_noting
from feederos.errors import FeederosError

__all__ = ["hosting_capacity_command"]

console = Console()
err_console = Console(stderr=True)


def _levels(specs: list[str] | None) -> dict[str, float] | None:
    if not specs:
        return None
    out: dict[str, float] = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        try:
            if not sep or not name:
                raise ValueError
            out[name] = float(value)
        except ValueError:
            raise typer.BadParameter(f"{spec!r}: give NAME=MULTIPLIER, e.g. peak=1.0",
                                     param_hint="--level") from None
    return out


def hosting_capacity_command(
    feeder: Annotated[str, typer.Argument(
        help="A .dss feeder, a JSON/YAML network or a built-in.")],
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write hosting_capacity.csv, by_level.csv, standing.csv and "
                      "hosting_capacity.geojson here.")] = None,
    kind: Annotated[str, typer.Option(help="pv (generation) or ev (charging load).")] = "pv",
    bus: Annotated[list[str] | None, typer.Option(
        "--bus", help="A bus to study (repeat; default every 1- and 3-phase bus).")] = None,
    level: Annotated[list[str] | None, typer.Option(
        "--level", help="A load level NAME=MULTIPLIER (repeat; default peak and "
                        "min_daytime from the feeder's shapes).")] = None,
    max_kw: Annotated[float | None, typer.Option(
        "--max-kw", help="Largest size tried [kW] (default twice the feeder's load).")] = None,
    controls: Annotated[bool, typer.Option(
        "--controls/--locked", help="Let regulators and capacitors respond to the DER "
                                    "(slower), or hold them as without it.")] = False,
    reverse_flow: Annotated[str, typer.Option(
        "--reverse-flow", help="Where reverse power is a violation: substation, "
                               "regulators, both or none.")] = "both",
    top: Annotated[int, typer.Option(min=0, help="Buses to print (least capacity first).")] = 15,
) -> None:
    """Find each bus's hosting capacity and what limits it."""
    from feederos.analysis.der_constraints import HostingLimits, ReverseFlow
    from feederos.analysis.hosting_capacity import hosting_capacity

    flows = {"both": frozenset(ReverseFlow), "none": frozenset(),
             "substation": frozenset({ReverseFlow.SUBSTATION}),
             "regulators": frozenset({ReverseFlow.REGULATORS})}
    if reverse_flow not in flows:
        raise typer.BadParameter(f"{reverse_flow!r}: give one of {', '.join(flows)}",
                                 param_hint="--reverse-flow")
    levels = _levels(level)
    try:
        network = open_network_noting(feeder, console, err_console)
        t0 = time.perf_counter()
        with console.status("searching"):
            hc = hosting_capacity(network, kind=kind, buses=bus, levels=levels,
                                  max_kw=max_kw, controls=controls,
                                  limits=HostingLimits(reverse_flow=flows[reverse_flow]))
        seconds = time.perf_counter() - t0
    except (FeederosError, ValueError) as exc:
        err_console.print(f"[bold red]error:[/] {feeder}: {exc}", highlight=False,
                          soft_wrap=True)
        raise typer.Exit(2) from None
    t = hc.table.sort_values("kw")
    table = Table(title=f"{network.name}: {hc.kind.value.upper()} hosting capacity of "
                        f"{len(t)} buses in {seconds:.2f} s")
    for col in ("bus", "phases", "kW", "constraint", "element", "level"):
        table.add_column(col, justify="right" if col in ("phases", "kW") else "left")
    for row in t.head(top).itertuples(index=False):
        table.add_row(str(row.bus), str(row.phases), f"{row.kw:,.1f}", str(row.constraint),
                      str(row.element), str(row.level))
    console.print(table)
    counts = ", ".join(f"{k} {v}" for k, v in t.constraint.value_counts().items())
    console.print(f"binding: {counts}; median {t.kw.median():,.1f} kW")
    if len(hc.standing):
        err_console.print(f"[yellow]note:[/] {len(hc.standing)} limits are broken without any "
                          "DER and are left out where they stand (standing.csv)")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        hc.to_csv(out / "hosting_capacity.csv")
        hc.by_level.to_csv(out / "by_level.csv", index=False)
        hc.standing.to_csv(out / "standing.csv", index=False)
        hc.to_geojson(out / "hosting_capacity.geojson")
        err_console.print(f"[green]wrote[/] {out}")
