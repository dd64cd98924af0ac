"""The edge message contract: ranges checked at construction."""

from __future__ import annotations

import pytest

from feederos.edge.errors import MessageFieldError
from feederos.edge.messages import CommandKind, NodeCommand, Telemetry
from feederos.errors import FeederosError

GOOD = dict(node=1, seq=0, soc_pct=50.0, p_w=0.0, q_var=0.0, v_v=120.0, f_hz=60.0, flags=0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("node", 0),
        ("node", 256),
        ("node", True),
        ("seq", 65536),
        ("seq", -1),
        ("soc_pct", 100.5),
        ("p_w", 32_001.0),
        ("q_var", -32_001.0),
        ("v_v", 300.1),
        ("f_hz", 54.9),
        ("f_hz", float("nan")),
        ("flags", 256),
        ("p_w", "12"),
    ],
)
def test_telemetry_rejects_out_of_range(field: str, value: object) -> None:
    with pytest.raises(MessageFieldError) as err:
        Telemetry(**{**GOOD, field: value})  # type: ignore[arg-type]
    assert err.value.field == field
    assert f"Telemetry.{field}" in str(err.value)
    assert isinstance(err.value, FeederosError)


def test_telemetry_edges_are_accepted() -> None:
    t = Telemetry(
        node=255, seq=65535, soc_pct=100, p_w=-32_000, q_var=32_000, v_v=0, f_hz=65.0, flags=255
    )
    assert all(t.relay_closed(k) for k in range(4))


def test_command_kind_is_coerced_from_int_and_checked() -> None:
    cmd = NodeCommand(node=2, seq=5, kind=3, circuit=1, value=1500.0)  # type: ignore[arg-type]
    assert cmd.kind is CommandKind.SET_P_LIMIT
    with pytest.raises(MessageFieldError, match="kind"):
        NodeCommand(node=2, seq=5, kind=9)  # type: ignore[arg-type]


@pytest.mark.parametrize(("field", "value"), [("circuit", 4), ("value", -1.0), ("seq", 70000)])
def test_command_rejects_out_of_range(field: str, value: float) -> None:
    with pytest.raises(MessageFieldError, match=field):
        NodeCommand(**{"node": 1, "seq": 0, "kind": CommandKind.SHED, field: value})
