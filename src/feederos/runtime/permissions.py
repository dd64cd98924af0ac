"""Which topics an app may subscribe to and publish on.

A manifest grants filters relative to ``feeder/<feeder-id>/``; the host checks every
subscription and publication against them, and the same grants become Mosquitto ACL
lines (:mod:`feederos.runtime.acl`) so the broker enforces them too.

Examples
--------
>>> grants = TopicPermissions(subscribe=("measurements/+",), publish=("commands/+", "events/#"))
>>> grants.may_publish("commands/pv-1"), grants.may_publish("commands")
(True, False)
>>> grants.may_subscribe("measurements/pv-1"), grants.may_subscribe("measurements/#")
(True, False)
"""

from __future__ import annotations

from dataclasses import dataclass

from feederos.runtime.topics import check_filter, topic_matches

__all__ = ["ALL_TOPICS", "TopicPermissions", "filter_covers"]


def filter_covers(granted: str, wanted: str) -> bool:
    """Whether every topic matching filter ``wanted`` also matches filter ``granted``.

    >>> filter_covers("measurements/+", "measurements/+")
    True
    >>> filter_covers("measurements/#", "measurements/+/x")
    True
    >>> filter_covers("measurements/+", "measurements/#")
    False
    """
    g_levels = granted.split("/")
    w_levels = wanted.split("/")
    for i, g in enumerate(g_levels):
        if g == "#":
            return True
        if i >= len(w_levels):
            return False
        w = w_levels[i]
        if w == "#" or (g != "+" and (w == "+" or w != g)):
            return False
    return len(g_levels) == len(w_levels)


@dataclass(frozen=True, slots=True)
class TopicPermissions:
    """Feeder-relative topic filters an app may subscribe to and publish on."""

    subscribe: tuple[str, ...] = ()
    publish: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for f in (*self.subscribe, *self.publish):
            check_filter(f)

    def may_subscribe(self, relative_filter: str) -> bool:
        """Whether the app may subscribe to ``relative_filter``."""
        return any(filter_covers(g, relative_filter) for g in self.subscribe)

    def may_publish(self, relative_topic: str) -> bool:
        """Whether the app may publish on the concrete ``relative_topic``."""
        return any(topic_matches(g, relative_topic) for g in self.publish)


ALL_TOPICS = TopicPermissions(subscribe=("#",), publish=("#",))
"""Grants for code the runtime trusts (the twin, tests): everything."""
