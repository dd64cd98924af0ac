"""Primitive admittance matrices of the network's elements, as OpenDSS builds them."""

from feederos.powerflow.primitives.block import PrimitiveBlock

__all__ = ["PrimitiveBlock"]
