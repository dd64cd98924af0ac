"""The app SDK: timers, clocks, and loading an app from its source folder."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta

import pytest

from feederos.errors import BundleError
from feederos.runtime import __all__ as runtime_exports
from feederos.runtime.app import App, on_timer, timers_of
from feederos.runtime.clock import Clock, SimulatedClock, WallClock
from feederos.runtime.loader import check_entrypoint, load_app_class


def test_public_names():
    assert set(runtime_exports) == {
        "Action",
        "App",
        "AppConfig",
        "AppContext",
        "AppHost",
        "AppState",
        "AppStatus",
        "Clock",
        "Command",
        "Event",
        "Measurement",
        "Phase",
        "Quality",
        "SimulatedClock",
        "Severity",
        "WallClock",
        "on_timer",
    }


def test_timers_are_found_with_their_periods():
    class Two(App):
        @on_timer(every=timedelta(minutes=5))
        def slow(self) -> None: ...

        @on_timer(every=0.5)
        def fast(self) -> None: ...

        def plain(self) -> None: ...

    assert [(every_s, f.__name__) for every_s, f in timers_of(Two())] == [
        (0.5, "fast"),
        (300.0, "slow"),
    ]


@pytest.mark.parametrize("every", [0, -1.0, timedelta(0)])
def test_a_timer_needs_a_positive_period(every):
    with pytest.raises(ValueError, match="positive period"):
        on_timer(every=every)


def test_clocks():
    assert isinstance(WallClock(), Clock) and isinstance(SimulatedClock(datetime.now(UTC)), Clock)
    assert WallClock().now().tzinfo is UTC
    clock = SimulatedClock(datetime(2026, 3, 29, 0, 30, tzinfo=UTC))
    clock.set(datetime(2026, 3, 29, 2, 30, tzinfo=UTC))
    assert clock.monotonic_s() == 7200.0
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance(-1.0)
    with pytest.raises(ValueError, match="timezone-aware"):
        SimulatedClock(datetime(2026, 1, 1))


def _write_app(folder, version: str) -> None:
    package = folder / "counter"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("from .core import Counter\n")
    (package / "core.py").write_text(
        textwrap.dedent(f"""
        from feederos.runtime.app import App
        class Counter(App):
            VERSION = "{version}"
    """)
    )


def test_two_versions_load_side_by_side(tmp_path):
    _write_app(tmp_path / "1.0.0", "1.0.0")
    _write_app(tmp_path / "2.0.0", "2.0.0")
    v1 = load_app_class(tmp_path / "1.0.0", "counter:Counter")
    v2 = load_app_class(tmp_path / "2.0.0", "counter:Counter")
    assert (v1.VERSION, v2.VERSION) == ("1.0.0", "2.0.0")
    assert issubclass(v1, App) and v1 is not v2


@pytest.mark.parametrize(
    ("source", "entrypoint", "message"),
    [
        ("x = 1\n", "mod:x", "is not a feederos.runtime.App subclass"),
        (
            "raise ImportError('numpy missing')\n",
            "mod:Anything",
            "importing .* failed.*numpy missing",
        ),
        ("x = 1\n", "other:X", "no module other"),
        ("x = 1\n", "mod", "malformed"),
        ("x = 1\n", "mod:1x", "malformed"),
    ],
)
def test_load_errors_say_what_is_wrong(tmp_path, source, entrypoint, message):
    (tmp_path / "mod.py").write_text(source)
    with pytest.raises(BundleError, match=message):
        load_app_class(tmp_path, entrypoint)


def test_entrypoint_parts():
    assert check_entrypoint("pkg.sub:Cls") == ("pkg.sub", "Cls")
