"""OpenDSS's name lists: classes and their properties, commands and ``Set`` options.

The lists come from ``dss_properties.json``, generated from OpenDSS by
``tools/gen_dss_properties.py``. Names resolve as OpenDSS resolves them (its
``THashList.FindAbbrev``): an exact match first, else the *first* name in OpenDSS's order
that starts with the abbreviation; positional parameters take the next property in order.

Examples
--------
>>> resolve_property("load", "k")  # OpenDSS takes the first match in its own order
'kv'
>>> positional_property("line", 1), positional_property("line", 2)
('bus1', 'bus2')
>>> resolve_command("calcv")
'calcvoltagebases'
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

__all__ = [
    "class_properties",
    "default_objects",
    "is_known_class",
    "option_at",
    "positional_property",
    "property_index",
    "resolve_command",
    "resolve_option",
    "resolve_property",
]


@dataclass(frozen=True)
class _Tables:
    classes: dict[str, tuple[str, ...]]
    commands: tuple[str, ...]
    options: tuple[str, ...]
    defaults: dict[str, tuple[str, ...]]


@cache
def _data() -> _Tables:
    text = resources.files(__package__).joinpath("dss_properties.json").read_text("utf-8")
    raw = json.loads(text)
    return _Tables(
        classes={k: tuple(v) for k, v in raw["classes"].items()},
        commands=tuple(raw["commands"]),
        options=tuple(raw["options"]),
        defaults={k: tuple(v) for k, v in raw["defaults"].items()},
    )


@lru_cache(maxsize=8192)
def _find_abbrev(names: tuple[str, ...], word: str) -> str | None:
    if word in names:
        return word
    if not word:
        return None
    for name in names:
        if name.startswith(word):
            return name
    return None


def class_properties(cls: str) -> tuple[str, ...]:
    """Return the ordered property names of an OpenDSS class (empty if unknown).

    Examples
    --------
    >>> class_properties("linecode")[:3]
    ('nphases', 'r1', 'x1')
    """
    return _data().classes.get(cls, ())


def is_known_class(cls: str) -> bool:
    """Tell whether ``cls`` (lower case) is an OpenDSS class.

    Examples
    --------
    >>> is_known_class("transformer"), is_known_class("circuit"), is_known_class("foo")
    (True, False, False)
    """
    return cls in _data().classes


def resolve_property(cls: str, word: str) -> str | None:
    """Resolve a (possibly abbreviated) property name of ``cls``; None if unknown.

    Examples
    --------
    >>> resolve_property("transformer", "XHL"), resolve_property("transformer", "ppm")
    ('xhl', 'ppm_antifloat')
    """
    return _find_abbrev(class_properties(cls), word.lower())


def property_index(cls: str, name: str) -> int:
    """Return the 1-based position of canonical property ``name`` in ``cls`` (0 if none).

    Examples
    --------
    >>> property_index("line", "bus2")
    2
    """
    return _positions(cls).get(name, 0)


@cache
def _positions(cls: str) -> dict[str, int]:
    names = class_properties(cls)
    return {name: i for i, name in reversed(list(enumerate(names, start=1)))}


def positional_property(cls: str, index: int) -> str | None:
    """Return the ``index``-th (1-based) property of ``cls``, or None past the end.

    Examples
    --------
    >>> positional_property("energymeter", 2)
    'terminal'
    """
    names = class_properties(cls)
    return names[index - 1] if 1 <= index <= len(names) else None


def resolve_command(word: str) -> str | None:
    """Resolve a (possibly abbreviated) executive command; None if unknown.

    Examples
    --------
    >>> resolve_command("~"), resolve_command("Redirect"), resolve_command("xyzzy")
    ('~', 'redirect', None)
    """
    return _find_abbrev(_data().commands, word.lower())


def resolve_option(word: str) -> str | None:
    """Resolve a (possibly abbreviated) ``Set`` option name; None if unknown.

    Examples
    --------
    >>> resolve_option("VoltageBases"), resolve_option("maxcontrol")
    ('voltagebases', 'maxcontroliter')
    """
    return _find_abbrev(_data().options, word.lower())


def option_at(index: int) -> str | None:
    """Return the ``index``-th (1-based) ``Set`` option, or None past the end."""
    options = _data().options
    return options[index - 1] if 1 <= index <= len(options) else None


def default_objects(cls: str) -> tuple[str, ...]:
    """Return the names of the objects of ``cls`` that OpenDSS creates on ``Clear``.

    Examples
    --------
    >>> default_objects("loadshape")
    ('default',)
    """
    return _data().defaults.get(cls, ())
