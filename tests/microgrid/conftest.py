"""Scenarios shared by the microgrid tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from feederos.microgrid import Scenario, read_scenario

SCENARIOS = Path(__file__).parents[2] / "scenarios"


@pytest.fixture(scope="session")
def grid_failure() -> Scenario:
    return read_scenario(SCENARIOS / "grid_failure.json")


@pytest.fixture(scope="session")
def midday(grid_failure: Scenario) -> Scenario:
    """Two hours around noon: an outage from 11:00 to 12:30 under a clear sky."""
    weather = grid_failure.weather.model_copy(update={"cloudiness": 0.0})
    return grid_failure.model_copy(
        update={
            "name": "midday",
            "start": "2023-07-15T10:30",
            "duration_h": 2.5,
            "outage_start_h": 0.5,
            "outage_end_h": 2.0,
            "weather": weather,
        }
    )
