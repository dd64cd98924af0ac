"""Event-driven time for the edge node: a clock that calls back, simulated or real.

The node never polls. Everything it does is a callback: a block of ADC samples arrives,
a command arrives, a timer fires (telemetry, fail-safe watchdog). A :class:`Clock` is
the one place those callbacks are ordered, so the node's logic runs on one thread and
needs no locks:

- :class:`SimClock` — simulated time for tests: :meth:`SimClock.run_until` runs the due
  callbacks in time order and jumps straight from one to the next.
- :class:`RealClock` — wall-clock time: one loop blocks in the kernel until the next
  timer is due, so an idle node costs nothing between events. Other threads (a radio
  driver) hand work to it with :meth:`RealClock.call_soon`.

Examples
--------
>>> clock = SimClock()
>>> fired = []
>>> _ = clock.call_later(0.5, lambda: fired.append(clock.now_s()))
>>> _ = clock.call_at(0.2, lambda: fired.append(clock.now_s()))
>>> clock.run_until(1.0)
>>> fired, clock.now_s()
([0.2, 0.5], 1.0)
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Protocol

from feederos.edge.errors import EdgeConfigError

__all__ = ["Callback", "Clock", "RealClock", "SimClock", "Timer"]

Callback = Callable[[], None]


class Timer:
    """A scheduled callback; :meth:`cancel` stops it from running."""

    __slots__ = ("callback", "cancelled", "t_s")

    def __init__(self, t_s: float, callback: Callback):
        self.t_s = t_s
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        """Do not run this callback (no effect once it has run)."""
        self.cancelled = True


class Clock(Protocol):
    """What the node needs of time: now, and callbacks at a time."""

    def now_s(self) -> float:
        """The current time [s]."""
        ...

    def call_at(self, t_s: float, callback: Callback) -> Timer:
        """Run ``callback`` at time ``t_s`` [s] (at once if it is already past)."""
        ...

    def call_later(self, delay_s: float, callback: Callback) -> Timer:
        """Run ``callback`` after ``delay_s`` [s]."""
        ...


class _Queue:
    """A heap of timers ordered by time, then by scheduling order (FIFO at equal times)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Timer]] = []
        self._order = itertools.count()

    def push(self, timer: Timer) -> None:
        heapq.heappush(self._heap, (timer.t_s, next(self._order), timer))

    def next_t_s(self) -> float | None:
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def pop(self) -> Timer:
        return heapq.heappop(self._heap)[2]


class SimClock:
    """Simulated time: callbacks run in time order when :meth:`run_until` is called.

    Parameters
    ----------
    t0_s
        The starting time [s].
    """

    def __init__(self, t0_s: float = 0.0):
        self._t_s = float(t0_s)
        self._queue = _Queue()

    def now_s(self) -> float:
        """The simulated time [s]."""
        return self._t_s

    def call_at(self, t_s: float, callback: Callback) -> Timer:
        """Run ``callback`` at simulated time ``t_s`` [s] (clamped to now)."""
        timer = Timer(max(float(t_s), self._t_s), callback)
        self._queue.push(timer)
        return timer

    def call_later(self, delay_s: float, callback: Callback) -> Timer:
        """Run ``callback`` after ``delay_s`` [s] of simulated time."""
        return self.call_at(self._t_s + delay_s, callback)

    def call_soon(self, callback: Callback) -> Timer:
        """Run ``callback`` at the current simulated time, after those already due."""
        return self.call_at(self._t_s, callback)

    def run_until(self, t_end_s: float) -> None:
        """Run every callback due up to ``t_end_s`` [s], then set the time to it."""
        if t_end_s < self._t_s:
            raise EdgeConfigError(
                f"SimClock.run_until({t_end_s}) is before the current time {self._t_s}; "
                "simulated time only moves forward"
            )
        while (t_next := self._queue.next_t_s()) is not None and t_next <= t_end_s:
            timer = self._queue.pop()
            self._t_s = timer.t_s
            timer.callback()
        self._t_s = float(t_end_s)


class RealClock:
    """Wall-clock time (``time.monotonic``) with one dispatch loop that sleeps between events.

    :meth:`run` dispatches on the calling thread until :meth:`stop`; :meth:`start` runs it
    on a new thread instead. Between events the loop blocks in the kernel on a lock
    acquired with a timeout (the time to the next timer), and another thread's
    :meth:`call_at` releases that lock to wake it: nothing spins. An exception in a
    callback stops the loop and is raised from :meth:`run` (or :meth:`join`), so a bug
    is never swallowed.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Timer]] = []
        self._order = itertools.count()
        self._mutex = threading.Lock()
        # A binary semaphore: held while nobody has asked the loop to wake.
        self._wake = threading.Lock()
        self._wake.acquire()
        self._running = False
        self._loop_ident: int | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def now_s(self) -> float:
        """Monotonic time [s]."""
        return time.monotonic()

    def call_at(self, t_s: float, callback: Callback) -> Timer:
        """Run ``callback`` at monotonic time ``t_s`` [s]; thread-safe."""
        timer = Timer(float(t_s), callback)
        with self._mutex:
            heapq.heappush(self._heap, (timer.t_s, next(self._order), timer))
        if threading.get_ident() != self._loop_ident:
            self._signal()
        return timer

    def call_later(self, delay_s: float, callback: Callback) -> Timer:
        """Run ``callback`` after ``delay_s`` [s]; thread-safe."""
        return self.call_at(time.monotonic() + delay_s, callback)

    def call_soon(self, callback: Callback) -> Timer:
        """Run ``callback`` on the clock's loop as soon as possible; thread-safe."""
        return self.call_at(time.monotonic(), callback)

    def _signal(self) -> None:
        with contextlib.suppress(RuntimeError):  # already signalled
            self._wake.release()

    def run(self) -> None:
        """Dispatch callbacks on this thread until :meth:`stop`."""
        if self._running:
            raise EdgeConfigError("RealClock is already running; run or start it once")
        self._running = True
        self._loop_ident = threading.get_ident()
        heap = self._heap
        mutex = self._mutex
        monotonic = time.monotonic
        try:
            while self._running:
                with mutex:
                    wait_s = heap[0][0] - monotonic() if heap else -1.0
                if wait_s != 0.0 and (wait_s > 0.0 or not heap):
                    # Blocks in the kernel until the next timer or a wake-up.
                    self._wake.acquire(timeout=wait_s if heap else -1)
                now_s = monotonic()
                while self._running:
                    with mutex:
                        if not heap or heap[0][0] > now_s:
                            break
                        timer = heapq.heappop(heap)[2]
                    if not timer.cancelled:
                        timer.callback()
        finally:
            self._running = False
            self._loop_ident = None

    def start(self) -> None:
        """Run the dispatch loop on a new daemon thread."""
        self._thread = threading.Thread(target=self._run_catching, name="edge-clock", daemon=True)
        self._thread.start()

    def _run_catching(self) -> None:
        try:
            self.run()
        except BaseException as exc:  # re-raised by join(); the node must not run on
            self._error = exc

    def stop(self) -> None:
        """Ask the dispatch loop to finish (pending callbacks are dropped); thread-safe."""
        self._running = False
        self._signal()

    def join(self, timeout_s: float | None = None) -> None:
        """Wait for the :meth:`start` thread to end; re-raise a callback's exception."""
        if self._thread is not None:
            self._thread.join(timeout_s)
        if self._error is not None:
            raise self._error
