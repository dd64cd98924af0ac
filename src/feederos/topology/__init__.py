"""Switch-state-aware graph queries over the network model.

Pure functions: none changes the network. Each query accepts a
:class:`~feederos.model.Network` or its :class:`TopologyArrays` (from
:func:`topology_arrays`); build the arrays once to ask many questions of a large
feeder. :func:`bus_graph` gives a NetworkX multigraph for anything else.

================================  ==============================================
:func:`bus_graph`                 buses and closed branches as a NetworkX graph
:func:`topology_arrays`           the same as arrays with a CSR adjacency
:func:`islands`                   islands with their sources, energised or not
:func:`energized_buses`           buses joined to a source
:func:`is_radial`, :func:`loops`  loops among closed branches
:func:`feeder_order`              buses breadth-first from the sources
:func:`parents`, :func:`depths`   the feeding tree
:func:`path_to_source`            buses from a bus up to its source
:func:`path_elements`             the branches on that path
:func:`upstream_element`          the branch feeding a bus
:func:`downstream_buses`          what a bus or branch feeds
:func:`bus_nodes`                 the nodes present at each bus
================================  ==============================================

Errors are :class:`~feederos.errors.TopologyError`, naming the bus or element.

Examples
--------
>>> from feederos.topology._examples import example_network
>>> net = example_network()
>>> sorted(energized_buses(net)), is_radial(net)
(['a', 'b', 'c', 'd', 'src'], True)
"""

from __future__ import annotations

from feederos.topology.arrays import (
    BRANCH_COLLECTIONS,
    ElementId,
    TopologyArrays,
    topology_arrays,
)
from feederos.topology.graph import bus_graph
from feederos.topology.islands import Island, energized_buses, islands
from feederos.topology.nodes import bus_nodes
from feederos.topology.ordering import depths, feeder_order, parents
from feederos.topology.paths import (
    downstream_buses,
    path_elements,
    path_to_source,
    upstream_element,
)
from feederos.topology.radiality import is_radial, loops

__all__ = [
    "BRANCH_COLLECTIONS",
    "ElementId",
    "Island",
    "TopologyArrays",
    "bus_graph",
    "bus_nodes",
    "depths",
    "downstream_buses",
    "energized_buses",
    "feeder_order",
    "is_radial",
    "islands",
    "loops",
    "parents",
    "path_elements",
    "path_to_source",
    "topology_arrays",
    "upstream_element",
]
