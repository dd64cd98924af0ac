"""Compiled networks shared across requests: one per stored version, read-only.

A stored version never changes, so ``(network id, version)`` names one compiled network
for good. :class:`NetworkCache` keeps the most recently used ones (LRU); requests for a
version being compiled wait for that compilation instead of starting their own. The
:class:`~feederos.powerflow.CompiledNetwork` is immutable (a change yields a copy), so
many threads solve on one cached instance at once.

Examples
--------
>>> from feederos.feeders import load_feeder
>>> cache = NetworkCache(size=2)
>>> doc = load_feeder("ieee13").model_dump(mode="json")
>>> first = cache.get(("n1", 1), lambda: doc)
>>> cache.get(("n1", 1), lambda: doc) is first, first.compiled.name
(True, 'ieee13nodeckt')
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from feederos.io.native import network_from_dict
from feederos.model import Network
from feederos.powerflow import CompiledNetwork, compile_network

__all__ = ["CachedNetwork", "NetworkCache", "VersionKey"]

VersionKey = tuple[str, int]
"""(network id, version number)."""


@dataclass(frozen=True)
class CachedNetwork:
    """A stored version, parsed and compiled."""

    network: Network
    compiled: CompiledNetwork


class NetworkCache:
    """The compiled form of the ``size`` most recently used versions (thread-safe)."""

    def __init__(self, size: int = 16) -> None:
        if size < 1:
            raise ValueError(f"cache size must be at least 1, got {size}")
        self.size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[VersionKey, CachedNetwork] = OrderedDict()
        self._building: dict[VersionKey, threading.Lock] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: VersionKey, document: Callable[[], dict[str, Any]]) -> CachedNetwork:
        """The compiled version ``key``; ``document()`` gives its network document if it
        has to be compiled (errors it raises, or the model's, pass to the caller)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry
            building = self._building.setdefault(key, threading.Lock())
        with building:
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None:  # compiled by the request we waited for
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return entry
            try:
                network = network_from_dict(document(), source=f"network {key[0]} v{key[1]}")
                entry = CachedNetwork(network, compile_network(network))
            finally:
                with self._lock:
                    self._building.pop(key, None)
            with self._lock:
                self.misses += 1
                self._entries[key] = entry
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
            return entry

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
