"""diff_networks: elements matched by name per collection, changes named by field path."""

from __future__ import annotations

import json

import pytest

from feederos.feeders import load_feeder
from feederos.model import (
    Bus,
    ElementChange,
    ElementKey,
    LinearShuntCompensator,
    Network,
    NetworkDiff,
    PowerTransformer,
    Terminal,
    TransformerWinding,
    diff_networks,
)


@pytest.fixture(scope="module")
def ieee13() -> Network:
    return load_feeder("ieee13")


def test_a_network_against_itself_is_empty(ieee13: Network) -> None:
    d = diff_networks(ieee13, ieee13)
    assert d.is_empty and d == NetworkDiff()
    assert str(d) == "no changes"


def test_ieee123_against_a_round_tripped_copy_is_empty() -> None:
    net = load_feeder("ieee123")
    copy = Network.model_validate_json(net.model_dump_json())
    assert copy is not net
    assert diff_networks(net, copy).is_empty
    assert diff_networks(net, net).is_empty


def test_ieee13_edit_is_exactly_one_change_one_removal_one_addition(ieee13: Network) -> None:
    cap3 = LinearShuntCompensator(
        name="cap3", terminal=Terminal(bus="680"), v_kv=4.16, q_kvar=[300.0]
    )
    edited = ieee13.model_copy(
        update={
            "loads": [
                ld.model_copy(update={"p_kw": 1200.0}) if ld.name == "671" else ld
                for ld in ieee13.loads
            ],
            "lines": [ln for ln in ieee13.lines if ln.name != "684652"],
            "capacitors": [*ieee13.capacitors, cap3],
        }
    )
    d = diff_networks(ieee13, edited)
    assert d.added == (ElementKey("capacitors", "cap3"),)
    assert d.removed == (ElementKey("lines", "684652"),)
    assert d.changed == (ElementChange("loads", "671", ("p_kw",)),)
    assert d.network_fields == ()
    assert not d.is_empty
    # The reverse diff swaps added and removed.
    back = diff_networks(edited, ieee13)
    assert (back.added, back.removed) == (d.removed, d.added)
    assert str(d).splitlines() == [
        "+ capacitors.cap3",
        "- lines.684652",
        "~ loads.671: p_kw",
    ]


def test_nested_paths_name_the_field_inside_lists_and_objects(ieee13: Network) -> None:
    xfm = next(t for t in ieee13.transformers if t.name == "xfm1")
    w2 = xfm.windings[1]
    moved = xfm.model_copy(
        update={
            "windings": [
                xfm.windings[0],
                w2.model_copy(update={"terminal": Terminal(bus="675"), "s_kva": 750.0}),
            ],
            "xhl_pct": 3.0,
        }
    )
    line = next(ln for ln in ieee13.lines if ln.name == "671684")
    rewired = line.model_copy(update={"bus1": Terminal(bus="671", nodes=(1, 2)), "length_km": 0.2})
    cap = next(c for c in ieee13.capacitors if c.name == "cap1")
    stepped = cap.model_copy(update={"q_kvar": [300.0, 300.0], "states": [1, 0]})
    edited = ieee13.model_copy(
        update={
            "transformers": [moved if t.name == "xfm1" else t for t in ieee13.transformers],
            "lines": [rewired if ln.name == "671684" else ln for ln in ieee13.lines],
            "capacitors": [stepped if c.name == "cap1" else c for c in ieee13.capacitors],
        }
    )
    changed = {(c.collection, c.name): c.fields for c in diff_networks(ieee13, edited).changed}
    assert changed == {
        ("lines", "671684"): ("bus1.nodes", "length_km"),
        ("transformers", "xfm1"): (
            "xhl_pct",
            "windings[1].s_kva",
            "windings[1].terminal.bus",
        ),
        ("capacitors", "cap1"): ("q_kvar", "states"),
    }


def test_a_list_of_objects_that_changes_length_is_one_path() -> None:
    def xfm(n: int) -> PowerTransformer:
        w = [TransformerWinding(terminal=Terminal(bus=b), v_kv=4.16, s_kva=100) for b in "abc"]
        extra = {"xht_pct": 2.0, "xlt_pct": 2.0} if n == 3 else {}
        return PowerTransformer(name="t", windings=w[:n], **extra)

    old, new = Network(name="n", transformers=[xfm(2)]), Network(name="n", transformers=[xfm(3)])
    assert diff_networks(old, new).changed == (
        ElementChange("transformers", "t", ("xht_pct", "xlt_pct", "windings")),
    )


def test_network_fields_and_settings_paths(ieee13: Network) -> None:
    edited = ieee13.model_copy(
        update={
            "name": "ieee13-b",
            "voltage_bases_kv": [115.0, 4.16],
            "settings": ieee13.settings.model_copy(
                update={"load_multiplier": 0.8, "extra": {"a": "b"}}
            ),
        }
    )
    d = diff_networks(ieee13, edited)
    assert d.network_fields == (
        "name",
        "voltage_bases_kv",
        "settings.load_multiplier",
        "settings.extra",
    )
    assert (d.added, d.removed, d.changed) == ((), (), ())


def test_order_of_elements_is_not_a_change_and_output_is_sorted() -> None:
    old = Network(name="n", buses=[Bus(name=b) for b in "abc"])
    shuffled = Network(name="n", buses=[Bus(name=b) for b in "cab"])
    assert diff_networks(old, shuffled).is_empty
    new = Network(name="n", buses=[Bus(name=b) for b in "zyxa"])
    d = diff_networks(old, new)
    assert [k.name for k in d.added] == ["x", "y", "z"]
    assert [k.name for k in d.removed] == ["b", "c"]


def test_explicit_default_equals_omitted_and_none_to_value_is_a_change() -> None:
    a = Network(name="n", buses=[Bus(name="a")])
    b = Network.model_validate({"name": "n", "buses": [{"name": "a", "x": None}]})
    assert diff_networks(a, b).is_empty
    c = Network(name="n", buses=[Bus(name="a", x=1.0, y=2.0)])
    assert diff_networks(a, c).changed == (ElementChange("buses", "a", ("x", "y")),)


def test_same_name_in_two_collections_stays_apart(ieee13: Network) -> None:
    # IEEE 13's regulator controls share their transformers' names.
    edited = ieee13.model_copy(
        update={
            "regulators": [
                r.model_copy(update={"v_set_v": 124.0}) if r.name == "reg2" else r
                for r in ieee13.regulators
            ]
        }
    )
    assert diff_networks(ieee13, edited).changed == (
        ElementChange("regulators", "reg2", ("v_set_v",)),
    )


def test_duplicate_names_are_matched_by_occurrence() -> None:
    one = Network(name="n", buses=[Bus(name="a")])
    two = Network(name="n", buses=[Bus(name="a"), Bus(name="a", v_base_kv=1.0)])
    d = diff_networks(one, two)
    assert d.added == (ElementKey("buses", "a"),) and d.changed == ()


def test_to_dict_is_json_ready(ieee13: Network) -> None:
    edited = ieee13.model_copy(
        update={"name": "x", "loads": ieee13.loads[1:], "buses": [*ieee13.buses, Bus(name="n")]}
    )
    d = diff_networks(ieee13, edited)
    doc = json.loads(json.dumps(d.to_dict()))
    assert doc == {
        "is_empty": False,
        "added": [{"collection": "buses", "name": "n"}],
        "removed": [{"collection": "loads", "name": ieee13.loads[0].name}],
        "changed": [],
        "network_fields": ["name"],
    }
