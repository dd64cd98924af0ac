"""The network as a NetworkX multigraph of buses and branches, for clarity over speed.

Use it to draw a feeder or to reach for any NetworkX algorithm; the queries in
:mod:`feederos.topology` run on :class:`~feederos.topology.TopologyArrays` instead,
which is much faster on large feeders.

Examples
--------
>>> from feederos.topology._examples import example_network
>>> g = bus_graph(example_network())
>>> g.number_of_nodes(), g.number_of_edges()
(6, 4)
"""

from __future__ import annotations

import math

import networkx as nx

from feederos.model import Network
from feederos.topology.arrays import TopologyArrays, topology_arrays

__all__ = ["bus_graph"]


def bus_graph(network: Network | TopologyArrays, *, respect_switches: bool = True
              ) -> nx.MultiGraph:
    """Buses as nodes and branches as edges (see :mod:`feederos.topology.arrays`).

    Parameters
    ----------
    network
        A network; or its :func:`~feederos.topology.topology_arrays`, whose own
        ``respect_switches`` then applies.
    respect_switches
        Leave out open switches and branches opened by open protective devices (the
        default); False keeps every branch.

    Returns
    -------
    networkx.MultiGraph
        Every bus as a node (in document order), one edge per branch — a transformer
        gives one edge from winding 0 to each other winding's bus — keyed
        ``'collection.name'``, with attributes ``collection``, ``element``, ``open``
        and, for lines, ``length_km`` [km]. Parallel branches are parallel edges.

    Examples
    --------
    >>> from feederos.topology._examples import example_network
    >>> g = bus_graph(example_network(), respect_switches=False)
    >>> g.number_of_edges()
    6
    >>> g.edges["c", "d", "transformers.t1"]
    {'collection': 'transformers', 'element': 't1', 'open': False}
    >>> g.edges["a", "b", "lines.l2"]["length_km"]
    0.5
    """
    if isinstance(network, TopologyArrays):
        arrays = network
    else:
        arrays = topology_arrays(network, respect_switches=respect_switches)
    names = arrays.bus_names.tolist()
    graph: nx.MultiGraph = nx.MultiGraph()
    graph.add_nodes_from(names)
    edges = []
    for e1, e2, coll, elem, length, is_open, closed in zip(
        arrays.edge_bus1.tolist(), arrays.edge_bus2.tolist(), arrays.edge_collection.tolist(),
        arrays.edge_element.tolist(), arrays.edge_length_km.tolist(), arrays.edge_open.tolist(),
        arrays.edge_closed.tolist(), strict=True,
    ):
        if not closed:
            continue
        attrs: dict[str, object] = {"collection": coll, "element": elem, "open": is_open}
        if not math.isnan(length):
            attrs["length_km"] = length
        edges.append((names[e1], names[e2], f"{coll}.{elem}", attrs))
    graph.add_edges_from(edges)
    return graph
