"""The one exception hierarchy of feederos.

Every error raised on purpose by feederos derives from :class:`FeederosError`, so a
caller (the CLI, the API) can catch one type and report it cleanly.

Examples
--------
>>> issubclass(DssSyntaxError, NetworkImportError)
True
>>> str(DssSyntaxError("unbalanced quote", file="a.dss", line=3))
'a.dss:3: unbalanced quote'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from feederos.model.validation import Problem

__all__ = [
    "AppPermissionError",
    "BundleError",
    "ConfigBundleError",
    "DssSyntaxError",
    "FeederosError",
    "FosError",
    "LifecycleError",
    "ModelFormatError",
    "NetworkImportError",
    "NetworkValidationError",
    "PayloadError",
    "PowerFlowError",
    "ProfileError",
    "ProfileFileError",
    "RuntimeStateError",
    "TopicError",
    "TopologyError",
    "UnknownFeederError",
]


class FeederosError(Exception):
    """Base class of every error feederos raises on purpose."""


class NetworkImportError(FeederosError):
    """A feeder file could not be read into the network model.

    Parameters
    ----------
    message
        What is wrong and what to fix.
    file
        The file it was found in, if known.
    line
        The 1-based line number, if known.
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None):
        self.message = message
        self.file = file
        self.line = line
        super().__init__(f"{_where(file, line)}{message}")


class DssSyntaxError(NetworkImportError):
    """A .dss script has a syntax or semantic error at a known file and line."""


class ModelFormatError(FeederosError):
    """A JSON/YAML network document is malformed or of an unknown schema version."""


class NetworkValidationError(FeederosError):
    """A network failed validation in strict mode; carries every problem found."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"network has {len(self.problems)} problem(s):\n{lines}")


class UnknownFeederError(FeederosError, LookupError):
    """No built-in feeder has the name asked for."""


class TopologyError(FeederosError):
    """A topology query names a bus or element the network lacks, or cannot be answered."""


class PowerFlowError(FeederosError):
    """A power flow cannot be set up as asked (e.g. the sweep method on a meshed network)."""


class ProfileError(FeederosError, ValueError):
    """A profile (load shape, PV output, EV sessions, battery schedule) cannot be made
    from the input given; the message names the argument and what to change."""


class ProfileFileError(ProfileError):
    """A load-shape file cannot be read; names the file, line (or row) and column.

    Parameters
    ----------
    message
        What is wrong and what to fix.
    file
        The file.
    line
        The 1-based line of a text file, if known.
    row
        The 1-based data row of a table without lines (Parquet), if known.
    column
        The column: its name, or its 0-based position in a file without a header.

    Examples
    --------
    >>> str(ProfileFileError("'x' is not a number", file="a.csv", line=17, column="p_mult"))
    "a.csv:17: column 'p_mult': 'x' is not a number"
    >>> str(ProfileFileError("NaN", file="a.parquet", row=3, column=0))
    'a.parquet: row 3: column 0: NaN'
    """

    def __init__(self, message: str, *, file: str, line: int | None = None,
                 row: int | None = None, column: str | int | None = None):
        self.message = message
        self.file = file
        self.line = line
        self.row = row
        self.column = column
        where = _where(file, line)
        if row is not None:
            where += f"row {row}: "
        if column is not None:
            where += f"column {column!r}: "
        super().__init__(f"{where}{message}")


def _where(file: str | None, line: int | None) -> str:
    """``file:line: ``, ``file: `` or nothing, to start a message."""
    if file is None:
        return ""
    return f"{file}:{line}: " if line is not None else f"{file}: "


class FosError(FeederosError):
    """Base of the Feeder OS runtime's errors (bus, apps, bundles, config)."""


class TopicError(FosError, ValueError):
    """A topic or topic filter breaks the Feeder OS or MQTT topic rules."""


class PayloadError(FosError, ValueError):
    """A message payload is not valid JSON of the expected message schema."""

    def __init__(self, message: str, *, topic: str | None = None):
        self.topic = topic
        super().__init__(f"{topic}: {message}" if topic else message)


class BundleError(FosError):
    """An app bundle is malformed, unsigned, tampered with or incompatible."""


class LifecycleError(FosError):
    """An app lifecycle operation cannot be done (unknown app, version, state)."""


class RuntimeStateError(FosError):
    """The runtime's stored state cannot be read or written."""


class ConfigBundleError(FosError):
    """A config bundle cannot be fetched, is malformed or fails an app's schema."""


class AppPermissionError(FosError, PermissionError):
    """An app tried a topic its manifest does not grant."""
