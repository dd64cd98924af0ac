"""Primitive admittance matrices of the network's elements, as OpenDSS builds them.

One module per element family, each returning :class:`PrimitiveBlock` stacks in
OpenDSS's conductor order: lines and switches, transformers, sources, capacitors and
reactors.
"""

from feederos.powerflow.primitives.block import PrimitiveBlock
from feederos.powerflow.primitives.lines import line_blocks, switch_blocks
from feederos.powerflow.primitives.shunts import capacitor_blocks, reactor_blocks
from feederos.powerflow.primitives.sources import source_blocks
from feederos.powerflow.primitives.transformers import transformer_blocks, transformer_taps

__all__ = [
    "PrimitiveBlock",
    "capacitor_blocks",
    "line_blocks",
    "reactor_blocks",
    "source_blocks",
    "switch_blocks",
    "transformer_blocks",
    "transformer_taps",
]
