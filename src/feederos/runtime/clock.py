"""Clocks apps read time from: the wall clock in the field, a simulated one on the twin.

Examples
--------
>>> from datetime import datetime, UTC
>>> clock = SimulatedClock(datetime(2026, 6, 1, 12, tzinfo=UTC))
>>> clock.advance(900.0)
>>> clock.now().isoformat()
'2026-06-01T12:15:00+00:00'
>>> clock.monotonic_s()
900.0
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "SimulatedClock", "WallClock"]


@runtime_checkable
class Clock(Protocol):
    """Where an app gets the time."""

    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...

    def monotonic_s(self) -> float:
        """Seconds on a clock that never goes back [s]; for intervals and timers."""
        ...


class WallClock:
    """The real time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic_s(self) -> float:
        return time.monotonic()


class SimulatedClock:
    """A clock that moves only when told to; starts at ``start`` (timezone-aware)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("SimulatedClock needs a timezone-aware start time")
        self._start = start.astimezone(UTC)
        self._elapsed_s = 0.0

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed_s)

    def monotonic_s(self) -> float:
        return self._elapsed_s

    def advance(self, duration_s: float) -> None:
        """Move the clock forward by ``duration_s`` [s] (≥ 0)."""
        if duration_s < 0:
            raise ValueError(f"a clock cannot go back (advance by {duration_s} s)")
        self._elapsed_s += duration_s

    def set(self, when: datetime) -> None:
        """Move the clock forward to ``when``."""
        self.advance((when.astimezone(UTC) - self.now()).total_seconds())
