"""The app SDK: the base class a Feeder OS app derives from, and what it may call.

An app reacts to measurements, timers and config changes and answers with commands and
events through its :class:`AppContext`. It never imports transport code: the same
object runs on the twin (in-memory bus, simulated clock, :mod:`feederos.runtime.cosim`)
and in the field (MQTT, wall clock, a supervised process). Callbacks of one app are
never run concurrently.

Examples
--------
>>> from feederos.runtime.messages import Action, Measurement
>>> class Curtailer(App):
...     def on_start(self) -> None:
...         self.ctx.watch("pv-1")
...
...     def on_measurement(self, m: Measurement) -> None:
...         if m.quantity == "v_pu" and m.value > 1.05:
...             self.ctx.command("pv-1", Action.SET_P_LIMIT_PCT, 50.0)
...
...     @on_timer(every=60.0)
...     def heartbeat(self) -> None:
...         self.ctx.log.info("alive")
>>> [every_s for every_s, _ in timers_of(Curtailer())]
[60.0]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from feederos.runtime.clock import Clock
from feederos.runtime.messages import Action, Command, Event, Measurement, Severity

__all__ = ["App", "AppContext", "on_timer", "timers_of"]

_TIMER_ATTR = "_fos_timer_every_s"
F = TypeVar("F", bound=Callable[..., None])


class AppContext(Protocol):
    """What an app may read and do; the runtime provides it as ``app.ctx``."""

    @property
    def app_name(self) -> str:
        """The app's name, as in its manifest."""
        ...

    @property
    def feeder_id(self) -> str:
        """The feeder this runtime serves."""
        ...

    @property
    def config(self) -> Mapping[str, Any]:
        """The app's current config (validated against its schema by the runtime)."""
        ...

    @property
    def clock(self) -> Clock:
        """Wall clock in the field, simulated clock on the twin."""
        ...

    @property
    def log(self) -> Any:
        """A structured (structlog) logger bound to the app's name."""
        ...

    def watch(self, asset: str) -> None:
        """Receive the measurements of ``asset`` (``"+"`` for every asset)."""
        ...

    def command(
        self,
        asset: str,
        action: Action,
        setpoint: float | None = None,
        *,
        expires_s: float | None = None,
    ) -> Command:
        """Send a command to ``asset``; it lapses ``expires_s`` [s] after now if given."""
        ...

    def event(self, severity: Severity, text: str, **data: Any) -> Event:
        """Raise an event for operators and other apps."""
        ...


class App:
    """Base class of a Feeder OS app; override the callbacks you need.

    ``ctx`` is set by the runtime before :meth:`on_start`.
    """

    ctx: AppContext

    def on_start(self) -> None:
        """Called once when the app starts; ``ctx.config`` holds its config."""

    def on_measurement(self, measurement: Measurement) -> None:
        """Called for each measurement of a watched asset."""

    def on_config(self, config: Mapping[str, Any]) -> None:
        """Called when a new config is applied while the app runs (also in ``ctx.config``)."""

    def on_stop(self) -> None:
        """Called once before the app stops."""


def on_timer(every: float | timedelta) -> Callable[[F], F]:
    """Mark an app method to be called every ``every`` [s] (first call one period after start)."""
    every_s = every.total_seconds() if isinstance(every, timedelta) else float(every)
    if not every_s > 0:
        raise ValueError(f"on_timer needs a positive period, not {every!r}")

    def mark(method: F) -> F:
        setattr(method, _TIMER_ATTR, every_s)
        return method

    return mark


def timers_of(app: App) -> list[tuple[float, Callable[[], None]]]:
    """The app's timer methods as (period [s], bound method), in name order."""
    found: list[tuple[float, Callable[[], None]]] = []
    for name in sorted(dir(type(app))):
        every_s = getattr(getattr(type(app), name, None), _TIMER_ATTR, None)
        if every_s is not None:
            found.append((every_s, getattr(app, name)))
    return found
