"""The built-in feeder registry and the shipped JSON files."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from types import ModuleType

import pytest

import feederos.feeders as feeders
from feederos.feeders import UnknownFeederError, list_feeders, load_feeder, streetgrid_street
from feederos.model import Severity, validate

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "src" / "feederos" / "feeders" / "data"


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_builtin_feeders", ROOT / "tools" / "gen_builtin_feeders.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_public_api() -> None:
    assert sorted(feeders.__all__) == sorted([
        "MAX_BUSES", "MIN_BUSES", "PROFILES", "FeederProfile", "LoadMix", "ProfileName",
        "UnknownFeederError", "generate_feeder", "get_profile", "list_feeders", "load_feeder",
        "streetgrid_street",
    ])
    for name in feeders.__all__:
        assert hasattr(feeders, name)


def test_list_is_every_shipped_json() -> None:
    shipped = {p.stem for p in DATA.glob("*.json")}
    assert "streetgrid" in shipped
    assert list_feeders() == sorted(shipped | {"streetgrid"})


def test_shipped_streetgrid_is_what_the_code_builds() -> None:
    tool = _tool()
    shipped = (DATA / "streetgrid.json").read_text(encoding="utf-8")
    assert shipped == tool.to_json(streetgrid_street())
    assert load_feeder("streetgrid") == streetgrid_street()


def test_tool_check_mode_reports_up_to_date(capsys: pytest.CaptureFixture[str]) -> None:
    """The shipped IEEE feeders equal what our importer makes of the published .dss files."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the importer's list of unmapped parts
        assert _tool().main(["streetgrid", "ieee13", "ieee123", "--check"]) == 0
    out = capsys.readouterr().out
    for name in ("streetgrid", "ieee13", "ieee123"):
        assert f"{name}: up to date" in out


@pytest.mark.parametrize("name", list_feeders())
def test_every_builtin_loads_and_validates(name: str) -> None:
    net = load_feeder(name)
    assert net.buses
    assert [p for p in validate(net) if p.severity is Severity.ERROR] == []
    assert load_feeder(name) is not net  # a fresh object each time


def test_unknown_feeder() -> None:
    with pytest.raises(UnknownFeederError, match="no built-in feeder 'ieee9999'"):
        load_feeder("ieee9999")
    with pytest.raises(LookupError):
        load_feeder("nope")
