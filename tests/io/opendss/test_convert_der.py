"""Sources, loads, shunts, DER, protection, meters and shapes against OpenDSS itself.

Every folder under ``tests/data/io/opendss/`` with a ``master.dss`` is one reference
case: the script is compiled by OpenDSS (dss-python) and read by our converter, and
the element counts per class and the parameters OpenDSS resolved for every element of
the classes below are compared. ``expected.json`` in the folder lists the OpenDSS
properties (``class.property``) the converter is expected to report as not mapped.
"""

from __future__ import annotations

import cmath
import json
import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from feederos.io.opendss import DssImportWarning, dss_class_counts, read_opendss
from feederos.model import (
    BatteryDispatch,
    BatteryState,
    Connection,
    DerKind,
    LoadClass,
    LoadStatus,
    Network,
    ReactivePowerMode,
)

dss_mod = pytest.importorskip("dss")

DATA = Path(__file__).resolve().parents[2] / "data" / "io" / "opendss"
CASES = sorted(p.name for p in DATA.iterdir() if (p / "master.dss").is_file())
CLASSES = ("Vsource", "Line", "Capacitor", "CapControl", "Reactor", "Load", "Generator",
           "PVSystem", "Storage", "InvControl", "Fuse", "Recloser", "Relay", "EnergyMeter",
           "Monitor", "LoadShape", "XYCurve")
RTOL = 1e-9

Oracle = dict[str, dict[str, dict[str, Any]]]


# --------------------------------------------------------------------------- OpenDSS side
def _props(c: Any, *names: str) -> dict[str, str]:
    e = c.ActiveDSSElement
    return {n.lower(): e.Properties(n).Val for n in names}


def _each(iface: Any) -> Any:
    """Every element's name, activating it (First/Next would skip disabled ones)."""
    if iface.Count == 0:  # AllNames is ["NONE"] then
        return
    for name in iface.AllNames:
        iface.Name = name
        yield name.lower()


def _series_z(c: Any) -> np.ndarray:
    """The source's series impedance matrix: the inverse of its YPrim's first block."""
    y = np.asarray(c.ActiveCktElement.Yprim)
    y = y[0::2] + 1j * y[1::2]
    n2 = round(math.sqrt(y.size))
    y = y.reshape(n2, n2)
    n = n2 // 2
    return np.asarray(np.linalg.inv(y[:n, :n]))


def _oracle(path: Path) -> Oracle:
    dss = dss_mod.DSS
    dss.Text.Command = "clear"
    dss.Text.Command = f'compile "{path}"'
    c = dss.ActiveCircuit
    # Build the system Y so each element's YPrim reflects its last edit.
    c.Solution.BuildYMatrix(1, 1)
    o: Oracle = {}
    o["counts"] = {}
    for cls in CLASSES:
        c.SetActiveClass(cls)
        o["counts"][cls] = {"n": c.ActiveClass.NumElements}
    o["Vsource"] = {}
    for name in _each(c.Vsources):
        v = c.Vsources
        o["Vsource"][name] = {"kv": v.BasekV, "pu": v.pu, "angle": v.AngleDeg,
                              "phases": v.Phases, "z": _series_z(c),
                              "buses": list(c.ActiveCktElement.BusNames)}
    o["Load"] = {}
    for name in _each(c.Loads):
        ld = c.Loads
        o["Load"][name] = {
            "kw": ld.kW, "kvar": ld.kvar, "kv": ld.kV, "model": ld.Model,
            "zipv": list(ld.ZIPV), "vminpu": ld.Vminpu, "vmaxpu": ld.Vmaxpu,
            "delta": ld.IsDelta, "numcust": ld.NumCust, "class": ld.Class, "phases": ld.Phases,
            "status": ld.Status, "cvrwatts": ld.CVRwatts, "cvrvars": ld.CVRvars,
            "yearly": ld.Yearly.lower(), "daily": ld.daily.lower(), "duty": ld.duty.lower(),
            "enabled": c.ActiveCktElement.Enabled,
        }
    o["Capacitor"] = {}
    for name in _each(c.Capacitors):
        cap = c.Capacitors
        o["Capacitor"][name] = {"kvar": cap.kvar, "kv": cap.kV, "states": list(cap.States),
                                "numsteps": cap.NumSteps, "delta": cap.IsDelta,
                                "buses": list(c.ActiveCktElement.BusNames),
                                "steps": _props(c, "kvar")["kvar"]}
    o["CapControl"] = {}
    for name in _each(c.CapControls):
        cc = c.CapControls
        o["CapControl"][name] = {
            "mode": cc.Mode, "on": cc.ONSetting, "off": cc.OFFSetting, "pt": cc.PTratio,
            "ct": cc.CTratio, "delay": cc.Delay, "delayoff": cc.DelayOff,
            "deadtime": cc.DeadTime, "vmin": cc.Vmin, "vmax": cc.Vmax,
            "override": cc.UseVoltOverride, "capacitor": cc.Capacitor.lower(),
            "element": cc.MonitoredObj.lower(), "terminal": cc.MonitoredTerm,
            "enabled": c.ActiveCktElement.Enabled, **_props(c, "PTPhase"),
        }
    o["Reactor"] = {}
    for name in _each(c.Reactors):
        r = c.Reactors
        o["Reactor"][name] = {"r": r.R, "x": r.X, "rp": r.Rp, "phases": r.Phases,
                              "delta": r.IsDelta, "bus1": r.Bus1.lower(),
                              "bus2": r.Bus2.lower()}
    o["Generator"] = {}
    for name in _each(c.Generators):
        g = c.Generators
        o["Generator"][name] = {"kw": g.kW, "kvar": g.kvar, "pf": g.PF, "kv": g.kV,
                                "model": g.Model, "kva": g.kVArated, "vminpu": g.Vminpu,
                                "vmaxpu": g.Vmaxpu, "delta": g.IsDelta, "phases": g.Phases}
    o["PVSystem"] = {}
    for name in _each(c.PVSystems):
        pv = c.PVSystems
        o["PVSystem"][name] = {"kva": pv.kVArated, "pmpp": pv.Pmpp, "pf": pv.PF,
                               "kvar": pv.kvar, "irradiance": pv.Irradiance,
                               "yearly": pv.yearly.lower(), "daily": pv.daily.lower(),
                               **_props(c, "phases", "kv", "conn", "%cutin", "%cutout")}
    o["Storage"] = {}
    for name in _each(c.Storages):
        st = c.Storages
        o["Storage"][name] = {"state": st.State, "soc": st.puSOC, **_props(
            c, "phases", "kv", "conn", "kva", "kwrated", "kwhrated", "%stored", "%reserve",
            "%effcharge", "%effdischarge", "kw", "pf", "daily")}
    o["InvControl"] = {}
    c.SetActiveClass("InvControl")
    i = c.ActiveClass.First
    while i:
        o["InvControl"][c.ActiveClass.Name.lower()] = _props(
            c, "DERList", "Mode", "CombiMode", "VVC_Curve1", "VoltWatt_Curve")
        i = c.ActiveClass.Next
    o["XYCurve"] = {}
    for name in _each(c.XYCurves):
        xy = c.XYCurves
        o["XYCurve"][name] = {"x": list(xy.Xarray), "y": list(xy.Yarray)}
    for cls in ("Fuse", "Recloser", "Relay"):  # by name: iterators skip disabled ones
        o[cls] = {}
        c.SetActiveClass(cls)
        for name in c.ActiveClass.AllNames:
            c.SetActiveElement(f"{cls}.{name}")
            p = _props(c, "MonitoredObj", "MonitoredTerm", "State", "Normal", "Enabled",
                       *{"Fuse": ("FuseCurve", "RatedCurrent"), "Recloser": ("PhaseTrip",),
                         "Relay": ()}[cls])
            o[cls][name.lower()] = {
                "element": p["monitoredobj"].lower(), "terminal": int(p["monitoredterm"]),
                "enabled": c.ActiveCktElement.Enabled, "state": p["state"].lower(),
                "normal": p["normal"].lower(),
                **({"rated": float(p["ratedcurrent"]), "curve": p["fusecurve"].lower()}
                   if cls == "Fuse" else {}),
            }
    o["EnergyMeter"] = {
        name: {"element": c.Meters.MeteredElement.lower(), "terminal": c.Meters.MeteredTerminal}
        for name in _each(c.Meters)
    }
    o["Monitor"] = {
        name: {"element": c.Monitors.Element.lower(), "terminal": c.Monitors.Terminal}
        for name in _each(c.Monitors)
    }
    o["LoadShape"] = {}
    for name in _each(c.LoadShapes):
        ls = c.LoadShapes
        o["LoadShape"][name] = {"npts": ls.Npts, "p": list(ls.Pmult), "q": list(ls.Qmult),
                                "hours": list(ls.TimeArray), "interval": ls.HrInterval,
                                "actual": ls.UseActual}
    o["Line"] = {}
    for name in _each(c.Lines):
        e = c.ActiveCktElement
        o["Line"][name] = {"enabled": e.Enabled, "switch": c.Lines.IsSwitch,
                           "open": e.IsOpen(1, 0) or e.IsOpen(2, 0)}
    return o


# ----------------------------------------------------------------------------- helpers
def _close(ours: float | None, ref: float, what: str) -> None:
    assert ours is not None, what
    assert ours == pytest.approx(ref, rel=RTOL, abs=1e-12), what


def _bus(text: str) -> str:
    return text.split(".", 1)[0].lower()


def _nodes(text: str) -> list[int]:
    return [int(n) for n in text.split(".")[1:] if n]


def _seq(z: np.ndarray) -> tuple[complex, complex]:
    a = cmath.exp(2j * math.pi / 3)
    m = np.array([[1, 1, 1], [1, a * a, a], [1, a, a * a]])
    zs = np.linalg.inv(m) @ z @ m
    return complex(zs[0, 0]), complex(zs[1, 1])


# --------------------------------------------------------------------- the comparisons
def _sources(net: Network, ref: dict[str, dict[str, Any]]) -> None:
    for s in net.sources:
        r = ref[s.name]
        _close(s.v_kv, r["kv"], f"{s.name} kv")
        _close(s.v_pu, r["pu"], f"{s.name} pu")
        _close(s.angle_deg, r["angle"], f"{s.name} angle")
        assert s.phases == r["phases"]
        assert s.terminal.bus == _bus(r["buses"][0])
        assert list(s.terminal.nodes) == (_nodes(r["buses"][0]) or [1, 2, 3][: s.phases])
        far = r["buses"][1]
        if s.terminal2 is None:
            assert set(_nodes(far)) == {0}, s.name
        else:
            assert s.terminal2.bus == _bus(far)
        z1 = complex(s.r1_ohm, s.x1_ohm)
        z0 = complex(s.r0_ohm, s.x0_ohm)
        if s.phases == 3:
            ref0, ref1 = _seq(r["z"])
            _close(z1.real, ref1.real, f"{s.name} r1")
            _close(z1.imag, ref1.imag, f"{s.name} x1")
            _close(z0.real, ref0.real, f"{s.name} r0")
            _close(z0.imag, ref0.imag, f"{s.name} x0")
        else:
            zs = (2 * z1 + z0) / 3
            _close(zs.real, r["z"][0, 0].real, f"{s.name} rs")
            _close(zs.imag, r["z"][0, 0].imag, f"{s.name} xs")


_CLASS_NUMBER = {LoadClass.RESIDENTIAL: 1, LoadClass.COMMERCIAL: 2, LoadClass.INDUSTRIAL: 3,
                 LoadClass.AGRICULTURAL: 4}
_STATUS = {LoadStatus.VARIABLE: 0, LoadStatus.FIXED: 1, LoadStatus.EXEMPT: 2}


def _kv(ours: float, reported: float, phases: int) -> float:
    """The kV OpenDSS's element really has: ``reported``, unless its base was never set.

    A load, generator or inverter given no kV (or conn; phases for loads and PV) keeps
    OpenDSS's hard-coded 7200 V base although it reports kV=12.47; the importer gives it
    the kV with that base (7.2·√3, or 7.2 for one phase).
    """
    default = 7.2 * math.sqrt(3.0) if phases in (2, 3) else 7.2
    return ours if reported == 12.47 and ours == default else reported


def _loads(net: Network, ref: dict[str, dict[str, Any]]) -> None:
    for ld in net.loads:
        r = ref[ld.name]
        r = {**r, "kv": _kv(ld.v_kv, r["kv"], ld.phases)}
        for ours, key in ((ld.p_kw, "kw"), (ld.q_kvar, "kvar"), (ld.v_kv, "kv"),
                          (ld.v_min_pu, "vminpu"), (ld.v_max_pu, "vmaxpu"),
                          (ld.cvr_watts, "cvrwatts"), (ld.cvr_vars, "cvrvars")):
            _close(ours, r[key], f"{ld.name} {key}")
        assert int(ld.model) == r["model"], ld.name
        if ld.zip_coefficients is not None:
            np.testing.assert_allclose(ld.zip_coefficients, r["zipv"], rtol=RTOL)
        assert (ld.connection is Connection.DELTA) == r["delta"], ld.name
        assert ld.phases == r["phases"] and ld.n_customers == r["numcust"], ld.name
        assert _CLASS_NUMBER.get(ld.load_class, r["class"]) == r["class"], ld.name
        assert _STATUS[ld.status] == r["status"], ld.name
        for key in ("yearly", "daily", "duty"):
            assert (getattr(ld, f"{key}_shape") or "") == r[key], f"{ld.name} {key}"


def _capacitors(net: Network, ref: dict[str, dict[str, Any]]) -> None:
    for cap in net.capacitors:
        r = ref[cap.name]
        steps = [float(x) for x in r["steps"].strip("[] ").replace(",", " ").split()]
        np.testing.assert_allclose(cap.q_kvar, steps, rtol=RTOL, err_msg=cap.name)
        _close(sum(cap.q_kvar), r["kvar"], f"{cap.name} kvar")
        _close(cap.v_kv, r["kv"], f"{cap.name} kv")
        assert cap.states == r["states"] and len(cap.q_kvar) == r["numsteps"], cap.name
        assert (cap.connection is Connection.DELTA) == r["delta"], cap.name
        far = r["buses"][1] if len(r["buses"]) > 1 else ".0"  # delta: one terminal
        if cap.terminal2 is None:
            assert set(_nodes(far)) == {0}, cap.name
        else:
            assert cap.terminal2.bus == _bus(far)
            assert list(cap.terminal2.nodes) == _nodes(far)


_CAP_MODE = {"current": 0, "voltage": 1, "kvar": 2, "time": 3, "pf": 4}


def _capcontrols(net: Network, ref: dict[str, dict[str, Any]]) -> None:
    seen = 0
    for cap in net.capacitors:
        cc = cap.control
        if cc is None:
            continue
        seen += 1
        r = ref[cc.name]
        assert r["capacitor"] == cap.name and r["element"] == cc.element, cc.name
        assert r["terminal"] == cc.terminal and r["mode"] == _CAP_MODE[cc.mode.value]
        for ours, key in ((cc.on_setting, "on"), (cc.off_setting, "off"),
                          (cc.pt_ratio, "pt"), (cc.ct_ratio, "ct"), (cc.delay_s, "delay"),
                          (cc.delay_off_s, "delayoff"), (cc.dead_time_s, "deadtime"),
                          (cc.v_min_v, "vmin"), (cc.v_max_v, "vmax")):
            _close(ours, r[key], f"{cc.name} {key}")
        assert cc.voltage_override == r["override"] and cc.enabled == r["enabled"], cc.name
        assert cc.pt_phase == r["ptphase"].lower(), cc.name
    assert seen == len(ref)


def _reactors(net: Network, ref: dict[str, dict[str, Any]]) -> None:
    for re in net.reactors:
        r = ref[re.name]
        _close(re.r_ohm, r["r"], f"{re.name} r")
        _close(re.x_ohm, r["x"], f"{re.name} x")
        if re.rp_ohm is not None:
            _close(re.rp_ohm, r["rp"], f"{re.name} rp")
        assert re.phases == r["phases"], re.name
        assert (re.connection is Connection.DELTA) == r["delta"], re.name
        assert re.bus1.bus == _bus(r["bus1"])
        if re.bus2 is None:
            assert set(_nodes(r["bus2"])) <= {0}, re.name
        else:
            assert re.bus2.bus == _bus(r["bus2"]), re.name


def _generators(net: Network, ref: dict[str, dict[str, Any]]) -> None:
    for g in net.generators:
        r = ref[g.name]
        r = {**r, "kv": _kv(g.v_kv, r["kv"], g.phases)}
        for ours, key in ((g.p_kw, "kw"), (g.q_kvar, "kvar"), (g.v_kv, "kv"),
                          (g.v_min_pu, "vminpu"), (g.v_max_pu, "vmaxpu")):
            _close(ours, r[key], f"{g.name} {key}")
        _close(g.s_kva, r["kva"], f"{g.name} kva")
        assert g.model == r["model"] and g.phases == r["phases"], g.name
        assert (g.connection is Connection.DELTA) == r["delta"], g.name


def _inverters(net: Network, pvs: dict[str, dict[str, Any]],
               storages: dict[str, dict[str, Any]]) -> None:
    for d in net.inverters:
        if d.kind is DerKind.PV:
            r = pvs[d.name]
            _close(d.s_kva, r["kva"], f"{d.name} kva")
            _close(d.p_rated_kw or 500.0, r["pmpp"], f"{d.name} pmpp")
            _close(d.irradiance_kw_m2, r["irradiance"], f"{d.name} irradiance")
            if d.q_mode is ReactivePowerMode.CONSTANT_Q:
                _close(d.q_kvar, r["kvar"], f"{d.name} kvar")
            else:
                _close(d.pf, r["pf"], f"{d.name} pf")
            assert (d.yearly_shape or "") == r["yearly"] and (d.daily_shape or "") == r["daily"]
        else:
            r = storages[d.name]
            for ours, key in ((d.s_kva, "kva"), (d.p_rated_kw, "kwrated"),
                              (d.energy_kwh, "kwhrated"), (d.soc_pct, "%stored"),
                              (d.reserve_pct, "%reserve"),
                              (d.efficiency_charge_pct, "%effcharge"),
                              (d.efficiency_discharge_pct, "%effdischarge"),
                              (d.p_kw, "kw")):
                _close(ours, float(r[key]), f"{d.name} {key}")
            if d.q_mode is ReactivePowerMode.POWER_FACTOR:
                _close(d.pf, float(r["pf"]), f"{d.name} pf")
            state = {BatteryState.IDLE: 0, BatteryState.CHARGING: -1,
                     BatteryState.DISCHARGING: 1}[d.state]
            assert state == r["state"], d.name
            _close(d.soc_pct, r["soc"] * 100.0, f"{d.name} soc")
            assert (d.daily_shape or "") == r["daily"].lower(), d.name
            r = {"phases": r["phases"], "kv": r["kv"], "conn": r["conn"]}
        assert d.phases == int(r["phases"]), d.name
        _close(d.v_kv, _kv(d.v_kv, float(r["kv"]), d.phases), f"{d.name} kv")
        delta = r["conn"].lower().startswith(("d", "ll"))
        assert (d.connection is Connection.DELTA) == delta, d.name


def _invcontrols(net: Network, ref: dict[str, dict[str, Any]]) -> None:
    for ic in net.inverter_controls:
        r = ref[ic.name]
        der = [x.lower() for x in r["derlist"].strip("[]").replace(",", " ").split()]
        everything = sorted(f"{'pvsystem' if d.kind is DerKind.PV else 'storage'}.{d.name}"
                            for d in net.inverters)
        assert ic.der == der or (ic.der == [] and sorted(der) == everything), ic.name
        combi = r["combimode"].strip().lower()
        mode = {"vv_vw": "voltvar_voltwatt"}.get(combi) or r["mode"].strip().lower()
        assert ic.mode.value == mode, ic.name
        assert (ic.volt_var_curve or "") == r["vvc_curve1"].lower(), ic.name
        assert (ic.volt_watt_curve or "") == r["voltwatt_curve"].lower(), ic.name


def _curves(net: Network, ref: dict[str, dict[str, Any]]) -> None:
    for cv in net.curves:
        np.testing.assert_allclose(cv.x, ref[cv.name]["x"], rtol=RTOL, err_msg=cv.name)
        np.testing.assert_allclose(cv.y, ref[cv.name]["y"], rtol=RTOL, err_msg=cv.name)


def _protection(net: Network, ref: Oracle) -> None:
    for p in net.protective_devices:
        r = ref[p.kind.value.capitalize()][p.name]
        assert p.element == r["element"] and p.terminal == r["terminal"], p.name
        assert p.open == ("open" in r["state"]), p.name
        assert p.normal_open == ("open" in r["normal"]), p.name
        assert (p.settings.get("enabled", "yes").lower()[:1] in "yt") == r["enabled"], p.name
        if "rated" in r:
            _close(p.rated_current_a, r["rated"], f"{p.name} rated")
        if "curve" in r:
            assert (p.curve or "") == r["curve"], p.name


def _meters(net: Network, ref: Oracle) -> None:
    for m in net.meters:
        r = ref["EnergyMeter" if m.kind.value == "energymeter" else "Monitor"][m.name]
        assert m.element == r["element"] and m.terminal == r["terminal"], m.name


def _loadshapes(net: Network, ref: dict[str, dict[str, Any]]) -> None:
    for ls in net.load_shapes:
        r = ref[ls.name]
        assert ls.n_points == r["npts"], ls.name
        np.testing.assert_allclose(ls.p_mult, r["p"], rtol=RTOL, err_msg=ls.name)
        if ls.q_mult is not None:
            np.testing.assert_allclose(ls.q_mult, r["q"], rtol=RTOL, err_msg=ls.name)
        else:
            assert r["q"] in ([], [0.0]) or r["q"] == r["p"], ls.name
        if ls.hours is not None:
            assert r["interval"] == 0.0, ls.name
            np.testing.assert_allclose(ls.hours, r["hours"], rtol=RTOL, err_msg=ls.name)
        else:
            _close(ls.interval_h, r["interval"], f"{ls.name} interval")
        assert ls.use_actual == r["actual"], ls.name


def _lines(net: Network, ref: dict[str, dict[str, Any]]) -> None:
    for sw in net.switches:
        r = ref[sw.name]
        assert sw.open == (r["open"] or not r["enabled"]), sw.name


CHECKS: dict[str, Callable[[Network, Oracle], None]] = {
    "Vsource": lambda n, o: _sources(n, o["Vsource"]),
    "Load": lambda n, o: _loads(n, o["Load"]),
    "Capacitor": lambda n, o: _capacitors(n, o["Capacitor"]),
    "CapControl": lambda n, o: _capcontrols(n, o["CapControl"]),
    "Reactor": lambda n, o: _reactors(n, o["Reactor"]),
    "Generator": lambda n, o: _generators(n, o["Generator"]),
    "PVSystem/Storage": lambda n, o: _inverters(n, o["PVSystem"], o["Storage"]),
    "InvControl": lambda n, o: _invcontrols(n, o["InvControl"]),
    "XYCurve": lambda n, o: _curves(n, o["XYCurve"]),
    "protection": _protection,
    "meters": _meters,
    "LoadShape": lambda n, o: _loadshapes(n, o["LoadShape"]),
    "switches": lambda n, o: _lines(n, o["Line"]),
}


# ------------------------------------------------------------------------------ tests
@pytest.fixture(scope="module", params=CASES)
def case(request: pytest.FixtureRequest) -> tuple[Network, Oracle, list[str], dict[str, Any]]:
    folder = DATA / request.param
    expected = json.loads((folder / "expected.json").read_text())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DssImportWarning)
        network = read_opendss(folder / "master.dss")
    messages = [str(w.message) for w in caught if issubclass(w.category, DssImportWarning)]
    return network, _oracle(folder / "master.dss"), messages, expected


def test_cases_found() -> None:
    assert {"der", "protection", "sources", "loads_caps", "loadshapes"} <= set(CASES)


def test_counts(case: tuple[Network, Oracle, list[str], dict[str, Any]]) -> None:
    network, oracle, _, _ = case
    ours = dss_class_counts(network)
    assert {k: ours[k] for k in CLASSES} == {k: v["n"] for k, v in oracle["counts"].items()}


@pytest.mark.parametrize("family", sorted(CHECKS))
def test_parameters(case: tuple[Network, Oracle, list[str], dict[str, Any]],
                    family: str) -> None:
    network, oracle, _, _ = case
    CHECKS[family](network, oracle)


def test_unmapped_properties_reported(
    case: tuple[Network, Oracle, list[str], dict[str, Any]],
) -> None:
    _, _, messages, expected = case
    unmapped = sorted(expected["unmapped"])
    if not unmapped:
        assert messages == []
        return
    assert len(messages) == 1
    listed = sorted(item.rsplit(" ×", 1)[0]
                    for item in messages[0].split("not mapped to the model: ", 1)[1].split(", "))
    assert listed == unmapped


def test_useactual_shape_sets_load_power(tmp_path: Path) -> None:
    # OpenDSS: a Load given a UseActual shape takes the shape's peak as its kW and kvar.
    path = tmp_path / "master.dss"
    path.write_text("New Circuit.c basekv=12.47 bus1=src\n"
                    "New LoadShape.a npts=3 interval=1 mult=(100 250 175) useactual=yes\n"
                    "New Load.d bus1=src kv=12.47 kw=100 pf=0.9 yearly=a\n")
    ref = _oracle(path)["Load"]["d"]
    assert ref["kw"] == 250.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DssImportWarning)
        load = read_opendss(path).loads[0]
    assert load.p_kw == pytest.approx(ref["kw"])


def test_battery_dispatch_and_idling(tmp_path: Path) -> None:
    # dispmode=follow makes the shape the battery's power; OpenDSS's default holds the
    # state; trigger-driven modes are reported unmapped.
    path = tmp_path / "master.dss"
    path.write_text(
        "New Circuit.c basekv=12.47 bus1=src\n"
        "New LoadShape.s npts=2 interval=1 mult=(1 -1)\n"
        "New Storage.f bus1=src kv=12.47 kwrated=100 kwhrated=400 dispmode=follow yearly=s"
        " %idlingkw=0.5\n"
        "New Storage.d bus1=src kv=12.47 kwrated=100 kwhrated=400 yearly=s\n"
        "New Storage.t bus1=src kv=12.47 kwrated=100 kwhrated=400 dispmode=price yearly=s\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DssImportWarning)
        batteries = {b.name: b for b in read_opendss(path).inverters}
    assert batteries["f"].dispatch is BatteryDispatch.FOLLOW
    assert batteries["f"].idling_pct == 0.5 and batteries["d"].idling_pct == 1.0
    assert batteries["d"].dispatch is BatteryDispatch.STATE
    assert batteries["t"].dispatch is BatteryDispatch.STATE
    assert all(b.yearly_shape == "s" for b in batteries.values())
    assert any("storage.dispmode" in str(w.message) for w in caught)
