"""Scenario files: every shipped one reads, and errors name the file and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from feederos.microgrid import ScenarioError, Topology, read_scenario, run_scenario
from feederos.microgrid.networks import house_names

SCENARIOS = sorted((Path(__file__).parents[2] / "scenarios").glob("*.json"))


def test_there_are_scenarios_of_both_topologies() -> None:
    names = {p.name for p in SCENARIOS}
    assert "grid_failure.json" in names
    assert {read_scenario(p).topology for p in SCENARIOS} == set(Topology)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_a_shipped_scenario_reads_and_matches_the_street(path: Path) -> None:
    s = read_scenario(path)
    assert s.name == path.stem
    assert [h.name for h in s.houses] == house_names()
    assert s.anchor.house == "house01"


def test_errors_name_the_file_and_field(tmp_path: Path) -> None:
    data = json.loads(SCENARIOS[0].read_text())
    data["houses"][2]["critical_share"] = 1.5
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(ScenarioError, match=r"bad\.json: houses\.2\.critical_share"):
        read_scenario(bad)
    data["houses"][2]["critical_share"] = 0.2
    data["outage_end_h"] = 0.5
    bad.write_text(json.dumps(data))
    with pytest.raises(ScenarioError, match=r"outage_start_h .* must be before"):
        read_scenario(bad)
    (tmp_path / "broken.json").write_text("{\n  'name': 1\n}")
    with pytest.raises(ScenarioError, match=r"broken\.json:2: not valid JSON"):
        read_scenario(tmp_path / "broken.json")
    with pytest.raises(ScenarioError, match="no such scenario file"):
        read_scenario(tmp_path / "missing.json")


def test_a_house_off_the_street_is_refused() -> None:
    s = read_scenario(SCENARIOS[0])
    other = s.model_copy(
        update={
            "houses": [s.houses[0].model_copy(update={"name": "house42"})],
            "anchor": s.anchor.model_copy(update={"house": "house42"}),
        }
    )
    with pytest.raises(ScenarioError, match="house42"):
        run_scenario(other, power_flow=False)
