"""The ``fos`` command: Feeder OS, the edge app runtime.

``fos run`` runs the runtime (apps, configs, embedded broker unless ``--broker``);
``fos app …`` installs, upgrades, rolls back and inspects apps; ``fos config …`` applies
and rolls back config bundles; ``fos topics`` prints the topic contract.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from feederos import __version__
from feederos.cli.fos_app import app as app_commands
from feederos.cli.fos_config import app as config_commands
from feederos.cli.fos_options import DEFAULT_FEEDER, DEFAULT_HOME, Feeder, Home, errors_exit

__all__ = ["app"]

app = typer.Typer(
    name="fos",
    help="Feeder OS: the edge app runtime for feeder control apps.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(app_commands, name="app")
app.add_typer(config_commands, name="config")
console = Console()


@app.command()
def version() -> None:
    """Print the Feeder OS version."""
    console.print(f"fos (feederos) {__version__}")


@app.command()
def topics(feeder_id: str = typer.Argument("demo", help="Feeder id.")) -> None:
    """Print the MQTT topic contract for a feeder id."""
    for kind in (
        "measurements/<asset-id>",
        "commands/<asset-id>",
        "events/<severity>",
        "apps/<app>/status",
        "apps/<app>/config",
    ):
        console.print(f"feeder/{feeder_id}/{kind}")


@app.command()
def run(
    home: Home = DEFAULT_HOME,
    feeder: Feeder = DEFAULT_FEEDER,
    broker: Annotated[
        str | None,
        typer.Option(
            envvar="FOS_BROKER",
            help="MQTT broker URL (mqtt://host:port); without it an embedded broker starts.",
        ),
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve Prometheus metrics on this port.")
    ] = None,
    duration_s: Annotated[
        float | None, typer.Option(min=0.0, help="Stop after this many seconds.")
    ] = None,
) -> None:
    """Run the Feeder OS runtime until interrupted (or for --duration-s)."""
    from feederos.runtime.service import FeederRuntime, RuntimeSettings

    settings = RuntimeSettings(
        home=Path(home).expanduser(),
        feeder_id=feeder,
        broker_url=broker,
        metrics_port=metrics_port,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with errors_exit(), FeederRuntime(settings) as runtime:
        console.print(
            f"fos: feeder {feeder} on {runtime.broker_url}, "
            f"{len(runtime.apps.supervisor.running())} app(s) running"
        )
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait(duration_s)
