"""Topic builders, parsing, validation and MQTT filter matching."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feederos.errors import TopicError
from feederos.runtime.permissions import filter_covers
from feederos.runtime.topics import (
    Topic,
    TopicKind,
    absolute_filter,
    app_config_topic,
    app_status_topic,
    check_filter,
    check_id,
    command_topic,
    event_topic,
    measurement_topic,
    parse_topic,
    topic_matches,
)


def test_builders_follow_the_contract():
    assert measurement_topic("f1", "671.1") == "feeder/f1/measurements/671.1"
    assert command_topic("f1", "reg:a") == "feeder/f1/commands/reg:a"
    assert event_topic("f1", "alarm") == "feeder/f1/events/alarm"
    assert app_status_topic("f1", "volt-watt") == "feeder/f1/apps/volt-watt/status"
    assert app_config_topic("f1", "volt-watt") == "feeder/f1/apps/volt-watt/config"
    assert measurement_topic("f1", "+") == "feeder/f1/measurements/+"


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("feeder/f1/measurements/pv-1", Topic("f1", TopicKind.MEASUREMENTS, "pv-1")),
        ("feeder/f1/commands/sw_2", Topic("f1", TopicKind.COMMANDS, "sw_2")),
        ("feeder/f1/events/critical", Topic("f1", TopicKind.EVENTS, "critical")),
        ("feeder/f1/apps/vw/status", Topic("f1", TopicKind.APP_STATUS, "vw")),
        ("feeder/f1/apps/vw/config", Topic("f1", TopicKind.APP_CONFIG, "vw")),
    ],
)
def test_parse_round_trips(topic, expected):
    assert parse_topic(topic) == expected


@pytest.mark.parametrize(
    "topic",
    [
        "feeder/f1/measurement/pv-1",  # kind misspelt
        "grid/f1/measurements/pv-1",
        "feeder/f1/measurements",
        "feeder/f1/measurements/pv-1/extra",
        "feeder/f1/apps/vw/logs",
        "feeder//measurements/x",
        "feeder/f1/measurements/+",
    ],
)
def test_parse_refuses_foreign_topics(topic):
    with pytest.raises(TopicError, match="topic"):
        parse_topic(topic)


@pytest.mark.parametrize("bad", ["", "a/b", "+", "#", "a b", "-x", "x" * 129, "é"])
def test_ids_are_single_safe_levels(bad):
    with pytest.raises(TopicError, match="not valid"):
        check_id(bad)


@pytest.mark.parametrize("bad", ["a/#/b", "a/b#", "a/+b", "", "a/\0"])
def test_bad_filters_are_refused(bad):
    with pytest.raises(TopicError):
        check_filter(bad)


@pytest.mark.parametrize(
    ("topic_filter", "topic", "matches"),
    [
        ("#", "feeder/f1/events/alarm", True),
        ("feeder/#", "feeder", True),  # '#' also matches the parent level (MQTT 4.7.1.2)
        ("feeder/+/events/+", "feeder/f1/events/alarm", True),
        ("feeder/+/events/+", "feeder/f1/events", False),
        ("feeder/+", "feeder/f1/events", False),
        ("feeder/f1/events/alarm", "feeder/f1/events/alarm", True),
        ("feeder/f1/events/alarm", "feeder/f1/events/alarms", False),
        ("+/+", "/x", True),  # an empty level is a level
    ],
)
def test_matching_follows_mqtt(topic_filter, topic, matches):
    assert topic_matches(topic_filter, topic) is matches


def test_absolute_filter_is_checked():
    assert absolute_filter("f1", "commands/+") == "feeder/f1/commands/+"
    with pytest.raises(TopicError):
        absolute_filter("f1", "commands/x+")


_level = st.sampled_from(["a", "b", "c"])
_topic = st.lists(_level, min_size=1, max_size=4).map("/".join)
_filter = st.lists(st.sampled_from(["a", "b", "+"]), min_size=1, max_size=4).map(
    "/".join
) | st.lists(st.sampled_from(["a", "+"]), min_size=0, max_size=3).map(
    lambda ls: "/".join([*ls, "#"])
)


@given(granted=_filter, wanted=_filter, topic=_topic)
def test_covering_filter_matches_every_topic_the_covered_one_does(granted, wanted, topic):
    if filter_covers(granted, wanted) and topic_matches(wanted, topic):
        assert topic_matches(granted, topic)
