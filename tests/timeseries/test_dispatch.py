"""DER through time: PV, generators, batteries and EV chargers following their shapes.

The day in ``tests/data/timeseries/der/ieee13_der_daily.dss`` is stepped by OpenDSS one
``Solve`` at a time and by :func:`feederos.timeseries.run`; they must agree at every
step but the two where a battery reaches its reserve, where OpenDSS delivers the whole
step's power and clips the stored energy, and we deliver what the energy allows.
"""

from __future__ import annotations

import os
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from feederos.errors import NetworkValidationError
from feederos.feeders import load_feeder
from feederos.io.opendss import DssImportWarning, read_opendss
from feederos.model import (
    BatteryDispatch,
    DerKind,
    EVCharger,
    Generator,
    LoadShape,
    Network,
    PowerElectronicsConnection,
    SolveMode,
    Terminal,
)
from feederos.powerflow import compile_network, solve
from feederos.timeseries import run
from feederos.timeseries.dispatch import Dispatch

DATA = Path(__file__).resolve().parents[1] / "data" / "timeseries" / "der"
DAY = DATA / "ieee13_der_daily.dss"
LOADS_DAY = DATA / "ieee13_loads_daily.dss"
BATTERIES = ("Storage.b671", "Storage.b652")
LIMIT_STEPS = (18, 21)
"""Steps (from 0) where b652, then b671, reaches its reserve."""


@cache
def _day_network() -> Network:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DssImportWarning)
        return read_opendss(DAY)


def _opendss_day(dss, scenario: Path = DAY,
                 batteries: tuple[str, ...] = BATTERIES) -> dict[str, np.ndarray]:
    """OpenDSS stepping a day: per step source P/Q [kW, kvar], voltage range [pu],
    regulator taps and the batteries' states of charge [%]."""
    if not (scenario.parents[5] / "shared" / "feeders" / "13Bus").exists():
        pytest.skip("shared IEEE 13 feeder not available")
    cwd = os.getcwd()
    try:
        dss.Text.Command = f'compile "{scenario}"'
    finally:
        os.chdir(cwd)  # OpenDSS's compile moves into the scenario's folder
    dss.Text.Command = "set tolerance=1e-10 number=1"
    circuit = dss.ActiveCircuit
    out: dict[str, list[list[float]]] = {k: [] for k in ("source", "v", "taps", "soc")}
    for _ in range(24):
        circuit.Solution.Solve()
        p, q = circuit.TotalPower
        out["source"].append([-p, -q])
        v_pu = np.asarray(circuit.AllBusVmagPu)
        out["v"].append([v_pu[v_pu > 0.1].min(), v_pu.max()])
        taps = []
        for reg in ("Reg1", "Reg2", "Reg3"):
            circuit.RegControls.Name = reg
            taps.append(circuit.RegControls.TapNumber)
        out["taps"].append(taps)
        soc = []
        for battery in batteries:
            dss.Text.Command = f"? {battery}.%stored"
            soc.append(float(dss.Text.Result))
        out["soc"].append(soc)
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def test_der_day_matches_opendss_step_by_step() -> None:
    ref = _opendss_day(pytest.importorskip("dss").DSS)
    ours = run(_day_network())
    assert ours.steps.converged.all() and len(ours.steps) == 24
    keep = np.ones(24, dtype=bool)
    keep[list(LIMIT_STEPS)] = False
    source = ours.steps[["source_p_kw", "source_q_kvar"]].to_numpy()
    rel = np.abs(source - ref["source"]) / ref["source"][:, :1]
    assert rel[keep].max() < 1e-6, rel.max(axis=1)
    v = ours.steps[["v_min_pu", "v_max_pu"]].to_numpy()
    assert np.abs(v - ref["v"])[keep].max() < 1e-6
    assert (ours.taps[["reg1", "reg2", "reg3"]].to_numpy() == ref["taps"]).all()
    # The stored energy matches at every step, through the reserve too.
    assert np.abs(ours.soc_pct[["b671", "b652"]].to_numpy() - ref["soc"]).max() < 1e-6
    # The day exercises what it claims: PV, the generator and both batteries work.
    assert ours.soc_pct.b671.max() > 90 and ours.soc_pct.b671.iloc[-1] == pytest.approx(15.0)
    assert ours.soc_pct.b652.iloc[-1] == pytest.approx(20.0)
    assert ours.tap_changes.sum() > 0
    # The reserve steps differ by less than what OpenDSS's battery delivers and we don't.
    gap = np.abs(source[:, 0] - ref["source"][:, 0])[list(LIMIT_STEPS)]
    assert (gap > 1.0).all() and (gap < np.array([30.0, 160.0])).all()


def test_a_day_starts_from_the_snapshot_its_script_solved() -> None:
    """IEEE 13's master solves a snapshot at full load before the day: OpenDSS's first
    step starts from the taps it leaves (and the compiled stepper, loads only, must
    too), not from the taps as written."""
    ref = _opendss_day(pytest.importorskip("dss").DSS, LOADS_DAY, ())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DssImportWarning)
        network = read_opendss(LOADS_DAY)
    assert network.settings.snapshot_first
    ours = run(network)
    assert (ours.taps[["reg1", "reg2", "reg3"]].to_numpy() == ref["taps"]).all()
    source = ours.steps[["source_p_kw", "source_q_kvar"]].to_numpy()
    assert (np.abs(source - ref["source"]) / ref["source"][:, :1]).max() < 1e-6
    # from the taps as written, the first hours settle at other taps
    cold = run(network.model_copy(update={"settings": network.settings.model_copy(
        update={"snapshot_first": False})}))
    assert (cold.taps.iloc[0].to_numpy() != ref["taps"][0]).any()


def _battery_net(**battery: object) -> Network:
    net = load_feeder("ieee13")
    fields = {"name": "b", "kind": DerKind.BATTERY, "terminal": Terminal(bus="675"),
              "v_kv": 4.16, "s_kva": 300, "p_rated_kw": 200, "energy_kwh": 400,
              "soc_pct": 50, "reserve_pct": 20, "idling_pct": 1.0,
              "efficiency_charge_pct": 95, "efficiency_discharge_pct": 92}
    fields.update(battery)
    net.inverters.append(PowerElectronicsConnection(**fields))  # type: ignore[arg-type]
    return net


@pytest.mark.parametrize(("soc_pct", "mult"), [(22.0, 1.0), (98.0, -1.0)])
def test_a_step_gives_or_takes_what_the_stored_energy_allows(soc_pct: float,
                                                             mult: float) -> None:
    net = _battery_net(soc_pct=soc_pct)
    compiled = compile_network(net)
    hours = np.array([0.5, 1.0])  # half-hour steps
    d = Dispatch(net, compiled, SolveMode.DAILY, hours, profiles={"storage.B": [mult, mult]})
    sets = d.sets(0)
    (battery,) = [s for s in sets if s.kind == "inverters"]
    p_kw = float(battery.p_dc_kw[0])
    idle_kw, full, reserve = 2.0, 400.0, 80.0
    if mult > 0:  # 8 kWh above the reserve, over half an hour at 92 %
        assert p_kw == pytest.approx((soc_pct / 100 * full - reserve) * 0.92 / 0.5 - idle_kw)
    else:  # 8 kWh of room, at 95 %
        assert p_kw == pytest.approx(-((full - soc_pct / 100 * full) / (0.95 * 0.5) + idle_kw))
    result = solve(compiled.with_injections(sets), controls=False)
    d.settle(0, result.compiled, result.v)
    assert d.soc_pct[0] == pytest.approx(20.0 if mult > 0 else 100.0, abs=1e-6)
    # at the limit, the next step idles and draws its losses from the grid
    (battery,) = [s for s in d.sets(1) if s.kind == "inverters"]
    assert bool(battery.idle[0]) and float(battery.p_dc_kw[0]) == pytest.approx(-idle_kw)


def test_a_battery_dispatched_by_state_ignores_its_shape_and_drains() -> None:
    net = _battery_net(state="discharging", p_kw=100.0, dispatch=BatteryDispatch.STATE,
                       daily_shape="s", energy_kwh=1000.0)
    net.load_shapes.append(LoadShape(name="s", interval_h=1.0, p_mult=[-1.0, -1.0, -1.0]))
    out = run(net, steps=3, mode="daily")
    # (100 kW + 2 kW idling) / 0.92 an hour out of 1000 kWh, down to the 20 % reserve
    expected = np.maximum(50.0 - np.arange(1, 4) * 102.0 / 0.92 / 1000.0 * 100.0, 20.0)
    assert np.allclose(out.soc_pct.b.to_numpy(), expected, atol=1e-9)
    follows = run(_battery_net(daily_shape="s"), steps=1, mode="daily",
                  profiles={"Storage.b": LoadShape(name="x", p_mult=[-0.5])})
    # charging 100 kW less the 2 kW idling at 95 %
    assert follows.soc_pct.b.iloc[0] == pytest.approx(50.0 + 98.0 * 0.95 / 4.0)


def test_profiles_replace_shapes_and_reach_every_kind() -> None:
    net = load_feeder("ieee13")
    net.generators.append(Generator(name="g", terminal=Terminal(bus="680"), v_kv=4.16,
                                    p_kw=200.0, q_kvar=50.0))
    net.ev_chargers.append(EVCharger(name="ev", terminal=Terminal(bus="611", nodes=(3,)),
                                     v_kv=2.4, p_max_kw=11.0, pf=0.95))
    net.inverters.append(PowerElectronicsConnection(
        name="pv", kind=DerKind.PV, terminal=Terminal(bus="675"), v_kv=4.16, s_kva=300,
        p_rated_kw=250, irradiance_kw_m2=1.0))
    mults = {"Generator.g": [0.5, -0.25], "EVCharger.ev": [0.0, 1.0],
             "PVSystem.pv": [0.1, 0.8]}
    out = run(net, steps=2, mode="daily", controls=False, profiles=mults)
    drawn = out.final.injections.set_index("element")
    assert drawn.p_kw["generator.g"] == pytest.approx(-0.25 * -200.0)  # absorbing
    assert drawn.q_kvar["generator.g"] == pytest.approx(-0.25 * -50.0)
    # the charger at its rating and power factor (it draws less: its node sits below
    # the loads' 0.95 pu band, where OpenDSS's loads turn to constant impedance)
    charger = next(s for s in Dispatch(net, compile_network(net), SolveMode.DAILY,
                                       np.array([1.0, 2.0]), profiles=mults).sets(1)
                   if s.kind == "ev_chargers")
    assert -charger.s_va[0] / 1e3 == pytest.approx(complex(11.0, 11.0 * np.tan(np.arccos(0.95))))
    assert 0 < drawn.p_kw["ev_charger.ev"] < 11.0
    assert drawn.p_kw["inverter.pv"] == pytest.approx(-0.8 * 250.0)
    # the first step's PV (25 kW) is below its 20 % cut-out: the feeder draws more
    first = run(net, steps=1, mode="daily", controls=False, profiles={
        k: v[:1] for k, v in mults.items()})
    assert first.final.injections.set_index("element").p_kw["inverter.pv"] == 0.0
    with pytest.raises(NetworkValidationError) as err:
        run(net, steps=2, profiles={"PVSystem.nope": [1.0, 1.0], "Generator.g": [1.0],
                                    "Line.650632": [1.0, 1.0]})
    text = str(err.value)
    assert "PVSystem.nope" in text and "Line.650632" in text and "needs 2 finite" in text


def test_modes_read_the_shapes_opendss_reads() -> None:
    """In yearly mode a PV system or battery without a yearly shape follows its daily
    one; a generator does not."""
    net = load_feeder("ieee13")
    net.load_shapes.append(LoadShape(name="half", interval_h=1.0, p_mult=[0.5]))
    net.generators.append(Generator(name="g", terminal=Terminal(bus="680"), v_kv=4.16,
                                    p_kw=200.0, daily_shape="half"))
    net.inverters.append(PowerElectronicsConnection(
        name="pv", kind=DerKind.PV, terminal=Terminal(bus="675"), v_kv=4.16, s_kva=300,
        p_rated_kw=250, irradiance_kw_m2=1.0, daily_shape="half"))
    drawn = run(net, steps=1, mode="yearly", controls=False).final.injections.set_index(
        "element")
    assert drawn.p_kw["generator.g"] == pytest.approx(-200.0)
    assert drawn.p_kw["inverter.pv"] == pytest.approx(-125.0)


def test_missing_der_shapes_are_named() -> None:
    net = load_feeder("ieee13")
    net.generators.append(Generator(name="g", terminal=Terminal(bus="680"), v_kv=4.16,
                                    p_kw=200.0, daily_shape="nowhere"))
    with pytest.raises(NetworkValidationError, match="nowhere"):
        run(net, steps=1, mode="daily")
