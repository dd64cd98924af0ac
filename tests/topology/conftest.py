"""Small hand-built networks for the topology tests."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from feederos.model import (
    ACLineSegment,
    Bus,
    EnergySource,
    LineImpedance,
    Network,
    PowerTransformer,
    Switch,
    Terminal,
    TransformerWinding,
)

Z = LineImpedance(r1_ohm_per_km=0.2, x1_ohm_per_km=0.4)


def line(name: str, bus1: str, bus2: str, length_km: float = 1.0) -> ACLineSegment:
    return ACLineSegment(name=name, bus1=Terminal(bus=bus1), bus2=Terminal(bus=bus2),
                         length_km=length_km, impedance=Z)


def switch(name: str, bus1: str, bus2: str, *, open_: bool = False) -> Switch:
    return Switch(name=name, bus1=Terminal(bus=bus1), bus2=Terminal(bus=bus2), open=open_)


def source(name: str, bus: str) -> EnergySource:
    return EnergySource(name=name, terminal=Terminal(bus=bus), v_kv=12.47, r1_ohm=0.1,
                        x1_ohm=0.5, r0_ohm=0.2, x0_ohm=1.0)


def transformer(name: str, *buses: str) -> PowerTransformer:
    windings = [TransformerWinding(terminal=Terminal(bus=b), v_kv=12.47 if k == 0 else 0.48,
                                   s_kva=500) for k, b in enumerate(buses)]
    extra = {"xht_pct": 7.0, "xlt_pct": 7.0} if len(buses) == 3 else {}
    return PowerTransformer(name=name, windings=windings, **extra)


def network(buses: Sequence[str], **collections: object) -> Network:
    return Network.model_validate(
        {"name": "test", "buses": [Bus(name=b) for b in buses], **collections}
    )


@pytest.fixture
def tie_feeder() -> Network:
    """A radial feeder with a normally-open tie and an island behind an open switch.

    ::

        s ─ 1 ─ 2 ─ 3
            │       ┆ tie (open)
            └─ 4 ── 5 ┄ sw (open) ┄ 6 ── 7
    """
    return network(
        ["s", "1", "2", "3", "4", "5", "6", "7"],
        sources=[source("grid", "s")],
        lines=[line("l01", "s", "1"), line("l12", "1", "2"), line("l23", "2", "3"),
               line("l14", "1", "4"), line("l45", "4", "5"), line("l67", "6", "7")],
        switches=[switch("tie", "3", "5", open_=True), switch("sw", "5", "6", open_=True)],
    )


