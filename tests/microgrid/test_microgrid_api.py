"""The public names of feederos.microgrid are the ones we mean to offer."""

from __future__ import annotations

import feederos.microgrid as mg


def test_public_api() -> None:
    assert set(mg.__all__) == {
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
    }
    assert all(hasattr(mg, name) for name in mg.__all__)
    from feederos.errors import FeederosError

    assert issubclass(mg.ScenarioError, FeederosError) and issubclass(
        mg.ControlError, FeederosError
    )
