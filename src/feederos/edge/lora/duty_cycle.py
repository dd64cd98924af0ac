"""Duty-cycle limiting that queues frames rather than exceed the limit.

The rule is the sliding-window reading of ETSI EN 300 220 (duty cycle: the ratio of
on-air time to an observation period of one hour; EN 300 220-2 sets 1 % for the EU868
g1 sub-band): in **every** window of ``window_s`` (default 3600 s) the time on air of
one sub-band stays within ``duty_cycle * window_s`` (1 %: 36 s per hour). The simpler
LoRaWAN "off-time = airtime * (1/dc - 1)" rule is not used: it can exceed the budget by
up to one frame in a window that starts at a transmission, and it forbids bursts the
regulation allows.

A frame submitted at ``t_s`` starts at the earliest time ``t >= t_s`` that is after the
radio's previous frame (one radio, first in first out) and keeps every window within the
budget. Because one radio never overlaps itself, it is enough that the window ending
when the new frame ends holds at most the budget
(:meth:`DutyCycleLedger.earliest_start_s`), and the earliest such start has a closed
form. Frames are never dropped: a frame too long for the budget on its own is refused
at once with :class:`DutyCycleError`.

Examples
--------
>>> lim = DutyCycleLimiter(duty_cycle=0.01, window_s=100.0)   # 1 s per 100 s
>>> [round(lim.submit(0.0, 0.4).start_s, 3) for _ in range(3)]
[0.0, 0.4, 99.8]
>>> round(lim.used_fraction(), 4)             # the window [0.2, 100.2] holds exactly 1 s
0.01
>>> lim.queued(50.0)                          # the third frame waits from 0 to 99.8 s
1
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from feederos.edge.lora.errors import DutyCycleError

__all__ = [
    "DEFAULT_SUB_BAND",
    "DutyCycleLedger",
    "DutyCycleLimiter",
    "Slot",
    "max_window_usage_s",
]

#: The sub-band used when a caller names none (EU868 g1, 868.0-868.6 MHz, is 1 %).
DEFAULT_SUB_BAND = "g1"


@dataclass(frozen=True, slots=True)
class Slot:
    """When a queued frame goes out.

    Attributes
    ----------
    submit_s
        When it was handed to the radio [s].
    start_s
        When it starts on air [s].
    end_s
        When it ends [s].
    sub_band
        The sub-band whose budget it used.
    """

    submit_s: float
    start_s: float
    end_s: float
    sub_band: str

    @property
    def wait_s(self) -> float:
        """Time spent queued [s]."""
        return self.start_s - self.submit_s


class DutyCycleLedger:
    """On-air intervals of one sub-band over the last window.

    Parameters
    ----------
    duty_cycle
        Allowed fraction of on-air time, 0 < dc <= 1.
    window_s
        The sliding observation window [s].
    """

    def __init__(self, *, duty_cycle: float = 0.01, window_s: float = 3600.0):
        if not 0.0 < duty_cycle <= 1.0:
            raise DutyCycleError(f"duty_cycle = {duty_cycle} must be in (0, 1], e.g. 0.01")
        if not window_s > 0.0:
            raise DutyCycleError(f"window_s = {window_s} must be positive, e.g. 3600")
        self.duty_cycle = duty_cycle
        self.window_s = window_s
        self.budget_s = duty_cycle * window_s
        self._intervals: deque[tuple[float, float]] = deque()
        self._total_s = 0.0

    def earliest_start_s(self, t_ready_s: float, airtime_s: float) -> float:
        """Earliest start ``>= t_ready_s`` for a frame of ``airtime_s`` [s].

        ``t_ready_s`` must not precede the end of the last recorded interval. With every
        earlier interval before ``t``, the usage of the window ending at ``t + a`` is
        ``total - F(t + a - W) + a`` (``F``: on-air time accumulated up to a time), which
        falls as ``t`` grows; windows that end inside the new frame hold no more than it
        (old intervals fill at most their own length), so this one condition is enough.
        """
        if airtime_s > self.budget_s:
            raise DutyCycleError(
                f"a frame of {airtime_s:.3f} s on air exceeds the whole budget of "
                f"{self.budget_s:.3f} s per {self.window_s:g} s window; shorten it"
            )
        self._prune(t_ready_s)
        need = self._total_s + airtime_s - self.budget_s
        if need <= 0.0:
            return t_ready_s
        acc = 0.0
        x = t_ready_s  # unreachable fallback; the loop always finds x since need <= total
        for b, e in self._intervals:
            if acc + (e - b) >= need:
                x = b + (need - acc)
                break
            acc += e - b
        return max(t_ready_s, x + self.window_s - airtime_s)

    def record(self, start_s: float, end_s: float) -> None:
        """Book an on-air interval (after the previous one)."""
        self._intervals.append((start_s, end_s))
        self._total_s += end_s - start_s

    def _prune(self, t_s: float) -> None:
        # Intervals over before t - W can no longer share a window with a frame from t.
        while self._intervals and self._intervals[0][1] <= t_s - self.window_s:
            b, e = self._intervals.popleft()
            self._total_s -= e - b


class DutyCycleLimiter:
    """One radio's transmit queue, limited per sub-band.

    Parameters
    ----------
    duty_cycle
        Allowed fraction of on-air time per sub-band (0.01 for 1 %).
    window_s
        Sliding observation window [s].

    Notes
    -----
    Submissions must come in time order (a simulated clock never runs backward). The
    queue is first in, first out across sub-bands: the radio sends one frame at a time.
    """

    def __init__(self, *, duty_cycle: float = 0.01, window_s: float = 3600.0):
        DutyCycleLedger(duty_cycle=duty_cycle, window_s=window_s)  # validate now
        self.duty_cycle = duty_cycle
        self.window_s = window_s
        self._ledgers: dict[str, DutyCycleLedger] = {}
        self._radio_free_s = -np.inf
        self._last_submit_s = -np.inf
        self.slots: list[Slot] = []

    def _ledger(self, sub_band: str) -> DutyCycleLedger:
        if sub_band not in self._ledgers:
            self._ledgers[sub_band] = DutyCycleLedger(
                duty_cycle=self.duty_cycle, window_s=self.window_s
            )
        return self._ledgers[sub_band]

    def next_start_s(
        self, t_s: float, airtime_s: float, *, sub_band: str = DEFAULT_SUB_BAND
    ) -> float:
        """When a frame of ``airtime_s`` submitted at ``t_s`` would start [s]; books nothing."""
        t_ready = max(t_s, self._radio_free_s)
        return self._ledger(sub_band).earliest_start_s(t_ready, airtime_s)

    def submit(self, t_s: float, airtime_s: float, *, sub_band: str = DEFAULT_SUB_BAND) -> Slot:
        """Queue a frame at ``t_s``; returns when it goes on air."""
        if t_s < self._last_submit_s:
            raise DutyCycleError(
                f"frame submitted at t = {t_s} s, before the previous one at "
                f"{self._last_submit_s} s; submit in time order"
            )
        if not airtime_s > 0.0:
            raise DutyCycleError(f"airtime_s = {airtime_s} must be positive")
        start = self.next_start_s(t_s, airtime_s, sub_band=sub_band)
        slot = Slot(submit_s=t_s, start_s=start, end_s=start + airtime_s, sub_band=sub_band)
        self._ledger(sub_band).record(slot.start_s, slot.end_s)
        self._radio_free_s = slot.end_s
        self._last_submit_s = t_s
        self.slots.append(slot)
        return slot

    def queued(self, t_s: float) -> int:
        """Frames submitted by ``t_s`` that have not yet started."""
        return sum(1 for s in reversed(self.slots) if s.submit_s <= t_s < s.start_s)

    def used_fraction(self, *, sub_band: str = DEFAULT_SUB_BAND) -> float:
        """Worst on-air fraction of any window so far, in ``sub_band``."""
        mine = [s for s in self.slots if s.sub_band == sub_band]
        return (
            max_window_usage_s([s.start_s for s in mine], [s.end_s for s in mine], self.window_s)
            / self.window_s
        )


def max_window_usage_s(start_s: ArrayLike, end_s: ArrayLike, window_s: float) -> float:
    """Largest on-air time inside any window ``[s, s + window_s]`` [s].

    Exact for non-overlapping intervals: the usage is piecewise linear in ``s`` with
    breaks where a window edge meets an interval edge, so its maximum is at one of those.

    Parameters
    ----------
    start_s, end_s
        Interval starts and ends, sorted and not overlapping [s].
    window_s
        Window length [s].

    Examples
    --------
    >>> max_window_usage_s([0.0, 10.0, 30.0], [1.0, 12.0, 31.0], 20.0)
    3.0
    """
    b = np.asarray(start_s, dtype=float)
    e = np.asarray(end_s, dtype=float)
    if b.size == 0:
        return 0.0
    if np.any(e < b) or np.any(b[1:] < e[:-1]):
        raise DutyCycleError("intervals must be sorted, non-overlapping and end after start")
    d = e - b
    cum = np.concatenate(([0.0], np.cumsum(d)))

    def on_air_until(x: np.ndarray) -> np.ndarray:
        i = np.searchsorted(b, x, side="right")  # intervals started by x
        j = np.maximum(i - 1, 0)
        partial = np.where(i > 0, np.clip(x - b[j], 0.0, d[j]), 0.0)
        return np.asarray(cum[j] + partial, dtype=float) * (i > 0)

    s = np.concatenate((b, e, b - window_s, e - window_s))
    return float(np.max(on_air_until(s + window_s) - on_air_until(s)))
