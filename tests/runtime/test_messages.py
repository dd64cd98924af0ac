"""Bus payloads: round trips, versioning, and refusals that name the bad field."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from feederos.errors import PayloadError
from feederos.runtime.messages import (
    MAX_PAYLOAD_BYTES,
    Action,
    AppConfig,
    AppState,
    AppStatus,
    Command,
    Event,
    Measurement,
    Severity,
    decode,
    encode,
)

T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "message",
    [
        Measurement(ts=T0, asset="675", quantity="v_pu", phase="b", value=1.031, unit="pu"),
        Command(
            ts=T0,
            asset="pv-1",
            action=Action.SET_P_LIMIT_PCT,
            setpoint=40.0,
            expires=T0 + timedelta(minutes=15),
            issuer="volt-watt",
        ),
        Command(ts=T0, asset="sw-1", action=Action.OPEN, issuer="flisr"),
        Event(
            ts=T0,
            severity=Severity.ALARM,
            source="runtime",
            text="rolled back",
            data={"from": "2.0.0", "to": "1.0.0"},
        ),
        AppStatus(ts=T0, app="vw", version="1.0.0", state=AppState.RUNNING, pid=12, handled=3),
        AppConfig(ts=T0, app="vw", bundle_version=4, config={"pv": ["pv-1"]}),
    ],
)
def test_round_trip(message):
    assert decode(encode(message), type(message)) == message


def test_payload_is_versioned_compact_json():
    body = json.loads(encode(Command(ts=T0, asset="sw-1", action=Action.CLOSE, issuer="a")))
    assert body["v"] == 1
    assert "setpoint" not in body  # None fields are left out
    assert len(body["id"]) == 32  # a fresh uuid4 hex per command


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        (b"not json", "payload"),
        (
            b'{"v": 2, "ts": "2026-06-01T12:00:00Z", "asset": "a", "quantity": "v_pu", '
            b'"value": 1, "unit": "pu"}',
            "v:",
        ),
        (
            b'{"ts": "2026-06-01T12:00:00", "asset": "a", "quantity": "v_pu", '
            b'"value": 1, "unit": "pu"}',
            "ts:",
        ),  # naive time
        (
            b'{"ts": "2026-06-01T12:00:00Z", "asset": "a/b", "quantity": "v_pu", '
            b'"value": 1, "unit": "pu"}',
            "asset:",
        ),
        (
            b'{"ts": "2026-06-01T12:00:00Z", "asset": "a", "quantity": "v_pu", '
            b'"value": NaN, "unit": "pu"}',
            "value:",
        ),
        (
            b'{"ts": "2026-06-01T12:00:00Z", "asset": "a", "quantity": "v_pu", '
            b'"value": 1, "unit": "pu", "extra": 1}',
            "extra:",
        ),
    ],
)
def test_malformed_measurements_name_the_problem(payload, named):
    with pytest.raises(PayloadError, match=named) as info:
        decode(payload, Measurement, topic="feeder/f1/measurements/a")
    assert str(info.value).startswith("feeder/f1/measurements/a: ")


def test_oversized_payload_is_refused_unread():
    with pytest.raises(PayloadError, match="exceeds"):
        decode(b" " * (MAX_PAYLOAD_BYTES + 1), Measurement)


@pytest.mark.parametrize(
    ("action", "setpoint", "problem"),
    [
        (Action.OPEN, 1.0, "takes no setpoint"),
        (Action.SET_P_KW, None, "needs a setpoint"),
        (Action.SET_TAP, 2.5, "integer"),
        (Action.SET_P_LIMIT_PCT, 120.0, "0-100"),
        (Action.CURTAIL_PCT, -1.0, "0-100"),
    ],
)
def test_command_setpoint_must_fit_its_action(action, setpoint, problem):
    with pytest.raises(ValidationError, match=problem):
        Command(ts=T0, asset="x", action=action, setpoint=setpoint, issuer="a")


def test_command_cannot_expire_before_it_is_sent():
    with pytest.raises(ValidationError, match="expires"):
        Command(ts=T0, asset="x", action=Action.CLOSE, issuer="a", expires=T0)
