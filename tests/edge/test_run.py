"""The edge node process entry (``python -m feederos.edge.run``)."""

from __future__ import annotations

import json

import pytest
from gpiozero import Device

from feederos.edge.run import main


def test_run_emits_telemetry_lines(capsys: pytest.CaptureFixture[str]) -> None:
    previous = Device.pin_factory
    try:
        assert main(["--node", "7", "--duration", "0.45", "--telemetry", "0.2"]) == 0
    finally:
        Device.pin_factory = previous
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [d["seq"] for d in lines] == [0, 1]
    assert all(d["node"] == 7 and d["flags"] & 0x0F == 0x0F for d in lines)
    assert lines[-1]["v_v"] == pytest.approx(120.0, rel=0.02)
