"""Co-simulation: apps run unchanged against the power-flow twin.

The feeder is IEEE 13 with two 2 MW PV arrays and its regulators on a fixed +7 tap
(tests/data/runtime/cosim/sunny_day.json): on a clear day its voltage passes IEEE
1547-2018's V1 = 1.06 pu around noon, so the volt-watt app has work to do.
"""

from __future__ import annotations

import io
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from feederos.feeders import load_feeder
from feederos.model import DerKind, LoadShape, Network, PowerElectronicsConnection, Terminal
from feederos.model.transformers import PowerTransformer
from feederos.runtime.app import App
from feederos.runtime.cosim import TWIN_SOURCE, CosimResult, cosimulate
from feederos.runtime.loader import load_app_class
from feederos.runtime.messages import Action, Measurement, decode

ROOT = Path(__file__).resolve().parents[2]
DAY = json.loads((ROOT / "tests" / "data" / "runtime" / "cosim" / "sunny_day.json").read_text())
VOLT_WATT = load_app_class(ROOT / "examples" / "apps" / "volt-watt", "volt_watt:VoltWatt")
START = datetime(2026, 6, 21, tzinfo=UTC)
STEP_S = 900.0
STEPS = 96
V1_PU = 1.06
VW_CONFIG = {"ders": [{"asset": f"inverter.{p['name']}", "watch": p["bus"]} for p in DAY["pv"]]}
VW_CONFIG_ASSETS = [d["asset"] for d in VW_CONFIG["ders"]]


def sunny_feeder() -> Network:
    base = load_feeder(DAY["feeder"])
    regulated = {r.transformer for r in base.regulators}

    def fixed_tap(t: PowerTransformer) -> PowerTransformer:
        if t.name not in regulated:
            return t
        w = t.windings[1]
        tap_pu = (w.max_tap_pu + w.min_tap_pu) / 2.0 + DAY["regulator_tap"] * w.tap_step_pu
        return t.model_copy(
            update={"windings": [t.windings[0], w.model_copy(update={"tap_pu": tap_pu})]}
        )

    pv = [
        PowerElectronicsConnection(
            name=p["name"],
            kind=DerKind.PV,
            terminal=Terminal(bus=p["bus"]),
            v_kv=4.16,
            s_kva=p["s_kva"],
            p_rated_kw=p["p_rated_kw"],
            daily_shape="sun",
        )
        for p in DAY["pv"]
    ]
    return base.model_copy(
        update={
            "regulators": [r.model_copy(update={"enabled": False}) for r in base.regulators],
            "transformers": [fixed_tap(t) for t in base.transformers],
            "load_shapes": [
                *base.load_shapes,
                LoadShape(name="sun", interval_h=1.0, p_mult=DAY["pv_mult"]),
            ],
            "inverters": [*base.inverters, *pv],
        }
    )


def day(
    apps: dict[str, Any],
    *,
    step_s: float = STEP_S,
    configs: dict[str, Any] | None = None,
    network: Network | None = None,
    steps: int | None = None,
) -> CosimResult:
    n = steps if steps is not None else int(86400 / step_s)
    loads = [DAY["load_mult"][int(k * step_s // 3600) % 24] for k in range(n)]
    return cosimulate(
        network or sunny_feeder(),
        apps,
        steps=n,
        start=START,
        step_s=step_s,
        load_multipliers=loads,
        configs=configs or {"volt-watt": VW_CONFIG},
        feeder_id="cosim-test",
        log_stream=io.StringIO(),
    )


@pytest.fixture(scope="module")
def without_app() -> CosimResult:
    return day({})


@pytest.fixture(scope="module")
def with_app() -> CosimResult:
    return day({"volt-watt": VOLT_WATT})


def test_pv_pushes_the_feeder_above_v1_without_the_app(without_app: CosimResult) -> None:
    s = without_app.steps
    assert len(s) == STEPS and s.converged.all()
    assert s.v_max_pu.max() > V1_PU
    assert s.v_max_pu.idxmax() in range(40, 64)  # between 10:00 and 16:00
    assert without_app.commands.empty and without_app.measurements_sent == ()


def test_volt_watt_curtails_and_lowers_the_peak_voltage(
    without_app: CosimResult, with_app: CosimResult
) -> None:
    assert with_app.steps.v_max_pu.max() < without_app.steps.v_max_pu.max() - 0.003
    energy = [r.der.p_kw.sum() * STEP_S / 3600.0 for r in (without_app, with_app)]
    assert energy[1] < energy[0]
    # Off-peak hours do not change: the app only acts above V1.
    night = with_app.steps.hour < 6
    pd.testing.assert_series_equal(
        with_app.steps.v_max_pu[night], without_app.steps.v_max_pu[night]
    )


def test_every_command_is_recorded_with_its_effect(with_app: CosimResult) -> None:
    c = with_app.commands
    assert len(c) > 0 and set(c.status) == {"applied"}
    assert set(c.action) == {"set_p_limit_pct"} and set(c.issuer) == {"volt-watt"}
    assert (c.step_applied == c.step + 1).all()  # applied before the next step's solve
    assert (c.value_after == c.setpoint).all()
    assert (c.value_before != c.value_after).all()
    ratings = {f"inverter.{p['name']}": p["p_rated_kw"] for p in DAY["pv"]}
    cap_kw = c.setpoint / 100.0 * c.asset.map(ratings)
    assert (c.p_kw_after <= cap_kw + 1e-6).all()
    # Each step, every inverter delivers at most its limit in force and what it has.
    d = with_app.der
    assert (d.p_kw <= d.p_limit_pct / 100.0 * d.asset.map(ratings) + 1e-6).all()
    assert (d.p_kw <= d.p_avail_kw + 1e-6).all()
    assert (d.p_kw < d.p_avail_kw - 1.0).any()  # some power was really curtailed
    assert with_app.steps.commands_applied.sum() == len(c)


def test_app_raises_events_when_it_curtails(with_app: CosimResult) -> None:
    e = with_app.events
    curtail = e[(e.source == "volt-watt") & (e.severity == "warning")]
    assert set(curtail.data.map(lambda d: d["der"])) == set(VW_CONFIG_ASSETS)
    assert not (e.source == TWIN_SOURCE).any()


def test_only_subscribed_assets_are_measured(with_app: CosimResult) -> None:
    topics = {m.topic for m in with_app.measurements_sent}
    assert topics == {f"feeder/cosim-test/measurements/{p['bus']}" for p in DAY["pv"]}
    first = [decode(m.payload, Measurement) for m in with_app.measurements_sent[:6]]
    # In network order (680 comes before 675 in IEEE 13's bus list), phase by phase.
    assert [(m.asset, m.quantity, m.phase) for m in first] == [
        (bus, "v_pu", ph) for bus in ("680", "675") for ph in "abc"
    ]
    assert all(m.ts == START for m in first)
    assert (with_app.steps.measurements > 0).all()


def test_app_subscribed_to_nothing_gets_no_measurements() -> None:
    class Idle(App):
        pass

    out = day({"idle": Idle}, steps=4)
    assert out.measurements_sent == ()
    assert (out.steps.measurements == 0).all()


def test_the_same_inputs_give_the_same_result(with_app: CosimResult) -> None:
    again = day({"volt-watt": VOLT_WATT})
    for name in ("steps", "commands", "events", "der"):
        pd.testing.assert_frame_equal(getattr(again, name), getattr(with_app, name))
    assert again.measurements_sent == with_app.measurements_sent


def test_commands_that_lapse_before_the_next_step_are_not_applied(without_app: CosimResult) -> None:
    config = {"volt-watt": {**VW_CONFIG, "expires_s": 1800.0}}
    hourly = day({"volt-watt": VOLT_WATT}, step_s=3600.0, configs=config)
    assert len(hourly.commands) > 0 and set(hourly.commands.status) == {"expired"}
    assert hourly.commands.reason.str.contains("expired at").all()
    hourly_alone = day({}, step_s=3600.0)
    assert hourly.steps.v_max_pu.tolist() == hourly_alone.steps.v_max_pu.tolist()


class Rogue(App):
    """Sends what the twin must refuse, then one command it can apply."""

    def on_start(self) -> None:
        self.ctx.watch("675")
        self.sent = False

    def on_measurement(self, measurement: Measurement) -> None:
        if self.sent:
            return
        self.sent = True
        ctx = self.ctx
        ctx.command("inverter.nope", Action.SET_P_LIMIT_PCT, 50.0)
        ctx.command("inverter.pv675", Action.SET_TAP, 3)
        ctx.command("675", Action.OPEN)
        ctx.command("regulator.reg1", Action.SET_TAP, 99)
        bus = ctx.bus  # type: ignore[attr-defined]  # a raw publisher, as a broken client
        bus.publish("feeder/cosim-test/commands/load.671", b'{"v": 1, "asset": "load.671"}')
        bus.publish(
            "feeder/cosim-test/commands/load.671",
            ctx.command("load.634a", Action.CURTAIL_PCT, 10.0).model_dump_json().encode(),
        )
        ctx.command("load.671", Action.CURTAIL_PCT, 50.0)


def test_unknown_and_unfitting_commands_are_refused_with_an_event() -> None:
    out = day({"rogue": Rogue}, steps=3)
    c = out.commands
    refused = c[c.status == "rejected"]
    assert len(refused) == 6
    assert list(c.status).count("applied") == 2  # load.634a on its own topic, load.671
    reasons = " | ".join(refused.reason)
    for part in (
        "no asset 'inverter.nope'",
        "set_tap does not fit inverter",
        "open does not fit bus",
        "outside regulator.reg1's range",
        "malformed command",
        "sent on the topic of 'load.671'",
    ):
        assert part in reasons, (part, reasons)
    warnings = out.events[(out.events.source == TWIN_SOURCE) & (out.events.severity == "warning")]
    assert len(warnings) == len(refused)
    applied = c[(c.status == "applied") & (c.asset == "load.671")]
    assert applied.value_before.tolist() == [0.0] and applied.value_after.tolist() == [50.0]
    assert len(c) == 8  # every message on commands/+ has a row


def before_after(commands: pd.DataFrame, asset: str) -> list[float]:
    """The setting a command to ``asset`` changed: before, after."""
    row = commands.loc[[asset], ["value_before", "value_after"]].to_numpy(dtype=float)
    return [float(x) for x in row[0]]


class Operator(App):
    """Moves a regulator, a capacitor and a switch at the first measurement."""

    def on_start(self) -> None:
        self.ctx.watch("regulator.reg1")
        self.done = False

    def on_measurement(self, measurement: Measurement) -> None:
        if self.done:
            return
        self.done = True
        self.ctx.command("regulator.reg1", Action.SET_TAP, 2)
        self.ctx.command("capacitor.cap1", Action.SET_CAP_STEPS, 0)
        self.ctx.command("switch.671692", Action.OPEN)
        self.ctx.command("inverter.pv680", Action.SET_Q_KVAR, -300.0)


def test_taps_capacitors_switches_and_vars_are_applied() -> None:
    net = sunny_feeder()
    out = day({"operator": Operator}, steps=4, network=net)
    c = out.commands.set_index("asset")
    assert set(c.status) == {"applied"}
    assert before_after(c, "regulator.reg1") == [7.0, 2.0]
    assert before_after(c, "capacitor.cap1") == [1.0, 0.0]
    assert before_after(c, "switch.671692") == [0.0, 1.0]
    assert c.loc["inverter.pv680", "value_after"] == -300.0
    taps = [decode(m.payload, Measurement).value for m in out.measurements_sent]
    assert taps == [7.0, 2.0, 2.0, 2.0]  # the regulator stays where the app put it
    # The open switch de-energises bus 692 and 675 beyond it.
    final = out.final.voltages
    assert final[final.bus == "692"].v_pu.max() == pytest.approx(0.0, abs=1e-6)
    q = out.der[(out.der.asset == "inverter.pv680") & (out.der.step >= 1)].q_kvar
    assert q.tolist() == pytest.approx([-300.0] * 3, abs=1e-6)
    assert all(not math.isnan(v) for v in out.steps.v_max_pu)
    # The network handed in is never modified.
    assert not next(s for s in net.switches if s.name == "671692").open
    assert all(r.enabled is False for r in net.regulators)


def test_command_in_the_last_step_is_pending() -> None:
    out = day({"operator": Operator}, steps=1)
    assert set(out.commands.status) == {"pending"}
    assert out.commands.step_applied.isna().all()


def test_options_are_checked() -> None:
    net = sunny_feeder()
    with pytest.raises(ValueError, match="timezone-aware"):
        cosimulate(net, {}, steps=1, start=datetime(2026, 1, 1), step_s=60)
    with pytest.raises(ValueError, match="one per step"):
        cosimulate(net, {}, steps=2, start=START, step_s=60, load_multipliers=[1.0])
    with pytest.raises(ValueError, match="at least one step"):
        cosimulate(net, {}, steps=0, start=START, step_s=60)
