"""The feederos command: each command on real feeders, and clean failures on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from feederos.cli.fos import app as fos_app
from feederos.cli.main import app
from feederos.io.native import read_network

runner = CliRunner()


def test_info_on_a_builtin_feeder() -> None:
    result = runner.invoke(app, ["info", "ieee13"])
    assert result.exit_code == 0, result.output
    assert "buses" in result.output and "16" in result.output
    assert "radial" in result.output


def test_info_on_a_dss_file_lists_unsupported_parts(feeders_dir: Path) -> None:
    result = runner.invoke(app, ["info", str(feeders_dir / "123Bus" / "IEEE123Master.dss")])
    assert result.exit_code == 0, result.output
    assert "note:" in result.output and "ppm_antifloat" in result.output


def test_validate_ok_and_with_errors(tmp_path: Path) -> None:
    ok = runner.invoke(app, ["validate", "streetgrid"])
    assert ok.exit_code == 0, ok.output
    doc = json.loads(
        (Path(__file__).parents[2] / "src/feederos/feeders/data/ieee13.json").read_text())
    doc["lines"][0]["line_code"] = "no_such_code"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1
    assert "no_such_code" in result.output


def test_convert_dss_to_yaml_round_trips(feeders_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "ieee13.yaml"
    result = runner.invoke(app, ["convert", str(feeders_dir / "13Bus" / "IEEE13Nodeckt.dss"),
                                 str(out)])
    assert result.exit_code == 0, result.output
    assert len(read_network(out).buses) == 16


def test_generate_writes_the_asked_size(tmp_path: Path) -> None:
    out = tmp_path / "rural.json"
    result = runner.invoke(app, ["generate", str(out), "--profile", "rural", "--buses", "250",
                                 "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert len(read_network(out).buses) == 250


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["info", "no-such-feeder"], "not a built-in feeder"),
        (["info", "{bad}.json"], None),
        (["generate", "x.json", "--profile", "lunar"], None),
        (["generate", "x.json", "--buses", "3"], None),
    ],
)
def test_bad_input_exits_non_zero_with_a_message(
    args: list[str], expected: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    if args[1].endswith(".json") and args[0] == "info":
        (tmp_path / args[1]).write_text("{not json")
    result = runner.invoke(app, args)
    assert result.exit_code != 0
    if expected:
        assert expected in result.output


def test_syntax_error_in_dss_names_file_and_line(tmp_path: Path) -> None:
    dss = tmp_path / "broken.dss"
    dss.write_text("New Circuit.c basekv=12.47\nNew Line.l1 bus1=a bus2=b length=[1 2\n")
    result = runner.invoke(app, ["info", str(dss)])
    assert result.exit_code == 2
    assert "broken.dss:2" in result.output.replace("\n", "")


def test_help_everywhere() -> None:
    for args in ([], ["info"], ["validate"], ["convert"], ["generate"]):
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output
    assert runner.invoke(app, ["version"]).exit_code == 0


def test_fos_commands() -> None:
    assert "fos" in runner.invoke(fos_app, ["version"]).output
    result = runner.invoke(fos_app, ["topics", "f1"])
    assert "feeder/f1/commands/<asset-id>" in result.output
