"""A shared LoRa channel on a simulated clock: who hears whom, loss and collisions.

Layouts
-------
* **Mesh** (peer to peer): node ``a`` hears node ``b`` when they are within
  ``range_m``; every frame reaches every node in range directly (no relaying).
* **Star**: nodes hear only the gateway and the gateway hears every node; the gateway
  re-sends what it receives (:mod:`feederos.edge.lora.link` does the forwarding).

Reception rule at a receiver ``r`` for a frame ``x`` (all on one channel and SF):

1. ``r`` must hear the sender, and must not be transmitting itself while ``x`` is on air
   (the radio is half duplex).
2. Collision: every other frame from a sender ``r`` hears that overlaps ``x`` in time
   destroys ``x`` at ``r``, unless ``x`` is received at least ``capture_db`` stronger
   (the capture effect; 6 dB is the same-SF threshold of the LoRaSim model of Bor et al.,
   "Do LoRa Low-Power Wide-Area Networks Scale?", MSWiM 2016). ``capture_db=None``
   switches capture off, so overlapping frames are always both lost.
3. Independent loss: a surviving frame is still lost with ``loss_probability`` (fading,
   noise), drawn from the channel's seeded NumPy generator.

Received power uses a log-distance path loss ``PL(d) = PL(1 m) + 10 n log10(d / 1 m)``
with ``PL(1 m) = 40 dB`` and ``n = 2.7`` (suburban street, an assumption, not a
measurement); it matters only for capture.

Examples
--------
>>> lay = mesh_layout({1: (0.0, 0.0), 2: (100.0, 0.0), 3: (5000.0, 0.0)}, range_m=1000.0)
>>> sorted(lay.hearers(1)), sorted(lay.hearers(3))
([2], [])
>>> ch = Channel(lay, loss_probability=0.0, rng=np.random.default_rng(1))
>>> a = ch.transmit(1, 0.0, 0.05); b = ch.transmit(2, 0.01, 0.06)   # overlap: collide
>>> ch.receivers(a), ch.receivers(b)   # each was transmitting while the other was on air
([], [])
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from feederos.edge.lora.errors import LinkError

__all__ = [
    "GATEWAY",
    "Channel",
    "Layout",
    "LayoutKind",
    "Transmission",
    "mesh_layout",
    "path_loss_db",
    "star_layout",
]

#: Node id of the star gateway (real nodes are 1..255).
GATEWAY = 0
_TX_POWER_DBM = 14.0  # EU868 limit for the g1 sub-band (25 mW ERP)
_PL_1M_DB = 40.0
_PL_EXPONENT = 2.7


class LayoutKind(StrEnum):
    """How the nodes reach each other."""

    MESH = "mesh"
    STAR = "star"


def path_loss_db(distance_m: float) -> float:
    """Log-distance path loss [dB] (see the module notes); 1 m minimum.

    >>> round(path_loss_db(100.0), 1)
    94.0
    """
    return _PL_1M_DB + 10.0 * _PL_EXPONENT * math.log10(max(distance_m, 1.0))


@dataclass(frozen=True, slots=True)
class Layout:
    """Who hears whom, and how strongly.

    Attributes
    ----------
    kind
        :class:`LayoutKind`.
    rx_dbm
        ``(sender, receiver) -> received power [dBm]`` for every pair that hears.
    nodes
        All node ids (the gateway too, in a star).
    """

    kind: LayoutKind
    rx_dbm: Mapping[tuple[int, int], float]
    nodes: frozenset[int]

    def hearers(self, sender: int) -> frozenset[int]:
        """Nodes that hear ``sender``."""
        return frozenset(r for (s, r) in self.rx_dbm if s == sender)


def _positions_rx(
    positions_m: Mapping[int, tuple[float, float]], pairs: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], float]:
    out = {}
    for s, r in pairs:
        (xs, ys), (xr, yr) = positions_m[s], positions_m[r]
        out[(s, r)] = _TX_POWER_DBM - path_loss_db(math.hypot(xs - xr, ys - yr))
    return out


def mesh_layout(positions_m: Mapping[int, tuple[float, float]], *, range_m: float) -> Layout:
    """Peer-to-peer layout: nodes within ``range_m`` of each other hear each other.

    Parameters
    ----------
    positions_m
        Node id to (x, y) position [m].
    range_m
        Radio range [m].
    """
    if GATEWAY in positions_m:
        raise LinkError(f"node id {GATEWAY} is the gateway's; mesh nodes are 1..255")
    pairs = [
        (s, r)
        for s in positions_m
        for r in positions_m
        if s != r and math.dist(positions_m[s], positions_m[r]) <= range_m
    ]
    return Layout(LayoutKind.MESH, _positions_rx(positions_m, pairs), frozenset(positions_m))


def star_layout(
    nodes: Iterable[int], *, positions_m: Mapping[int, tuple[float, float]] | None = None
) -> Layout:
    """Star layout: every node and the :data:`GATEWAY` hear each other, nodes not each other.

    ``positions_m`` (with the gateway at key 0) sets received powers; without it all
    links are equally strong (-90 dBm), so capture never happens.
    """
    ids = frozenset(nodes)
    if GATEWAY in ids:
        raise LinkError(f"node id {GATEWAY} is the gateway's; star nodes are 1..255")
    pairs = [(n, GATEWAY) for n in ids] + [(GATEWAY, n) for n in ids]
    rx = _positions_rx(positions_m, pairs) if positions_m else dict.fromkeys(pairs, -90.0)
    return Layout(LayoutKind.STAR, rx, ids | {GATEWAY})


@dataclass(frozen=True, slots=True)
class Transmission:
    """One frame on air.

    Attributes
    ----------
    id
        Channel-wide sequence number.
    sender
        Node id.
    start_s, end_s
        On-air interval [s].
    """

    id: int
    sender: int
    start_s: float
    end_s: float


@dataclass(slots=True)
class Channel:
    """The shared medium.

    Register every frame with :meth:`transmit` no later than its start, and ask
    :meth:`receivers` for a frame once the clock has reached its end; then every frame
    that could overlap it is known.

    Parameters
    ----------
    layout
        :class:`Layout`.
    loss_probability
        Independent per-receiver loss of a frame that survives collisions, 0..1.
    capture_db
        Power margin for the stronger of two overlapping frames to survive; None: never.
    rng
        Seeded generator for losses.
    """

    layout: Layout
    loss_probability: float = 0.0
    capture_db: float | None = 6.0
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))
    _on_air: list[Transmission] = field(default_factory=list)
    _next_id: int = 0
    _max_airtime_s: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.loss_probability <= 1.0:
            raise LinkError(f"loss_probability = {self.loss_probability} must be in 0..1")

    def transmit(self, sender: int, start_s: float, end_s: float) -> Transmission:
        """Put a frame on air from ``start_s`` to ``end_s`` [s]."""
        if sender not in self.layout.nodes:
            raise LinkError(f"node {sender} is not in the {self.layout.kind} layout")
        tx = Transmission(self._next_id, sender, start_s, end_s)
        self._next_id += 1
        self._max_airtime_s = max(self._max_airtime_s, end_s - start_s)
        self._on_air.append(tx)
        return tx

    def receivers(self, tx: Transmission) -> list[int]:
        """Nodes that receive ``tx`` intact (sorted), by the rules of the module notes."""
        self._forget_before(tx.end_s - 2.0 * self._max_airtime_s)
        overlapping = [
            o
            for o in self._on_air
            if o.id != tx.id and o.start_s < tx.end_s and tx.start_s < o.end_s
        ]
        got = []
        for r in sorted(self.layout.hearers(tx.sender)):
            if any(o.sender == r for o in overlapping):
                continue  # half duplex: r was sending
            p = self.layout.rx_dbm[(tx.sender, r)]
            lost = False
            for o in overlapping:
                q = self.layout.rx_dbm.get((o.sender, r))
                if q is not None and (self.capture_db is None or p - q < self.capture_db):
                    lost = True
                    break
            # Draw for every candidate, lost or not, so one frame's fate never shifts the
            # random stream of the others.
            faded = self.rng.random() < self.loss_probability
            if not lost and not faded:
                got.append(r)
        return got

    def _forget_before(self, t_s: float) -> None:
        if self._on_air and self._on_air[0].end_s < t_s:
            self._on_air = [o for o in self._on_air if o.end_s >= t_s]
