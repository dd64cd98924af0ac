"""Mosquitto ACL files from app manifests, so the broker enforces the grants too.

Each app connects as MQTT user ``<app>`` (the worker sets it) and gets a ``user`` block:
``topic read`` for its subscribe grants, ``topic write`` for its publish grants, write on
its own status topic (heartbeat and last will), read on its own config topic, and write
on ``events/warning``, where its host reports malformed payloads it refused. The
runtime's own user may read and write everything under the feeder. Clients without a
user name get nothing (Mosquitto applies only the lines before the first ``user``).

Examples
--------
>>> from feederos.runtime.permissions import TopicPermissions
>>> text = acl_text("f1", {"echo": TopicPermissions(subscribe=("measurements/+",),
...                                                  publish=("commands/+",))})
>>> print(text)  # doctest: +NORMALIZE_WHITESPACE
# Feeder OS ACL for feeder f1, written by feederos.runtime.acl; do not edit.
user fos-runtime
topic readwrite feeder/f1/#
<BLANKLINE>
user echo
topic read feeder/f1/measurements/+
topic write feeder/f1/commands/+
topic write feeder/f1/apps/echo/status
topic read feeder/f1/apps/echo/config
topic write feeder/f1/events/warning
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from feederos.runtime.messages import Severity
from feederos.runtime.permissions import TopicPermissions
from feederos.runtime.topics import (
    absolute_filter,
    app_config_topic,
    app_status_topic,
    check_id,
    event_topic,
)

__all__ = ["RUNTIME_USER", "acl_text", "write_acl"]

RUNTIME_USER = "fos-runtime"
"""MQTT user name of the runtime itself (lifecycle, config, supervisor)."""


def acl_text(
    feeder_id: str,
    grants: Mapping[str, TopicPermissions],
    *,
    runtime_user: str = RUNTIME_USER,
) -> str:
    """The ACL file's content for the apps' ``grants`` (app name → permissions)."""
    check_id(feeder_id, what="feeder id")
    lines = [
        f"# Feeder OS ACL for feeder {feeder_id}, written by feederos.runtime.acl; do not edit.",
        f"user {check_id(runtime_user, what='runtime user')}",
        f"topic readwrite {absolute_filter(feeder_id, '#')}",
    ]
    for app in sorted(grants):
        check_id(app, what="app name")
        if app == runtime_user:
            raise ValueError(f"app name {app!r} is reserved for the runtime's own user")
        permissions = grants[app]
        lines += ["", f"user {app}"]
        lines += [f"topic read {absolute_filter(feeder_id, f)}" for f in permissions.subscribe]
        lines += [f"topic write {absolute_filter(feeder_id, f)}" for f in permissions.publish]
        lines += [
            f"topic write {app_status_topic(feeder_id, app)}",
            f"topic read {app_config_topic(feeder_id, app)}",
            f"topic write {event_topic(feeder_id, Severity.WARNING)}",
        ]
    return "\n".join(lines) + "\n"


def write_acl(
    path: Path,
    feeder_id: str,
    grants: Mapping[str, TopicPermissions],
    *,
    runtime_user: str = RUNTIME_USER,
) -> Path:
    """Write the ACL file atomically (a broker reloading it never sees half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(acl_text(feeder_id, grants, runtime_user=runtime_user), encoding="utf-8")
    os.replace(tmp, path)
    return path
