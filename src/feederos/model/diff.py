"""What changed between two versions of a network: elements added, removed and edited.

Elements are matched by name within their collection (names are unique per collection,
as in OpenDSS: a regulator control and its transformer may share a name). An element
present in both versions is *changed* when any field differs; each difference is named
by a field path from the element:

- ``length_km`` — a plain field;
- ``bus1.bus`` — a field of a nested object;
- ``windings[1].terminal.bus`` — a field of one item of a list of objects (lists of
  objects of equal length are compared item by item);
- ``q_kvar``, ``voltage_bases_kv`` — a list of numbers, a tuple or a mapping that
  differs anywhere (compared whole: a 3×3 matrix edit is one path, not nine).

The network's own fields (``name``, ``base_frequency_hz``, ``voltage_bases_kv``,
``settings``, ``schema_version``) are compared the same way and listed apart.
Values are compared exactly: a field set to its default equals the field left out.
The order of elements within a collection is not a change.

Output order is deterministic: collections in :data:`~feederos.model.network.COLLECTIONS`
order, then names sorted; field paths in field declaration order.

Examples
--------
>>> from feederos.model import Bus, Network
>>> old = Network(name="n", buses=[Bus(name="a"), Bus(name="b")])
>>> new = Network(name="n2", buses=[Bus(name="a", v_base_kv=4.16), Bus(name="c")])
>>> d = diff_networks(old, new)
>>> d.added, d.removed
((ElementKey(collection='buses', name='c'),), (ElementKey(collection='buses', name='b'),))
>>> d.changed[0].fields, d.network_fields
(('v_base_kv',), ('name',))
>>> diff_networks(old, old).is_empty
True
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from feederos.model.network import COLLECTIONS, Network

__all__ = ["ElementChange", "ElementKey", "NetworkDiff", "diff_networks"]


@dataclass(frozen=True, slots=True, order=True)
class ElementKey:
    """One element of a network: its collection (a key of ``COLLECTIONS``) and name."""

    collection: str
    name: str

    def __str__(self) -> str:
        return f"{self.collection}.{self.name}"

    def to_dict(self) -> dict[str, str]:
        """``{"collection": ..., "name": ...}``."""
        return {"collection": self.collection, "name": self.name}


@dataclass(frozen=True, slots=True)
class ElementChange:
    """An element present in both versions whose ``fields`` (paths) differ."""

    collection: str
    name: str
    fields: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.collection}.{self.name}: {', '.join(self.fields)}"

    def to_dict(self) -> dict[str, Any]:
        """``{"collection": ..., "name": ..., "fields": [...]}``."""
        return {"collection": self.collection, "name": self.name, "fields": list(self.fields)}


@dataclass(frozen=True, slots=True)
class NetworkDiff:
    """What differs between two networks (see the module docstring)."""

    added: tuple[ElementKey, ...] = ()
    """Elements only in the new network."""
    removed: tuple[ElementKey, ...] = ()
    """Elements only in the old network."""
    changed: tuple[ElementChange, ...] = ()
    """Elements in both whose fields differ."""
    network_fields: tuple[str, ...] = ()
    """Paths of the network's own (non-collection) fields that differ."""

    @property
    def is_empty(self) -> bool:
        """Whether the two networks describe the same feeder."""
        return not (self.added or self.removed or self.changed or self.network_fields)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form: lists of dicts and strings, in the diff's order.

        Examples
        --------
        >>> NetworkDiff(added=(ElementKey("loads", "l1"),)).to_dict()["added"]
        [{'collection': 'loads', 'name': 'l1'}]
        """
        return {
            "is_empty": self.is_empty,
            "added": [k.to_dict() for k in self.added],
            "removed": [k.to_dict() for k in self.removed],
            "changed": [c.to_dict() for c in self.changed],
            "network_fields": list(self.network_fields),
        }

    def __str__(self) -> str:
        if self.is_empty:
            return "no changes"
        lines = [f"+ {k}" for k in self.added]
        lines += [f"- {k}" for k in self.removed]
        lines += [f"~ {c}" for c in self.changed]
        lines += [f"~ network: {', '.join(self.network_fields)}"] if self.network_fields else []
        return "\n".join(lines)


def diff_networks(old: Network, new: Network) -> NetworkDiff:
    """Compare two networks element by element (see the module docstring).

    Parameters
    ----------
    old, new
        The earlier and the later version.

    Returns
    -------
    NetworkDiff
        Added, removed and changed elements, and the changed network fields.

    Notes
    -----
    A network with duplicate names in a collection (which validation reports as an
    error) is still compared: the k-th element of a name in ``old`` is matched with the
    k-th of that name in ``new``, and the surplus ones are added or removed.
    """
    added: list[ElementKey] = []
    removed: list[ElementKey] = []
    changed: list[ElementChange] = []
    for collection in COLLECTIONS:
        before = _keyed(old.collection(collection))
        after = _keyed(new.collection(collection))
        for key in sorted(after.keys() - before.keys()):
            added.append(ElementKey(collection, key[0]))
        for key in sorted(before.keys() - after.keys()):
            removed.append(ElementKey(collection, key[0]))
        for key in sorted(before.keys() & after.keys()):
            a, b = before[key], after[key]
            if a == b:
                continue
            paths = tuple(_model_paths(a, b, ""))
            if paths:
                changed.append(ElementChange(collection, key[0], paths))
    network_fields = tuple(
        path
        for field in type(old).model_fields
        if field not in COLLECTIONS
        for path in _value_paths(getattr(old, field), getattr(new, field), field)
    )
    return NetworkDiff(tuple(added), tuple(removed), tuple(changed), network_fields)


def _keyed(items: Sequence[Any]) -> dict[tuple[str, int], BaseModel]:
    """Elements by (name, occurrence of that name): duplicates stay apart."""
    seen: dict[str, int] = {}
    out: dict[tuple[str, int], BaseModel] = {}
    for item in items:
        k = seen.get(item.name, 0)
        seen[item.name] = k + 1
        out[(item.name, k)] = item
    return out


def _model_paths(a: BaseModel, b: BaseModel, prefix: str) -> Iterator[str]:
    """Paths of the fields that differ between two models of the same class."""
    if type(a) is not type(b):
        yield prefix or "<type>"
        return
    for field in type(a).model_fields:
        yield from _value_paths(getattr(a, field), getattr(b, field), f"{prefix}{field}")


def _value_paths(a: Any, b: Any, path: str) -> Iterator[str]:
    """``path`` if the values differ, or the paths inside them for nested objects."""
    if isinstance(a, BaseModel) and isinstance(b, BaseModel):
        if a != b:
            yield from _model_paths(a, b, f"{path}.")
        return
    if (
        isinstance(a, list)
        and isinstance(b, list)
        and len(a) == len(b)
        and a
        and all(isinstance(x, BaseModel) for x in (*a, *b))
    ):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from _value_paths(x, y, f"{path}[{i}]")
        return
    if not _same(a, b):
        yield path


def _same(a: Any, b: Any) -> bool:
    # A bool is an int to ==; a field switching True -> 1 is still a change.
    return type(a) is type(b) and bool(a == b)
