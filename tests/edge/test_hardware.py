"""Relays on gpiozero mock pins; the polled ADC source."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
from gpiozero.pins.mock import MockFactory

from feederos.edge.errors import EdgeConfigError
from feederos.edge.hardware import (
    PolledAdcSource,
    RelayBank,
    SampleBlock,
    default_circuits,
)
from feederos.edge.sampling import SimClock


def test_relays_drive_mock_pins_and_log_events(mock_pins: MockFactory) -> None:
    clock = SimClock(3.0)
    bank = RelayBank(default_circuits(), now_s=clock.now_s)
    assert [mock_pins.pin(p).state for p in (17, 27, 22, 23)] == [True] * 4
    assert bank.open(3, "test") is True
    assert bank.open(3) is False  # already open: no event
    assert mock_pins.pin(23).state is False
    assert bank.closed_mask() == 0b0111
    assert [(e.t_s, e.circuit, e.closed) for e in bank.events] == [(3.0, 3, False)]
    bank.release()


def test_active_low_relay_board_inverts_the_pin(mock_pins: MockFactory) -> None:
    circuits = tuple(replace(c, active_high=False) for c in default_circuits())
    bank = RelayBank(circuits)
    assert mock_pins.pin(27).state is False  # closed relay = pin low
    bank.open(1)
    assert mock_pins.pin(27).state is True
    bank.release()


@pytest.mark.parametrize(
    "circuits",
    [
        (),
        tuple(replace(c, critical=(c.circuit == 1)) for c in default_circuits()),
        tuple(replace(c, gpio_pin=17) for c in default_circuits()),
        (replace(default_circuits()[0], fail_safe_closed=False),),
        (replace(default_circuits()[0], i_max_a=0.0),),
        (default_circuits()[1],),
    ],
)
def test_bad_circuit_lists_are_rejected(mock_pins: MockFactory, circuits: tuple) -> None:
    with pytest.raises(EdgeConfigError):
        RelayBank(circuits)


class _FakeChannel:
    """An MCP3008-like channel: ``raw_value`` walks through a ramp."""

    def __init__(self, start: int):
        self._values = itertools.count(start)

    @property
    def raw_value(self) -> int:
        return next(self._values) % 1024


def test_polled_source_reads_bursts_on_clock_ticks() -> None:
    clock = SimClock()
    ticks = itertools.count(0.0, 1e-4)  # each timer read advances 0.1 ms
    src = PolledAdcSource(
        [_FakeChannel(0), _FakeChannel(500)],
        clock=clock,
        n=4,
        block_s=0.1,
        timer=lambda: next(ticks),
    )
    blocks: list[SampleBlock] = []
    src.start(blocks.append)
    clock.run_until(0.25)
    assert [b.t0_s for b in blocks] == pytest.approx([0.0, 0.1, 0.2])
    assert blocks[0].counts.tolist() == [[0, 1, 2, 3], [500, 501, 502, 503]]
    assert blocks[0].fs_hz == pytest.approx(4 / 1e-4)
    src.stop()
    clock.run_until(1.0)
    assert len(blocks) == 3
