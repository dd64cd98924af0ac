"""Generated profiles: class load shapes, PV, EV charging and battery schedules."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest

import feederos.timeseries as ts
import feederos.timeseries.profiles as profiles
from feederos.errors import ProfileError
from feederos.feeders import generate_feeder, get_profile, load_feeder
from feederos.feeders.profiles import LoadMix
from feederos.model import (
    DerKind,
    EVCharger,
    LoadClass,
    Network,
    PowerElectronicsConnection,
    SolveMode,
    Terminal,
)
from feederos.timeseries.profiles import (
    CLASS_SHAPES,
    Battery,
    BatteryMode,
    ChargingPolicy,
    TimeGrid,
    assign_class_shapes,
    assign_ev_shapes,
    battery_schedule,
    charger_sessions,
    class_multipliers,
    class_shape,
    classes_from_mix,
    clear_sky_index,
    clear_sky_poa_kw_m2,
    ev_charger_shapes,
    ev_charging_kw,
    ev_sessions,
    pv_shape,
)

GOLDEN = (39.742, -105.179)  # NREL, Golden, Colorado; UTC-7 standard time


@pytest.fixture(scope="module")
def suburban() -> Network:
    return generate_feeder("suburban", n_buses=300, seed=11)


# --- the public API -----------------------------------------------------------------


def test_exported_names_are_the_ones_we_mean() -> None:
    assert set(profiles.__all__) == {
        "CLASS_SHAPES", "SESSION_COLUMNS", "Battery", "BatteryMode", "BatterySchedule", "Bump",
        "ChargingPolicy", "ClassShape", "ClearSkyModel", "CloudModel", "EVSessionModel",
        "TimeGrid", "assign_class_shapes", "assign_ev_shapes", "battery_schedule",
        "charger_sessions", "class_multipliers", "class_shape", "classes_from_mix",
        "clear_sky_index", "clear_sky_poa_kw_m2", "ev_charger_shapes", "ev_charging_kw",
        "ev_sessions", "pv_shape", "read_load_shape", "read_pv_shape", "shape_multipliers",
    }
    for name in profiles.__all__:
        assert getattr(profiles, name) is not None
    for name in ("shape_multipliers", "read_load_shape", "assign_class_shapes", "pv_shape",
                 "ev_sessions", "ev_charging_kw", "battery_schedule", "TimeGrid"):
        assert getattr(ts, name) is getattr(profiles, name)
        assert name in ts.__all__


def test_time_grid_checks_its_arguments() -> None:
    with pytest.raises(ProfileError, match=r"step_h: 0\.7 h does not divide 24 h"):
        TimeGrid.day(step_h=0.7)
    with pytest.raises(ProfileError, match="start"):
        TimeGrid(pd.Timestamp("2023-01-01", tz="UTC"), steps=2)
    with pytest.raises(ProfileError, match="steps"):
        TimeGrid("2023-01-01", steps=0)


# --- load shapes by customer class ----------------------------------------------------


def test_class_shapes_are_reproducible_and_vary_by_seed() -> None:
    grid = TimeGrid.day("2023-02-01")
    a = class_multipliers("residential", grid, seed=42)
    assert np.array_equal(a, class_multipliers("residential", grid, seed=42))
    assert not np.array_equal(a, class_multipliers("residential", grid, seed=43))
    assert class_shape("residential", grid=grid, seed=42).p_mult == a.tolist()


@pytest.mark.parametrize("load_class", list(CLASS_SHAPES))
def test_class_shapes_are_normalised(load_class: LoadClass) -> None:
    grid = TimeGrid.year(step_h=2.0)
    varied = class_multipliers(load_class, grid, seed=1)
    assert varied.max() == pytest.approx(1.0, abs=1e-15)
    assert varied.min() >= 0.0
    # Against the class's annual peak: a year's step means reach close to it, never over.
    plain = class_multipliers(load_class, grid, variation=False, normalize=False)
    assert 0.95 < plain.max() <= 1.0 + 1e-12


def test_class_shapes_show_their_daily_and_weekly_patterns() -> None:
    week = TimeGrid("2023-01-09", steps=7 * 24)  # Monday to Sunday
    def day(load_class: str, d: int) -> np.ndarray:
        m = class_multipliers(load_class, week, variation=False, normalize=False)
        return m[24 * d: 24 * (d + 1)]
    # households: evening peak ~19:00 well above the small hours
    res = day("residential", 2)
    assert 17 <= int(np.argmax(res)) <= 20
    assert res[18:21].mean() > 2.0 * res[2:5].mean()
    # businesses: weekday noon far above Sunday noon, Saturday in between
    com = [day("commercial", d)[11:14].mean() for d in (2, 5, 6)]
    assert com[0] > com[1] > com[2] and com[0] > 2.0 * com[2]
    # industry runs two shifts on weekdays: flat by day, base at night and on Sunday
    ind = day("industrial", 2)
    assert ind[8:20].std() < 0.02 and ind[8:20].mean() > 1.8 * ind[1:3].mean()
    assert np.ptp(day("industrial", 6)) < 1e-3


def test_class_shapes_have_seasons() -> None:
    jan = TimeGrid("2023-01-09", steps=7 * 24)
    jul = TimeGrid("2023-07-10", steps=7 * 24)
    def mean(load_class: str, grid: TimeGrid) -> float:
        return float(class_multipliers(load_class, grid, variation=False,
                                       normalize=False).mean())
    assert mean("commercial", jul) > 1.1 * mean("commercial", jan)  # cooling
    assert mean("agricultural", jul) > 1.2 * mean("agricultural", jan)  # irrigation


def test_minute_and_hour_shapes_agree() -> None:
    minutes = class_multipliers("residential", TimeGrid.day("2023-04-04", step_h=1 / 60),
                                variation=False, normalize=False)
    hours = class_multipliers("residential", TimeGrid.day("2023-04-04"), variation=False,
                              normalize=False)
    assert minutes.size == 1440
    assert np.allclose(minutes.reshape(24, 60).mean(axis=1), hours, atol=2e-3)


def test_class_from_an_unknown_name_is_a_clear_error() -> None:
    with pytest.raises(ProfileError, match="'hospital' is not a class"):
        class_shape("hospital", grid=TimeGrid.day())
    with pytest.raises(ProfileError, match="'other' has no built-in shape"):
        class_shape("other", grid=TimeGrid.day())


@pytest.mark.parametrize("profile", ["rural", "suburban", "urban"])
def test_classes_follow_the_profile_load_mix(suburban: Network, profile: str) -> None:
    p_kw = np.array([load.p_kw for load in suburban.loads])
    classes = classes_from_mix(p_kw, profile, seed=3)
    mix = get_profile(profile).load_mix
    target = {LoadClass.RESIDENTIAL: mix[LoadMix.RESIDENTIAL],
              LoadClass.COMMERCIAL: mix[LoadMix.COMMERCIAL],
              LoadClass.INDUSTRIAL: mix[LoadMix.LIGHT_INDUSTRIAL]}
    for load_class, share in target.items():
        got = p_kw[[c is load_class for c in classes]].sum()
        assert abs(got - share * p_kw.sum()) <= p_kw.max() + 1e-9


def test_assign_class_shapes(suburban: Network) -> None:
    before = suburban.model_dump()
    grid = TimeGrid.day("2023-08-02")
    net = assign_class_shapes(suburban, profile="urban", seed=5, grid=grid, variants=3,
                              mode=SolveMode.DAILY)
    assert suburban.model_dump() == before  # the input is left alone
    shapes = {s.name: s for s in net.load_shapes}
    assert len(shapes) == 3 * 3
    assert all(s.n_points == 24 and max(s.p_mult) == pytest.approx(1.0) for s in shapes.values())
    for load in net.loads:
        assert load.daily_shape in shapes
        assert load.daily_shape.startswith(f"class_{load.load_class.value}_")
    assert {ld.load_class for ld in net.loads} == {LoadClass.RESIDENTIAL, LoadClass.COMMERCIAL,
                                                   LoadClass.INDUSTRIAL}
    again = assign_class_shapes(suburban, profile="urban", seed=5, grid=grid, variants=3,
                                mode=SolveMode.DAILY)
    assert again == net
    # running twice replaces the shapes instead of piling them up
    twice = assign_class_shapes(net, seed=6, grid=grid, variants=3, mode=SolveMode.DAILY)
    assert len(twice.load_shapes) == len(net.load_shapes)


def test_assign_class_shapes_keeps_load_classes_without_profile() -> None:
    net = load_feeder("ieee13")
    out = assign_class_shapes(net, seed=1, grid=TimeGrid.day(), variants=1)
    assert [ld.load_class for ld in out.loads] == [ld.load_class for ld in net.loads]
    assert {ld.yearly_shape for ld in out.loads} == {"class_residential_1"}
    odd = net.model_copy(deep=True)
    odd.loads[0].load_class = LoadClass.OTHER
    with pytest.raises(ProfileError, match=f"load {odd.loads[0].name!r} is of class 'other'"):
        assign_class_shapes(odd, grid=TimeGrid.day())
    with pytest.raises(ProfileError, match="mode"):
        assign_class_shapes(net, grid=TimeGrid.day(), mode=SolveMode.SNAPSHOT)


# --- PV ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def solstice_minutes() -> tuple[TimeGrid, np.ndarray]:
    grid = TimeGrid.day("2023-06-21", step_h=1 / 60)
    return grid, clear_sky_poa_kw_m2(*GOLDEN, grid, tilt_deg=30.0, altitude_m=1829.0)


def _solar_position(grid: TimeGrid, offsets_h: np.ndarray) -> pd.DataFrame:
    import pvlib

    times = grid.times(offsets_h + 7.0).tz_localize(dt.UTC)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        out: pd.DataFrame = pvlib.solarposition.get_solarposition(times, *GOLDEN,
                                                                  altitude=1829.0)
    return out


def test_clear_sky_pv_peaks_at_solar_noon(solstice_minutes: tuple[TimeGrid, np.ndarray]) -> None:
    import pvlib

    grid, poa = solstice_minutes
    peak_h = (int(np.argmax(poa)) + 0.5) * grid.step_h
    day = pd.DatetimeIndex([pd.Timestamp("2023-06-21", tz=dt.UTC)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        transit = pvlib.solarposition.sun_rise_set_transit_spa(day, *GOLDEN)["transit"].iloc[0]
    noon_h = (transit - pd.Timestamp("2023-06-21 07:00", tz=dt.UTC)) / pd.Timedelta(hours=1)
    # a south-facing panel sees most at transit (local standard time, UTC-7)
    assert abs(peak_h - noon_h) < 5 / 60
    assert 0.95 < poa.max() < 1.15  # kW/m², clear, high altitude, near-normal incidence


def test_pv_is_zero_at_night(solstice_minutes: tuple[TimeGrid, np.ndarray]) -> None:
    grid, poa = solstice_minutes
    elevation = _solar_position(grid, grid.hours + grid.step_h / 2)["apparent_elevation"]
    night = elevation.to_numpy() < -1.0
    assert night.sum() > 400
    assert np.all(poa[night] == 0.0)
    assert np.all(poa[elevation.to_numpy() > 5.0] > 0.01)  # diffuse light at least


def test_cloudy_pv_stays_below_clear_sky() -> None:
    grid = TimeGrid("2023-05-01", steps=14 * 24 * 4, step_h=0.25)
    clear = pv_shape(*GOLDEN, grid=grid, cloudiness=0.0, tilt_deg=30.0)
    poa = clear_sky_poa_kw_m2(*GOLDEN, grid, tilt_deg=30.0)
    assert np.allclose(clear.p_mult, poa, rtol=0, atol=1e-12)  # no clouds: the clear sky
    cloudy = np.array(pv_shape(*GOLDEN, grid=grid, cloudiness=0.6, seed=9, tilt_deg=30.0).p_mult)
    assert np.all(cloudy <= poa + 1e-12)
    assert 0.2 < cloudy.sum() / poa.sum() < 0.9
    assert cloudy.tolist() == pv_shape(*GOLDEN, grid=grid, cloudiness=0.6, seed=9,
                                       tilt_deg=30.0).p_mult


def test_clear_sky_index_follows_cloudiness() -> None:
    grid = TimeGrid.year(step_h=0.5)
    means = [clear_sky_index(grid, cloudiness=c, seed=1).mean() for c in (0.0, 0.3, 0.6, 1.0)]
    assert means[0] == 1.0
    assert means == sorted(means, reverse=True)
    assert means[-1] == pytest.approx(0.25, abs=0.02)  # overcast state's mean
    with pytest.raises(ProfileError, match="cloudiness"):
        clear_sky_index(grid, cloudiness=1.5)


def test_pv_shape_site_checks() -> None:
    with pytest.raises(ProfileError, match="latitude_deg"):
        pv_shape(95.0, 0.0, grid=TimeGrid.day())
    with pytest.raises(ProfileError, match="tilt_deg"):
        pv_shape(0.0, 0.0, grid=TimeGrid.day(), tilt_deg=120.0)


def test_pv_year_shape_is_fast_enough_and_sane() -> None:
    shape = pv_shape(*GOLDEN, seed=1, clear_sky=profiles.ClearSkyModel.SIMPLIFIED_SOLIS)
    p = np.array(shape.p_mult)
    assert p.size == 8760 and shape.interval_h == 1.0
    # full-load hours of a fixed tilted array in Colorado: of order 1,500-2,500 h a year
    assert 1200 < p.sum() < 2600


# --- EV charging ----------------------------------------------------------------------


def test_ev_sessions_are_reproducible_and_follow_penetration() -> None:
    a = ev_sessions(5000, days=2, seed=8, profile="rural")
    assert a.equals(ev_sessions(5000, days=2, seed=8, profile="rural"))
    lo, hi = get_profile("rural").ev_pct_of_customers
    share = 100.0 * a.ev.nunique() / 5000
    assert lo - 1.0 <= share <= hi + 1.0
    everyone = ev_sessions(50, days=3, seed=1, penetration_pct=100.0)
    assert everyone.ev.nunique() == 50 and len(everyone) == 150
    hours = np.mod(everyone.arrival_h.to_numpy(), 24.0)
    assert 16.0 < float(np.median(hours)) < 20.0  # evening arrivals


def test_sessions_of_one_ev_never_overlap() -> None:
    s = ev_sessions(300, days=10, seed=2, penetration_pct=100.0)
    for _, group in s.groupby("ev"):
        assert np.all(group.arrival_h.to_numpy()[1:] >= group.departure_h.to_numpy()[:-1])
    assert np.all(s.energy_kwh <= s.p_max_kw * (s.departure_h - s.arrival_h) + 1e-9)


@pytest.mark.parametrize("policy", list(ChargingPolicy))
@pytest.mark.parametrize("step_h", [1.0, 0.25, 1 / 60])
def test_ev_charging_delivers_the_energy_within_limits(policy: ChargingPolicy,
                                                        step_h: float) -> None:
    chargers = [EVCharger(name=f"c{i}", terminal=Terminal(bus="b", nodes=(1,)), v_kv=0.24,
                          p_max_kw=kw) for i, kw in enumerate((7.2, 14.4, 3.3))]
    s = charger_sessions(chargers, days=3, seed=4)
    grid = TimeGrid("2023-03-06", steps=round(72 / step_h), step_h=step_h)
    kw = ev_charging_kw(s, grid, policy=policy)
    delivered = kw.sum() * step_h
    expected = s.groupby("charger").energy_kwh.sum()
    assert np.allclose(delivered[expected.index], expected, rtol=1e-9)
    for charger in chargers:
        assert kw[charger.name].max() <= charger.p_max_kw * (1 + 1e-9)
        assert kw[charger.name].min() >= -1e-12


def test_charging_policies_place_the_energy() -> None:
    s = pd.DataFrame({"charger": ["a"], "arrival_h": [18.25], "departure_h": [30.5],
                      "energy_kwh": [14.4], "p_max_kw": [7.2]})
    grid = TimeGrid.day(step_h=0.25)
    immediate = ev_charging_kw(s, grid, policy="immediate")["a"].to_numpy()
    delayed = ev_charging_kw(s, grid, policy="delayed")["a"].to_numpy()
    spread = ev_charging_kw(s, grid, policy="spread")["a"].to_numpy()
    on = np.flatnonzero(immediate)
    assert (on[0], on[-1]) == (73, 80)  # 18:15 to 20:15 at full power
    # delayed ends at 06:30 the next morning: wrapped to the start of the day
    on = np.flatnonzero(delayed)
    assert on.tolist() == [*range(18, 26)]
    stay = np.flatnonzero(spread)
    assert np.allclose(spread[stay], 14.4 / 12.25)
    assert len(stay) == 49
    for kw in (immediate, delayed, spread):
        assert kw.sum() * 0.25 == pytest.approx(14.4)


def test_infeasible_energy_is_cut_to_what_the_stay_holds() -> None:
    s = pd.DataFrame({"charger": ["a"], "arrival_h": [1.0], "departure_h": [3.0],
                      "energy_kwh": [100.0], "p_max_kw": [5.0]})
    for policy in ChargingPolicy:
        kw = ev_charging_kw(s, TimeGrid.day(), policy=policy)["a"]
        assert kw.sum() == pytest.approx(10.0) and kw.max() <= 5.0


def test_bad_sessions_name_the_row() -> None:
    s = pd.DataFrame({"charger": ["a", "b"], "arrival_h": [1.0, 5.0], "departure_h": [3.0, 4.0],
                      "energy_kwh": [1.0, 1.0], "p_max_kw": [5.0, 5.0]})
    with pytest.raises(ProfileError, match="row 1: departure_h is not after arrival_h"):
        ev_charging_kw(s, TimeGrid.day())
    with pytest.raises(ProfileError, match="missing column"):
        ev_charging_kw(s.drop(columns="p_max_kw"), TimeGrid.day())


def test_ev_shapes_and_assignment(suburban: Network) -> None:
    s = ev_sessions(100, days=1, seed=3, penetration_pct=30.0)
    shapes = ev_charger_shapes(s, TimeGrid.day(), policy="spread")
    assert {sh.name for sh in shapes} == {f"ev_{c}" for c in s.charger.unique()}
    assert all(min(sh.p_mult) >= 0.0 and max(sh.p_mult) <= 1.0 + 1e-12 for sh in shapes)
    assert suburban.ev_chargers
    out = assign_ev_shapes(suburban, grid=TimeGrid.day(), seed=2)
    named = {sh.name: sh for sh in out.load_shapes}
    for charger in out.ev_chargers:
        assert charger.schedule_shape in named
        assert named[charger.schedule_shape].n_points == 24
    assert all(c.schedule_shape is None for c in suburban.ev_chargers)
    with pytest.raises(ProfileError, match="no ev_chargers"):
        assign_ev_shapes(load_feeder("ieee13"), grid=TimeGrid.day())


# --- batteries ------------------------------------------------------------------------


def _balance(schedule: profiles.BatterySchedule) -> float:
    """Stored energy gained minus what the efficiencies say it must be [kWh]."""
    b = schedule.battery
    charged = np.maximum(-schedule.p_kw, 0.0).sum() * schedule.step_h
    discharged = np.maximum(schedule.p_kw, 0.0).sum() * schedule.step_h
    expected = (charged * b.efficiency_charge_pct / 100.0
                - discharged / (b.efficiency_discharge_pct / 100.0))
    gained = (schedule.soc_pct[-1] - schedule.soc_pct[0]) / 100.0 * b.energy_kwh
    return float(gained - expected)


@pytest.fixture(scope="module")
def house_kw() -> np.ndarray:
    grid = TimeGrid("2023-06-05", steps=7 * 96, step_h=0.25)
    load = 5.0 * class_multipliers("residential", grid, seed=1)
    pv = 6.0 * np.array(pv_shape(*GOLDEN, grid=grid, seed=1, tilt_deg=30.0).p_mult)
    return np.asarray(load - pv)


@pytest.mark.parametrize("mode", list(BatteryMode))
def test_battery_respects_limits_and_energy_balance(house_kw: np.ndarray,
                                                    mode: BatteryMode) -> None:
    battery = Battery(energy_kwh=13.5, p_max_kw=5.0, soc0_pct=30.0, reserve_pct=10.0,
                      soc_max_pct=95.0, efficiency_charge_pct=96.0,
                      efficiency_discharge_pct=94.0)
    s = battery_schedule(house_kw, battery, mode=mode, step_h=0.25, threshold_kw=2.0)
    assert s.p_kw.size == house_kw.size and s.soc_pct.size == house_kw.size + 1
    assert abs(_balance(s)) < 1e-9
    assert np.all(np.abs(s.p_kw) <= battery.p_max_kw + 1e-12)
    assert np.all(s.soc_pct >= battery.reserve_pct - 1e-9)
    assert np.all(s.soc_pct <= battery.soc_max_pct + 1e-9)
    assert s.losses_kwh > 0
    assert s.charged_kwh > 0 and s.discharged_kwh > 0


def test_peak_shaving_keeps_the_load_under_the_threshold() -> None:
    load = np.r_[np.full(6, 3.0), np.full(4, 9.0), np.full(6, 3.0), np.full(2, 10.0)]
    s = battery_schedule(load, Battery(energy_kwh=40.0, p_max_kw=8.0, soc0_pct=60.0),
                         mode="peak_shave", threshold_kw=6.0)
    assert (load - s.p_kw).max() == pytest.approx(6.0)
    # recharging never makes a new peak
    assert np.all(load - s.p_kw <= 6.0 + 1e-12)
    small = battery_schedule(load, Battery(energy_kwh=4.0, p_max_kw=8.0, soc0_pct=100.0,
                                           reserve_pct=0.0), mode="peak_shave",
                             threshold_kw=6.0)
    assert (load - small.p_kw).max() > 6.0  # it runs out


def test_self_consumption_stores_surplus_and_never_exports_from_storage() -> None:
    net = np.array([2.0, -3.0, -3.0, 1.0, 4.0, 2.0])
    s = battery_schedule(net, Battery(energy_kwh=10.0, p_max_kw=5.0, soc0_pct=10.0,
                                      reserve_pct=10.0), mode="self_consumption")
    assert s.p_kw[0] == 0.0  # empty at the start
    assert s.p_kw[1:3].tolist() == [-3.0, -3.0]
    grid_kw = net - s.p_kw
    assert np.all(grid_kw >= -1e-12)  # surplus is stored, discharge only covers the load


def test_time_of_use_windows() -> None:
    load = np.full(48, 2.0)
    s = battery_schedule(load, Battery(energy_kwh=10.0, p_max_kw=4.0, soc0_pct=50.0),
                         mode="time_of_use", charge_window_h=(22.0, 4.0),
                         discharge_window_h=(16.0, 20.0), start_h=0.0)
    hours = np.mod(np.arange(48) + 0.5, 24.0)
    charging = s.p_kw < 0
    assert np.all((hours[charging] >= 22.0) | (hours[charging] < 4.0))
    discharging = s.p_kw > 0
    assert np.all((hours[discharging] >= 16.0) & (hours[discharging] < 20.0))
    assert np.all(s.p_kw[discharging] <= load[discharging])


def test_battery_arguments_and_the_model_link() -> None:
    with pytest.raises(ProfileError, match="soc0_pct"):
        Battery(energy_kwh=10.0, p_max_kw=5.0, soc0_pct=5.0, reserve_pct=10.0)
    with pytest.raises(ProfileError, match="threshold_kw"):
        battery_schedule([1.0], Battery(energy_kwh=1.0, p_max_kw=1.0), mode="peak_shave")
    with pytest.raises(ProfileError, match="load_kw"):
        battery_schedule([1.0, float("nan")], Battery(energy_kwh=1.0, p_max_kw=1.0),
                         mode="self_consumption")
    inv = PowerElectronicsConnection(name="bess", kind=DerKind.BATTERY,
                                     terminal=Terminal(bus="x"), v_kv=0.48, s_kva=250.0,
                                     p_rated_kw=200.0, energy_kwh=400.0, soc_pct=60.0,
                                     reserve_pct=15.0)
    b = Battery.from_inverter(inv)
    assert (b.energy_kwh, b.p_max_kw, b.soc0_pct, b.reserve_pct) == (400.0, 200.0, 60.0, 15.0)
    shape = battery_schedule([100.0, -300.0], b, mode="self_consumption").to_load_shape("b")
    assert shape.p_mult == [0.5, -1.0]


def test_unknown_options_name_the_choices() -> None:
    with pytest.raises(ProfileError, match="mode: 'greedy' is not one of 'peak_shave'"):
        battery_schedule([1.0], Battery(energy_kwh=1.0, p_max_kw=1.0), mode="greedy")
    s = ev_sessions(10, seed=1, penetration_pct=50.0)
    with pytest.raises(ProfileError, match="policy: 'later' is not one of 'immediate'"):
        ev_charging_kw(s, TimeGrid.day(), policy="later")
    with pytest.raises(ProfileError, match="model: 'bird' is not one of 'ineichen'"):
        clear_sky_poa_kw_m2(*GOLDEN, TimeGrid.day(), model="bird")


def test_ev_charging_in_chunks_matches_all_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from feederos.timeseries.profiles import ev

    s = ev_sessions(60, days=3, seed=5, penetration_pct=100.0)
    grid = TimeGrid("2023-01-02", steps=72 * 4, step_h=0.25)
    whole = ev_charging_kw(s, grid, policy="delayed")
    monkeypatch.setattr(ev, "_CHUNK", 37)
    assert np.allclose(ev_charging_kw(s, grid, policy="delayed"), whole, rtol=0, atol=1e-12)
