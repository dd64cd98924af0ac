"""The example volt-watt app: IEEE 1547-2018's curve, deadband, min interval, events.

The app runs as in the field — loaded from its folder by its manifest entrypoint, in an
AppHost — on an in-memory bus and a simulated clock, fed hand-made measurements.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import re
import sys
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from feederos.runtime.bus.memory import InMemoryBus
from feederos.runtime.clock import SimulatedClock
from feederos.runtime.host import AppHost
from feederos.runtime.loader import load_app_class
from feederos.runtime.messages import Command, Event, Measurement, Phase, Quality, decode, encode

ROOT = Path(__file__).resolve().parents[2]
APP_DIR = ROOT / "examples" / "apps" / "volt-watt"
CURVE = ROOT / "tests" / "data" / "runtime" / "volt_watt" / "curve.csv"
FEEDER = "vw-test"
START = datetime(2026, 6, 21, 12, tzinfo=UTC)


@dataclass
class Rig:
    """One volt-watt app in a host, and what it sent."""

    bus: InMemoryBus
    clock: SimulatedClock
    host: AppHost
    commands: list[Command] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def measure(
        self, asset: str, v_pu: float, phase: Phase = Phase.A, quality: Quality = Quality.GOOD
    ) -> None:
        m = Measurement(
            ts=self.clock.now(),
            asset=asset,
            quantity="v_pu",
            phase=phase,
            value=v_pu,
            unit="pu",
            quality=quality,
        )
        self.bus.publish(f"feeder/{FEEDER}/measurements/{asset}", encode(m))

    def after(self, seconds: float) -> None:
        """Let ``seconds`` pass and fire the app's timers."""
        self.clock.advance(seconds)
        self.host.tick()

    def setpoints(self) -> list[float | None]:
        return [c.setpoint for c in self.commands]


def make_rig(config: Mapping[str, Any]) -> Rig:
    bus, clock = InMemoryBus(), SimulatedClock(START)
    cls = load_app_class(APP_DIR, "volt_watt:VoltWatt")
    host = AppHost(
        cls(),
        bus,
        feeder_id=FEEDER,
        app_name="volt-watt",
        clock=clock,
        config=config,
        heartbeat_s=None,
        log_stream=io.StringIO(),
    )
    rig = Rig(bus, clock, host)
    bus.subscribe(
        f"feeder/{FEEDER}/commands/+", lambda m: rig.commands.append(decode(m.payload, Command))
    )
    bus.subscribe(
        f"feeder/{FEEDER}/events/+", lambda m: rig.events.append(decode(m.payload, Event))
    )
    host.start()
    return rig


@pytest.fixture
def rig_factory() -> Iterator[Any]:
    made: list[Rig] = []

    def factory(**overrides: Any) -> Rig:
        config = {"ders": [{"asset": "inverter.pv1", "watch": "675"}], **overrides}
        made.append(make_rig(config))
        return made[-1]

    yield factory
    for rig in made:
        rig.host.stop()
        rig.bus.close()


def curve_rows() -> list[dict[str, str]]:
    with CURVE.open() as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


@pytest.mark.parametrize("row", curve_rows(), ids=lambda r: f"{r['v_pu']}pu-p2={r['p2_pct']}")
def test_limit_follows_ieee_1547_table_10(rig_factory: Any, row: dict[str, str]) -> None:
    rig = rig_factory(p2_pct=float(row["p2_pct"]), deadband_pct=0.0, min_interval_s=0.0)
    rig.measure("675", float(row["v_pu"]))
    rig.after(1.0)
    expected = float(row["limit_pct"])
    if expected == 100.0:
        assert rig.commands == []  # nothing to change: no limit is in force at start
    else:
        assert rig.setpoints() == [pytest.approx(expected, abs=0.05)]
        assert rig.commands[0].asset == "inverter.pv1"
        assert rig.commands[0].action.value == "set_p_limit_pct"


def test_commands_lapse_after_expires_s(rig_factory: Any) -> None:
    rig = rig_factory(expires_s=600.0)
    rig.measure("675", 1.08)
    rig.after(1.0)
    (command,) = rig.commands
    assert (command.expires - command.ts).total_seconds() == 600.0
    assert command.issuer == "volt-watt"


def test_deadband_holds_small_changes_back(rig_factory: Any) -> None:
    rig = rig_factory(deadband_pct=2.0, min_interval_s=0.0)
    rig.measure("675", 1.07)  # 80 %
    rig.after(1.0)
    rig.measure("675", 1.0705)  # 79 %: 1 point, inside the deadband
    rig.after(1.0)
    rig.measure("675", 1.072)  # 76 %: 4 points from the last sent
    rig.after(1.0)
    assert rig.setpoints() == [80.0, 76.0]


def test_return_to_full_power_is_sent_whatever_the_deadband(rig_factory: Any) -> None:
    rig = rig_factory(deadband_pct=80.0, min_interval_s=0.0)
    rig.measure("675", 1.10)  # 20 %: 80 points down
    rig.after(1.0)
    rig.measure("675", 1.061)  # 98 %: 78 points up, inside the deadband
    rig.after(1.0)
    rig.measure("675", 1.03)
    rig.after(1.0)
    assert rig.setpoints() == [20.0, 100.0]
    assert [e.severity.value for e in rig.events] == ["warning", "info"]
    assert "curtails inverter.pv1" in rig.events[0].text
    assert rig.events[0].data["limit_pct"] == 20.0


def test_min_interval_spaces_commands(rig_factory: Any) -> None:
    rig = rig_factory(deadband_pct=0.0, min_interval_s=60.0)
    rig.measure("675", 1.07)
    rig.after(1.0)  # t = 1 s: 80 %
    rig.measure("675", 1.09)
    rig.after(29.0)  # t = 30 s: too soon
    assert rig.setpoints() == [80.0]
    rig.after(31.0)  # t = 61 s: 60 s after the first
    assert rig.setpoints() == [80.0, 40.0]
    assert (rig.commands[1].ts - rig.commands[0].ts).total_seconds() == 60.0


def test_highest_phase_decides_unless_mean_is_asked(rig_factory: Any) -> None:
    highest = rig_factory(deadband_pct=0.0)
    mean = rig_factory(deadband_pct=0.0, phases="mean")
    for rig in (highest, mean):
        rig.measure("675", 1.05, Phase.A)
        rig.measure("675", 1.09, Phase.B)
        rig.measure("675", 1.07, Phase.C)
        rig.after(1.0)
    assert highest.setpoints() == [40.0]
    assert mean.setpoints() == [80.0]


def test_other_assets_quantities_and_bad_quality_are_ignored(rig_factory: Any) -> None:
    rig = rig_factory()
    rig.measure("680", 1.09)  # not the watched bus: never even delivered
    rig.measure("675", 1.09, quality=Quality.QUESTIONABLE)
    rig.bus.publish(
        f"feeder/{FEEDER}/measurements/675",
        encode(
            Measurement(ts=rig.clock.now(), asset="675", quantity="p_kw", value=1.09, unit="kW")
        ),
    )
    rig.after(1.0)
    assert rig.commands == []
    assert rig.host.handled == 2  # the two 675 messages reached the app


def test_der_watches_its_own_terminal_by_default() -> None:
    rig = make_rig({"ders": [{"asset": "inverter.pv9"}], "deadband_pct": 0.0})
    try:
        rig.measure("inverter.pv9", 1.08)
        rig.after(1.0)
        assert [(c.asset, c.setpoint) for c in rig.commands] == [("inverter.pv9", 60.0)]
    finally:
        rig.host.stop()
        rig.bus.close()


def test_v2_closer_than_two_hundredths_to_v1_is_refused() -> None:
    with pytest.raises(ValueError, match=re.escape("v2_pu=1.07 must be at least v1_pu")):
        make_rig({"ders": [{"asset": "inverter.pv1"}], "v1_pu": 1.06, "v2_pu": 1.07})


def test_manifest_schema_and_defaults_agree() -> None:
    manifest = tomllib.loads((APP_DIR / "app.toml").read_text())
    assert manifest["entrypoint"] == "volt_watt:VoltWatt"
    assert manifest["topics"] == {
        "subscribe": ["measurements/+"],
        "publish": ["commands/+", "events/+"],
    }
    schema = json.loads((APP_DIR / manifest["config"]["schema"]).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    module = load_app_class(APP_DIR, manifest["entrypoint"]).__module__
    defaults = sys.modules[module].DEFAULTS
    declared = {k: v["default"] for k, v in schema["properties"].items() if "default" in v}
    assert declared == defaults
    validator = jsonschema.Draft202012Validator(schema)
    assert not list(validator.iter_errors({"ders": [{"asset": "inverter.pv1", "watch": "675"}]}))
    assert list(validator.iter_errors({"ders": []}))
    assert list(validator.iter_errors({"ders": [{"asset": "a/b"}]}))


def test_app_imports_only_the_app_sdk() -> None:
    tree = ast.parse((APP_DIR / "volt_watt.py").read_text())
    ours = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("feederos")
    }
    ours |= {
        a.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for a in node.names
        if a.name.startswith("feederos")
    }
    assert ours <= {"feederos.runtime.app", "feederos.runtime.messages"}
