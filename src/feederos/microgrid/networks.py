"""The street as the power flow sees it, connected and islanded, in both topologies.

Both start from :func:`feederos.feeders.streetgrid_street`. The twin balances energy per
house, so each house's load, PV, battery and EV charger are folded into one constant-power
load ``<house>_net`` of 1 kW + 1 kvar at rated voltage that the batch solver scales by the
house's net power each step (consumption positive; negative is export). Its constant-power
band is widened to 0.8–1.2 pu so that the voltages checked are those of constant power
(OpenDSS would switch to constant impedance below 0.95 pu and flatter the low end).

- **transformer_island**: the street's own network. Connected, the utility source feeds it
  through the transformer and the closed street breaker. Islanded, the breaker — the
  microgrid interconnection device — is open, the utility source is gone (the grid has
  failed) and the anchor is the source.
- **mesh**: the same utility service, but every house also sits on an ad-hoc mesh of
  private cables, through a double-throw transfer switch: pole ``<house>_ts_utility``
  between the end of the service drop (``<house>_svc``) and the house panel, pole
  ``<house>_ts_mesh`` between the panel and the house's mesh bus (``<house>_mesh``).
  Connected, the utility poles are closed and the mesh poles open; islanded, the reverse.
  Cables: 1/0 AA triplex (the street's own service-drop code, Kersting, *Distribution
  System Modeling and Analysis*, 4th ed., example 6.1: 175 A) — a size a homeowner's
  electrician would run for a 100–150 A interconnection — between neighbours on each side
  of the street (40 m, the pole spacing) and across it at houses 1–2, 5–6 and 9–10 (the
  two service drops' lengths end to end), so the mesh has loops.

The anchor is an ideal split-phase source (two 120 V EMFs 180° apart, OpenDSS's 2-phase
``Vsource`` convention) behind a virtual impedance of 1 % resistance and 3 % reactance
on its 30 kVA base: the small output impedance of a grid-forming inverter.

Examples
--------
>>> net = street_network(Topology.MESH, islanded=True)
>>> sorted(s.name for s in net.switches if not s.open)[:2]
['house01_ts_mesh', 'house02_ts_mesh']
>>> [s.name for s in net.sources]
['anchor']
>>> sorted(utility_side_buses(Topology.TRANSFORMER_ISLAND))
['primary', 'xfmr_lv']
"""

from __future__ import annotations

from feederos.feeders import streetgrid_street
from feederos.feeders.streetgrid import N_HOUSES, STREET_BREAKER
from feederos.feeders.synthetic import line_code
from feederos.microgrid.scenario import Topology
from feederos.model import (
    ACLineSegment,
    Bus,
    Connection,
    EnergyConsumer,
    EnergySource,
    Network,
    Switch,
    SwitchKind,
    Terminal,
)

__all__ = [
    "ANCHOR_SOURCE",
    "MESH_CABLE_CODE",
    "MESH_LINKS",
    "house_names",
    "street_network",
    "utility_side_buses",
]

ANCHOR_SOURCE = "anchor"
"""Name of the anchor's source in an islanded network."""
MESH_CABLE_CODE = "1/0_AA_TPX"
"""Line code of the private mesh cables."""
MESH_LINKS = (
    (1, 3),
    (3, 5),
    (5, 7),
    (7, 9),
    (2, 4),
    (4, 6),
    (6, 8),
    (8, 10),
    (1, 2),
    (5, 6),
    (9, 10),
)
"""House pairs joined by a private cable in the mesh topology."""

_SPLIT = (1, 2)
_V_HOUSE_KV = 0.240
_ANCHOR_KVA = 30.0
_ANCHOR_R_PCT, _ANCHOR_X_PCT = 1.0, 3.0


def house_names() -> list[str]:
    """``house01`` … ``house10``."""
    return [f"house{h:02d}" for h in range(1, N_HOUSES + 1)]


def utility_side_buses(topology: Topology) -> set[str]:
    """Buses that must be dead while the street is islanded (no back-feed)."""
    if topology is Topology.TRANSFORMER_ISLAND:
        return {"primary", "xfmr_lv"}
    base = streetgrid_street()
    island = {f"{h}_mesh" for h in house_names()} | set(house_names())
    return {b.name for b in _mesh_buses(base) if b.name not in island}


def street_network(
    topology: Topology,
    *,
    islanded: bool,
    anchor_house: str = "house01",
    breaker_open: bool | None = None,
) -> Network:
    """The network for the power flow (see the module docstring).

    Parameters
    ----------
    topology
        Transformer island or mesh.
    islanded
        Utility source gone, anchor as the source, separating switches open.
    anchor_house
        The anchor's bus.
    breaker_open
        Override of the separating switches' state (default: open when islanded) — to
        test the isolation check with a switch left closed.
    """
    base = streetgrid_street()
    sep_open = islanded if breaker_open is None else breaker_open
    loads = [
        EnergyConsumer(
            name=f"{h}_net",
            terminal=Terminal(bus=h, nodes=_SPLIT),
            phases=1,
            connection=Connection.DELTA,
            v_kv=_V_HOUSE_KV,
            p_kw=1.0,
            q_kvar=1.0,
            v_min_pu=0.8,
            v_max_pu=1.2,
        )
        for h in house_names()
    ]
    z_base = _V_HOUSE_KV**2 / (_ANCHOR_KVA / 1000.0)
    r, x = z_base * _ANCHOR_R_PCT / 100.0, z_base * _ANCHOR_X_PCT / 100.0
    sources = (
        [
            EnergySource(
                name=ANCHOR_SOURCE,
                terminal=Terminal(bus=anchor_house, nodes=_SPLIT),
                phases=2,
                v_kv=_V_HOUSE_KV,
                r1_ohm=r,
                x1_ohm=x,
                r0_ohm=r,
                x0_ohm=x,
            )
        ]
        if islanded
        else list(base.sources)
    )
    common = {"loads": loads, "inverters": [], "ev_chargers": [], "sources": sources}
    if topology is Topology.TRANSFORMER_ISLAND:
        switches = [
            s.model_copy(update={"open": sep_open}) if s.name == STREET_BREAKER else s
            for s in base.switches
        ]
        return base.model_copy(update={**common, "switches": switches})
    return _mesh(base, sep_open=sep_open, common=common)


def _mesh_buses(base: Network) -> list[Bus]:
    buses = [b for b in base.buses if not b.name.startswith("house")]
    for b in base.buses:
        if b.name.startswith("house"):
            buses.append(b.model_copy(update={"name": f"{b.name}_svc"}))
            buses.append(b)
            buses.append(b.model_copy(update={"name": f"{b.name}_mesh", "y": (b.y or 0.0) * 1.2}))
    return buses


def _mesh(base: Network, *, sep_open: bool, common: dict[str, object]) -> Network:
    drops = {ln.name: ln for ln in base.lines if ln.name.startswith("drop")}
    lines = [ln for ln in base.lines if not ln.name.startswith("drop")]
    for ln in drops.values():  # the drop now ends at the service entrance, before the switch
        house = ln.bus2.bus
        lines.append(ln.model_copy(update={"bus2": Terminal(bus=f"{house}_svc", nodes=_SPLIT)}))
    drop_m = {ln.bus2.bus: ln.length_km * 1000.0 for ln in drops.values()}
    for a, b in MESH_LINKS:
        ha, hb = f"house{a:02d}", f"house{b:02d}"
        same_side = (a - b) % 2 == 0
        length_m = 40.0 * abs(a - b) / 2 if same_side else drop_m[ha] + drop_m[hb]
        lines.append(
            ACLineSegment(
                name=f"mesh_{ha}_{hb}",
                bus1=Terminal(bus=f"{ha}_mesh", nodes=_SPLIT),
                bus2=Terminal(bus=f"{hb}_mesh", nodes=_SPLIT),
                phases=2,
                length_km=length_m / 1000.0,
                line_code=MESH_CABLE_CODE,
                description="private mesh cable",
            )
        )
    switches = list(base.switches)
    for h in house_names():
        for pole, bus, opened in (
            ("utility", f"{h}_svc", sep_open),
            ("mesh", f"{h}_mesh", not sep_open),
        ):
            switches.append(
                Switch(
                    name=f"{h}_ts_{pole}",
                    kind=SwitchKind.SWITCH,
                    phases=2,
                    bus1=Terminal(bus=bus, nodes=_SPLIT),
                    bus2=Terminal(bus=h, nodes=_SPLIT),
                    open=opened,
                    normal_open=pole == "mesh",
                    rated_current_a=200.0,
                )
            )
    codes = list(base.line_codes)
    if all(c.name != MESH_CABLE_CODE for c in codes):
        codes.append(line_code(MESH_CABLE_CODE))
    return base.model_copy(
        update={
            **common,
            "name": "streetgrid_mesh",
            "buses": _mesh_buses(base),
            "lines": lines,
            "switches": switches,
            "line_codes": codes,
        }
    )
