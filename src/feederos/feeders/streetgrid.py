"""The StreetGrid street: ten houses on one split-phase secondary that can island.

One 75 kVA pole-mounted single-phase transformer (7.2 kV on phase A of a 12.47 kV
lateral, centre-tapped 120/240 V secondary) feeds a 4/0 AA triplex secondary along
the street; each house hangs off it by a 1/0 AA triplex service drop. A secondary
breaker right after the transformer can open and island the street.

- House 1 is the anchor: a grid-forming battery inverter (30 kVA, 60 kWh, a
  community-scale battery) that holds voltage and frequency when the street islands.
- Houses 2–10 are participants, each with rooftop PV of 3–8 kW (the U.S. residential
  median is ≈ 7 kW, LBNL *Tracking the Sun* 2023); four of them (houses 3, 5, 7, 9)
  also have a home battery of 5 kW / 13.5 kWh (the size of a Tesla Powerwall 2).
- Houses 4 and 8 have a 7.2 kW Level 2 EV charger (SAE J1772, 30 A at 240 V).
- Household loads are constant-P/Q, 1.2–4.5 kW at 0.95 lagging: an early-evening
  snapshot of diversified demand (Kersting, *Distribution System Modeling and
  Analysis*, 4th ed., ch. 2: a few kW per house after diversity).

Impedances: the transformer uses the IEEE 8500-node feeder's centre-tapped data
(%R 0.6/1.2/1.2, XHL = XHT = 2.04 %, XLT = 1.36 %); triplex codes are computed with
Carson's equations on Kersting's example 6.1 geometry (see
:mod:`feederos.feeders.synthetic`). Secondary buses have ``v_base_kv = 0.208``, i.e.
a 120 V line-to-neutral base, as OpenDSS models 120/240 V secondaries; 240 V devices
are single-phase delta elements across nodes 1 and 2.

Examples
--------
>>> net = streetgrid_street()
>>> len([b for b in net.buses if b.name.startswith("house")])
10
>>> anchor = net.by_name("inverters")["house01_battery"]
>>> anchor.grid_forming, anchor.energy_kwh
(True, 60.0)
"""

from __future__ import annotations

import math

from feederos.feeders.synthetic import line_code
from feederos.model import (
    ACLineSegment,
    BatteryState,
    Bus,
    Connection,
    DerKind,
    EnergyConsumer,
    EnergySource,
    EVCharger,
    LoadClass,
    Network,
    PowerElectronicsConnection,
    PowerTransformer,
    Switch,
    SwitchKind,
    Terminal,
    TransformerWinding,
)

__all__ = ["N_HOUSES", "STREET_BREAKER", "streetgrid_street"]

N_HOUSES = 10
"""Houses on the street."""
STREET_BREAKER = "street_breaker"
"""Name of the secondary breaker that islands the street."""

_V_PRIMARY_KV = 12.47
_V_SPLIT_BASE_KV = 0.208  # 120 V line-to-neutral base
_V_HOUSE_KV = 0.240
_XFMR_KVA = 75.0

# Per house 1..10: load kW, PV kW (0 = none), battery (kW, kWh, SOC %) or None, EV kW.
_LOAD_KW = (3.2, 2.1, 4.5, 2.8, 1.9, 3.6, 2.4, 4.1, 1.2, 3.0)
_PV_KW = (0.0, 6.0, 4.5, 7.6, 3.2, 8.0, 5.4, 3.0, 6.8, 4.0)
_BATTERY = {3: (5.0, 13.5, 80.0), 5: (5.0, 13.5, 55.0), 7: (5.0, 13.5, 90.0),
            9: (5.0, 13.5, 65.0)}
_EV_KW = {4: 7.2, 8: 7.2}
_PF = 0.95
_SPAN_M = 40.0  # pole/pedestal spacing along the street
_DROP_M = (28.0, 32.0, 25.0, 35.0, 30.0, 27.0, 33.0, 29.0, 31.0, 26.0)


def streetgrid_street() -> Network:
    """Build the StreetGrid street: ten houses behind one 75 kVA split-phase transformer.

    Returns
    -------
    Network
        Buses ``primary`` (12.47 kV), ``xfmr_lv`` and ``street`` (either side of the
        breaker), ``pole1``–``pole5`` along the secondary, ``house01``–``house10``.

    Examples
    --------
    >>> net = streetgrid_street()
    >>> sw = net.by_name("switches")["street_breaker"]
    >>> sw.kind.value, sw.open
    ('breaker', False)
    >>> sum(1 for i in net.inverters if i.kind == "pv")
    9
    """
    buses = [
        Bus(name="primary", v_base_kv=_V_PRIMARY_KV, x=0.0, y=-20.0),
        Bus(name="xfmr_lv", v_base_kv=_V_SPLIT_BASE_KV, x=0.0, y=-5.0),
        Bus(name="street", v_base_kv=_V_SPLIT_BASE_KV, x=0.0, y=0.0),
    ]
    split = (1, 2)
    source = EnergySource.from_short_circuit(
        name="grid", terminal=Terminal(bus="primary"), v_kv=_V_PRIMARY_KV,
        mva_sc3=120.0, mva_sc1=90.0, x1_r1=4.0, x0_r0=3.0,
    )
    v_ln = round(_V_PRIMARY_KV / math.sqrt(3.0), 2)
    xfmr = PowerTransformer(
        name="xfmr", phases=1, xhl_pct=2.04, xht_pct=2.04, xlt_pct=1.36,
        no_load_loss_pct=0.2, magnetizing_pct=0.5, normal_kva=_XFMR_KVA,
        emergency_kva=1.5 * _XFMR_KVA,
        windings=[
            TransformerWinding(terminal=Terminal(bus="primary", nodes=(1, 0)), v_kv=v_ln,
                               s_kva=_XFMR_KVA, r_pct=0.6),
            TransformerWinding(terminal=Terminal(bus="xfmr_lv", nodes=(1, 0)), v_kv=0.12,
                               s_kva=_XFMR_KVA, r_pct=1.2),
            TransformerWinding(terminal=Terminal(bus="xfmr_lv", nodes=(0, 2)), v_kv=0.12,
                               s_kva=_XFMR_KVA, r_pct=1.2),
        ],
    )
    breaker = Switch(
        name=STREET_BREAKER, kind=SwitchKind.BREAKER, phases=2,
        bus1=Terminal(bus="xfmr_lv", nodes=split), bus2=Terminal(bus="street", nodes=split),
        rated_current_a=400.0, breaking_current_a=10000.0, remote_controlled=True,
    )
    lines: list[ACLineSegment] = []
    previous = "street"
    for k in range(1, N_HOUSES // 2 + 1):
        pole = f"pole{k}"
        buses.append(Bus(name=pole, v_base_kv=_V_SPLIT_BASE_KV, x=k * _SPAN_M, y=0.0))
        lines.append(ACLineSegment(
            name=f"sec{k}", bus1=Terminal(bus=previous, nodes=split),
            bus2=Terminal(bus=pole, nodes=split), phases=2, length_km=_SPAN_M / 1000.0,
            line_code="4/0_AA_TPX",
        ))
        previous = pole
    loads: list[EnergyConsumer] = []
    inverters: list[PowerElectronicsConnection] = []
    chargers: list[EVCharger] = []
    for h in range(1, N_HOUSES + 1):
        house = f"house{h:02d}"
        pole_k = (h + 1) // 2
        side = 1.0 if h % 2 else -1.0
        drop_m = _DROP_M[h - 1]
        buses.append(Bus(name=house, v_base_kv=_V_SPLIT_BASE_KV, x=pole_k * _SPAN_M,
                         y=side * drop_m))
        t = Terminal(bus=house, nodes=split)
        lines.append(ACLineSegment(
            name=f"drop{h:02d}", bus1=Terminal(bus=f"pole{pole_k}", nodes=split), bus2=t,
            phases=2, length_km=drop_m / 1000.0, line_code="1/0_AA_TPX",
        ))
        kw = _LOAD_KW[h - 1]
        loads.append(EnergyConsumer(
            name=f"{house}_load", terminal=t, phases=1, connection=Connection.DELTA,
            v_kv=_V_HOUSE_KV, p_kw=kw, q_kvar=round(kw * math.tan(math.acos(_PF)), 3),
            load_class=LoadClass.RESIDENTIAL,
        ))
        if h == 1:
            inverters.append(PowerElectronicsConnection(
                name=f"{house}_battery", kind=DerKind.BATTERY, terminal=t, phases=1,
                connection=Connection.DELTA, v_kv=_V_HOUSE_KV, s_kva=30.0, p_rated_kw=30.0,
                energy_kwh=60.0, soc_pct=80.0, reserve_pct=20.0, grid_forming=True,
                efficiency_charge_pct=95.0, efficiency_discharge_pct=95.0,
                description="StreetGrid anchor: grid-forming community battery",
            ))
        pv = _PV_KW[h - 1]
        if pv > 0:
            inverters.append(PowerElectronicsConnection(
                name=f"{house}_pv", kind=DerKind.PV, terminal=t, phases=1,
                connection=Connection.DELTA, v_kv=_V_HOUSE_KV, s_kva=round(1.1 * pv, 2),
                p_rated_kw=pv, p_kw=0.0, irradiance_kw_m2=0.0,
            ))
        if h in _BATTERY:
            b_kw, b_kwh, soc = _BATTERY[h]
            inverters.append(PowerElectronicsConnection(
                name=f"{house}_battery", kind=DerKind.BATTERY, terminal=t, phases=1,
                connection=Connection.DELTA, v_kv=_V_HOUSE_KV, s_kva=b_kw, p_rated_kw=b_kw,
                energy_kwh=b_kwh, soc_pct=soc, state=BatteryState.IDLE,
            ))
        if h in _EV_KW:
            chargers.append(EVCharger(
                name=f"{house}_ev", terminal=t, phases=1, connection=Connection.DELTA,
                v_kv=_V_HOUSE_KV, p_max_kw=_EV_KW[h], p_kw=_EV_KW[h],
            ))
    return Network(
        name="streetgrid",
        voltage_bases_kv=[_V_PRIMARY_KV, _V_SPLIT_BASE_KV],
        buses=buses, sources=[source],
        line_codes=[line_code("4/0_AA_TPX"), line_code("1/0_AA_TPX")],
        lines=lines, switches=[breaker], transformers=[xfmr],
        loads=loads, inverters=inverters, ev_chargers=chargers,
    )
