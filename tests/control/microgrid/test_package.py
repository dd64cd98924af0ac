"""The package's public names, and that it imports no transport (only the app SDK)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import feederos.control.microgrid as microgrid

PACKAGE = Path(microgrid.__file__).parent
ALLOWED = {
    "feederos.runtime.app",
    "feederos.runtime.messages",
    "feederos.runtime.topics",
    "feederos.runtime.clock",
}


def test_public_api() -> None:
    assert sorted(microgrid.__all__) == sorted(
        [
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
    )
    assert all(hasattr(microgrid, name) for name in microgrid.__all__)


def test_imports_only_the_app_sdk() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.startswith("feederos.") and not name.startswith("feederos.control."):
                    assert name in ALLOWED, f"{path.name} imports {name}"
                top = name.split(".")[0]
                assert top in {
                    "feederos",
                    "numpy",
                    "pydantic",
                    "__future__",
                    "collections",
                    "dataclasses",
                    "enum",
                    "typing",
                }, f"{path.name} imports {name}"


def test_config_matches_the_streetgrid_street() -> None:
    """streetgrid_config() describes feederos.feeders.streetgrid's street, house by house."""
    from feederos.feeders.streetgrid import streetgrid_street
    from feederos.model import DerKind

    net = streetgrid_street()
    cfg = microgrid.streetgrid_config()
    ders = net.by_name("inverters")
    evs = {e.name: e.p_max_kw for e in net.ev_chargers}
    anchor = ders["house01_battery"]
    assert (cfg.anchor.energy_kwh, cfg.anchor.p_rated_kw) == (anchor.energy_kwh, anchor.p_rated_kw)
    assert cfg.limits.reserve_pct == anchor.reserve_pct
    for i, house in enumerate(cfg.houses, start=1):
        name = f"house{i:02d}"
        assert house.asset == name
        load_kw = net.by_name("loads")[f"{name}_load"].p_kw
        ev_kw = evs.get(f"{name}_ev", 0.0)
        assert sum(house.circuits_kw) == pytest.approx(load_kw + ev_kw, abs=0.02)
        assert house.circuits_kw[3] == ev_kw
        pv = ders.get(f"{name}_pv")
        assert house.pv_kw == (pv.p_rated_kw if pv is not None else 0.0)
        battery = ders.get(f"{name}_battery") if i > 1 else None
        assert battery is None or battery.kind is DerKind.BATTERY
        assert house.battery_kwh == (battery.energy_kwh if battery is not None else 0.0)
        assert house.battery_kw == (battery.p_rated_kw if battery is not None else 0.0)
