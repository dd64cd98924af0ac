"""Tests of the OpenDSS script layer against the shared feeders and OpenDSS itself."""

from __future__ import annotations

import contextlib
import os
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feederos.errors import DssSyntaxError, NetworkImportError
from feederos.io.opendss._properties import default_objects
from feederos.io.opendss._script import DssProperty, SourceLocation, parse_script, read_script
from feederos.io.opendss._values import (
    as_array,
    as_bool,
    as_float,
    as_float_array,
    as_int,
    as_matrix,
    length_to_km,
)

MASTERS = [
    "13Bus/IEEE13Nodeckt.dss",
    "34Bus/ieee34Mod1.dss",
    "34Bus/ieee34Mod2.dss",
    "37Bus/ieee37.dss",
    "123Bus/IEEE123Master.dss",
    "8500-Node/Master.dss",
    "8500-Node/Master-unbal.dss",
    "LVTestCase/Master.dss",
    "scenarios/european_lv_daily.dss",
    "scenarios/ieee123_yearly.dss",
    "scenarios/ieee13_cable.dss",
    "scenarios/ieee8500_geometry.dss",
    "scenarios/ieee8500_yearly.dss",
]

COUNTED_CLASSES = [
    "vsource",
    "line",
    "transformer",
    "load",
    "capacitor",
    "regcontrol",
    "capcontrol",
    "reactor",
    "energymeter",
    "monitor",
    "loadshape",
    "linecode",
    "wiredata",
    "linegeometry",
    "generator",
    "fuse",
]

W = SourceLocation("test.dss", 1)


def test_scenario_list_is_complete(feeders_dir: Path) -> None:
    on_disk = {f"scenarios/{p.name}" for p in (feeders_dir / "scenarios").glob("*.dss")}
    assert on_disk <= set(MASTERS)


def _opendss_counts(path: Path) -> dict[str, list[str]]:
    from dss import DSS

    cwd = os.getcwd()
    try:
        DSS.Text.Command = "clear"
        DSS.Text.Command = f'compile "{path}"'
        names: dict[str, list[str]] = {}
        for cls in COUNTED_CLASSES:
            DSS.ActiveCircuit.SetActiveClass(cls)
            active = DSS.ActiveCircuit.ActiveClass
            names[cls] = [n.lower() for n in active.AllNames] if active.Count else []
        return names
    finally:
        os.chdir(cwd)  # OpenDSS's Compile changes the process's directory


@pytest.mark.slow
@pytest.mark.parametrize("master", MASTERS)
def test_object_counts_match_opendss(feeders_dir: Path, master: str) -> None:
    path = (feeders_dir / master).resolve()
    script = read_script(path)
    expected = _opendss_counts(path)
    for cls in COUNTED_CLASSES:
        ours = {o.name for o in script.of_class(cls)}
        # OpenDSS creates some objects on Clear (e.g. loadshape 'default'); we only
        # store them when a script edits them.
        builtin = set(default_objects(cls)) - ours
        theirs = set(expected[cls]) - builtin
        assert len(script.of_class(cls)) == len(expected[cls]) - len(
            builtin & set(expected[cls])
        ), cls
        assert ours == theirs, cls


def test_8500_parse_time(feeders_dir: Path) -> None:
    start = time.perf_counter()
    script = read_script(feeders_dir / "8500-Node" / "Master.dss")
    elapsed = time.perf_counter() - start
    print(
        f"\n8500-Node/Master.dss parsed in {elapsed:.3f} s "
        f"({len(script.objects)} objects, {len(script.files_read)} files)"
    )
    assert len(script.of_class("line")) > 3000


def test_ieee13_spot_checks(feeders_dir: Path) -> None:
    script = read_script(feeders_dir / "13Bus" / "IEEE13Nodeckt.dss")
    assert script.circuit_name == "ieee13nodeckt"
    sub = script.objects["transformer", "sub"]
    xhl = sub.get_property("xhl")
    assert xhl is not None and xhl.value == "8 1000 /"
    assert as_float(xhl) == pytest.approx(0.008)
    # winding-scoped properties keep their order
    names = [p.name for p in sub.properties]
    assert names[:3] == ["phases", "windings", "xhl"]
    assert names[3:8] == ["wdg", "bus", "conn", "kv", "kva"]
    rmatrix = script.objects["linecode", "mtx601"].get_property("rmatrix")
    assert rmatrix is not None
    matrix = as_matrix(rmatrix, 3)
    assert matrix.shape == (3, 3)
    np.testing.assert_array_equal(matrix, matrix.T)
    assert matrix[2, 1] == pytest.approx(0.1535)
    assert script.voltage_bases_kv == [115.0, 4.16, 0.48]
    assert script.calc_voltage_bases
    assert script.options["defaultbasefrequency"] == "60"
    assert script.bus_coords["sourcebus"] == (200.0, 400.0)
    assert script.ignored_commands == [] and script.snapshot_solved  # its closing Solve
    source = script.objects["vsource", "source"]
    assert source.get("basekv") == "115" and source.get("bus1") == "SourceBus"
    assert as_bool(
        script.objects["line", "671692"].get_property("switch") or DssProperty("switch", "n", W)
    )


def test_ieee123_yearly_loads_follow_loadshape1(feeders_dir: Path) -> None:
    script = read_script(feeders_dir / "scenarios" / "ieee123_yearly.dss")
    loads = script.of_class("load")
    assert len(loads) == 91
    assert all(load.get("yearly") == "LoadShape1" for load in loads)
    shape = script.objects["loadshape", "loadshape1"].get_property("mult")
    assert shape is not None
    assert len(as_float_array(shape)) == 8760
    assert script.options["mode"] == "yearly" and script.options["number"] == "8760"


def test_lv_loadshape_files(feeders_dir: Path) -> None:
    script = read_script(feeders_dir / "LVTestCase" / "Master.dss")
    shapes = script.of_class("loadshape")
    assert len(shapes) == 55
    for shape in shapes:
        mult = shape.get_property("mult")
        assert mult is not None
        values = as_float_array(mult)
        assert len(values) == 1440
        assert all(v >= 0 for v in values)
        assert shape.get("useactual") == "no"  # batchedit after the definitions
    meter = script.objects["energymeter", "m1"]
    assert meter.get("element") == "LINE.LINE1" and meter.get("terminal") == "1"
    assert script.objects["vsource", "source"].get("basekv") == "11"


def test_ieee34_property_command_and_quoted_values(feeders_dir: Path) -> None:
    script = read_script(feeders_dir / "34Bus" / "ieee34Mod2.dss")
    assert script.objects["load", "s860"].get("vminpu") == "0.85"
    assert script.objects["load", "s860"].get("daily") == "default"
    reg = script.objects["transformer", "reg1a"]
    assert as_array(reg.get_property("conns") or DssProperty("x", "", W)) == ["wye", "wye"]
    assert as_float_array(reg.get_property("kvs") or DssProperty("x", "", W)) == [14.376] * 2
    length = script.objects["line", "l2a"].get_property("length")
    assert length is not None and as_float(length) == pytest.approx(0.865)
    assert script.voltage_bases_kv == [69.0, 24.9, 4.16, 0.48]


# ----------------------------------------------------------------- script semantics


def test_positional_abbreviation_and_continuation() -> None:
    s = parse_script(
        "New Circuit.c\n"
        "New LoadShape.ls 24 1 mult=[1 2 3]\n"
        "New Load.a k=4.16 kw=10 !comment\n"
        "more kvar=3 // another comment\n"
        "M phases=1\n"
        "~ pf=0.9\n"
    )
    ls = s.objects["loadshape", "ls"]
    assert [(p.name, p.value) for p in ls.properties[:2]] == [("npts", "24"), ("interval", "1")]
    load = s.objects["load", "a"]
    assert [p.name for p in load.properties] == ["kv", "kw", "kvar", "phases", "pf"]
    assert load.properties[2].where.line == 4


def test_like_copies_properties_first() -> None:
    s = parse_script("New Load.a kw=1 kvar=2\nNew Load.b like=a kw=5")
    b = s.objects["load", "b"]
    assert b.get("kw") == "5" and b.get("kvar") == "2"
    with pytest.raises(DssSyntaxError, match="does not exist"):
        parse_script("New Load.b like=zz")


def test_property_command_batchedit_open_close() -> None:
    s = parse_script(
        "New Transformer.reg1 phases=1\n"
        "Transformer.Reg1.Taps=[1.0 1.0625] xhl=1\n"
        "New Line.l1 bus1=a bus2=b\nNew Line.l2 bus1=b bus2=c\nNew Line.sw bus1=c bus2=d\n"
        "BatchEdit Line.l. length=2\n"
        "Open Line.sw 2\nClose Line.sw term=1\n"
        "Disable Line.l1\n"
    )
    t = s.objects["transformer", "reg1"]
    assert t.get("taps") == "1.0 1.0625" and t.get("xhl") == "1"
    assert s.objects["line", "l1"].get("length") == "2"
    assert s.objects["line", "l2"].get("length") == "2"
    assert s.objects["line", "sw"].get("length") is None
    assert s.objects["line", "sw"].get("__open__") == "2"
    assert s.objects["line", "sw"].get("__close__") == "1"
    assert s.objects["line", "l1"].get("enabled") == "false"


def test_clear_block_comments_and_ignored() -> None:
    s = parse_script(
        "New Load.x\nClear\n/* a block\nNew Load.hidden\n*/\nNew Load.y\n"
        "Set mode=yearly number=10 maxcontrol=20\nShow voltages\nsolve\nPlot circuit\n"
    )
    assert list(s.objects) == [("load", "y")]
    assert s.options == {"mode": "yearly", "number": "10", "maxcontroliter": "20"}
    # a Solve in yearly mode is the caller's to run, not the network's state
    assert [c for c, _ in s.ignored_commands] == ["show", "solve", "plot"]
    assert not s.snapshot_solved
    assert parse_script("New Load.x\nSolve\n").snapshot_solved
    assert not parse_script("New Load.x\nSolve\nClear\nNew Load.y\n").snapshot_solved


def test_redirect_compile_and_coords(tmp_path: Path) -> None:
    sub = tmp_path / "sub dir"
    sub.mkdir()
    (sub / "codes.dss").write_text("New LineCode.c1 nphases=1\nRedirect more.dss\n")
    (sub / "more.dss").write_text("New LineCode.c2 nphases=2\n")
    (sub / "xy.csv").write_text("// header\nB1, 1.5, 2\n\nb2 3 4\n")
    (sub / "shape.csv").write_text("h,a,b\n0,1,2\n0,3,4\n")
    master = tmp_path / "master.dss"
    master.write_text(
        'New Circuit.t\nRedirect "sub dir/codes.dss"\nCompile (sub dir/more.dss)\n'
        "BusCoords xy.csv\n"  # after Compile the working directory is "sub dir"
        "LatLongCoords xy.csv\n"
        "New LoadShape.s npts=2 mult=(file=shape.csv col=3 header=yes)\n"
    )
    s = read_script(master)
    assert [k[1] for k in s.objects] == ["source", "c1", "c2", "s"]
    assert s.bus_coords["b1"] == (2.0, 1.5)  # LatLongCoords swapped
    assert len(s.files_read) == 6  # master, codes, more (twice), xy (twice)
    mult = s.objects["loadshape", "s"].get_property("mult")
    assert mult is not None and as_float_array(mult) == [2.0, 4.0]
    with pytest.raises(DssSyntaxError) as info:
        parse_script("Redirect nowhere.dss", filename="x.dss", base_dir=tmp_path)
    assert info.value.file == "x.dss" and info.value.line == 1


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('New Load.a kv="4.16', 1),
        ("New Line.a bus1=(a b", 1),
        ("\n~ kw=3", 2),
        ("Edit Load.nothere kw=1", 1),
        ("Frobnicate all", 1),
        ("New Load.a\nLoad.b.kw=1", 2),
        ("BatchEdit Load.( kw=1", 1),
        ("Set voltagebases=[1 x]", 1),
    ],
)
def test_syntax_errors_name_file_and_line(text: str, line: int) -> None:
    with pytest.raises(DssSyntaxError) as info:
        parse_script(text, filename="bad.dss")
    assert info.value.file == "bad.dss" and info.value.line == line


def test_unknown_class_warns_once() -> None:
    s = parse_script("New Widget.a x=1 2\nNew Widget.b y=2")
    assert s.objects["widget", "a"].properties[1].name == "#1"
    assert sum("widget" in w for w in s.warnings) == 1


def test_edit_default_objects() -> None:
    s = parse_script("Edit LoadShape.default mult=[1 2]")
    assert s.objects["loadshape", "default"].get("mult") == "1 2"


# ----------------------------------------------------------------- value helpers


def _p(value: str, quote: str = "") -> DssProperty:
    return DssProperty("x", value, W, quote)


def test_values() -> None:
    assert as_float(_p(".5 1000 /", "(")) == pytest.approx(0.0005)
    assert as_float(_p("2 sqr pi * inv", "(")) == pytest.approx(1 / (4 * np.pi))
    assert as_float(_p("2 3 ^", "(")) == 8.0
    assert as_int(_p("3")) == 3 and as_int(_p("2.6")) == 3
    assert as_bool(_p("Yes")) and not as_bool(_p("f"))
    assert as_array(_p("a, b\tc")) == ["a", "b", "c"]
    assert as_float_array(_p("1,(1 1 +) 3")) == [1.0, 2.0, 3.0]
    full = as_matrix(_p("1 2 | 2 3"), 2)
    assert full.tolist() == [[1.0, 2.0], [2.0, 3.0]]
    assert as_matrix(_p("1 2 3 4"), 2).tolist() == [[1.0, 2.0], [3.0, 4.0]]
    for unit, km in [
        ("none", 1.0),
        ("mi", 1.609344),
        ("kft", 0.3048),
        ("km", 1.0),
        ("m", 1e-3),
        ("ft", 3.048e-4),
        ("in", 2.54e-5),
        ("cm", 1e-5),
        ("mm", 1e-6),
    ]:
        assert length_to_km(1.0, unit) == pytest.approx(km)


@pytest.mark.parametrize(
    ("helper", "value"),
    [
        (as_float, "abc"),
        (as_float, "1 0 /"),
        (as_float, "-1 sqrt"),
        (as_float, ""),
        (as_int, "x"),
        (as_bool, "maybe"),
        (as_float_array, "1 two"),
        (as_float_array, "file=missing.csv"),
        (as_float_array, "file=a.csv col=0"),
    ],
)
def test_bad_values_raise(helper: object, value: str) -> None:
    assert callable(helper)
    with pytest.raises(DssSyntaxError, match="property 'x'") as info:
        helper(_p(value, "("))
    assert info.value.file == "test.dss" and info.value.line == 1


def test_bad_matrix_and_unit() -> None:
    with pytest.raises(DssSyntaxError):
        as_matrix(_p("1 2"), 3)
    with pytest.raises(DssSyntaxError):
        as_matrix(_p("1 | 2"), 2)
    with pytest.raises(DssSyntaxError):
        length_to_km(1.0, "furlong")


# ----------------------------------------------------------------- fuzzing

_DSS_WORDS = st.sampled_from(
    [
        "New",
        "Edit",
        "~",
        "More",
        "Set",
        "Redirect",
        "Compile",
        "Clear",
        "BatchEdit",
        "Open",
        "Close",
        "calcv",
        "Solve",
        "Line.a",
        "Load.b",
        "Circuit.c",
        "kv=",
        "=",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        '"',
        "'",
        "|",
        "!",
        "//",
        "/*",
        "*/",
        ",",
        " ",
        "\n",
        "\t",
        "like=a",
        "Load.b.kw=1",
        "Load..*",
        "bus1=x.1.2",
        "1",
        "(1 0 /)",
        "buscoords x",
    ]
)
_FUZZ_TEXT = st.one_of(
    st.text(max_size=200),
    st.lists(_DSS_WORDS, max_size=40).map(" ".join),
    st.lists(_DSS_WORDS, max_size=40).map("".join),
)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(text=_FUZZ_TEXT)
def test_fuzz_only_dss_syntax_errors(tmp_path: Path, text: str) -> None:
    try:
        script = parse_script(text, base_dir=tmp_path)
    except NetworkImportError as exc:
        assert isinstance(exc, DssSyntaxError)
        return
    counts = Counter(cls for cls, _ in script.objects)
    assert sum(counts.values()) == len(script.objects)
    for obj in script.objects.values():
        for prop in obj.properties:
            for helper in (as_float, as_array, as_float_array, as_bool, as_matrix):
                with contextlib.suppress(DssSyntaxError):
                    helper(prop)
