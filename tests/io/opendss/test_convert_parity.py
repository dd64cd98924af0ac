"""Importer details that change OpenDSS's numbers, each checked against OpenDSS itself.

One small script per topic is compiled by OpenDSS (dss-python) and read by our
converter; what OpenDSS resolved (primitive admittances, node orders, kW and kvar,
voltage bases, limits, control settings) is compared with what the model says.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from feederos.io.opendss import DssImportWarning, read_opendss
from feederos.model import (
    ACLineSegment,
    CapacitorControlMode,
    Connection,
    DerKind,
    Network,
    Switch,
    Terminal,
)
from feederos.model.impedance import line_phase_impedance

dss_mod = pytest.importorskip("dss")

RTOL = 1e-9
HEAD = ["Clear", "New Circuit.c basekv=12.47 bus1=b"]
TAIL = ["Set voltagebases=[12.47]", "Calcvoltagebases"]


def _compile(tmp_path: Path, lines: list[str]) -> tuple[Network, Any]:
    """Our network and OpenDSS's circuit (solved) for the script made of ``lines``."""
    path = tmp_path / "case.dss"
    path.write_text("\n".join([*HEAD, *lines, *TAIL]) + "\n")
    dss = dss_mod.DSS
    dss.Text.Command = f'compile "{path}"'
    dss.ActiveCircuit.Solution.Solve()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DssImportWarning)
        return read_opendss(path), dss.ActiveCircuit


def _yprim(circuit: Any, element: str) -> np.ndarray:
    assert circuit.SetActiveElement(element) >= 0, element
    y = np.asarray(circuit.ActiveCktElement.Yprim)
    y = y[0::2] + 1j * y[1::2]
    n = round(math.sqrt(y.size))
    return np.asarray(y.reshape(n, n))


def _prop(circuit: Any, element: str, name: str) -> str:
    assert circuit.SetActiveElement(element) >= 0, element
    return str(circuit.ActiveDSSElement.Properties(name).Val)


def _two_port(z: np.ndarray, y_shunt: np.ndarray) -> np.ndarray:
    """Primitive Y of a pi section: series ``z``, half of ``y_shunt`` at each end."""
    zi = np.linalg.inv(z)
    return np.block([[zi + y_shunt / 2, -zi], [-zi, zi + y_shunt / 2]])


def _line_yprim(net: Network, line: ACLineSegment) -> np.ndarray:
    pz = line_phase_impedance(net, line)
    return _two_port(pz.z_ohm_per_km * line.length_km, pz.y_shunt_s_per_km * line.length_km)


def _switch_yprim(sw: Switch, omega: float) -> np.ndarray:
    """A closed switch from its model fields (sequence rule; one phase: Z1 and C1 only)."""
    n = sw.phases
    z1 = complex(sw.r_ohm, sw.x_ohm)
    z0 = complex(sw.r0_ohm if sw.r0_ohm is not None else sw.r_ohm,
                 sw.x0_ohm if sw.x0_ohm is not None else sw.x_ohm)
    c1 = sw.c_nf
    c0 = sw.c0_nf if sw.c0_nf is not None else sw.c_nf
    if n == 1:
        z0, c0 = z1, c1

    def seq(a: complex, b: complex) -> np.ndarray:
        m = np.full((n, n), (b - a) / 3, dtype=complex)
        np.fill_diagonal(m, (2 * a + b) / 3)
        return m

    return _two_port(seq(z1, z0), 1j * omega * seq(c1, c0).real * 1e-9)


LINES = [
    # default C1/C0 are per kft: converted to the line's units when given after R/X
    "New Line.a bus1=b bus2=x1 r1=0.1 x1=0.3 units=km length=2",
    "New Line.b bus1=b bus2=x2 units=km r1=0.1 x1=0.3 length=2",  # r1 resets the units
    "New Line.c bus1=b bus2=x3 r1=0.1 x1=0.3 units=ft length=2000",
    "New Line.d bus1=b bus2=x4 r1=0.1 x1=0.3 length=2",
    "New Line.e bus1=b bus2=x5 linecode=lc3 length=2 units=km",  # a code's C is per its unit
    "New Line.m bus1=b bus2=x6 r1=0.1 x1=0.3 b1=3 units=km length=2",
    "New Line.n bus1=b bus2=x7 r1=0.1 x1=0.3 units=mi length=2",
    "New Line.i bus1=b bus2=x8 rmatrix=[0.1|0.02 0.1|0.02 0.02 0.1] "
    "xmatrix=[0.3|0.1 0.3|0.1 0.1 0.3] units=km length=2",
    # one phase: Z1 and C1 alone
    "New Line.f bus1=b.1 bus2=x9.1 phases=1 r1=0.1 x1=0.3 r0=0.3 x0=1 c1=10 c0=4 units=km "
    "length=2",
    "New Line.g bus1=b.2 bus2=x10.2 linecode=lc1 length=2 units=km",
    "New Line.j bus1=b.1 bus2=x11.1 r1=0.1 x1=0.3 phases=1 units=km length=2",
    "New Line.k bus1=b.3 bus2=x12.3 phases=1 r1=0.1 x1=0.3 r0=0.5 x0=1.1 units=mi length=2",
    "New Line.l bus1=b.1 bus2=x13.1 linecode=lc2 length=2 units=km",
    "New Line.q bus1=b.1.2 bus2=x14.1.2 r1=0.1 x1=0.3 r0=0.5 x0=1 phases=1 units=km phases=2 "
    "length=2",
    "New Line.o bus1=b.1.2 bus2=x15.1.2 phases=2 r1=0.1 x1=0.3 units=m length=200",
    # switches: zero-sequence C of the switch data, 3-phase on repeated nodes too
    "New Line.sw3 bus1=b.3 bus2=x16.3 switch=y",
    "New Line.sw3km bus1=b bus2=x17 switch=y units=km",
    "New Line.sw1 bus1=b.2 bus2=x18.2 phases=1 switch=y",
    # sequence data edited after a line code starts from the code's values
    "New Line.lc_r1 bus1=b bus2=x19 linecode=lc4 length=2 units=km r1=0.2",
    "New Line.lc_x0 bus1=b bus2=x20 linecode=lc4 length=2 units=km x0=2 units=mi",
    "New Line.lc_c1 bus1=b.1 bus2=x21.1 linecode=lc1 length=3 units=kft c1=5 units=km",
]
CODES = [
    "New LineCode.lc1 nphases=1 r1=0.1 x1=0.3 r0=0.3 x0=1 c1=10 c0=4 units=km",
    "New LineCode.lc2 nphases=1 r1=0.1 x1=0.3 r0=0.3 x0=1 units=km",
    "New LineCode.lc3 r1=0.1 x1=0.3 units=km",
    "New LineCode.lc4 r1=0.1 x1=0.3 r0=0.4 x0=1.1 c1=9 c0=5 units=mi",
]


def test_line_and_switch_admittances_match_opendss(tmp_path: Path) -> None:
    net, circuit = _compile(tmp_path, [*CODES, *LINES])
    assert len(net.lines) + len(net.switches) == len(LINES)
    omega = 2 * math.pi * net.base_frequency_hz
    errors = {}
    for line in net.lines:
        y = _yprim(circuit, f"Line.{line.name}")
        errors[line.name] = np.abs(_line_yprim(net, line) - y).max() / np.abs(y).max()
    for sw in net.switches:
        y = _yprim(circuit, f"Line.{sw.name}")
        errors[sw.name] = np.abs(_switch_yprim(sw, omega) - y).max() / np.abs(y).max()
    bad = {k: float(v) for k, v in errors.items() if v > RTOL}
    assert not bad, bad


def test_switch_keeps_zero_sequence_capacitance(tmp_path: Path) -> None:
    net, _ = _compile(tmp_path, ["New Line.sw bus1=b bus2=x switch=y"])
    (sw,) = net.switches
    assert sw.c_nf == pytest.approx(1.1e-3) and sw.c0_nf == pytest.approx(1.0e-3)


SHUNTS = [
    "New Capacitor.d1 phases=1 bus1=b.2 conn=delta kv=12.47 kvar=50",
    "New Capacitor.d1b phases=1 bus1=b conn=delta kv=12.47 kvar=50",
    "New Capacitor.d12 phases=1 bus1=b.1.2 conn=delta kv=12.47 kvar=50",
    "New Capacitor.d2 phases=2 bus1=b.1.2 conn=delta kv=12.47 kvar=50",
    "New Capacitor.d3 phases=3 bus1=b conn=delta kv=12.47 kvar=50",
    "New Capacitor.w1 phases=1 bus1=b.2 kv=7.2 kvar=50",
    "New Capacitor.xl phases=1 bus1=b.3 kv=7.2 kvar=50 xl=10",
    "New Capacitor.xlr phases=1 bus1=b.3 kv=7.2 kvar=50 xl=10 r=1",
    "New Capacitor.rlast phases=1 bus1=b.3 kv=7.2 kvar=50 xl=10 r=0",
    "New Reactor.d1 phases=1 bus1=b.2 conn=delta kv=12.47 kvar=50",
    "New Reactor.d2 phases=2 bus1=b.2 conn=delta kv=12.47 kvar=50",
    "New Reactor.w1 phases=1 bus1=b.2 kv=7.2 kvar=50",
]


def _padded(term: Terminal, n: int) -> list[int]:
    return [*term.nodes, *[0] * (n - len(term.nodes))]


def test_shunt_terminals_and_capacitor_r_match_opendss(tmp_path: Path) -> None:
    net, circuit = _compile(tmp_path, SHUNTS)
    for elements, cls, field in ((net.capacitors, "Capacitor", "terminal"),
                                 (net.reactors, "Reactor", "bus1")):
        for e in elements:
            circuit.SetActiveElement(f"{cls}.{e.name}")
            n = circuit.ActiveCktElement.NumConductors
            theirs = [int(x) for x in circuit.ActiveCktElement.NodeOrder][:n]
            assert _padded(getattr(e, field), n) == theirs, (e.name, theirs)
    for cap in net.capacitors:
        r = float(_prop(circuit, f"Capacitor.{cap.name}", "R").strip("[] ").split()[0])
        assert cap.r_ohm == pytest.approx(r, rel=RTOL, abs=1e-15), cap.name
    assert {c.name: c.r_ohm for c in net.capacitors}["xl"] == pytest.approx(0.01)


LOADS = [
    "New Load.dflt bus1=b",
    "New Load.kw bus1=b kw=100",
    "New Load.alloc bus1=b xfkva=50 allocationfactor=0.6 pf=0.9",
    "New Load.pf_first bus1=b pf=0.9 xfkva=50",
    "New Load.kwh bus1=b kwh=1000 kwhdays=30 cfactor=3 pf=0.95",
    "New Load.kwh_only bus1=b kwh=1000",
    "New Load.two bus1=b kw=10 kvar=5",
    "Load.two.kw=20",  # a second command: the PF from the first one holds
    "New Load.kvar_pf bus1=b kw=10 kvar=5",
    "Load.kvar_pf.pf=0.5",
    "New Load.kva bus1=b kva=100 pf=-0.8",
    "New Load.alloc_pf bus1=b xfkva=50",
    "Load.alloc_pf.pf=0.7",
    "New Load.back bus1=b kw=5 xfkva=50 kw=7",
    "New Load.af_only bus1=b allocationfactor=0.3",
    "New Load.mixed bus1=b xfkva=40 allocationfactor=0.3 kvar=2",
    "New Load.vlow bus1=b.1 phases=1 kv=7.2 kw=10 vlowpu=0.3",
    "New Load.ph bus1=b.2 phases=1 kw=10",
    "New LoadShape.ua npts=3 interval=1 mult=(100 250 175) useactual=yes",
    "New LoadShape.uaq npts=3 interval=1 mult=(100 250 175) qmult=(10 30 20) useactual=yes",
    "New Load.actual bus1=b kw=10 pf=0.9 yearly=ua",
    "New Load.actual_q bus1=b kw=10 kvar=3 daily=uaq",
]


def _load_v_base_v(v_kv: float, phases: int, conn: Connection) -> float:
    if conn is Connection.WYE and phases in (2, 3):
        return v_kv * 1000 / math.sqrt(3)
    return v_kv * 1000


def test_load_powers_and_bases_match_opendss(tmp_path: Path) -> None:
    net, circuit = _compile(tmp_path, LOADS)
    loads = circuit.Loads
    for ld in net.loads:
        loads.Name = ld.name
        assert ld.p_kw == pytest.approx(loads.kW, rel=RTOL, abs=1e-12), ld.name
        assert ld.q_kvar == pytest.approx(loads.kvar, rel=RTOL, abs=1e-12), ld.name
        v_low = float(_prop(circuit, f"Load.{ld.name}", "Vlowpu"))
        assert ld.v_low_pu == pytest.approx(v_low), ld.name
        # OpenDSS's VBase from its nominal admittance: y = (P - jQ) / VBase² per phase
        y = _yprim(circuit, f"Load.{ld.name}")[0, 0]
        v_base = math.sqrt(ld.p_kw * 1000 / ld.phases / y.real)
        ours = _load_v_base_v(ld.v_kv, ld.phases, ld.connection)
        assert ours == pytest.approx(v_base, rel=RTOL), ld.name
    assert {ld.name: ld.v_kv for ld in net.loads}["dflt"] == pytest.approx(7.2 * math.sqrt(3))


def test_zero_billing_days_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.dss"
    path.write_text("New Circuit.c bus1=b\nNew Load.l bus1=b kwh=100 kwhdays=0\n")
    with pytest.raises(Exception, match="kWhdays"):
        read_opendss(path)


DER = [
    "New PVSystem.a bus1=b",
    "New PVSystem.b bus1=b kva=100",
    "New PVSystem.c bus1=b kvarmax=30 kva=100",
    "New PVSystem.d bus1=b kva=100 kvarmax=30",
    "New PVSystem.e bus1=b kva=100 kvarmaxabs=40 %cutin=10 %cutout=5 vminpu=0.8 vmaxpu=1.2 "
    "%pmpp=80 pmpp=90",
    "New PVSystem.f bus1=b.1 phases=1",
    "New Storage.s1 bus1=b",
    "New Storage.s2 bus1=b kwrated=100",
    "New Storage.s3 bus1=b kva=100",
    "New Storage.s4 bus1=b kvarmax=10",
    "New Storage.s5 bus1=b kvarmax=10 kva=100",
    "New Storage.s6 bus1=b kwrated=100 kvarmaxabs=7 %cutin=2 %cutout=1",
    "New Storage.dis bus1=b kwrated=90 state=discharging",
    "New Storage.dis1 bus1=b.1 phases=1 kwrated=90 state=discharging",
    "New Generator.g bus1=b kw=90",
    "New Generator.g1 bus1=b.1 phases=1 kw=90",
]


def test_inverter_ratings_and_limits_match_opendss(tmp_path: Path) -> None:
    net, circuit = _compile(tmp_path, DER)
    for d in net.inverters:
        pv = d.kind is DerKind.PV
        element = f"{'PVSystem' if pv else 'Storage'}.{d.name}"

        def p(name: str, element: str = element) -> float:
            return float(_prop(circuit, element, name))

        kvar_max = d.kvar_max if d.kvar_max is not None else d.s_kva
        kvar_max_abs = d.kvar_max_abs if d.kvar_max_abs is not None else kvar_max
        cut_default = 20.0 if pv else 0.0
        ours = {"kVA": d.s_kva, "kvarMax": kvar_max, "kvarMaxAbs": kvar_max_abs,
                "%Cutin": d.cut_in_pct if d.cut_in_pct is not None else cut_default,
                "%Cutout": d.cut_out_pct if d.cut_out_pct is not None else cut_default,
                "Vminpu": d.v_min_pu, "Vmaxpu": d.v_max_pu}
        if pv:
            ours |= {"Pmpp": d.p_rated_kw, "%Pmpp": d.p_max_pct}
        else:
            ours |= {"kWrated": d.p_rated_kw}
        theirs = {k: p(k) for k in ours}
        assert ours == pytest.approx(theirs, rel=RTOL), d.name


def test_der_voltage_bases_match_opendss(tmp_path: Path) -> None:
    """A PV system, battery or generator given no kV keeps OpenDSS's 7200 V base."""
    net, circuit = _compile(tmp_path, DER)
    cases = {f"PVSystem.{n}": n for n in ("a", "f")} | {
        f"Storage.{n}": n for n in ("dis", "dis1")} | {f"Generator.{n}": n for n in ("g", "g1")}
    elements = {e.name: e for e in [*net.inverters, *net.generators]}
    for element, name in cases.items():
        e = elements[name]
        p_kw = e.p_kw if not isinstance(getattr(e, "kind", None), DerKind) else (
            e.p_rated_kw if e.kind is DerKind.PV else e.p_kw)
        y = _yprim(circuit, element)[0, 0]
        v_base = math.sqrt(p_kw * 1000 / e.phases / abs(y.real))
        ours = e.v_kv * 1000 / (math.sqrt(3) if e.phases in (2, 3) else 1.0)
        assert ours == pytest.approx(v_base, rel=RTOL), element


def test_invcontrol_without_mode_is_no_control(tmp_path: Path) -> None:
    lines = ["New PVSystem.a bus1=b kva=100 pmpp=90 kv=12.47",
             "New XYCurve.vv npts=4 xarray=[0.9 0.95 1.05 1.1] yarray=[1 0 0 -1]",
             "New InvControl.none vvc_curve1=vv",
             "New InvControl.vv mode=voltvar vvc_curve1=vv"]
    net, circuit = _compile(tmp_path, lines)
    assert _prop(circuit, "InvControl.none", "Mode") == ""
    assert [c.name for c in net.inverter_controls] == ["vv"]


CONTROLS = [
    "New Transformer.t phases=3 windings=2 buses=[b x] conns=[wye wye] kvs=[12.47 12.47] "
    "kvas=[5000 5000] xhl=1",
    "New RegControl.r1 transformer=t winding=2 vreg=122 maxtapchange=0 bus=x.2.3 revvreg=118 "
    "revband=2 revr=1.5 revx=2.5 revthreshold=50 revdelay=30 revneutral=yes inversetime=yes "
    "reversible=yes ptratio=60 remoteptratio=100",
    "New RegControl.r2 transformer=t winding=2 tapwinding=1 remoteptratio=100 ptratio=20",
    "New RegControl.r3 transformer=t tapwinding=2 winding=1",
    "New Capacitor.c bus1=x kv=12.47 kvar=300",
    "New CapControl.cc capacitor=c element=Transformer.t terminal=2 ON=300 OFF=200",
]


def test_control_settings_match_opendss(tmp_path: Path) -> None:
    net, circuit = _compile(tmp_path, CONTROLS)
    (cap,) = net.capacitors
    assert cap.control is not None and cap.control.mode is CapacitorControlMode.CURRENT
    circuit.CapControls.Name = "cc"
    assert circuit.CapControls.Mode == 0  # OpenDSS's enum: 0 = current
    regs = circuit.RegControls
    for r in net.regulators:
        regs.Name = r.name
        element = f"RegControl.{r.name}"
        assert r.max_tap_change == regs.MaxTapChange, r.name
        assert (r.tap_winding or r.winding) == regs.TapWinding, r.name
        assert r.inverse_time == regs.IsInverseTime and r.reversible == regs.IsReversible
        ours = [r.rev_v_set_v, r.rev_band_v, r.rev_ldc_r_v, r.rev_ldc_x_v, r.pt_ratio,
                r.remote_pt_ratio if r.remote_pt_ratio is not None else r.pt_ratio,
                r.rev_threshold_kw, r.rev_delay_s]
        theirs = [regs.ReverseVreg, regs.ReverseBand, regs.ReverseR, regs.ReverseX,
                  regs.PTratio, float(_prop(circuit, element, "RemotePTRatio")),
                  float(_prop(circuit, element, "revThreshold")),
                  float(_prop(circuit, element, "revDelay"))]
        assert ours == pytest.approx(theirs), r.name
        neutral = _prop(circuit, element, "revNeutral").lower().startswith(("y", "t"))
        assert r.rev_neutral == neutral, r.name
        assert (r.monitored_bus or "") == regs.MonitoredBus.lower(), r.name
    assert net.regulators[0].monitored_bus == "x.2.3"
