"""Feeder OS: the app runtime — bus, app SDK, host, lifecycle, config bundles, co-simulation.

The app contract lives in :mod:`feederos.runtime.app` (``App``, ``on_timer``),
:mod:`~feederos.runtime.messages` and :mod:`~feederos.runtime.topics`; the transports in
:mod:`~feederos.runtime.bus`. Nothing here imports an MQTT client until
:mod:`feederos.runtime.bus.mqtt` is imported.
"""

from feederos.runtime.app import App, AppContext, on_timer
from feederos.runtime.clock import Clock, SimulatedClock, WallClock
from feederos.runtime.host import AppHost
from feederos.runtime.messages import (
    Action,
    AppConfig,
    AppState,
    AppStatus,
    Command,
    Event,
    Measurement,
    Phase,
    Quality,
    Severity,
)

__all__ = [
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
    "Severity",
    "SimulatedClock",
    "WallClock",
    "on_timer",
]
