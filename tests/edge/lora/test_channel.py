"""The channel model: range, half duplex, collisions, capture and random loss."""

from __future__ import annotations

import numpy as np
import pytest

from feederos.edge.lora.channel import (
    GATEWAY,
    Channel,
    LayoutKind,
    mesh_layout,
    star_layout,
)
from feederos.edge.lora.errors import LinkError

# Node 3 listens; node 1 is close to it, node 2 far (but in range).
POS = {1: (0.0, 0.0), 2: (900.0, 0.0), 3: (10.0, 0.0), 4: (5000.0, 0.0)}


def _channel(capture_db: float | None = 6.0, loss: float = 0.0, seed: int = 0) -> Channel:
    lay = mesh_layout(POS, range_m=1000.0)
    return Channel(
        lay, loss_probability=loss, capture_db=capture_db, rng=np.random.default_rng(seed)
    )


def test_mesh_range() -> None:
    lay = mesh_layout(POS, range_m=1000.0)
    assert lay.kind is LayoutKind.MESH
    assert lay.hearers(1) == {2, 3}
    assert lay.hearers(4) == set()
    assert lay.rx_dbm[(1, 3)] > lay.rx_dbm[(2, 3)] + 6.0


def test_clean_frame_reaches_everyone_in_range() -> None:
    ch = _channel()
    tx = ch.transmit(1, 0.0, 0.06)
    assert ch.receivers(tx) == [2, 3]


def test_overlap_without_capture_loses_both() -> None:
    ch = _channel(capture_db=None)
    a = ch.transmit(1, 0.0, 0.06)
    b = ch.transmit(2, 0.05, 0.11)
    assert 3 not in ch.receivers(a)
    assert 3 not in ch.receivers(b)


def test_capture_keeps_the_much_stronger_frame() -> None:
    ch = _channel(capture_db=6.0)
    a = ch.transmit(1, 0.0, 0.06)  # 10 m from node 3
    b = ch.transmit(2, 0.05, 0.11)  # 890 m from node 3
    assert 3 in ch.receivers(a)
    assert 3 not in ch.receivers(b)


def test_frames_that_do_not_overlap_do_not_collide() -> None:
    ch = _channel(capture_db=None)
    a = ch.transmit(1, 0.0, 0.06)
    b = ch.transmit(2, 0.06, 0.12)  # starts exactly when a ends
    assert ch.receivers(a) == [2, 3]
    assert ch.receivers(b) == [1, 3]


def test_half_duplex_sender_hears_nothing_while_sending() -> None:
    ch = _channel()
    a = ch.transmit(1, 0.0, 0.06)
    b = ch.transmit(3, 0.01, 0.02)  # node 3 sends during a
    assert 3 not in ch.receivers(a)
    assert 1 not in ch.receivers(b)


def test_random_loss_rate_and_determinism() -> None:
    def run(seed: int) -> list[list[int]]:
        ch = _channel(loss=0.1, seed=seed)
        return [ch.receivers(ch.transmit(1, k * 1.0, k * 1.0 + 0.06)) for k in range(4000)]

    got = run(42)
    heard = sum(3 in r for r in got) / len(got)
    # Binomial(4000, 0.9): sd 0.0047; allow 4 sd.
    assert abs(heard - 0.9) < 0.019
    assert got == run(42)
    assert got != run(43)


def test_star_nodes_hear_only_the_gateway() -> None:
    lay = star_layout([1, 2, 3])
    assert lay.kind is LayoutKind.STAR
    assert lay.hearers(1) == {GATEWAY}
    assert lay.hearers(GATEWAY) == {1, 2, 3}
    ch = Channel(lay, capture_db=None)
    a = ch.transmit(1, 0.0, 0.06)
    b = ch.transmit(2, 0.03, 0.09)
    assert ch.receivers(a) == [] and ch.receivers(b) == []  # collide at the gateway


def test_layout_errors() -> None:
    with pytest.raises(LinkError, match="gateway"):
        mesh_layout({0: (0.0, 0.0)}, range_m=1.0)
    with pytest.raises(LinkError, match="gateway"):
        star_layout([0, 1])
    with pytest.raises(LinkError, match="loss_probability"):
        Channel(star_layout([1]), loss_probability=1.5)
    with pytest.raises(LinkError, match="not in the"):
        Channel(star_layout([1])).transmit(9, 0.0, 1.0)
