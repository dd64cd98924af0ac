"""The ``feederos`` command: inspect, validate, convert and generate feeders.

Every command takes a ``.dss`` script, a feederos JSON/YAML document or the name of a
built-in feeder, prints with rich, and exits non-zero on any error.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from feederos import __version__
from feederos.cli._load import open_network
from feederos.cli.hosting_capacity import hosting_capacity_command
from feederos.cli.microgrid import app as microgrid_app
from feederos.cli.serve import serve_command, token_app
from feederos.cli.solve import solve_command
from feederos.cli.timeseries import timeseries_command
from feederos.errors import FeederosError
from feederos.feeders import ProfileName, generate_feeder
from feederos.io.native import read_network, write_network
from feederos.model import Network, Severity, validate
from feederos.topology import energized_buses, is_radial

__all__ = ["app"]

app = typer.Typer(
    name="feederos",
    help="feederos: digital twin and design tools for electricity distribution feeders.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

T = TypeVar("T")


@contextmanager
def _errors_exit() -> Iterator[None]:
    """Report feederos errors as one clear message and exit with status 2."""
    try:
        yield
    except FeederosError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def _with_status(message: str, work: Callable[[], T]) -> T:
    with console.status(message):
        return work()


def _load(source: str) -> Network:
    loaded = _with_status(f"reading {source}", lambda: open_network(source))
    for note in loaded.notes:
        err_console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
    return loaded.network


def _summary_rows(net: Network) -> list[tuple[str, str]]:
    p_kw = sum(ld.p_kw for ld in net.loads)
    q_kvar = sum(ld.q_kvar for ld in net.loads)
    pv_kw = sum(i.s_kva for i in net.inverters if i.kind == "pv")
    bat_kwh = sum(i.energy_kwh or 0.0 for i in net.inverters if i.kind == "battery")
    length_km = sum(ln.length_km for ln in net.lines)
    levels = sorted({b.v_base_kv for b in net.buses if b.v_base_kv is not None}, reverse=True)
    energized = energized_buses(net)
    return [
        ("name", net.name),
        ("frequency", f"{net.base_frequency_hz:g} Hz"),
        ("voltage levels", ", ".join(f"{v:g} kV" for v in levels) or "unknown"),
        ("buses", f"{len(net.buses)} ({len(energized)} energised)"),
        ("line length", f"{length_km:,.2f} km"),
        ("total load", f"{p_kw:,.1f} kW, {q_kvar:,.1f} kvar"),
        ("PV / battery", f"{pv_kw:,.1f} kVA / {bat_kwh:,.1f} kWh"),
        ("radial", "yes" if is_radial(net) else "no (meshed)"),
    ]


@app.command()
def info(
    feeder: Annotated[str, typer.Argument(help="A .dss file, a JSON/YAML network or a built-in.")],
) -> None:
    """Summarise a feeder: size, load, DER, voltage levels and element counts."""
    with _errors_exit():
        net = _load(feeder)
        table = Table(title=f"feederos info — {net.name}", show_header=False)
        for key, value in _summary_rows(net):
            table.add_row(key, value)
        console.print(table)
        counts = Table("collection", "count", title="elements")
        for name, n in net.element_counts().items():
            if n:
                counts.add_row(name, str(n))
        console.print(counts)


@app.command("validate")
def validate_cmd(
    feeder: Annotated[str, typer.Argument(help="A .dss file, a JSON/YAML network or a built-in.")],
    warnings_as_errors: Annotated[
        bool, typer.Option("--strict", help="Fail on warnings too.")
    ] = False,
) -> None:
    """Check a feeder and list every problem (element, field, message)."""
    with _errors_exit():
        net = _load(feeder)
        problems = _with_status("validating", lambda: validate(net))
    if not problems:
        console.print(f"[green]ok:[/] {net.name}: no problems")
        return
    table = Table("severity", "element", "field", "problem", title=f"{len(problems)} problem(s)")
    for p in problems[:200]:
        colour = "red" if p.severity is Severity.ERROR else "yellow"
        table.add_row(f"[{colour}]{p.severity.value}[/]", f"{p.collection}.{p.element}",
                      p.field, p.message)
    console.print(table)
    if len(problems) > 200:
        console.print(f"… and {len(problems) - 200} more")
    n_err = sum(p.severity is Severity.ERROR for p in problems)
    if n_err or warnings_as_errors:
        raise typer.Exit(1)


@app.command()
def convert(
    source: Annotated[str, typer.Argument(help="A .dss file, a JSON/YAML network or a built-in.")],
    out: Annotated[Path, typer.Argument(help="Output .json, .yaml or .yml file.")],
) -> None:
    """Convert a feeder into a feederos JSON or YAML document."""
    with _errors_exit():
        net = _load(source)
        out.parent.mkdir(parents=True, exist_ok=True)
        _with_status(f"writing {out}", lambda: write_network(net, out))
        read_back = read_network(out)
        if read_back != net:  # pragma: no cover - guards the lossless promise
            raise FeederosError(f"{out}: written document does not read back equal")
    console.print(f"[green]wrote[/] {out} ({len(net.buses)} buses)")


@app.command()
def generate(
    out: Annotated[Path, typer.Argument(help="Output .json, .yaml or .yml file.")],
    profile: Annotated[ProfileName, typer.Option(help="Feeder profile.")] = ProfileName.SUBURBAN,
    buses: Annotated[int, typer.Option(min=10, max=100_000, help="Number of buses.")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same feeder).")] = 0,
    name: Annotated[str | None, typer.Option(help="Network name.")] = None,
) -> None:
    """Generate a plausible synthetic radial feeder of a rural, suburban or urban profile."""
    with _errors_exit():
        t0 = time.perf_counter()
        net = _with_status(
            f"generating {buses} buses ({profile.value})",
            lambda: generate_feeder(profile, n_buses=buses, seed=seed, name=name),
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        _with_status(f"writing {out}", lambda: write_network(net, out))
    console.print(
        f"[green]wrote[/] {out}: {len(net.buses)} buses, {len(net.loads)} loads "
        f"in {time.perf_counter() - t0:.1f} s"
    )


app.command("solve")(solve_command)
app.command("timeseries")(timeseries_command)
app.command("hosting-capacity")(hosting_capacity_command)
app.command("serve")(serve_command)
app.add_typer(token_app)
app.add_typer(microgrid_app, name="microgrid")


@app.command()
def version() -> None:
    """Print the feederos version."""
    console.print(f"feederos {__version__}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
