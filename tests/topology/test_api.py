from __future__ import annotations

import feederos.topology as topology
from feederos.errors import FeederosError, TopologyError


def test_exported_names() -> None:
    assert sorted(topology.__all__) == sorted([
        "BRANCH_COLLECTIONS", "ElementId", "Island", "TopologyArrays", "bus_graph",
        "bus_nodes", "depths", "downstream_buses", "energized_buses", "feeder_order",
        "is_radial", "islands", "loops", "parents", "path_elements", "path_to_source",
        "topology_arrays", "upstream_element",
    ])
    for name in topology.__all__:
        assert hasattr(topology, name)


def test_error_hierarchy() -> None:
    assert issubclass(TopologyError, FeederosError)
