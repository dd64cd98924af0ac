"""Open whatever a user names on the command line: a file or a built-in feeder."""

from __future__ import annotations

import warnings
from pathlib import Path

from rich.console import Console

from feederos.errors import FeederosError
from feederos.feeders import list_feeders, load_feeder
from feederos.io.native import read_network
from feederos.io.opendss import read_opendss
from feederos.model import Network

__all__ = ["LoadedNetwork", "open_network", "open_network_noting"]


class LoadedNetwork:
    """A network and the import notes (unsupported parts) gathered while reading it."""

    def __init__(self, network: Network, notes: list[str]):
        self.network = network
        self.notes = notes


def open_network(source: str) -> LoadedNetwork:
    """Read ``source``: a ``.dss`` script, a JSON/YAML document, or a built-in name."""
    path = Path(source)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if path.exists():
            is_dss = path.suffix.lower() == ".dss"
            network = read_opendss(path) if is_dss else read_network(path)
        elif source in list_feeders():
            network = load_feeder(source)
        else:
            raise FeederosError(
                f"{source}: no such file, and not a built-in feeder "
                f"(built-ins: {', '.join(list_feeders())})"
            )
    return LoadedNetwork(network, [str(w.message) for w in caught])


def open_network_noting(source: str, console: Console, err_console: Console) -> Network:
    """:func:`open_network` behind a status line, its import notes printed as such."""
    with console.status(f"reading {source}"):
        loaded = open_network(source)
    for note in loaded.notes:
        err_console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
    return loaded.network
