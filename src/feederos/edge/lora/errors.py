"""Errors of the StreetGrid radio link (:mod:`feederos.edge.lora`).

Every frame problem is a :class:`FrameError`, so a receiver can catch one type, count the
frame as lost and carry on; it never sees a protobuf or struct exception.

Examples
--------
>>> from feederos.errors import FeederosError
>>> issubclass(ReplayError, FrameError) and issubclass(FrameError, FeederosError)
True
>>> str(ReplayError(node=3, counter=7, last=9))
'frame from node 3: counter 7 is not above the last accepted 9; dropped as a replay'
"""

from __future__ import annotations

from feederos.edge.errors import EdgeError

__all__ = [
    "AirtimeError",
    "DutyCycleError",
    "FrameAuthError",
    "FrameError",
    "FrameFormatError",
    "LinkError",
    "ReplayError",
]


class LinkError(EdgeError):
    """Base class of the radio link's errors."""


class FrameError(LinkError, ValueError):
    """A received frame cannot be accepted (malformed, forged or replayed)."""


class FrameFormatError(FrameError):
    """A frame is truncated, too long, of an unknown version/type or its payload is not
    a valid message; the message says which part."""


class FrameAuthError(FrameError):
    """A frame's MIC does not verify: tampered with, or the wrong key for its node."""


class ReplayError(FrameError):
    """A frame's counter is not above the last one accepted from that sender.

    Parameters
    ----------
    node
        The sender's node id (from the frame header).
    counter
        The frame counter received.
    last
        The last counter accepted from that sender.
    """

    def __init__(self, *, node: int, counter: int, last: int):
        self.node = node
        self.counter = counter
        self.last = last
        super().__init__(
            f"frame from node {node}: counter {counter} is not above the last accepted "
            f"{last}; dropped as a replay"
        )


class AirtimeError(LinkError, ValueError):
    """A LoRa modulation setting is outside what the modem supports."""


class DutyCycleError(LinkError, ValueError):
    """A duty-cycle limiter setting is invalid, or a frame could never be sent under it."""
