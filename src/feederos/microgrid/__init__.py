"""StreetGrid microgrid twin: a street of houses that islands around a grid-forming battery.

Ten houses (:func:`feederos.feeders.streetgrid_street`) with critical and non-critical
circuits, PV, home batteries and EV chargers ride through a utility outage in either of
two topologies — a transformer island behind a microgrid interconnection device, or an
ad-hoc mesh of private cables with a transfer switch per house. The anchor black-starts
the street and signals its state of charge through the frequency
(:mod:`~feederos.microgrid.anchor`); participants respond as IEEE 1547-2018 asks
(:mod:`~feederos.microgrid.ieee1547`); a controller sheds and restores circuits
(:mod:`~feederos.microgrid.control`); the energy balance runs at 1 s
(:mod:`~feederos.microgrid.simulate`) and our power flow checks voltages, cable loading
and isolation (:mod:`~feederos.microgrid.street_flow`).

Examples
--------
>>> from feederos.microgrid import read_scenario, run_scenario
>>> callable(run_scenario), callable(read_scenario)
(True, True)
"""

from feederos.microgrid.control import (
    CIRCUITS,
    ControlDecision,
    LocalShedRule,
    ShedController,
    StreetState,
    circuit_id,
)
from feederos.microgrid.networks import street_network, utility_side_buses
from feederos.microgrid.result import MicrogridResult, SwitchEvent
from feederos.microgrid.scenario import Scenario, ScenarioError, Topology, read_scenario
from feederos.microgrid.simulate import ControlError, run_scenario
from feederos.microgrid.street_flow import RANGE_B_PU, StreetFlow, street_flow

__all__ = [
    "CIRCUITS",
    "RANGE_B_PU",
    "ControlDecision",
    "ControlError",
    "LocalShedRule",
    "MicrogridResult",
    "Scenario",
    "ScenarioError",
    "ShedController",
    "StreetFlow",
    "StreetState",
    "SwitchEvent",
    "Topology",
    "circuit_id",
    "read_scenario",
    "run_scenario",
    "street_flow",
    "street_network",
    "utility_side_buses",
]
