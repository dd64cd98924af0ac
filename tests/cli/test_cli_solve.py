"""``feederos solve``: formats, files and failures.

Most tests replace the solver by one that returns OpenDSS's reference solution of IEEE 13
(through our own compiled network), so they check the command, not the solver; the last
ones run the real solver end to end.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import feederos.powerflow
from feederos.cli.main import app
from feederos.errors import PowerFlowError, TopologyError
from feederos.model import Network
from feederos.powerflow.compiled import compile_network
from feederos.powerflow.result import PowerFlowResult, build_result

runner = CliRunner()

REFERENCE = Path(__file__).resolve().parents[2] / ".." / "shared" / "feeders" / "reference"


def _reference_result(network: Network, *, converged: bool = True) -> PowerFlowResult:
    """OpenDSS's IEEE 13 voltages on our compiled network (nodes it lacks stay 0 V)."""
    compiled = compile_network(network)
    ref = pd.read_csv(REFERENCE / "ieee13" / "voltages.csv")
    v = np.zeros(compiled.nodes.n_nodes, dtype=complex)
    for row in ref.itertuples():
        try:
            i = compiled.nodes.of(str(row.bus), int(row.node))
        except TopologyError:  # a node of the .dss model our built-in lacks
            continue
        v[i] = row.v_volts * np.exp(1j * np.radians(row.angle_deg))
    return build_result(
        compiled, v, method="fixed-point", converged=converged, iterations=7,
        max_mismatch_a=1e-7 if converged else 3.5, worst_node=None if converged else "671.1",
        control_iterations=2, regulator_taps={"reg1": 9, "reg2": 6, "reg3": 9},
        tap_pu={}, capacitor_states={"cap1": (1,), "cap2": (1,)},
        control_actions=["reg1 +1"],
    )


@pytest.fixture
def fake_solve(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Replace the solver; returns the list of keyword arguments it was called with."""
    calls: list[dict[str, Any]] = []

    def solve(network: Network, **kwargs: Any) -> PowerFlowResult:
        calls.append(kwargs)
        return _reference_result(network, converged=kwargs.get("controls", True))

    monkeypatch.setattr(feederos.powerflow, "solve", solve, raising=False)
    return calls


def test_csv_is_exactly_the_reference_layout(fake_solve: list[dict[str, Any]]) -> None:
    result = runner.invoke(app, ["solve", "ieee13", "--format", "csv"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "bus,node,v_volts,angle_deg,v_pu"
    table = pd.read_csv(pd.io.common.StringIO(result.stdout))
    ref = pd.read_csv(REFERENCE / "ieee13" / "voltages.csv").astype({"bus": str})
    merged = table.astype({"bus": str}).merge(ref, on=["bus", "node"], suffixes=("", "_ref"))
    assert len(merged) == len(table) == 41
    np.testing.assert_allclose(merged.v_volts, merged.v_volts_ref, rtol=1e-9)
    np.testing.assert_allclose(merged.v_pu, merged.v_pu_ref, rtol=1e-6)
    assert fake_solve == [{"method": "auto", "controls": True}]


def test_method_and_no_controls_reach_the_solver(fake_solve: list[dict[str, Any]]) -> None:
    runner.invoke(app, ["solve", "ieee13", "--method", "newton", "--no-controls",
                        "--format", "csv"])
    assert fake_solve == [{"method": "newton", "controls": False}]
    bad = runner.invoke(app, ["solve", "ieee13", "--method", "magic"])
    assert bad.exit_code == 2


def test_json_document(fake_solve: list[dict[str, Any]], tmp_path: Path) -> None:
    out = tmp_path / "sub" / "r.json"
    result = runner.invoke(app, ["solve", "ieee13", "--format", "json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert set(doc) == {"summary", "voltages", "branches", "violations"}
    s = doc["summary"]
    assert s["converged"] is True and s["regulator_taps"] == {"reg1": 9, "reg2": 6, "reg3": 9}
    assert s["capacitor_states"] == {"cap1": [1], "cap2": [1]}
    assert s["source_p_kw"] > 3000 and 0.9 < s["v_min_pu"] < s["v_max_pu"] < 1.1
    assert len(doc["voltages"]) == 41 and set(doc["voltages"][0]) == {
        "bus", "node", "phase", "v_volts", "angle_deg", "v_pu", "energized"}
    assert {b["element"] for b in doc["branches"]} >= {"line.650632", "transformer.sub"}
    # capacitors have no rating: NaN is written as null, not as invalid JSON
    cap = next(b for b in doc["branches"] if b["element"].startswith("capacitor."))
    assert cap["loading_pct"] is None
    assert s["n_violations"] == len(doc["violations"])


def test_table_summary(fake_solve: list[dict[str, Any]]) -> None:
    result = runner.invoke(app, ["solve", "ieee13"])
    assert result.exit_code == 0, result.output
    for word in ("converged", "source", "losses", "regulator taps", "reg1 +9", "cap1 1",
                 "violations", "sourcebus"):
        assert word in result.stdout, word


def test_table_to_a_file(fake_solve: list[dict[str, Any]], tmp_path: Path) -> None:
    out = tmp_path / "r.txt"
    result = runner.invoke(app, ["solve", "ieee13", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "losses" in out.read_text() and "wrote" in result.stderr


def test_non_convergence_reports_and_exits_1(fake_solve: list[dict[str, Any]]) -> None:
    # the fake marks a solution without controls as not converged
    result = runner.invoke(app, ["solve", "ieee13", "--no-controls", "--format", "csv"])
    assert result.exit_code == 1
    assert result.stdout.startswith("bus,node,v_volts")  # the result is still written
    assert "did not converge" in result.stderr and "671.1" in result.stderr


def test_solver_errors_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    def solve(network: Network, **kwargs: Any) -> PowerFlowResult:
        raise PowerFlowError("the sweep method needs a radial feeder")

    monkeypatch.setattr(feederos.powerflow, "solve", solve, raising=False)
    result = runner.invoke(app, ["solve", "ieee13", "--method", "fbs"])
    assert result.exit_code == 2
    assert "radial" in result.stderr


@pytest.mark.parametrize("feeder", ["no-such-feeder", "broken.dss", "broken.json"])
def test_bad_feeders_exit_2(feeder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken.dss").write_text("New Circuit.c basekv=12.47\nNew Line.l1 bus1=a [\n")
    (tmp_path / "broken.json").write_text("{not json")
    result = runner.invoke(app, ["solve", feeder])
    assert result.exit_code == 2
    assert "error" in result.stderr


def test_help() -> None:
    result = runner.invoke(app, ["solve", "--help"])
    assert result.exit_code == 0
    for option in ("--method", "--no-controls", "--format", "--out"):
        assert option in result.stdout


# ---------------------------------------------------------------------------- real solver

def test_solves_the_opendss_ieee13_file_end_to_end(feeders_dir: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = runner.invoke(app, ["solve", str(feeders_dir / "13Bus" / "IEEE13Nodeckt.dss"),
                                     "--format", "csv"])
    assert result.exit_code == 0, result.output
    ours = pd.read_csv(pd.io.common.StringIO(result.stdout)).astype({"bus": str})
    ref = pd.read_csv(REFERENCE / "ieee13" / "voltages.csv").astype({"bus": str})
    merged = ours.merge(ref, on=["bus", "node"], suffixes=("", "_ref"))
    assert len(merged) == len(ref)
    assert np.abs(merged.v_pu - merged.v_pu_ref).max() < 1e-4
