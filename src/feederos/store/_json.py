"""Canonical JSON: one text per value, so equal documents have equal digests.

Examples
--------
>>> canonical_json({"b": 1, "a": [1.5, None]}, what="document")
'{"a":[1.5,null],"b":1}'
>>> canonical_json({"p_kw": float("nan")}, what="summary")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
feederos.store.errors.StoreError: summary["p_kw"]: nan is not JSON; store null (None) or ...
"""

from __future__ import annotations

import json
import math
from typing import Any

from feederos.store.errors import StoreError

__all__ = ["canonical_json", "json_object"]


def canonical_json(value: Any, *, what: str) -> str:
    """``value`` as canonical JSON text: sorted keys, no spaces, no NaN or infinity.

    Parameters
    ----------
    value
        A JSON value: dict with str keys, list, tuple, str, int, float, bool or None.
    what
        The value's name in an error message (e.g. ``network document``).

    Raises
    ------
    StoreError
        Naming the path of the first value JSON cannot hold, and what to store instead.
    """
    _check(value, what)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def json_object(value: Any, *, what: str) -> dict[str, Any]:
    """``value`` checked to be a JSON object and copied as stored (tuples become lists)."""
    if not isinstance(value, dict):
        raise StoreError(f"{what} must be a JSON object (dict), not {type(value).__name__}")
    copy: dict[str, Any] = json.loads(canonical_json(value, what=what))
    return copy


def _check(value: Any, path: str) -> None:
    if isinstance(value, str):
        # PostgreSQL's jsonb and text cannot hold NUL; refuse it on SQLite too.
        if "\x00" in value:
            raise StoreError(f"{path}: a string holds a NUL character (\\x00); remove it")
        return
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise StoreError(
                f"{path}: {value} is not JSON; store null (None) or a finite number instead"
            )
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise StoreError(f"{path}: key {key!r} is not a string; JSON keys are strings")
            _check(key, f"{path} key {json.dumps(key)}")
            _check(item, f"{path}[{json.dumps(key)}]")
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]")
        return
    raise StoreError(
        f"{path}: a {type(value).__name__} is not JSON; convert it to a string, number, "
        "list or dict first"
    )
