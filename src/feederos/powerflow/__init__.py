"""Three-phase unbalanced power flow: compile a network to arrays, then solve.

>>> from feederos.feeders import load_feeder
>>> from feederos.powerflow import compile, solve
>>> result = solve(compile(load_feeder("ieee13")))
>>> result.converged, round(result.source_p_kw)
(True, 3567)

:func:`compile` (also :func:`compile_network`) flattens a network into a
:class:`CompiledNetwork`; :func:`solve` runs a snapshot with OpenDSS's static controls
and returns a :class:`PowerFlowResult`. See ``docs/architecture.md`` for the layout.
"""

from feederos.powerflow.compiled import CompiledNetwork, compile_network
from feederos.powerflow.nodes import GROUND, NodeIndex, node_index
from feederos.powerflow.primitives import PrimitiveBlock
from feederos.powerflow.result import PowerFlowResult
from feederos.powerflow.solve import Method, solve

compile = compile_network

__all__ = [
    "GROUND",
    "CompiledNetwork",
    "Method",
    "NodeIndex",
    "PowerFlowResult",
    "PrimitiveBlock",
    "compile",
    "compile_network",
    "node_index",
    "solve",
]
