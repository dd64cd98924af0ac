"""validate() finds every problem and names element and field in each."""

from __future__ import annotations

import pytest

from feederos.errors import NetworkValidationError
from feederos.model import (
    ACLineSegment,
    Bus,
    CapacitorControl,
    CapacitorControlMode,
    Connection,
    EnergyConsumer,
    EnergySource,
    LinearShuntCompensator,
    LineCode,
    LineImpedance,
    Network,
    PowerTransformer,
    RatioTapChanger,
    Severity,
    Switch,
    Terminal,
    TransformerWinding,
    validate,
)


def _source() -> EnergySource:
    return EnergySource(name="src", terminal=Terminal(bus="s"), v_kv=12.47,
                        r1_ohm=0.1, x1_ohm=1.0, r0_ohm=0.1, x0_ohm=1.0)


def _good() -> Network:
    code = LineCode(name="c3", impedance=LineImpedance(
        r_matrix_ohm_per_km=[[0.3, 0.1, 0.1], [0.1, 0.3, 0.1], [0.1, 0.1, 0.3]],
        x_matrix_ohm_per_km=[[0.6, 0.2, 0.2], [0.2, 0.6, 0.2], [0.2, 0.2, 0.6]]))
    return Network(
        name="good",
        buses=[Bus(name="s", v_base_kv=12.47), Bus(name="a", v_base_kv=12.47),
               Bus(name="b", v_base_kv=0.48)],
        sources=[_source()],
        line_codes=[code],
        lines=[ACLineSegment(name="l1", bus1=Terminal(bus="s"), bus2=Terminal(bus="a"),
                             length_km=1.0, line_code="c3")],
        transformers=[PowerTransformer(name="t1", windings=[
            TransformerWinding(terminal=Terminal(bus="a"), v_kv=12.47, s_kva=500),
            TransformerWinding(terminal=Terminal(bus="b"), v_kv=0.48, s_kva=500)])],
        loads=[EnergyConsumer(name="ld", terminal=Terminal(bus="b", nodes=(1,)), phases=1,
                              v_kv=0.277, p_kw=10, q_kvar=3)],
    )


def test_a_consistent_network_has_no_problems() -> None:
    assert validate(_good()) == []


def test_every_problem_is_collected_with_element_and_field() -> None:
    net = _good()
    net.buses += [Bus(name="x", v_base_kv=12.47), Bus(name="y", v_base_kv=4.16)]
    net.lines.append(ACLineSegment(name="l1", bus1=Terminal(bus="a"), bus2=Terminal(bus="zz"),
                                   length_km=1.0, line_code="missing"))
    net.lines.append(ACLineSegment(name="neg", bus1=Terminal(bus="a", nodes=(1,)),
                                   bus2=Terminal(bus="x", nodes=(1,)), phases=1,
                                   length_km=1.0, impedance=LineImpedance(
                                       r1_ohm_per_km=-0.1, x1_ohm_per_km=0.3)))
    net.loads.append(EnergyConsumer(name="ph", terminal=Terminal(bus="x", nodes=(2,)),
                                    phases=1, v_kv=2.4, p_kw=1, q_kvar=0))
    net.transformers.append(PowerTransformer(name="bad_kv", windings=[
        TransformerWinding(terminal=Terminal(bus="a"), v_kv=12.47, s_kva=50),
        TransformerWinding(terminal=Terminal(bus="y"), v_kv=0.48, s_kva=50)]))
    net.regulators.append(RatioTapChanger(name="r", transformer="nope"))
    found = {(p.collection, p.element, p.field) for p in validate(net)}
    assert ("lines", "l1", "name") in found  # duplicate name
    assert ("lines", "l1", "bus2") in found  # unknown bus
    assert ("lines", "l1", "line_code") in found  # unknown line code
    assert ("lines", "neg", "impedance.r1_ohm_per_km") in found  # negative R
    assert ("loads", "ph", "terminal") in found  # phase not present at the bus
    assert ("transformers", "bad_kv", "windings[1].v_kv") in found  # kV vs bus base
    assert ("regulators", "r", "transformer") in found
    for p in validate(net):
        assert p.element and p.field and p.message
        assert p.collection in str(p) and p.element in str(p)


def test_dangling_and_open_switch_islands_are_warned() -> None:
    net = _good()
    net.buses += [Bus(name="c"), Bus(name="d")]
    net.switches.append(Switch(name="tie", bus1=Terminal(bus="a"), bus2=Terminal(bus="c"),
                               normal_open=True))
    net.lines.append(ACLineSegment(name="l2", bus1=Terminal(bus="c"), bus2=Terminal(bus="d"),
                                   length_km=0.5, line_code="c3"))
    warnings = [p for p in validate(net) if p.severity is Severity.WARNING]
    assert any(p.element == "l2" and "dangling" in p.message for p in warnings)
    net.switches[0].open = False
    assert validate(net) == []


def test_phase_missing_for_delta_and_references_checked() -> None:
    net = _good()
    net.capacitors.append(LinearShuntCompensator(
        name="c", terminal=Terminal(bus="a"), v_kv=12.47, q_kvar=[300.0],
        control=CapacitorControl(name="cc", mode=CapacitorControlMode.VOLTAGE,
                                 element="line.nowhere", on_setting=118, off_setting=125)))
    net.loads.append(EnergyConsumer(name="dl", terminal=Terminal(bus="b", nodes=(2, 4)),
                                    phases=1, connection=Connection.DELTA, v_kv=0.48,
                                    p_kw=1, q_kvar=0))
    fields = {(p.element, p.field) for p in validate(net)}
    assert ("c", "control.element") in fields
    assert ("dl", "terminal") in fields


def test_strict_raises_one_error_listing_all() -> None:
    net = _good()
    net.regulators.append(RatioTapChanger(name="r1", transformer="x1"))
    net.regulators.append(RatioTapChanger(name="r2", transformer="t1", winding=3))
    with pytest.raises(NetworkValidationError) as info:
        validate(net, strict=True)
    assert len(info.value.problems) == 2
    assert "r1" in str(info.value) and "r2" in str(info.value)


def test_network_without_source_is_an_error() -> None:
    net = Network(name="n", buses=[Bus(name="a")])
    (problem,) = validate(net)
    assert problem.severity is Severity.ERROR and problem.collection == "sources"


def test_every_kind_of_reference_is_checked() -> None:
    from feederos.model import (
        Curve,
        EVCharger,
        InverterControl,
        InverterControlMode,
        LineGeometry,
        Meter,
        MeterKind,
        PowerElectronicsConnection,
        ProtectiveDevice,
        ProtectiveDeviceKind,
    )

    net = _good()
    net.line_geometries.append(LineGeometry(name="g", n_conductors=1, n_phases=1, x_m=[0.0],
                                            h_m=[9.0], conductors=["nowire"],
                                            conductor_kinds=["wire"]))
    net.lines += [
        ACLineSegment(name="lg", bus1=Terminal(bus="s"), bus2=Terminal(bus="a"),
                      length_km=1, geometry="nogeo"),
        ACLineSegment(name="ls", bus1=Terminal(bus="s"), bus2=Terminal(bus="a"),
                      length_km=1, spacing="nosp", wires=["w1"]),
        ACLineSegment(name="l4", bus1=Terminal(bus="s"), bus2=Terminal(bus="a"), phases=4,
                      length_km=1, line_code="c3"),
    ]
    net.transformers[0].code = "nocode"
    net.loads[0].yearly_shape = "noshape"
    net.curves.append(Curve(name="vv", x=[0.9, 1.1], y=[0.4, -0.4]))
    net.inverters.append(PowerElectronicsConnection(
        name="pv", kind="pv", terminal=Terminal(bus="b"), v_kv=0.48, s_kva=10,
        volt_watt_curve="nocurve"))
    net.inverter_controls.append(InverterControl(
        name="ic", mode=InverterControlMode.VOLT_VAR, volt_var_curve="vv",
        der=["pvsystem.pv", "pvsystem.ghost"]))
    net.ev_chargers.append(EVCharger(name="ev", terminal=Terminal(bus="b", nodes=(1,)),
                                     v_kv=0.277, p_max_kw=7.2, schedule_shape="noshape"))
    net.protective_devices.append(ProtectiveDevice(name="f", kind=ProtectiveDeviceKind.FUSE,
                                                   element="line.nowhere"))
    net.meters.append(Meter(name="m", kind=MeterKind.MONITOR, element="widget.x"))
    found = {(p.collection, p.element, p.field): p for p in validate(net)}
    for key in [
        ("line_geometries", "g", "conductors"),
        ("lines", "lg", "geometry"),
        ("lines", "ls", "spacing"),
        ("lines", "ls", "wires"),
        ("lines", "l4", "phases"),
        ("transformers", "t1", "code"),
        ("loads", "ld", "yearly_shape"),
        ("inverters", "pv", "volt_watt_curve"),
        ("inverter_controls", "ic", "der"),
        ("ev_chargers", "ev", "schedule_shape"),
        ("protective_devices", "f", "element"),
        ("meters", "m", "element"),
    ]:
        assert key in found, key
    assert "pvsystem.ghost" in found[("inverter_controls", "ic", "der")].message
    assert found[("meters", "m", "element")].severity is Severity.WARNING


def test_terminal_shapes_and_negative_values() -> None:
    net = _good()
    net.line_codes[0].impedance.r_matrix_ohm_per_km[1][1] = -0.3
    net.loads.append(EnergyConsumer(name="four", terminal=Terminal(bus="b", nodes=(1, 2, 3, 4, 5)),
                                    v_kv=0.48, p_kw=1, q_kvar=0))
    net.lines.append(ACLineSegment(name="neg_c", bus1=Terminal(bus="s"), bus2=Terminal(bus="a"),
                                   length_km=1, impedance=LineImpedance(
                                       r1_ohm_per_km=0.1, x1_ohm_per_km=0.2,
                                       c1_nf_per_km=-5.0)))
    found = {(p.collection, p.element, p.field) for p in validate(net)}
    assert ("line_codes", "c3", "impedance.r_matrix_ohm_per_km") in found
    assert ("loads", "four", "terminal") in found
    assert ("lines", "neg_c", "impedance.c1_nf_per_km") in found


def test_grid_forming_inverter_energises_a_microgrid() -> None:
    from feederos.model import PowerElectronicsConnection

    net = Network(name="island", buses=[Bus(name="h")], inverters=[PowerElectronicsConnection(
        name="anchor", kind="battery", terminal=Terminal(bus="h", nodes=(1,)), phases=1,
        v_kv=0.24, s_kva=10, energy_kwh=13.5, grid_forming=True)])
    assert validate(net) == []
    net.inverters[0].enabled = False
    assert any(p.collection == "sources" for p in validate(net))
