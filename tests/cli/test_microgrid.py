"""``feederos microgrid run``: the report, the files, and the exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from feederos.cli.microgrid import app, limit_breaches

runner = CliRunner()
SCENARIO = Path(__file__).parents[2] / "scenarios" / "grid_failure.json"


def short_scenario(tmp_path: Path) -> Path:
    data = json.loads(SCENARIO.read_text())
    data |= {
        "start": "2023-07-15T11:00",
        "duration_h": 1.0,
        "outage_start_h": 0.25,
        "outage_end_h": 0.75,
    }
    path = tmp_path / "short.json"
    path.write_text(json.dumps(data))
    return path


def test_run_prints_the_report_and_writes_plots(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(short_scenario(tmp_path)), "--out", str(out)])
    assert result.exit_code == 0, result.output
    for label in (
        "critical load served",
        "energy not served",
        "frequency range",
        "anchor minimum SOC",
        "sheds / restores",
    ):
        assert label in result.output
    assert "energy not served [kWh]" in result.output  # units survive rich's markup
    assert {p.name for p in out.iterdir()} == {
        "frequency.png",
        "soc.png",
        "load.png",
        "report.html",
        "summary.json",
    }
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"] == "grid_failure" and summary["range_b_violations"] == 0
    assert 59.3 <= summary["f_min_hz"] <= summary["f_max_hz"] <= 60.5


def test_a_bad_scenario_exits_2_naming_it(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(tmp_path / "nope.json")])
    assert result.exit_code == 2
    assert "nope.json: no such scenario file" in result.output


def test_limit_breaches_are_listed() -> None:
    ok = {
        "f_min_hz": 59.5,
        "f_max_hz": 60.4,
        "range_b_violations": 0,
        "isolation_violations": 0,
        "not_converged": 0,
    }
    assert limit_breaches(ok) == []
    bad = ok | {"f_max_hz": 60.6, "isolation_violations": 3}
    assert limit_breaches(bad) == [
        "frequency 59.500–60.600 Hz leaves 59.3–60.5 Hz",
        "3 islanded steps with back-feed",
    ]


def test_run_with_the_orchestrator_reports_its_states_and_commands(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["run", str(short_scenario(tmp_path)), "--controller", "orchestrator"]
    )
    assert result.exit_code == 0, result.output
    assert "critical load served" in result.output
    states = next(line for line in result.output.splitlines() if "orchestrator states" in line)
    assert "islanding -> black_start -> islanded" in states
    assert states.endswith("resync -> grid_connected")
    assert "nodes flagged: none" in result.output


def test_an_unknown_controller_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", str(short_scenario(tmp_path)), "--controller", "pid"])
    assert result.exit_code == 2
    assert "pid" in result.output
