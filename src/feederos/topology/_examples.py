"""A tiny feeder used by the examples in this package's docstrings.

::

    grid ─ src ──l1── a ──l2── b
                      │        ┆ tie (normally open)
                      └──l3── c ──t1── d ┄┄sw2 (open)┄┄ e

``src``, ``a`` … ``c`` are 12.47 kV buses, ``d`` is 0.48 kV behind transformer ``t1``;
``e`` is de-energised behind the open switch ``sw2`` and carries a load.

Examples
--------
>>> net = example_network()
>>> [b.name for b in net.buses]
['src', 'a', 'b', 'c', 'd', 'e']
"""

from __future__ import annotations

from feederos.model import (
    ACLineSegment,
    Bus,
    EnergyConsumer,
    EnergySource,
    LineImpedance,
    Network,
    PowerTransformer,
    Switch,
    Terminal,
    TransformerWinding,
)

__all__ = ["example_network"]


def example_network() -> Network:
    """Build the small radial feeder drawn in the module docstring.

    Returns
    -------
    Network
        A new network each call, so examples may change it freely.
    """
    z = LineImpedance(r1_ohm_per_km=0.2, x1_ohm_per_km=0.4)

    def line(name: str, bus1: str, bus2: str) -> ACLineSegment:
        return ACLineSegment(
            name=name, bus1=Terminal(bus=bus1), bus2=Terminal(bus=bus2), length_km=0.5,
            impedance=z,
        )

    return Network(
        name="example",
        buses=[Bus(name=n, v_base_kv=0.48 if n in ("d", "e") else 12.47)
               for n in ("src", "a", "b", "c", "d", "e")],
        sources=[EnergySource(name="grid", terminal=Terminal(bus="src"), v_kv=12.47,
                              r1_ohm=0.1, x1_ohm=0.5, r0_ohm=0.2, x0_ohm=1.0)],
        lines=[line("l1", "src", "a"), line("l2", "a", "b"), line("l3", "a", "c")],
        switches=[
            Switch(name="tie", bus1=Terminal(bus="b"), bus2=Terminal(bus="c"), normal_open=True),
            Switch(name="sw2", bus1=Terminal(bus="d"), bus2=Terminal(bus="e"), open=True),
        ],
        transformers=[PowerTransformer(name="t1", windings=[
            TransformerWinding(terminal=Terminal(bus="c"), v_kv=12.47, s_kva=500),
            TransformerWinding(terminal=Terminal(bus="d"), v_kv=0.48, s_kva=500),
        ])],
        loads=[EnergyConsumer(name="ld_e", terminal=Terminal(bus="e", nodes=(1,)), phases=1,
                              v_kv=0.277, p_kw=5.0, q_kvar=1.0)],
    )
