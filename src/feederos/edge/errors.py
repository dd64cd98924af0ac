"""Errors of the StreetGrid edge node (:mod:`feederos.edge`).

Examples
--------
>>> from feederos.errors import FeederosError
>>> issubclass(MessageFieldError, FeederosError)
True
>>> str(MessageFieldError("Telemetry", "node", 0, "1..255"))
'Telemetry.node = 0 is out of range; use a value in 1..255'
"""

from __future__ import annotations

from feederos.errors import FeederosError

__all__ = ["EdgeConfigError", "EdgeError", "MessageFieldError"]


class EdgeError(FeederosError):
    """Base class of the errors the edge node raises on purpose."""


class MessageFieldError(EdgeError):
    """A field of an edge message is out of its wire range.

    Parameters
    ----------
    message
        The message type (``"Telemetry"``, ``"NodeCommand"``).
    field
        The field name.
    value
        The rejected value.
    allowed
        The allowed range or set, said so the caller can fix it.
    """

    def __init__(self, message: str, field: str, value: object, allowed: str):
        self.message = message
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{message}.{field} = {value!r} is out of range; use a value in {allowed}")


class EdgeConfigError(EdgeError):
    """The edge node's hardware, meter or protection settings are inconsistent."""
