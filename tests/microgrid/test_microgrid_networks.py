"""Both topologies in the power flow, and the isolation check catching a back-feed."""

from __future__ import annotations

import numpy as np
import pytest

from feederos.feeders.streetgrid import STREET_BREAKER
from feederos.microgrid import Topology, street_flow, street_network, utility_side_buses
from feederos.microgrid.networks import MESH_LINKS
from feederos.model import Severity, validate

N = 6
P = np.tile(np.linspace(500.0, 4000.0, 10), (N, 1))
Q = 0.33 * P


@pytest.mark.parametrize("topology", list(Topology))
@pytest.mark.parametrize("islanded", [True, False])
def test_the_networks_are_valid_and_separated_as_asked(topology: Topology, islanded: bool) -> None:
    net = street_network(topology, islanded=islanded)
    assert not [p for p in validate(net) if p.severity == Severity.ERROR]
    assert [s.name for s in net.sources] == (["anchor"] if islanded else ["grid"])
    separating = [
        s
        for s in net.switches
        if (s.name == STREET_BREAKER and topology is Topology.TRANSFORMER_ISLAND)
        or s.name.endswith("_ts_utility")
    ]
    assert separating and all(s.open == islanded for s in separating)
    mesh_poles = [s for s in net.switches if s.name.endswith("_ts_mesh")]
    assert all(s.open != islanded for s in mesh_poles)
    if topology is Topology.MESH:
        assert len(mesh_poles) == 10
        cables = [ln for ln in net.lines if ln.name.startswith("mesh_")]
        assert len(cables) == len(MESH_LINKS)
        assert {round(ln.length_km * 1000) for ln in cables} >= {40, 60}


@pytest.mark.parametrize("topology", list(Topology))
def test_islanded_flow_keeps_the_utility_side_dead(topology: Topology) -> None:
    live = np.ones(N, dtype=bool)
    flow = street_flow(topology, P, Q, live=live, islanded=live)
    assert flow.converged.all() and flow.isolated.all()
    assert np.nanmax(flow.backfeed_v) == 0.0
    assert (flow.v_house_pu > 0.9).all() and (flow.v_house_pu < 1.05).all()
    connected = street_flow(topology, P, Q, live=live, islanded=~live)
    assert connected.converged.all() and np.isnan(connected.backfeed_v).all()


@pytest.mark.parametrize("topology", list(Topology))
def test_a_separating_switch_left_closed_is_reported_as_back_feed(topology: Topology) -> None:
    live = np.ones(N, dtype=bool)
    flow = street_flow(topology, P, Q, live=live, islanded=live, breaker_open=False)
    assert not flow.isolated.any()
    assert (flow.backfeed_v > 50.0).all()  # the anchor energises the utility side
    assert "primary" in utility_side_buses(topology)


def test_heavier_load_sags_the_far_houses_more() -> None:
    live = np.ones(2, dtype=bool)
    p = np.vstack([np.full(10, 1000.0), np.full(10, 6000.0)])
    flow = street_flow(Topology.TRANSFORMER_ISLAND, p, 0.33 * p, live=live, islanded=live)
    v = flow.v_house_pu.min(axis=2)
    assert (v[1] < v[0]).all()
    assert v[1, 9] < v[1, 0]  # house10 is the far end from the anchor at house01
    assert flow.loading_max_pu[1] > flow.loading_max_pu[0]
