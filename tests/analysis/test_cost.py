"""CapEx estimate: quantities × unit costs, by hand on a tiny feeder and against IEEE 13's .dss.

The tiny feeder (tests/data/analysis/cost/network.json) has one item of each way a line
can be overhead or underground; expected.json holds its estimate worked by hand.
IEEE 13's quantities are counted again here straight from the published OpenDSS script
(/work/shared/feeders/13Bus/IEEE13Nodeckt.dss), not through our importer.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from feederos.analysis.cost import (
    CABLE_MIN_C_NF_PER_KM,
    CostTableError,
    LineClass,
    UnitCosts,
    capex,
    default_unit_costs,
    equipment_quantities,
    line_class,
    read_unit_costs,
)
from feederos.feeders import load_feeder
from feederos.io.native import read_network
from feederos.model import Network

DATA = Path(__file__).resolve().parents[1] / "data" / "analysis" / "cost"
IEEE13_DSS = Path("/work/shared/feeders/13Bus/IEEE13Nodeckt.dss")
FT_PER_KM = 1000.0 / 0.3048
# Kersting's IEEE 13 test feeder: configurations 606 and 607 are underground cables.
IEEE13_CABLE_CODES = {"mtx606", "mtx607"}


@pytest.fixture(scope="module")
def tiny() -> Network:
    return read_network(DATA / "network.json")


def test_tiny_feeder_matches_the_hand_worked_estimate(tiny: Network) -> None:
    expected = json.loads((DATA / "expected.json").read_text())
    estimate = capex(tiny, read_unit_costs(DATA / "unit_costs.json"))
    assert estimate.currency == expected["currency"]
    got = [r.to_dict() for r in estimate.rows]
    want = [{k: v for k, v in row.items() if k != "why"} for row in expected["rows"]]
    assert [r["item"] for r in got] == [r["item"] for r in want]
    for g, w in zip(got, want, strict=True):
        assert g == pytest.approx(w), g["item"]
    assert estimate.total == pytest.approx(expected["total"])
    assert estimate.row("recloser") is None
    assert estimate.row("pv") is not None


def test_line_classes_of_the_tiny_feeder(tiny: Network) -> None:
    classes = {ln.name: line_class(tiny, ln) for ln in tiny.lines}
    assert classes == {
        "l1": LineClass.OVERHEAD,  # code, 9 nF/km
        "l2": LineClass.UNDERGROUND,  # code, 250 nF/km
        "l3": LineClass.UNDERGROUND,  # geometry of CN cables, buried
        "l4": LineClass.OVERHEAD,  # spacing on a pole, bare wire
    }


def test_a_buried_spacing_with_bare_wire_is_underground(tiny: Network) -> None:
    buried = tiny.line_spacings[0].model_copy(update={"h_m": [-1.0, -1.0, -1.0]})
    net = tiny.model_copy(update={"line_spacings": [buried]})
    assert line_class(net, next(ln for ln in net.lines if ln.name == "l4")) is (
        LineClass.UNDERGROUND
    )


def test_to_dict_is_json_ready(tiny: Network) -> None:
    estimate = capex(tiny, read_unit_costs(DATA / "unit_costs.json"))
    doc = json.loads(json.dumps(estimate.to_dict(), allow_nan=False))
    assert doc["currency"] == "EUR"
    assert doc["total"] == pytest.approx(1_351_600.0)
    assert doc["rows"][0] == {
        "item": "overhead_line",
        "count": 2,
        "quantity": 2.5,
        "unit": "km",
        "unit_cost": 100000.0,
        "subtotal": 250000.0,
    }
    assert any("capacitance" in n for n in doc["notes"])


def _dss_statements(path: Path) -> list[dict[str, list[str]]]:
    """``New <class>.<name> k=v …`` statements (continuations joined): every value given
    for each (lower-cased) key, in order; ``element`` is ``class.name``."""
    statements: list[str] = []
    for raw in path.read_text().splitlines():
        line = re.split(r"!|//", raw, maxsplit=1)[0].strip()
        if line.startswith("~") and statements:
            statements[-1] += " " + line[1:]
        elif line.lower().startswith("new "):
            statements.append(line[4:])
    out = []
    for text in statements:
        # Bracketed arrays ("kVAs=[1666 1666]") hold spaces: keep them in one token.
        tokens = re.findall(r"[^\s=]+=\[[^\]]*\]|[^\s=]+=\([^)]*\)|\S+", text)
        props: dict[str, list[str]] = {"element": [tokens[0].lower()]}
        for token in tokens[1:]:
            key, _, value = token.partition("=")
            props.setdefault(key.lower(), []).append(value)
        out.append(props)
    return out


def test_ieee13_quantities_match_the_published_dss() -> None:
    statements = _dss_statements(IEEE13_DSS)

    def of(kind: str) -> list[dict[str, list[str]]]:
        return [s for s in statements if s["element"][0].startswith(f"{kind}.")]

    lines = of("line")
    switches = [s for s in lines if s.get("switch", ["n"])[-1].lower().startswith(("y", "t"))]
    segments = [s for s in lines if s not in switches]
    assert all(s["units"] == ["ft"] for s in segments)
    cable = [s["linecode"][-1].lower() in IEEE13_CABLE_CODES for s in segments]
    length_km = [float(s["length"][-1]) / FT_PER_KM for s in segments]
    overhead_km = sum(km for km, c in zip(length_km, cable, strict=True) if not c)
    cable_km = sum(km for km, c in zip(length_km, cable, strict=True) if c)
    regulated = {s["transformer"][-1].lower() for s in of("regcontrol")}
    transformers = of("transformer")
    # Sub and XFM1 give "wdg=1 … kva=…" then "wdg=2 … kva=…": the first is winding 1's.
    plain_kva = sum(
        float(s["kva"][0])
        for s in transformers
        if s["element"][0].removeprefix("transformer.") not in regulated
    )
    capacitors_kvar = sum(float(s["kvar"][-1]) for s in of("capacitor"))

    got = {q.item: q for q in equipment_quantities(load_feeder("ieee13"))}
    assert set(got) == {
        "overhead_line",
        "underground_cable",
        "transformer",
        "regulator",
        "capacitor",
        "switch",
    }
    assert got["overhead_line"].count == cable.count(False) == 9
    assert got["overhead_line"].quantity == pytest.approx(overhead_km, rel=1e-12)
    assert got["underground_cable"].count == cable.count(True) == 2
    assert got["underground_cable"].quantity == pytest.approx(cable_km, rel=1e-12)
    total_km = got["overhead_line"].quantity + got["underground_cable"].quantity
    assert total_km == pytest.approx(8200 / FT_PER_KM)  # 2.49936 km
    assert (got["transformer"].count, got["transformer"].quantity) == (
        len(transformers) - len(regulated),
        pytest.approx(plain_kva),
    )
    assert plain_kva == 5500.0
    assert (got["regulator"].count, got["regulator"].quantity) == (len(regulated), 3.0)
    assert got["capacitor"].quantity == pytest.approx(capacitors_kvar) == 700.0
    assert got["switch"].count == len(switches) == 1


def test_ieee13_default_estimate_is_the_table_times_the_quantities() -> None:
    net = load_feeder("ieee13")
    costs = default_unit_costs()
    estimate = capex(net)
    assert estimate.currency == "USD"
    expected = (
        2.10312 * costs.overhead_line_per_km
        + 0.39624 * costs.underground_cable_per_km
        + 5500 * costs.transformer_per_kva
        + 3 * costs.regulator_each
        + 700 * costs.capacitor_per_kvar
        + 1 * costs.switch_each
    )
    assert estimate.total == pytest.approx(expected, rel=1e-9)
    assert math.isfinite(estimate.total) and estimate.total > 0


def test_ieee123_cable_code_12_is_the_only_underground() -> None:
    net = load_feeder("ieee123")
    underground = {ln.line_code for ln in net.lines if line_class(net, ln) is LineClass.UNDERGROUND}
    assert underground == {"12"}
    street = load_feeder("streetgrid")  # aerial triplex services: overhead
    assert {line_class(street, ln) for ln in street.lines} == {LineClass.OVERHEAD}
    assert 41.0 < CABLE_MIN_C_NF_PER_KM < 110.0


def test_default_table_is_the_packaged_file() -> None:
    packaged = Path(__file__).resolve().parents[2] / "src" / "feederos" / "analysis" / "data"
    doc = json.loads((packaged / "unit_costs.json").read_text())
    assert default_unit_costs() == UnitCosts.model_validate(doc["unit_costs"])
    assert set(doc["sources"]) == set(UnitCosts.model_fields) - {"currency"}
    assert read_unit_costs(packaged / "unit_costs.json") == default_unit_costs()


def test_a_bad_table_names_the_file_and_every_field(tmp_path: Path) -> None:
    path = tmp_path / "costs.json"
    table = json.loads((DATA / "unit_costs.json").read_text())
    table["pv_per_kw"] = "cheap"
    table["capacitor_per_kvar"] = -1
    table["gold_per_oz"] = 1
    del table["fuse_each"]
    path.write_text(json.dumps(table))
    with pytest.raises(CostTableError) as err:
        read_unit_costs(path)
    message = str(err.value)
    assert message.startswith(f"{path}: 4 problem(s)")
    for field in ("pv_per_kw", "capacitor_per_kvar", "gold_per_oz", "fuse_each"):
        assert field in message
    path.write_text("{not json")
    with pytest.raises(CostTableError, match=r"costs\.json:1: invalid JSON"):
        read_unit_costs(path)
    with pytest.raises(CostTableError, match="cannot read"):
        read_unit_costs(tmp_path / "missing.json")
