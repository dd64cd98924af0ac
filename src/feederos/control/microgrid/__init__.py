"""StreetGrid: the orchestrator of a street that islands on its anchor battery.

- :mod:`~feederos.control.microgrid.states` — the operating states and the pure
  transition function;
- :mod:`~feederos.control.microgrid.dispatch` — who may use how much: critical
  circuits first, fair shares, shed/restore actions (never of a critical circuit);
- :mod:`~feederos.control.microgrid.bad_data` — implausible, stuck and lying nodes;
- :mod:`~feederos.control.microgrid.orchestrator` — the app that ties them together.

Examples
--------
>>> from feederos.control.microgrid import State, StreetOrchestrator
>>> StreetOrchestrator().state is State.GRID_CONNECTED
True
"""

from feederos.control.microgrid.bad_data import BadDataFilter, Filtered, Finding, Reason, Reports
from feederos.control.microgrid.config import (
    AnchorConfig,
    HouseConfig,
    LimitsConfig,
    OrchestratorConfig,
    streetgrid_config,
)
from feederos.control.microgrid.dispatch import (
    CRITICAL_CIRCUIT,
    Allocation,
    SwitchAction,
    allocate,
    fair_shares_kw,
    house_weights_kw,
    plan_switching,
    street_supply_kw,
)
from feederos.control.microgrid.orchestrator import EVALUATE_EVERY_S, StreetOrchestrator
from feederos.control.microgrid.states import (
    LEGAL,
    RULES,
    Rule,
    State,
    StateInputs,
    StateLimits,
    autonomy_h,
    next_state,
)

__all__ = [
    "CRITICAL_CIRCUIT",
    "EVALUATE_EVERY_S",
    "LEGAL",
    "RULES",
    "Allocation",
    "AnchorConfig",
    "BadDataFilter",
    "Filtered",
    "Finding",
    "HouseConfig",
    "LimitsConfig",
    "OrchestratorConfig",
    "Reason",
    "Reports",
    "Rule",
    "State",
    "StateInputs",
    "StateLimits",
    "StreetOrchestrator",
    "SwitchAction",
    "allocate",
    "autonomy_h",
    "fair_shares_kw",
    "house_weights_kw",
    "next_state",
    "plan_switching",
    "street_supply_kw",
    "streetgrid_config",
]
