"""Distributed energy resources as injection sets: generators, PV, batteries, EV chargers.

One entry point, :func:`der_injections`, gathers the generators
(:mod:`~feederos.powerflow.injections.generators`), the PV systems and batteries with
their inverter controls (:mod:`~feederos.powerflow.injections.inverters`) and the EV
chargers (constant-power loads) of a network, each kind grouped by conductor layout so
that every set is one batch of NumPy operations.

Examples
--------
>>> from feederos.feeders import load_feeder
>>> from feederos.powerflow.nodes import node_index
>>> net = load_feeder("ieee13")
>>> der_injections(net, node_index(net))
[]
"""

from __future__ import annotations

from feederos.model import Network
from feederos.powerflow.injections.base import InjectionSet
from feederos.powerflow.injections.generators import (
    ev_charger_injections,
    generator_injections,
)
from feederos.powerflow.injections.inverters import inverter_injections
from feederos.powerflow.nodes import NodeIndex

__all__ = ["der_injections"]


def der_injections(network: Network, nodes: NodeIndex) -> list[InjectionSet]:
    """Every enabled generator, inverter and EV charger of ``network`` as injection sets.

    Kinds: ``"generators"``, ``"inverters"`` (PV and batteries together) and
    ``"ev_chargers"``; one set per kind and conductor layout (phases, wye or delta).

    Raises
    ------
    FeederosError
        For generator models, inverter-control modes or settings OpenDSS has that are
        not reproduced (see the modules).
    """
    sets: list[InjectionSet] = []
    sets.extend(generator_injections(network, nodes))
    sets.extend(inverter_injections(network, nodes))
    sets.extend(ev_charger_injections(network, nodes))
    return sets
