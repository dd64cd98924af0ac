"""The ``fos`` command: Feeder OS, the edge app runtime.

The runtime (bus, app lifecycle, config bundles) arrives with the Feeder OS work; this
command today reports its version and the topic contract apps will speak.
"""

from __future__ import annotations

import typer
from rich.console import Console

from feederos import __version__

__all__ = ["app"]

app = typer.Typer(
    name="fos",
    help="Feeder OS: the edge app runtime for feeder control apps.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()


@app.command()
def version() -> None:
    """Print the Feeder OS version."""
    console.print(f"fos (feederos) {__version__}")


@app.command()
def topics(feeder_id: str = typer.Argument("demo", help="Feeder id.")) -> None:
    """Print the MQTT topic contract for a feeder id."""
    for kind in ("measurements/<asset-id>", "commands/<asset-id>", "events/<severity>"):
        console.print(f"feeder/{feeder_id}/{kind}")
