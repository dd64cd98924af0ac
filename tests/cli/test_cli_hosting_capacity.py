"""``feederos hosting-capacity``: the table, the files and the failures."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from feederos.cli.main import app

runner = CliRunner()


def test_writes_table_levels_standing_and_map(tmp_path: Path) -> None:
    result = runner.invoke(app, ["hosting-capacity", "ieee13", "--bus", "675", "--bus", "611",
                                 "--level", "peak=1.0", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "hosting capacity of 2 buses" in result.output
    table = pd.read_csv(tmp_path / "hosting_capacity.csv", dtype={"bus": str})
    assert table.bus.tolist() == ["675", "611"] and (table.kw > 0).all()
    assert pd.read_csv(tmp_path / "by_level.csv").level.tolist() == ["peak", "peak"]
    assert (tmp_path / "standing.csv").exists()
    doc = json.loads((tmp_path / "hosting_capacity.geojson").read_text())
    assert len(doc["features"]) == 2


def test_ev_and_options() -> None:
    result = runner.invoke(app, ["hosting-capacity", "ieee13", "--kind", "ev", "--bus", "675",
                                 "--level", "peak=1", "--reverse-flow", "none", "--controls"])
    assert result.exit_code == 0, result.output
    assert "EV hosting capacity" in result.output


def test_bad_input_exits_2() -> None:
    for args in (["nowhere"], ["ieee13", "--bus", "nowhere"], ["ieee13", "--kind", "wind"]):
        result = runner.invoke(app, ["hosting-capacity", *args])
        assert result.exit_code == 2, (args, result.output)
    result = runner.invoke(app, ["hosting-capacity", "ieee13", "--level", "peak"])
    assert result.exit_code == 2 and "NAME=MULTIPLIER" in result.output
    result = runner.invoke(app, ["hosting-capacity", "ieee13", "--reverse-flow", "up"])
    assert result.exit_code == 2
