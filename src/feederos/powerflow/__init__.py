"""Three-phase unbalanced power flow: compile a network to arrays, then solve."""

from feederos.powerflow.nodes import GROUND, NodeIndex, node_index
from feederos.powerflow.primitives import PrimitiveBlock

__all__ = ["GROUND", "NodeIndex", "PrimitiveBlock", "node_index"]
