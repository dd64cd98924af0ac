"""What every ``fos`` command shares: the home, feeder and broker options and the one way
an error is reported (one line on stderr, exit status 2, never a traceback).

Examples
--------
>>> import typer
>>> try:
...     with errors_exit():
...         raise ValueError("bad --feeder 'a/b'")
... except typer.Exit as done:
...     done.exit_code
2
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from feederos.errors import FeederosError

__all__ = [
    "DEFAULT_BROKER",
    "DEFAULT_FEEDER",
    "DEFAULT_HOME",
    "Broker",
    "Feeder",
    "Home",
    "errors_exit",
]

DEFAULT_HOME = Path.home() / ".feederos"
DEFAULT_BROKER = "mqtt://127.0.0.1:1883"
DEFAULT_FEEDER = "demo"

Home = Annotated[
    Path,
    typer.Option(
        envvar="FOS_HOME", help="Runtime home (state.db, config.db, apps/, logs/, trusted_keys/)."
    ),
]
Broker = Annotated[str, typer.Option(envvar="FOS_BROKER", help="MQTT broker URL.")]
Feeder = Annotated[str, typer.Option(envvar="FOS_FEEDER", help="Feeder id.")]

_err_console = Console(stderr=True, soft_wrap=True, highlight=False)


@contextmanager
def errors_exit() -> Iterator[None]:
    """Report feederos errors and bad values as one line and exit with status 2."""
    try:
        yield
    except (FeederosError, ValueError, OSError) as exc:
        # Escaped: messages carry JSON paths and TOML tables ("[config]") rich would eat.
        _err_console.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
