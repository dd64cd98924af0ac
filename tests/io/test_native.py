"""Native JSON/YAML documents: lossless round trip, and only documented errors on bad input."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feederos.errors import ModelFormatError
from feederos.io.native import network_from_dict, read_network, write_network
from feederos.model import (
    ACLineSegment,
    Bus,
    CapacitorControl,
    CapacitorControlMode,
    Connection,
    Curve,
    EnergyConsumer,
    EnergySource,
    LinearShuntCompensator,
    LineImpedance,
    LoadModel,
    LoadShape,
    Meter,
    MeterKind,
    Network,
    PowerTransformer,
    Switch,
    SwitchKind,
    Terminal,
    TransformerWinding,
)

NAME = st.text(
    alphabet=st.characters(blacklist_categories=("Z", "C"), blacklist_characters="."),
    min_size=1, max_size=12,
)
FLOAT = st.floats(allow_nan=False, allow_infinity=False, width=64, min_value=-1e12, max_value=1e12)
POS = st.floats(min_value=1e-9, max_value=1e9, allow_nan=False, allow_infinity=False)
NONNEG = st.floats(min_value=0.0, max_value=1e9, allow_nan=False, allow_infinity=False)


@st.composite
def networks(draw: st.DrawFn) -> Network:
    """Random valid networks exercising every value type the schema has."""
    bus_names = draw(st.lists(NAME, min_size=2, max_size=6, unique=True))
    buses = [Bus(name=b, v_base_kv=draw(st.none() | POS), x=draw(st.none() | FLOAT),
                 y=draw(st.none() | FLOAT)) for b in bus_names]
    term = st.builds(Terminal, bus=st.sampled_from(bus_names),
                     nodes=st.lists(st.integers(0, 9), min_size=1, max_size=4).map(tuple))
    n = draw(st.integers(1, 3))
    matrix = st.lists(st.lists(FLOAT, min_size=n, max_size=n), min_size=n, max_size=n)
    impedance = st.one_of(
        st.builds(LineImpedance, r_matrix_ohm_per_km=matrix, x_matrix_ohm_per_km=matrix,
                  c_matrix_nf_per_km=st.none() | matrix),
        st.builds(LineImpedance, r1_ohm_per_km=FLOAT, x1_ohm_per_km=FLOAT,
                  r0_ohm_per_km=st.none() | FLOAT, c1_nf_per_km=st.none() | FLOAT),
    )
    lines = [ACLineSegment(name=nm, bus1=draw(term), bus2=draw(term), phases=n,
                           length_km=draw(POS), impedance=draw(impedance),
                           ampacity_normal_a=draw(st.none() | POS))
             for nm in draw(st.lists(NAME, max_size=4, unique=True))]
    loads = [EnergyConsumer(name=nm, terminal=draw(term), v_kv=draw(POS), p_kw=draw(FLOAT),
                            q_kvar=draw(FLOAT),
                            model=draw(st.sampled_from([m for m in LoadModel if m != 8])),
                            connection=draw(st.sampled_from(Connection)),
                            v_min_pu=0.9, v_max_pu=draw(st.floats(1.0, 2.0)))
             for nm in draw(st.lists(NAME, max_size=4, unique=True))]
    winding = st.builds(TransformerWinding, terminal=term, v_kv=POS, s_kva=POS, r_pct=NONNEG,
                        tap_pu=POS, connection=st.sampled_from(Connection))
    transformers = [PowerTransformer(name=nm, windings=draw(st.lists(winding, min_size=2,
                                                                     max_size=2)),
                                     xhl_pct=draw(POS), phases=draw(st.integers(1, 3)))
                    for nm in draw(st.lists(NAME, max_size=2, unique=True))]
    steps = draw(st.integers(1, 3))
    caps = [LinearShuntCompensator(
        name=nm, terminal=draw(term), v_kv=draw(POS),
        q_kvar=draw(st.lists(POS, min_size=steps, max_size=steps)),
        states=draw(st.lists(st.integers(0, 1), min_size=steps, max_size=steps)),
        control=draw(st.none() | st.builds(
            CapacitorControl, name=NAME, mode=st.sampled_from(CapacitorControlMode),
            element=st.just("line.x"), on_setting=FLOAT, off_setting=FLOAT)))
        for nm in draw(st.lists(NAME, max_size=2, unique=True))]
    switches = [Switch(name=nm, kind=draw(st.sampled_from(SwitchKind)), bus1=draw(term),
                       bus2=draw(term), normal_open=draw(st.booleans()))
                for nm in draw(st.lists(NAME, max_size=2, unique=True))]
    shapes = [LoadShape(name=nm, p_mult=draw(st.lists(FLOAT, min_size=1, max_size=30)))
              for nm in draw(st.lists(NAME, max_size=2, unique=True))]
    xs = sorted(draw(st.lists(FLOAT, min_size=2, max_size=6)))
    curves = [Curve(name=draw(NAME), x=xs, y=[draw(FLOAT) for _ in xs])]
    meters = [Meter(name=draw(NAME), kind=draw(st.sampled_from(MeterKind)), element="line.x",
                    settings=draw(st.dictionaries(NAME, st.text(max_size=10), max_size=3)))]
    return Network(
        name=draw(NAME), base_frequency_hz=draw(st.sampled_from([50.0, 60.0])),
        voltage_bases_kv=draw(st.lists(POS, max_size=3)), buses=buses,
        sources=[EnergySource(name="s", terminal=draw(term), v_kv=draw(POS), r1_ohm=draw(NONNEG),
                              x1_ohm=draw(NONNEG), r0_ohm=draw(NONNEG), x0_ohm=draw(NONNEG),
                              angle_deg=draw(FLOAT))],
        lines=lines, loads=loads, transformers=transformers, capacitors=caps,
        switches=switches, load_shapes=shapes, curves=curves, meters=meters,
    )


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(net=networks())
def test_round_trip_is_lossless(net: Network, suffix: str, tmp_path: Path) -> None:
    path = tmp_path / f"net{suffix}"
    write_network(net, path)
    again = read_network(path)
    assert again == net
    assert again.model_dump() == net.model_dump()


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=4),
    max_leaves=20,
)
KEYS = ["name", "buses", "lines", "loads", "transformers", "sources", "schema_version",
        "capacitors", "switches", "settings", "voltage_bases_kv"]


@settings(max_examples=300, deadline=None)
@given(doc=st.dictionaries(st.sampled_from(KEYS), JSONISH, max_size=6) | JSONISH)
def test_arbitrary_documents_raise_only_model_format_error(doc: Any) -> None:
    try:
        network_from_dict(doc)
    except ModelFormatError as exc:
        assert str(exc)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=300) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_arbitrary_text_raises_only_model_format_error(text: str, tmp_path_factory:
                                                        pytest.TempPathFactory) -> None:
    for suffix in (".json", ".yaml"):
        path = tmp_path_factory.mktemp("fuzz") / f"doc{suffix}"
        path.write_text(text, encoding="utf-8")
        with contextlib.suppress(ModelFormatError):
            read_network(path)


def test_messages_name_the_element_and_field(tmp_path: Path) -> None:
    doc = {"name": "n", "lines": [{"name": "l9", "bus1": {"bus": "a"}, "bus2": {"bus": "b"},
                                   "length_km": -2, "line_code": "c"}],
           "loads": [{"name": "ld", "terminal": {"bus": "a"}, "v_kv": 1, "p_kw": "lots",
                      "q_kvar": 0}]}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelFormatError) as info:
        read_network(path)
    msg = str(info.value)
    assert str(path) in msg
    assert "lines.l9 length_km" in msg
    assert "loads.ld p_kw" in msg


def test_unknown_schema_version_and_suffix_are_clear(tmp_path: Path) -> None:
    path = tmp_path / "v9.json"
    path.write_text(json.dumps({"name": "n", "schema_version": "9.0"}))
    with pytest.raises(ModelFormatError, match="schema_version"):
        read_network(path)
    with pytest.raises(ModelFormatError, match="unknown network file type"):
        read_network(tmp_path / "net.txt")
    with pytest.raises(ModelFormatError, match="cannot read"):
        read_network(tmp_path / "missing.json")
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("name: [unclosed\n")
    with pytest.raises(ModelFormatError, match=r"bad\.yaml:.*invalid YAML"):
        read_network(bad_yaml)


def test_write_replaces_atomically(tmp_path: Path) -> None:
    path = tmp_path / "n.json"
    write_network(Network(name="first"), path)
    write_network(Network(name="second"), path)
    assert read_network(path).name == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["n.json"]
