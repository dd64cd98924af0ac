"""Shared machinery of the OpenDSS converter: value access, terminals, unsupported data.

Examples
--------
>>> parse_terminal("671.1.3", n_conductors=2, n_phases=2)
Terminal(bus='671', nodes=(1, 3))
>>> parse_terminal("634", n_conductors=4, n_phases=3, wye_neutral=True)
Terminal(bus='634', nodes=(1, 2, 3))
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from feederos.errors import DssSyntaxError
from feederos.io.opendss._script import DssObject, DssProperty
from feederos.io.opendss._values import (
    as_array,
    as_bool,
    as_float,
    as_float_array,
    as_int,
    as_matrix,
)
from feederos.model import Terminal

__all__ = [
    "Context",
    "DssImportWarning",
    "as_array",
    "as_bool",
    "as_float",
    "as_float_array",
    "as_int",
    "as_matrix",
    "fail",
    "parse_terminal",
]


class DssImportWarning(UserWarning):
    """Parts of an OpenDSS script the converter does not map to the network model."""


@dataclass
class Context:
    """What the converter collects while it runs: unsupported classes and properties."""

    unsupported: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def skip(self, obj: DssObject, prop: DssProperty) -> None:
        """Record a property of ``obj`` that is not mapped."""
        self.unsupported[f"{obj.cls}.{prop.name}"] += 1

    def skip_class(self, cls: str) -> None:
        """Record an object of a class that is not mapped."""
        self.unsupported[f"{cls} (class)"] += 1


def fail(obj: DssObject, message: str, prop: DssProperty | None = None) -> DssSyntaxError:
    """An error naming the file, line and element."""
    where = prop.where if prop is not None else obj.where
    what = f"{obj.cls}.{obj.name}" + (f" {prop.name}={prop.value!r}" if prop is not None else "")
    return DssSyntaxError(f"{what}: {message}", file=where.file, line=where.line)


def parse_terminal(
    text: str, *, n_conductors: int, n_phases: int, wye_neutral: bool = False
) -> Terminal:
    """Read ``bus.n1.n2...`` with OpenDSS's defaults for the nodes not given.

    Conductor ``i`` defaults to node ``i``; a wye element's neutral (conductor
    ``n_phases + 1`` when ``wye_neutral``) defaults to ground (0). Only the nodes given
    beyond the phases are kept; an absent neutral means ground in the model.
    """
    bus, *rest = text.strip().lower().split(".")
    given = [int(n) for n in rest if n != ""]
    nodes = list(range(1, n_conductors + 1))
    if wye_neutral and n_conductors > n_phases:
        nodes[n_phases] = 0
    for i, node in enumerate(given[:n_conductors]):
        nodes[i] = node
    keep = max(n_phases, min(len(given), n_conductors))
    if not wye_neutral:
        keep = n_conductors
    return Terminal(bus=bus, nodes=tuple(nodes[:keep]))
