"""Fuzzing the OpenDSS converter: only feederos errors escape, each naming file and line.

Two generators feed :func:`read_opendss` through a temporary ``.dss`` file: structured
scripts (random objects of every mapped class with property names from OpenDSS's own
lists and hostile values) and mutations of the IEEE 13-bus feeder (tokens and lines
deleted, duplicated and replaced).
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feederos.errors import DssSyntaxError, FeederosError, NetworkImportError
from feederos.io.opendss import DssImportWarning, read_opendss
from feederos.model import Network

MAPPED_CLASSES = (
    "vsource", "line", "linecode", "linegeometry", "linespacing", "wiredata", "cndata",
    "tsdata", "transformer", "xfmrcode", "regcontrol", "capacitor", "capcontrol", "reactor",
    "load", "generator", "pvsystem", "storage", "invcontrol", "xycurve", "fuse", "recloser",
    "relay", "energymeter", "monitor", "loadshape",
)
_TABLES = json.loads(
    resources.files("feederos.io.opendss").joinpath("dss_properties.json").read_text("utf-8")
)
PROPERTIES: dict[str, list[str]] = {
    cls: [p for p in _TABLES["classes"][cls] if p not in ("like",)] for cls in MAPPED_CLASSES
}
NAMES = ("a", "b", "l1", "t1", "c1", "src", "source", "x")
FUZZ_SETTINGS = settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


def _read(path: Path) -> Network | FeederosError:
    """Run read_opendss; return the network or the feederos error (anything else escapes)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DssImportWarning)
        try:
            return read_opendss(path)
        except FeederosError as exc:
            return exc


def _check(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    result = _read(path)
    if isinstance(result, NetworkImportError):
        assert result.file is not None, f"no file in {result}"
        assert str(result).startswith(result.file)
        # only Set options (whose lines the script does not keep) may lack a line
        assert result.line is not None or result.message.startswith("Set "), str(result)
        if result.line is not None:
            assert str(result).startswith(f"{result.file}:{result.line}: ")


# ---------------------------------------------------------------- structured fuzz
_numbers = st.one_of(
    st.integers(-5, 5).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
    st.sampled_from(["0", "-0", "-1", "1e308", "-1e308", "1e-308", "9e999", "nan", "inf",
                     "-inf", "NaN", "1.5", "0.0001", "100000000000000000000", "3.", ".5"]),
)
_buses = st.builds(
    lambda b, nodes: b + "".join(f".{n}" for n in nodes),
    st.sampled_from(["b1", "b2", "b", "src", "sourcebus"]),
    st.lists(st.integers(-1, 12), max_size=5),
) | st.sampled_from(["b1.1.2", "b1.0.0", "b.9", "b..", "b1.x", ".1", "b1.1.2.3.4.5.6"])
_arrays = st.lists(_numbers | st.sampled_from(NAMES), max_size=6).map(
    lambda xs: "[" + " ".join(xs) + "]"
)
_matrices = st.lists(st.lists(_numbers, min_size=0, max_size=4), min_size=1, max_size=4).map(
    lambda rows: "(" + " | ".join(" ".join(r) for r in rows) + ")"
)
_text = st.text(alphabet="abcdefxyz019.-_ ", min_size=1, max_size=8).map(lambda s: f'"{s}"')
_values = st.one_of(
    _numbers, _buses, _arrays, _matrices, st.sampled_from(NAMES),
    st.sampled_from(["yes", "no", "true", "false", "y", "n", "t", "f"]), _text,
    st.sampled_from(["(1 2 +)", "(0 0 /)", "(1 0 /)", "(2 sqrt)", "wye", "delta", "ll",
                     "kft", "mi", "ft", "none", "meters", "furlong", "lead", "voltage", "max"]),
)


@st.composite
def _object_line(draw: st.DrawFn) -> str:
    cls = draw(st.sampled_from(MAPPED_CLASSES))
    name = draw(st.sampled_from(NAMES))
    props = draw(st.lists(st.sampled_from(PROPERTIES[cls]), max_size=6))
    parts = [f"{p}={draw(_values)}" for p in props]
    return f"New {cls}.{name} " + " ".join(parts)


@st.composite
def _script(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 4)):  # mostly a sound source, so the objects after it are reached
        circuit = f"New Circuit.x basekv={draw(st.sampled_from(['115', '12.47', '0.4']))}"
    else:
        circuit = f"New Circuit.x basekv={draw(_numbers)} bus1={draw(_buses)}"
    if not draw(st.integers(0, 4)):
        circuit += f" phases={draw(st.integers(-1, 4))} pu={draw(_numbers)}"
    lines = [circuit]
    for _ in range(draw(st.integers(1, 8))):
        lines.append(draw(_object_line()))
        if draw(st.integers(0, 3)) == 0:  # a continuation of the object just made
            cls = lines[-1].split()[1].split(".")[0]
            prop = draw(st.sampled_from(PROPERTIES[cls]))
            lines.append(f"~ {prop}={draw(_values)}")
        if draw(st.integers(0, 5)) == 0:
            cls = draw(st.sampled_from(MAPPED_CLASSES))
            prop = draw(st.sampled_from(PROPERTIES[cls]))
            lines.append(f"Edit {cls}.{draw(st.sampled_from(NAMES))} {prop}={draw(_values)}")
    if draw(st.booleans()):
        lines.append(f"Set voltagebases={draw(_arrays)}")
    if draw(st.booleans()):
        lines.append("calcv")
    if draw(st.integers(0, 4)) == 0:
        key = draw(st.sampled_from(["mode", "number", "stepsize", "tolerance", "maxiter",
                                    "controlmode", "loadmult", "defaultbasefrequency"]))
        lines.append(f"Set {key}={draw(_values)}")
    order = draw(st.permutations(range(1, len(lines))))
    return "\n".join([lines[0], *(lines[i] for i in order)] if draw(st.booleans()) else lines)


@FUZZ_SETTINGS
@given(text=_script())
def test_structured_scripts_raise_only_feederos_errors(workdir: Path, text: str) -> None:
    _check(workdir / "fuzz.dss", text)


# ------------------------------------------------------------------ mutation fuzz
_IEEE13 = ("IEEE13Nodeckt.dss", "IEEELineCodes.DSS", "IEEE13Node_BusXY.csv")


@pytest.fixture(scope="module")
def ieee13_dir(feeders_dir: Path, workdir: Path) -> Path:
    target = workdir / "13Bus"  # the 13Bus line codes redirect to ../IEEELineCodes.DSS
    target.mkdir()
    for name in _IEEE13:
        shutil.copy(feeders_dir / "13Bus" / name, target / name)
    shutil.copy(feeders_dir / "IEEELineCodes.DSS", workdir / "IEEELineCodes.DSS")
    return target


_TOKEN = re.compile(r"\S+")
_REPLACEMENTS = ("0", "-1", "1e308", "nan", "abc", "[1 2 3]", "(1 | 2 3)", "b.9", "b1.0.0",
                 "kv=0", "kva=0", "phases=0", "phases=-2", "bus1=x.1.2.3.4", "units=ft",
                 "linecode=nope", "xfmrcode=nope", "wdg=9", "windings=1", "windings=7",
                 "conn=delta", "length=0", "~", "Edit", "New", "Redirect nowhere.dss", "!")


@st.composite
def _mutation(draw: st.DrawFn, lines: list[str]) -> str:
    out = list(lines)
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(out) - 1))
        op = draw(st.sampled_from(("del_token", "dup_token", "replace_token", "del_line",
                                   "dup_line", "swap_lines", "replace_value")))
        tokens = _TOKEN.findall(out[i])
        if op == "del_line":
            del out[i]
        elif op == "dup_line":
            out.insert(draw(st.integers(0, len(out))), out[i])
        elif op == "swap_lines":
            j = draw(st.integers(0, len(out) - 1))
            out[i], out[j] = out[j], out[i]
        elif tokens:
            k = draw(st.integers(0, len(tokens) - 1))
            if op == "del_token":
                del tokens[k]
            elif op == "dup_token":
                tokens.insert(k, tokens[k])
            elif op == "replace_token":
                tokens[k] = draw(st.sampled_from(_REPLACEMENTS))
            else:
                key = tokens[k].split("=", 1)[0]
                tokens[k] = f"{key}={draw(_values)}"
            out[i] = " ".join(tokens)
        if not out:
            out = [""]
    return "\n".join(out)


@FUZZ_SETTINGS
@given(data=st.data())
def test_mutated_ieee13_raises_only_feederos_errors(ieee13_dir: Path, data: st.DataObject) -> None:
    lines = (ieee13_dir / "IEEE13Nodeckt.dss").read_text(encoding="utf-8").split("\n")
    _check(ieee13_dir / "mutant.dss", data.draw(_mutation(lines)))


def test_unmutated_ieee13_reads(ieee13_dir: Path) -> None:
    result = _read(ieee13_dir / "IEEE13Nodeckt.dss")
    assert isinstance(result, Network)
    assert len(result.lines) + len(result.switches) == 12


# --------------------------------------------------------------- specific messages
def _error(tmp_path: Path, text: str, name: str = "bad.dss") -> NetworkImportError:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = _read(path)
    assert isinstance(result, NetworkImportError), result
    return result


def test_bad_number_names_file_line_element_and_property(tmp_path: Path) -> None:
    err = _error(tmp_path, "New Circuit.c bus1=src\n\nNew Load.ld1 bus1=src kv=4.16 kw=abc\n")
    assert isinstance(err, DssSyntaxError)
    assert (Path(err.file or "").name, err.line) == ("bad.dss", 3)
    assert "load.ld1" in str(err) and "kw" in str(err) and "'abc'" in str(err)


def test_model_constraint_names_element_field_and_property_line(tmp_path: Path) -> None:
    err = _error(
        tmp_path, "New Circuit.c bus1=src\nNew Line.l1 bus1=src bus2=b r1=0.1 x1=0.2\n~ length=-1\n"
    )
    assert err.line == 3  # where length was given, not where the line was created
    assert "line.l1: length_km:" in str(err) and "length=-1" in str(err)
    assert "greater than 0" in str(err)


def test_missing_linecode_names_line_and_code(tmp_path: Path) -> None:
    err = _error(tmp_path, "New Circuit.c bus1=src\nNew Line.l1 bus1=src bus2=b linecode=nope\n")
    assert err.line == 2
    assert "line.l1" in str(err) and "'nope'" in str(err)


def test_missing_redirect_names_file_and_line(tmp_path: Path) -> None:
    err = _error(tmp_path, "New Circuit.c bus1=src\n! codes\nRedirect missing.dss\n")
    assert isinstance(err, DssSyntaxError)
    assert (Path(err.file or "").name, err.line) == ("bad.dss", 3)
    assert "missing.dss" in str(err)


def test_zero_kv_transformer_gives_clear_error(tmp_path: Path) -> None:
    err = _error(
        tmp_path,
        "New Circuit.c basekv=115 bus1=src\n"
        "New Transformer.t1 buses=[src b] kvs=[115 0] kvas=[1000 1000]\n"
        "Set voltagebases=[115 4.16]\ncalcv\n",
    )
    assert err.line == 2 and "transformer.t1" in str(err)


def test_absurd_transformer_ratio_does_not_break_voltage_bases(tmp_path: Path) -> None:
    path = tmp_path / "ratio.dss"
    path.write_text(
        "New Circuit.c basekv=115 bus1=src\n"
        "New Transformer.t1 buses=[src b] kvs=[1e300 1e-300]\n"
        "New Line.l1 bus1=b bus2=c\n"
        "Set voltagebases=[115 4.16]\ncalcv\n",
        encoding="utf-8",
    )
    net = _read(path)
    assert isinstance(net, Network)
    assert {b.name: b.v_base_kv for b in net.buses}["src"] == 115.0
