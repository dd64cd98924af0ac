"""The Feeder OS topic contract: building, checking and matching MQTT topics.

Every topic an app speaks lives under ``feeder/<feeder-id>/``:

========================================  ==============================================
``feeder/<feeder-id>/measurements/<asset>``  a :class:`~feederos.runtime.messages.Measurement`
``feeder/<feeder-id>/commands/<asset>``      a :class:`~feederos.runtime.messages.Command`
``feeder/<feeder-id>/events/<severity>``     an :class:`~feederos.runtime.messages.Event`
``feeder/<feeder-id>/apps/<app>/status``     an :class:`~feederos.runtime.messages.AppStatus`
``feeder/<feeder-id>/apps/<app>/config``     an :class:`~feederos.runtime.messages.AppConfig`
========================================  ==============================================

App permissions are topic filters *relative* to ``feeder/<feeder-id>/`` (``commands/+``),
so one manifest serves every feeder.

Examples
--------
>>> measurement_topic("f1", "pv-7")
'feeder/f1/measurements/pv-7'
>>> topic_matches("feeder/+/measurements/#", "feeder/f1/measurements/pv-7")
True
>>> parse_topic("feeder/f1/apps/volt-watt/status")
Topic(feeder_id='f1', kind=<TopicKind.APP_STATUS: 'status'>, name='volt-watt')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from feederos.errors import TopicError

__all__ = [
    "ROOT",
    "Topic",
    "TopicKind",
    "absolute_filter",
    "app_config_topic",
    "app_status_topic",
    "check_filter",
    "check_id",
    "check_topic",
    "command_topic",
    "event_topic",
    "measurement_topic",
    "parse_topic",
    "topic_matches",
]

ROOT = "feeder"
"""First level of every Feeder OS topic."""

# An id is one topic level: no separators, no wildcards, nothing a shell or an ACL
# file would trip on. OpenDSS names ("671.1", "reg:a") fit.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}")


class TopicKind(StrEnum):
    """What a topic carries."""

    MEASUREMENTS = "measurements"
    COMMANDS = "commands"
    EVENTS = "events"
    APP_STATUS = "status"
    APP_CONFIG = "config"


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed Feeder OS topic: its feeder, kind and the asset, severity or app named."""

    feeder_id: str
    kind: TopicKind
    name: str


def check_id(value: str, *, what: str = "id") -> str:
    """Return ``value`` if it is a valid topic level, else raise :class:`TopicError`.

    >>> check_id("bus-671")
    'bus-671'
    >>> check_id("a/b", what="asset id")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    feederos.errors.TopicError: asset id 'a/b' is not valid: use 1-128 letters, ...
    """
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise TopicError(
            f"{what} {value!r} is not valid: use 1-128 letters, digits, '_', '.', ':' or '-', "
            "starting with a letter or digit"
        )
    return value


def measurement_topic(feeder_id: str, asset_id: str) -> str:
    """Topic an asset's measurements are published on."""
    return f"{ROOT}/{check_id(feeder_id, what='feeder id')}/measurements/{_id_or_plus(asset_id)}"


def command_topic(feeder_id: str, asset_id: str) -> str:
    """Topic commands to an asset are published on."""
    return f"{ROOT}/{check_id(feeder_id, what='feeder id')}/commands/{_id_or_plus(asset_id)}"


def event_topic(feeder_id: str, severity: str) -> str:
    """Topic events of a severity (``info``, ``warning``, ``alarm``, ``critical``) go to."""
    return f"{ROOT}/{check_id(feeder_id, what='feeder id')}/events/{_id_or_plus(severity)}"


def app_status_topic(feeder_id: str, app: str) -> str:
    """Topic an app's heartbeat and last will are published on (retained)."""
    return f"{ROOT}/{check_id(feeder_id, what='feeder id')}/apps/{_id_or_plus(app)}/status"


def app_config_topic(feeder_id: str, app: str) -> str:
    """Topic the runtime publishes an app's current config on (retained)."""
    return f"{ROOT}/{check_id(feeder_id, what='feeder id')}/apps/{_id_or_plus(app)}/config"


def parse_topic(topic: str) -> Topic:
    """Split a concrete Feeder OS topic into feeder, kind and name.

    Raises :class:`TopicError` naming the topic if it is not one of the five shapes.
    """
    check_topic(topic)
    levels = topic.split("/")
    try:
        if levels[0] == ROOT and len(levels) == 4 and levels[2] in _LEAF_KINDS:
            return Topic(check_id(levels[1]), TopicKind(levels[2]), check_id(levels[3]))
        if (
            levels[0] == ROOT
            and len(levels) == 5
            and levels[2] == "apps"
            and levels[4] in (TopicKind.APP_STATUS, TopicKind.APP_CONFIG)
        ):
            return Topic(check_id(levels[1]), TopicKind(levels[4]), check_id(levels[3]))
    except TopicError as exc:
        raise TopicError(f"topic {topic!r}: {exc}") from None
    raise TopicError(
        f"topic {topic!r} is not a Feeder OS topic: expected feeder/<feeder-id>/"
        "measurements|commands|events/<name> or feeder/<feeder-id>/apps/<app>/status|config"
    )


_LEAF_KINDS = (TopicKind.MEASUREMENTS, TopicKind.COMMANDS, TopicKind.EVENTS)


def check_topic(topic: str) -> str:
    """Return ``topic`` if it is a valid topic to publish on (MQTT rules), else raise.

    >>> check_topic("feeder/+/commands/x")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    feederos.errors.TopicError: topic 'feeder/+/commands/x' contains a wildcard; ...
    """
    if not topic or len(topic.encode()) > 65535 or "\0" in topic:
        raise TopicError(f"topic {topic!r} is empty, too long or contains NUL")
    if "+" in topic or "#" in topic:
        raise TopicError(f"topic {topic!r} contains a wildcard; publish to a concrete topic")
    return topic


def check_filter(topic_filter: str) -> str:
    """Return ``topic_filter`` if it is a valid MQTT subscription filter, else raise.

    ``+`` must fill a whole level and ``#`` must be the last level.

    >>> check_filter("feeder/+/events/#")
    'feeder/+/events/#'
    >>> check_filter("feeder/f1/meas+")
    Traceback (most recent call last):
    ...
    feederos.errors.TopicError: topic filter 'feeder/f1/meas+': '+' must stand alone in a level
    """
    if not topic_filter or "\0" in topic_filter:
        raise TopicError(f"topic filter {topic_filter!r} is empty or contains NUL")
    levels = topic_filter.split("/")
    for i, level in enumerate(levels):
        if "+" in level and level != "+":
            raise TopicError(f"topic filter {topic_filter!r}: '+' must stand alone in a level")
        if "#" in level and (level != "#" or i != len(levels) - 1):
            raise TopicError(f"topic filter {topic_filter!r}: '#' must be the whole last level")
    return topic_filter


def topic_matches(topic_filter: str, topic: str) -> bool:
    """Whether ``topic`` matches the MQTT subscription filter ``topic_filter``.

    >>> topic_matches("feeder/f1/events/+", "feeder/f1/events/alarm")
    True
    >>> topic_matches("feeder/f1/#", "feeder/f1")
    True
    >>> topic_matches("feeder/+", "feeder/f1/events")
    False
    """
    f_levels = topic_filter.split("/")
    t_levels = topic.split("/")
    for i, f in enumerate(f_levels):
        if f == "#":
            return True
        if i >= len(t_levels):
            return False
        if f != "+" and f != t_levels[i]:
            return False
    return len(f_levels) == len(t_levels)


def absolute_filter(feeder_id: str, relative: str) -> str:
    """Turn a manifest's feeder-relative filter (``commands/+``) into an absolute one.

    >>> absolute_filter("f1", "measurements/+")
    'feeder/f1/measurements/+'
    """
    check_filter(relative)
    return f"{ROOT}/{check_id(feeder_id, what='feeder id')}/{relative}"


def _id_or_plus(value: str) -> str:
    # Builders accept "+" so the same helper yields a subscription filter.
    return value if value == "+" else check_id(value)
