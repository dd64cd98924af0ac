"""What the peer converters share: the subset of the model they hold, and its mapping.

Both peers hold a network of three-phase buses joined by three-phase lines, fed by one
grounded-wye Thevenin source, with grounded-wye constant-power loads. Everything else
raises :class:`ValueError` naming the element, so a benchmark never compares two
different circuits by accident.

Nomenclature: ``K`` scenarios, ``n_loads`` loads in ``network.loads`` order, ``n_buses``
buses in ``network.buses`` order; phase axes are always ``(a, b, c)``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from feederos.model import Connection, EnergySource, Network
from feederos.model.loads import LoadModel

__all__ = [
    "PHASE_NODES",
    "bus_rated_kv",
    "check_representable",
    "phase_powers",
    "phase_weights",
    "the_source",
]

FloatArray = npt.NDArray[np.float64]

PHASE_NODES = (1, 2, 3)
"""Node numbers of phases a, b, c on every bus of a representable network."""

# Collections the converters read; any element elsewhere is something they would drop.
_HELD = frozenset(
    {"buses", "sources", "line_codes", "lines", "loads", "wire_data", "line_geometries",
     "line_spacings", "load_shapes", "meters"}
)


def check_representable(network: Network) -> None:
    """Raise ValueError naming the first element the peers cannot hold exactly.

    Held: one grounded three-phase source on nodes 1.2.3; three-phase lines on
    1.2.3 at both ends; wye constant-PQ loads, three-phase on 1.2.3 or single-phase
    on one phase node with a grounded neutral. Load shapes and meters are ignored
    (the scenarios come as arrays).

    Raises
    ------
    ValueError
        Naming the element and what about it is not held.
    """
    for collection, element in network.iter_elements():
        if collection not in _HELD:
            raise ValueError(f"{collection} {element.name!r}: not held by the peer models")
    if len(network.sources) != 1:
        raise ValueError(f"network {network.name!r}: needs exactly one source")
    for line in network.lines:
        if line.phases != 3 or line.bus1.nodes != PHASE_NODES or line.bus2.nodes != PHASE_NODES:
            raise ValueError(f"line {line.name!r}: only three-phase lines on nodes 1.2.3")
    for load in network.loads:
        nodes = tuple(n for n in load.terminal.nodes if n != 0)  # a trailing 0: grounded
        if load.connection is not Connection.WYE:
            raise ValueError(f"load {load.name!r}: only wye loads are held")
        if load.model is not LoadModel.CONSTANT_PQ:
            raise ValueError(f"load {load.name!r}: only constant-PQ loads (model 1)")
        ok = (load.phases == 3 and nodes == PHASE_NODES) or (
            load.phases == 1 and len(nodes) == 1 and nodes[0] in PHASE_NODES
        )
        if not ok or len(load.terminal.nodes) > load.phases + 1:
            raise ValueError(
                f"load {load.name!r}: only 3-phase on 1.2.3 or 1-phase on one phase, "
                "neutral grounded"
            )


def the_source(network: Network) -> EnergySource:
    """The network's one source, checked to be a grounded three-phase wye on 1.2.3.

    Raises
    ------
    ValueError
        If there is not exactly one such source.
    """
    if len(network.sources) != 1:
        raise ValueError(f"network {network.name!r}: needs exactly one source")
    src = network.sources[0]
    if src.phases != 3 or src.terminal.nodes[:3] != PHASE_NODES or src.terminal2 is not None:
        raise ValueError(f"source {src.name!r}: only a grounded three-phase source on 1.2.3")
    return src


def bus_rated_kv(network: Network) -> FloatArray:
    """Line-to-line rated voltage of each bus, the source's where a bus has none [kV]."""
    default = the_source(network).v_kv
    return np.array(
        [b.v_base_kv if b.v_base_kv is not None else default for b in network.buses],
        dtype=np.float64,
    )


def phase_weights(network: Network) -> FloatArray:
    """Share of each load's power on phases a, b, c, shape ``(n_loads, 3)``.

    A three-phase wye load draws a third of its power per phase (OpenDSS ``Load``
    splits ``kW`` equally); a single-phase load draws all of it on its phase.
    """
    w = np.zeros((len(network.loads), 3), dtype=np.float64)
    for j, load in enumerate(network.loads):
        nodes = [n for n in load.terminal.nodes if n != 0]
        if load.phases == 3:
            w[j, :] = 1.0 / 3.0
        else:
            w[j, nodes[0] - 1] = 1.0
    return w


def phase_powers(
    network: Network, p_kw: npt.ArrayLike, q_kvar: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Per-phase powers of every load in every scenario.

    Parameters
    ----------
    network
        The network whose ``loads`` the columns follow.
    p_kw, q_kvar
        Load powers, shape ``(K, n_loads)`` (or ``(n_loads,)`` for one scenario) [kW],
        [kvar].

    Returns
    -------
    tuple of numpy.ndarray
        Active and reactive power per phase, shape ``(K, n_loads, 3)`` [kW], [kvar].

    Raises
    ------
    ValueError
        If the arrays do not have one column per load.
    """
    p = np.atleast_2d(np.asarray(p_kw, dtype=np.float64))
    q = np.atleast_2d(np.asarray(q_kvar, dtype=np.float64))
    n = len(network.loads)
    if p.shape != q.shape or p.ndim != 2 or p.shape[1] != n:
        raise ValueError(f"p_kw and q_kvar must both be (K, {n}); got {p.shape}, {q.shape}")
    w = phase_weights(network)
    return p[:, :, None] * w[None, :, :], q[:, :, None] * w[None, :, :]
