"""Simulated and real clocks."""

from __future__ import annotations

import threading
import time

import pytest

from feederos.edge.errors import EdgeConfigError
from feederos.edge.sampling import RealClock, SimClock


def test_sim_clock_orders_callbacks_and_honours_cancel() -> None:
    clock = SimClock()
    seen: list[tuple[str, float]] = []
    clock.call_at(2.0, lambda: seen.append(("b", clock.now_s())))
    clock.call_at(1.0, lambda: seen.append(("a", clock.now_s())))
    clock.call_at(1.0, lambda: clock.call_later(0.5, lambda: seen.append(("c", clock.now_s()))))
    clock.call_at(1.2, lambda: seen.append(("x", clock.now_s()))).cancel()
    clock.run_until(3.0)
    assert seen == [("a", 1.0), ("c", 1.5), ("b", 2.0)]
    with pytest.raises(EdgeConfigError):
        clock.run_until(2.0)


def test_real_clock_runs_timers_and_wakes_for_other_threads() -> None:
    clock = RealClock()
    seen: list[str] = []
    done = threading.Event()
    clock.start()
    clock.call_later(0.05, lambda: seen.append("late"))
    clock.call_later(0.01, lambda: seen.append("early"))
    time.sleep(0.1)
    threading.Thread(target=lambda: clock.call_soon(done.set)).start()
    assert done.wait(1.0)
    clock.stop()
    clock.join(1.0)
    assert seen == ["early", "late"]


def test_real_clock_reraises_a_callback_error() -> None:
    clock = RealClock()
    clock.start()

    def boom() -> None:
        raise RuntimeError("bug in a callback")

    clock.call_soon(boom)
    with pytest.raises(RuntimeError, match="bug in a callback"):
        clock.join(1.0)
