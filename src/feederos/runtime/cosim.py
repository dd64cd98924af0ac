"""Co-simulation: run Feeder OS apps, unchanged, against a power-flow twin of the feeder.

The apps run in :class:`~feederos.runtime.host.AppHost` on an
:class:`~feederos.runtime.bus.memory.InMemoryBus` with a
:class:`~feederos.runtime.clock.SimulatedClock` — the same objects that run them in the
field on MQTT and the wall clock. Step ``k = 0 … steps−1`` at ``start + k·step_s``:

1. the clock moves to the step's time;
2. the commands apps sent during the step before are applied to the twin
   (:mod:`feederos.runtime.cosim_apply`): one that has expired by now, names no asset
   of the feeder, or whose action does not fit its asset is refused — recorded as
   such, and reported as a warning :class:`~feederos.runtime.messages.Event` from
   ``twin`` — never raised;
3. the twin is solved: loads and DER at the step's multipliers, as
   :func:`feederos.timeseries.run` steps them
   (:class:`~feederos.timeseries.dispatch.Dispatch`: shapes read at the step's hour of
   day, ``profiles`` per element), with the setpoints in force, the regulators and
   capacitor controls acting (``controls``) from the last step's taps and steps;
4. measurements (:mod:`feederos.runtime.cosim_measure`) are published for the assets
   some app subscribes to, and only for those;
5. every host's timers fire (:meth:`~feederos.runtime.host.AppHost.tick`).

Delivery is synchronous and ordered, so the same inputs give the same result.

Examples
--------
One hour of IEEE 13 with an app that opens a switch when it first hears of it:

>>> from datetime import datetime, UTC
>>> from feederos.feeders import load_feeder
>>> from feederos.runtime.app import App
>>> from feederos.runtime.messages import Action
>>> class Opener(App):
...     def on_start(self) -> None:
...         self.ctx.watch("switch.671692")
...     def on_measurement(self, m) -> None:
...         if m.value == 0.0:
...             self.ctx.command("switch.671692", Action.OPEN)
>>> out = cosimulate(load_feeder("ieee13"), {"opener": Opener}, steps=2, step_s=1800,
...                  start=datetime(2026, 6, 1, 12, tzinfo=UTC))
>>> out.commands[["step", "asset", "action", "status", "value_before", "value_after"]
...              ].values.tolist()
[[0, 'switch.671692', 'open', 'applied', 0.0, 1.0]]
>>> [m.topic for m in out.measurements_sent]
['feeder/twin/measurements/switch.671692', 'feeder/twin/measurements/switch.671692']
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from feederos.errors import PayloadError, TopicError
from feederos.model import Network
from feederos.model.settings import SolveMode
from feederos.powerflow import solve
from feederos.powerflow.compiled import CompiledNetwork, compile_network
from feederos.powerflow.injections.inverters import InverterInjections
from feederos.powerflow.result import PowerFlowResult
from feederos.runtime.app import App
from feederos.runtime.bus.base import BusMessage
from feederos.runtime.bus.memory import InMemoryBus
from feederos.runtime.clock import SimulatedClock
from feederos.runtime.cosim_apply import (
    AssetCatalogue,
    AssetKind,
    Setpoints,
    check_command,
    setting_of,
)
from feederos.runtime.cosim_measure import Meter
from feederos.runtime.host import AppHost
from feederos.runtime.messages import Command, Event, Severity, decode, encode
from feederos.runtime.topics import (
    check_id,
    command_topic,
    event_topic,
    measurement_topic,
    parse_topic,
)
from feederos.timeseries.dispatch import Dispatch, Profile

__all__ = ["TWIN_SOURCE", "CommandStatus", "CosimResult", "SentMessage", "cosimulate"]

TWIN_SOURCE = "twin"
"""``source`` of the events the twin raises itself (refused commands)."""

MAX_ITERATIONS = 100
"""Iterations a step's power flow may take before it is reported as not converged."""


class CommandStatus(StrEnum):
    """What became of a command sent to the twin."""

    APPLIED = "applied"
    REJECTED = "rejected"
    """Malformed, unknown asset, or an action or setpoint that does not fit the asset."""
    EXPIRED = "expired"
    """Its ``expires`` had passed by the step it would have been applied at."""
    PENDING = "pending"
    """Sent in the last step: the run ended before it could be applied."""


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A message the twin published: the step, its topic and its exact payload."""

    step: int
    topic: str
    payload: bytes


@dataclass
class _CommandRow:
    step: int
    topic: str
    payload: bytes
    command: Command | None
    status: CommandStatus = CommandStatus.PENDING
    reason: str = ""
    step_applied: int | None = None
    value_before: float = math.nan
    value_after: float = math.nan
    p_kw_before: float = math.nan
    p_kw_after: float = math.nan


@dataclass(frozen=True)
class CosimResult:
    """What a co-simulation produced; every frame is tidy (one row per observation).

    Attributes
    ----------
    steps
        One row per step: ``step``, ``time``, ``hour`` (of day, as the shapes read it),
        ``v_min_pu``, ``v_max_pu`` (energised phase nodes), ``source_p_kw``,
        ``losses_kw``, ``der_p_kw`` (all inverters, delivered), ``converged``,
        ``iterations``, ``measurements`` (published), ``commands_applied``.
    commands
        One row per message on ``commands/+``, in arrival order: ``step`` (sent),
        ``time``, ``issuer``, ``asset``, ``action``, ``setpoint``, ``expires``,
        ``status`` (:class:`CommandStatus`), ``reason``, ``step_applied``,
        ``value_before``/``value_after`` (the setting it changes: % limit, kW, kvar,
        tap, steps, 1 = open), and for an inverter ``p_kw_before`` (delivered at the
        step before it took effect) and ``p_kw_after`` (at the step it took effect)
        [kW]. Command ids (random) are left out so that runs compare equal.
    events
        One row per event on ``events/+``: ``step``, ``time``, ``severity``,
        ``source``, ``text``, ``data``.
    der
        One row per inverter and step: ``step``, ``asset``, ``p_kw``, ``q_kvar``
        (delivered), ``p_avail_kw`` (what the resource offered), ``p_limit_pct``.
    measurements_sent
        Every measurement the twin published, in order, exactly as sent.
    final
        The last step's power flow.
    run_time_s
        Wall time the run took [s].
    """

    steps: pd.DataFrame
    commands: pd.DataFrame
    events: pd.DataFrame
    der: pd.DataFrame
    measurements_sent: tuple[SentMessage, ...]
    final: PowerFlowResult
    run_time_s: float = field(compare=False)


def cosimulate(
    network: Network,
    apps: Mapping[str, App | type[App]],
    *,
    steps: int,
    start: datetime,
    step_s: float,
    profiles: Mapping[str, Profile] | None = None,
    load_multipliers: Sequence[float] | None = None,
    mode: SolveMode | str = SolveMode.DAILY,
    feeder_id: str = "twin",
    configs: Mapping[str, Mapping[str, Any]] | None = None,
    controls: bool = True,
    tolerance_pu: float = 1e-9,
    log_stream: Any = None,
) -> CosimResult:
    """Run ``apps`` against ``network`` for ``steps`` steps (see the module docstring).

    Parameters
    ----------
    network
        The feeder; never modified (commanded switches and manual regulators go to a
        copy).
    apps
        App name → an :class:`~feederos.runtime.app.App` object or class (made with
        no arguments), started in this order, ticked in this order.
    steps, start, step_s
        Number of steps, the first step's time (timezone-aware) and the spacing [s].
    profiles
        Per-element multipliers, as :func:`feederos.timeseries.run` takes them
        (``Load.671``, ``PVSystem.pv1``: a shape or one value per step).
    load_multipliers
        One multiplier per step for every load without a profile of its own.
    mode
        Which shapes elements follow (``daily`` or ``yearly``).
    feeder_id
        The feeder id the topics carry.
    configs
        App name → its config.
    controls
        Let regulators and capacitor controls not commanded by an app act.
    tolerance_pu
        Convergence tolerance of each step's power flow.
    log_stream
        Where the apps' JSON logs go (stderr if not given).

    Raises
    ------
    ValueError
        If ``steps`` < 1, ``step_s`` ≤ 0, ``start`` is naive, or ``load_multipliers``
        does not have one value per step.
    TopicError
        If ``feeder_id`` or an app name is not a valid topic level.
    NetworkValidationError
        If a profile names no element or has the wrong length, or a shape is missing.
    """
    if steps < 1:
        raise ValueError(f"cosimulate needs at least one step, not steps={steps}")
    if not step_s > 0:
        raise ValueError(f"cosimulate needs a positive step_s, not {step_s}")
    if start.tzinfo is None:
        raise ValueError("cosimulate needs a timezone-aware start (e.g. tzinfo=UTC)")
    check_id(feeder_id, what="feeder id")
    for name in apps:
        check_id(name, what="app name")
    all_profiles: dict[str, Profile] = dict(profiles or {})
    if load_multipliers is not None:
        if len(load_multipliers) != steps:
            raise ValueError(
                f"load_multipliers has {len(load_multipliers)} values; give one per step ({steps})"
            )
        given = {k.lower() for k in all_profiles}
        for load in network.loads:
            if f"load.{load.name}".lower() not in given:
                all_profiles[f"Load.{load.name}"] = np.asarray(load_multipliers, dtype=float)
    began = time.perf_counter()
    twin = _Twin(
        network,
        steps=steps,
        start=start,
        step_s=step_s,
        profiles=all_profiles,
        mode=SolveMode(mode),
        feeder_id=feeder_id,
        controls=controls,
        tolerance_pu=tolerance_pu,
    )
    return twin.run(apps, configs or {}, log_stream, began)


class _Twin:
    """The stepping loop and what it records."""

    def __init__(
        self,
        network: Network,
        *,
        steps: int,
        start: datetime,
        step_s: float,
        profiles: Mapping[str, Profile],
        mode: SolveMode,
        feeder_id: str,
        controls: bool,
        tolerance_pu: float,
    ) -> None:
        self.assets = AssetCatalogue.of(network)
        self.setpoints = Setpoints()
        self.meter = Meter(self.assets)
        self.compiled = compile_network(network)
        midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
        first_h = (start - midnight).total_seconds() / 3600.0
        self.hours = first_h + step_s / 3600.0 * np.arange(steps, dtype=np.float64)
        self.dispatch = Dispatch(network, self.compiled, mode, self.hours, 1, profiles)
        self.times = [start + timedelta(seconds=step_s * k) for k in range(steps)]
        self.clock = SimulatedClock(start)
        self.bus = InMemoryBus()
        self.feeder_id, self.controls, self.tol = feeder_id, controls, tolerance_pu
        self.step = 0
        self.inbox: list[_CommandRow] = []
        self.rows: list[_CommandRow] = []
        self.events: list[dict[str, object]] = []
        self.sent: list[SentMessage] = []
        self.step_rows: list[dict[str, object]] = []
        self.der_rows: list[dict[str, object]] = []
        self.inverters = [
            a for a in self.assets.assets if self.assets.kind(a) is AssetKind.INVERTER
        ]

    def run(
        self,
        apps: Mapping[str, App | type[App]],
        configs: Mapping[str, Mapping[str, Any]],
        log_stream: Any,
        began: float,
    ) -> CosimResult:
        self.bus.subscribe(command_topic(self.feeder_id, "+"), self._on_command)
        self.bus.subscribe(event_topic(self.feeder_id, "+"), self._on_event)
        hosts = [
            AppHost(
                app() if isinstance(app, type) else app,
                self.bus,
                feeder_id=self.feeder_id,
                app_name=name,
                clock=self.clock,
                config=configs.get(name),
                heartbeat_s=None,
                log_stream=log_stream,
            )
            for name, app in apps.items()
        ]
        last: PowerFlowResult | None = None
        try:
            for host in hosts:
                host.start()
            for k, when in enumerate(self.times):
                self.step = k
                self.clock.set(when)
                applied = self._apply_commands(k, last)
                last = self._solve(k, last)
                self._settle_effects(k, last)
                published = self._publish_measurements(k, last)
                for host in hosts:
                    host.tick()
                self._record_step(k, last, published, applied)
            for host in hosts:
                host.stop()
        finally:
            self.bus.close()
        assert last is not None
        return CosimResult(
            steps=pd.DataFrame(self.step_rows),
            commands=self._commands_frame(),
            events=pd.DataFrame(
                self.events, columns=["step", "time", "severity", "source", "text", "data"]
            ),
            der=pd.DataFrame(
                self.der_rows,
                columns=["step", "asset", "p_kw", "q_kvar", "p_avail_kw", "p_limit_pct"],
            ),
            measurements_sent=tuple(self.sent),
            final=last,
            run_time_s=time.perf_counter() - began,
        )

    # -- bus handlers ---------------------------------------------------------------
    def _on_command(self, message: BusMessage) -> None:
        try:
            command: Command | None = decode(message.payload, Command, topic=message.topic)
        except PayloadError:
            command = None
        row = _CommandRow(self.step, message.topic, message.payload, command)
        self.rows.append(row)
        self.inbox.append(row)

    def _on_event(self, message: BusMessage) -> None:
        try:
            event = decode(message.payload, Event, topic=message.topic)
        except PayloadError as exc:
            self.events.append(
                {
                    "step": self.step,
                    "time": self.clock.now(),
                    "severity": None,
                    "source": None,
                    "text": str(exc),
                    "data": {"topic": message.topic},
                }
            )
            return
        self.events.append(
            {
                "step": self.step,
                "time": event.ts,
                "severity": event.severity,
                "source": event.source,
                "text": event.text,
                "data": event.data,
            }
        )

    # -- commands → twin ------------------------------------------------------------
    def _apply_commands(self, k: int, last: PowerFlowResult | None) -> int:
        rows, self.inbox = self.inbox, []
        applied, recompile = 0, False
        now = self.clock.now()
        for row in rows:
            reason = self._refusal(row)
            command = row.command
            if (
                reason is None
                and command is not None
                and command.expires is not None
                and command.expires <= now
            ):
                row.status = CommandStatus.EXPIRED
                row.reason = f"expired at {command.expires.isoformat()}, before step {k}"
                continue
            if reason is not None or command is None:
                row.status, row.reason = CommandStatus.REJECTED, reason or "malformed"
                self._warn(f"command refused: {row.reason}", row)
                continue
            state = last.compiled if last is not None else self.compiled
            row.value_before = setting_of(
                self.assets, self.setpoints, state, command.asset, command.action
            )
            if self.assets.kind(command.asset) is AssetKind.INVERTER and last is not None:
                row.p_kw_before = self._delivered_kw(last, command.asset)
            recompile |= self.setpoints.apply(command)
            row.status, row.step_applied = CommandStatus.APPLIED, k
            applied += 1
        if recompile:
            carried = last.compiled if last is not None else self.compiled
            self.compiled = compile_network(self.setpoints.network(self.assets)).with_state(
                tap_pu=carried.tap_pu, capacitor_states=carried.capacitor_states
            )
        return applied

    def _refusal(self, row: _CommandRow) -> str | None:
        if row.command is None:
            try:
                decode(row.payload, Command, topic=row.topic)
            except PayloadError as exc:
                return f"malformed command: {exc}"
        assert row.command is not None
        try:
            asset = parse_topic(row.topic).name
        except TopicError as exc:  # pragma: no cover - the subscription filter fits
            return str(exc)
        if asset != row.command.asset:
            return f"command for {row.command.asset!r} sent on the topic of {asset!r}"
        return check_command(self.assets, row.command)

    def _warn(self, text: str, row: _CommandRow) -> None:
        data: dict[str, object] = {"topic": row.topic}
        if row.command is not None:
            data.update(
                asset=row.command.asset, action=row.command.action.value, issuer=row.command.issuer
            )
        event = Event(
            ts=self.clock.now(), severity=Severity.WARNING, source=TWIN_SOURCE, text=text, data=data
        )
        self.bus.publish(event_topic(self.feeder_id, Severity.WARNING), encode(event))

    def _settle_effects(self, k: int, result: PowerFlowResult) -> None:
        for row in self.rows:
            if row.step_applied != k or row.command is None:
                continue
            c = row.command
            row.value_after = setting_of(
                self.assets, self.setpoints, result.compiled, c.asset, c.action
            )
            if self.assets.kind(c.asset) is AssetKind.INVERTER:
                row.p_kw_after = self._delivered_kw(result, c.asset)

    # -- the twin -------------------------------------------------------------------
    def _solve(self, k: int, last: PowerFlowResult | None) -> PowerFlowResult:
        state: CompiledNetwork = self.compiled
        if last is not None and last.compiled.root is self.compiled.root:
            state = last.compiled  # the taps and steps the last step's controls left
        state = self.setpoints.control_state(self.assets, state)
        sets = self.setpoints.injections(self.assets, self.dispatch.sets(k))
        result = solve(
            state.with_injections(sets),
            tolerance_pu=self.tol,
            max_iterations=MAX_ITERATIONS,
            controls=self.controls,
            initial=None if last is None else last.v,
        )
        self.dispatch.settle(k, result.compiled, result.v)
        return result

    def _delivered_kw(self, result: PowerFlowResult, asset: str) -> float:
        return -self.meter.power(result, f"inverter.{self.assets.name(asset)}")[0]

    # -- twin → apps ----------------------------------------------------------------
    def _publish_measurements(self, k: int, result: PowerFlowResult) -> int:
        published = 0
        now = self.clock.now()
        for asset in self.assets.assets:
            topic = measurement_topic(self.feeder_id, asset)
            if not self.bus.has_subscriber(topic):
                continue
            for m in self.meter.read(asset, result, self.setpoints, now):
                payload = encode(m)
                self.sent.append(SentMessage(k, topic, payload))
                self.bus.publish(topic, payload)
                published += 1
        return published

    # -- records --------------------------------------------------------------------
    def _record_step(self, k: int, r: PowerFlowResult, published: int, applied: int) -> None:
        der_p = 0.0
        avail = {
            name: p
            for s in r.compiled.injections
            if isinstance(s, InverterInjections)
            for name, p in zip(s.names, np.where(s.is_pv, s.p_dc_kw, np.nan), strict=True)
        }
        for asset in self.inverters:
            name = self.assets.name(asset)
            p_kw, q_kvar = self.meter.power(r, f"inverter.{name}")
            der_p += -p_kw
            self.der_rows.append(
                {
                    "step": k,
                    "asset": asset,
                    "p_kw": -p_kw,
                    "q_kvar": -q_kvar,
                    "p_avail_kw": float(avail.get(name, math.nan)),
                    "p_limit_pct": self.setpoints.p_limit_pct.get(asset, 100.0),
                }
            )
        self.step_rows.append(
            {
                "step": k,
                "time": self.times[k],
                "hour": float(self.hours[k]),
                "v_min_pu": r.v_min_pu,
                "v_max_pu": r.v_max_pu,
                "source_p_kw": r.source_p_kw,
                "losses_kw": r.total_losses_kw,
                "der_p_kw": der_p,
                "converged": r.converged,
                "iterations": r.iterations,
                "measurements": published,
                "commands_applied": applied,
            }
        )

    def _commands_frame(self) -> pd.DataFrame:
        columns = [
            "step",
            "time",
            "issuer",
            "asset",
            "action",
            "setpoint",
            "expires",
            "status",
            "reason",
            "step_applied",
            "value_before",
            "value_after",
            "p_kw_before",
            "p_kw_after",
            "topic",
        ]
        out = []
        for row in self.rows:
            c = row.command
            out.append(
                {
                    "step": row.step,
                    "time": self.times[row.step],
                    "issuer": c.issuer if c else None,
                    "asset": c.asset if c else parse_topic(row.topic).name,
                    "action": c.action.value if c else None,
                    "setpoint": c.setpoint if c and c.setpoint is not None else math.nan,
                    "expires": c.expires if c else None,
                    "status": row.status.value,
                    "reason": row.reason,
                    "step_applied": row.step_applied,
                    "value_before": row.value_before,
                    "value_after": row.value_after,
                    "p_kw_before": row.p_kw_before,
                    "p_kw_after": row.p_kw_after,
                    "topic": row.topic,
                }
            )
        frame = pd.DataFrame(out, columns=columns)
        frame["step_applied"] = frame["step_applied"].astype("Int64")
        return frame
