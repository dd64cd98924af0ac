"""The versioned JSON payloads of the Feeder OS bus.

Each message is a frozen pydantic model with a schema version ``v``; a payload is its
compact JSON in UTF-8. :func:`decode` turns bytes back into a message and raises
:class:`~feederos.errors.PayloadError` naming the topic and every bad field, so a
subscriber can report a malformed message and go on.

Sign convention: ``p_kw``/``q_kvar`` setpoints of a DER are generation-positive, as
in ``docs/nomenclature.md``. Times are timezone-aware (UTC on the wire).

Examples
--------
>>> from datetime import datetime, UTC
>>> m = Measurement(ts=datetime(2026, 1, 1, tzinfo=UTC), asset="675", quantity="v_pu",
...                 phase="a", value=1.02, unit="pu")
>>> decode(encode(m), Measurement) == m
True
>>> decode(b'{"v": 1, "asset": "675"}', Measurement,
...        topic="feeder/f1/measurements/675")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
feederos.errors.PayloadError: feeder/f1/measurements/675: not a valid Measurement: ts: ...
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Self, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from feederos.errors import PayloadError

__all__ = [
    "SCHEMA_VERSION",
    "Action",
    "AppConfig",
    "AppState",
    "AppStatus",
    "Command",
    "Event",
    "Measurement",
    "Message",
    "Phase",
    "Quality",
    "Severity",
    "decode",
    "encode",
    "utc_now",
]

SCHEMA_VERSION = 1
"""Version every message carries in ``v``; a decoder refuses versions it does not know."""

MAX_PAYLOAD_BYTES = 256 * 1024
"""Largest payload :func:`decode` parses; bigger ones are refused unread."""

AssetId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class Quality(StrEnum):
    """Measurement quality, after IEC 61850's validity attribute."""

    GOOD = "good"
    QUESTIONABLE = "questionable"
    INVALID = "invalid"


class Severity(StrEnum):
    """Event severity; also the last level of an event topic."""

    INFO = "info"
    WARNING = "warning"
    ALARM = "alarm"
    CRITICAL = "critical"


class Phase(StrEnum):
    """Phase (or phase pair, or all three) a measurement is of."""

    A = "a"
    B = "b"
    C = "c"
    N = "n"
    AB = "ab"
    BC = "bc"
    CA = "ca"
    ABC = "abc"


class Action(StrEnum):
    """What a command asks an asset to do; the setpoint's meaning and unit follow from it."""

    SET_P_KW = "set_p_kw"
    """Active power setpoint of a DER or battery [kW], generation positive."""
    SET_Q_KVAR = "set_q_kvar"
    """Reactive power setpoint of a DER [kvar], injection positive."""
    SET_P_LIMIT_PCT = "set_p_limit_pct"
    """Cap a DER's active power at a share of its rating [%], 0-100 (volt-watt)."""
    SET_TAP = "set_tap"
    """Regulator tap position [step], an integer."""
    SET_CAP_STEPS = "set_cap_steps"
    """Capacitor bank steps in service [-], an integer ≥ 0."""
    CURTAIL_PCT = "curtail_pct"
    """Curtail a load's demand by a share [%], 0-100."""
    OPEN = "open"
    """Open a switch; no setpoint."""
    CLOSE = "close"
    """Close a switch; no setpoint."""


_INTEGER_ACTIONS = (Action.SET_TAP, Action.SET_CAP_STEPS)
_PERCENT_ACTIONS = (Action.SET_P_LIMIT_PCT, Action.CURTAIL_PCT)
_NO_SETPOINT = (Action.OPEN, Action.CLOSE)


class AppState(StrEnum):
    """An app's state as it reports it on its status topic."""

    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"
    OFFLINE = "offline"
    """Published by the broker as the app's last will when its connection drops."""


class Message(BaseModel):
    """Base of every bus message: frozen, no unknown fields, finite numbers."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    v: Literal[1] = 1


class Measurement(Message):
    """One measured value of one asset [unit as given in ``unit``]."""

    ts: AwareDatetime
    asset: AssetId
    quantity: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")] = Field(
        description="What was measured, named from the glossary: v_pu, i_a, p_kw, q_kvar, tap."
    )
    phase: Phase | None = None
    value: float
    unit: Annotated[str, StringConstraints(max_length=16)]
    quality: Quality = Quality.GOOD


class Command(Message):
    """An order to an asset; ``expires`` after which it must not be applied."""

    id: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        default_factory=lambda: uuid.uuid4().hex
    )
    ts: AwareDatetime
    asset: AssetId
    action: Action
    setpoint: float | None = None
    expires: AwareDatetime | None = None
    issuer: Name

    @model_validator(mode="after")
    def _setpoint_fits_action(self) -> Self:
        if self.action in _NO_SETPOINT:
            if self.setpoint is not None:
                raise ValueError(f"action {self.action.value} takes no setpoint")
        elif self.setpoint is None:
            raise ValueError(f"action {self.action.value} needs a setpoint")
        elif self.action in _INTEGER_ACTIONS and self.setpoint != int(self.setpoint):
            raise ValueError(f"action {self.action.value} needs an integer setpoint")
        elif self.action in _PERCENT_ACTIONS and not 0.0 <= self.setpoint <= 100.0:
            raise ValueError(f"action {self.action.value} needs a setpoint in 0-100 %")
        if self.expires is not None and self.expires <= self.ts:
            raise ValueError("expires must be after ts")
        return self


class Event(Message):
    """Something an operator or another app should know about."""

    ts: AwareDatetime
    severity: Severity
    source: Name
    text: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    data: dict[str, Any] = Field(default_factory=dict)


class AppStatus(Message):
    """An app's heartbeat: who it is, its state and how many messages it handled."""

    ts: AwareDatetime
    app: AssetId
    version: Name
    state: AppState
    pid: int | None = None
    handled: int = 0


class AppConfig(Message):
    """An app's config as applied by the runtime, with the config bundle version it is from."""

    ts: AwareDatetime
    app: AssetId
    bundle_version: int = Field(ge=0)
    config: dict[str, Any] = Field(default_factory=dict)


M = TypeVar("M", bound=Message)


def encode(message: Message) -> bytes:
    """The message's payload: compact JSON in UTF-8."""
    return message.model_dump_json(exclude_none=True).encode()


def decode(payload: bytes, kind: type[M], *, topic: str | None = None) -> M:
    """Parse ``payload`` as a ``kind`` message; raise :class:`PayloadError` naming what is wrong."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadError(
            f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}", topic=topic
        )
    try:
        return kind.model_validate_json(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'payload'}: {e['msg']}" for e in exc.errors()
        )
        raise PayloadError(f"not a valid {kind.__name__}: {problems}", topic=topic) from None


def utc_now() -> datetime:
    """The current time in UTC, as messages carry it."""
    return datetime.now(UTC)
