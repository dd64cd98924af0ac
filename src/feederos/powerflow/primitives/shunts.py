"""Primitive admittances of capacitor banks and reactors, as OpenDSS builds them.

Both are a per-phase admittance ``y`` connected one of two ways (OpenDSS
``Capacitor.pas`` and ``Reactor.pas``, ``CalcYPrim``):

- **wye** (or series): two terminals, ``Yprim = [[y·I, −y·I], [−y·I, y·I]]``, phase
  ``i`` of terminal 1 to conductor ``i`` of terminal 2. Terminal 2 is ground for a shunt
  bank, a neutral node for an ungrounded one (``bus2=b.4.4.4``), or another bus for a
  series element;
- **delta**: one terminal, branch ``i`` of admittance ``y`` between conductors ``i`` and
  ``i + 1`` (wrapping for three phases: ``2y`` on the diagonal, ``−y`` off it); a one- or
  two-phase delta element has one conductor more than phases (``bus.1.2``).

A capacitor step of ``Q`` kvar on ``p`` phases has ``y = j·(Q/p)/V²`` with ``V`` the phase
voltage (``v_kv/√3`` for a 2- or 3-phase wye bank, ``v_kv`` otherwise) [S]. Two OpenDSS
details are kept because the results are compared with it: every step's capacitance is
computed from the *first* step's kvar (``RecalcElementData`` uses ``FkvarRating[1]`` for
all steps), and a series reactance ``R + jX`` in a delta bank goes in series with each
branch through a slightly perturbed (×1.000001) diagonal so the singular delta matrix can
be inverted. A reactor has ``y = 1/(R + jX)``, plus ``1/Rp`` when a parallel resistance is
given.

Examples
--------
>>> from feederos.feeders import load_feeder
>>> from feederos.powerflow.nodes import node_index
>>> net = load_feeder("ieee13")
>>> blocks = capacitor_blocks(net, node_index(net))
>>> [(b.names, b.y_s.shape) for b in blocks]
[(('cap2',), (1, 2, 2)), (('cap1',), (1, 6, 6))]
>>> round(float(blocks[1].y_s[0, 0, 0].imag), 6)  # 200 kvar per phase at 4.16/√3 kV
0.034671
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from feederos.errors import PowerFlowError
from feederos.model import Connection, LinearShuntCompensator, Network, Reactor, Terminal
from feederos.powerflow.nodes import GROUND, NodeIndex
from feederos.powerflow.primitives.block import PrimitiveBlock
from feederos.powerflow.primitives.lines import conductor_nodes, stack_blocks

__all__ = [
    "DELTA_PERTURBATION",
    "capacitor_blocks",
    "delta_conductors",
    "reactor_blocks",
    "wye_delta_yprim",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]

DELTA_PERTURBATION = 1.000001
"""Factor OpenDSS applies to a delta bank's diagonal before inverting it (``Capacitor.pas``)."""


def delta_conductors(p: int) -> int:
    """Conductors of a ``p``-phase delta element: ``p + 1`` below three phases, else ``p``.

    OpenDSS gives a one-phase delta bank two conductors (``bus.1.2``) and a two-phase one
    three (``bus.1.2.3``): branch ``i`` joins conductors ``i`` and ``i + 1``.

    Examples
    --------
    >>> [delta_conductors(p) for p in (1, 2, 3)]
    [2, 3, 3]
    """
    return p + 1 if p < 3 else p


def wye_delta_yprim(y_phase: ComplexArray, p: int, connection: Connection) -> ComplexArray:
    """Primitive matrices of ``m`` elements with per-phase admittance ``y_phase`` ``(m,)``.

    Wye: ``(m, 2p, 2p)``, terminal 1 to terminal 2 phase by phase. Delta:
    ``(m, k, k)`` with ``k = delta_conductors(p)``, branch ``i`` of admittance ``y``
    between conductors ``i`` and ``(i + 1) mod k`` (for three phases: ``2y`` on the
    diagonal, ``−y`` off it) [S].

    Examples
    --------
    >>> wye_delta_yprim(np.array([1j]), 1, Connection.WYE)[0].imag.tolist()
    [[1.0, -1.0], [-1.0, 1.0]]
    >>> wye_delta_yprim(np.array([1.0 + 0j]), 2, Connection.DELTA)[0].real.tolist()
    [[1.0, -1.0, 0.0], [-1.0, 2.0, -1.0], [0.0, -1.0, 1.0]]
    """
    y_phase = np.asarray(y_phase, dtype=np.complex128)[:, None, None]
    if connection is Connection.DELTA:
        k = delta_conductors(p)
        incidence = np.zeros((p, k))
        incidence[np.arange(p), np.arange(p)] = 1.0
        incidence[np.arange(p), (np.arange(p) + 1) % k] = -1.0
        return np.asarray(y_phase * (incidence.T @ incidence), dtype=np.complex128)
    eye = np.eye(p)
    out = np.empty((y_phase.shape[0], 2 * p, 2 * p), dtype=np.complex128)
    out[:, :p, :p] = y_phase * eye
    out[:, p:, p:] = out[:, :p, :p]
    out[:, :p, p:] = -out[:, :p, :p]
    out[:, p:, :p] = out[:, :p, p:]
    return out


def _group(
    elements: Sequence[LinearShuntCompensator | Reactor],
) -> dict[tuple[int, Connection], list[int]]:
    groups: dict[tuple[int, Connection], list[int]] = {}
    for i, e in enumerate(elements):
        groups.setdefault((e.phases, e.connection), []).append(i)
    return groups


def _conductors(
    nodes: NodeIndex,
    first: Sequence[Terminal],
    second: Sequence[Terminal | None],
    p: int,
    connection: Connection,
) -> IntArray:
    """Terminal 1's conductors, then (wye) terminal 2's, ground where it is not given."""
    if connection is Connection.DELTA:
        return conductor_nodes(nodes, first, delta_conductors(p))
    cond1 = conductor_nodes(nodes, first, p)
    cond2 = np.full((len(first), p), GROUND, dtype=np.int64)
    given = [i for i, t in enumerate(second) if t is not None]
    if given:
        cond2[given] = conductor_nodes(nodes, [t for t in second if t is not None], p)
    return np.concatenate([cond1, cond2], axis=1)


def _steps_in_service(
    caps: Sequence[LinearShuntCompensator], states: Mapping[str, Sequence[int]] | None
) -> FloatArray:
    out = np.empty(len(caps))
    for i, c in enumerate(caps):
        s = c.states if states is None or c.name not in states else list(states[c.name])
        if len(s) != len(c.q_kvar) or any(v not in (0, 1) for v in s):
            raise ValueError(
                f"capacitor {c.name!r}: states {s} must be one 0 or 1 per step "
                f"({len(c.q_kvar)} steps)"
            )
        out[i] = sum(s)
    return out


def capacitor_blocks(
    network: Network,
    nodes: NodeIndex,
    *,
    states: Mapping[str, Sequence[int]] | None = None,
) -> list[PrimitiveBlock]:
    """Primitive admittances of every capacitor bank (``network.capacitors``).

    Parameters
    ----------
    network
        The network.
    nodes
        Node numbering of ``network``.
    states
        Step states by capacitor name, overriding the banks' own ``states`` (as a
        capacitor control switches them); one 0 or 1 per step.

    Returns
    -------
    list of PrimitiveBlock
        Kind ``"capacitors"``: wye banks (2 terminals, ``2p`` conductors; terminal 2 is
        ``terminal2`` or ground) and delta banks (1 terminal,
        :func:`delta_conductors` conductors, missing ones grounded), one block
        per shape, banks in network order within a block. A bank with no step in service
        keeps its (all-zero) matrix, so switching it changes values, not structure.

    Raises
    ------
    ValueError
        A ``states`` entry names no capacitor or does not have one 0 or 1 per step.

    Examples
    --------
    See the module docstring; switching the IEEE 13 bank ``cap1`` off:

    >>> from feederos.feeders import load_feeder
    >>> from feederos.powerflow.nodes import node_index
    >>> net = load_feeder("ieee13")
    >>> off = capacitor_blocks(net, node_index(net), states={"cap1": [0]})
    >>> float(abs(off[1].y_s).max())
    0.0
    """
    caps = network.capacitors
    unknown = set(states or ()) - {c.name for c in caps}
    if unknown:
        raise ValueError(f"states given for unknown capacitors: {sorted(unknown)}")
    parts = []
    for (p, connection), members in _group(caps).items():
        group = [caps[i] for i in members]
        q1_var = np.array([c.q_kvar[0] for c in group]) * 1000.0
        v_kv = np.array([c.v_kv for c in group])
        line_to_neutral = connection is Connection.WYE and p in (2, 3)
        phase_v = v_kv * 1000.0 / (math.sqrt(3.0) if line_to_neutral else 1.0)
        y_step = np.asarray(1j * (q1_var / p) / phase_v**2, dtype=np.complex128)
        z_l = np.array([complex(c.r_ohm, c.x_ohm) for c in group])
        has_zl = ((z_l.real + np.abs(z_l.imag)) > 0.0) & (y_step != 0)
        if connection is Connection.WYE:
            # 1/(Z_L + 1/y), written so that a zero step stays zero
            y_phase = np.asarray(y_step / (1.0 + z_l * y_step), dtype=np.complex128)
            y = wye_delta_yprim(np.where(has_zl, y_phase, y_step), p, connection)
        else:
            y = wye_delta_yprim(y_step, p, connection)
            if has_zl.any():
                y[has_zl] = _delta_with_series_z(y[has_zl], z_l[has_zl], p)
        y *= _steps_in_service(group, states)[:, None, None]
        cond = _conductors(
            nodes, [c.terminal for c in group], [c.terminal2 for c in group], p, connection
        )
        n_terminals = 1 if connection is Connection.DELTA else 2
        parts.append((np.asarray(members, dtype=np.int64), cond, y, n_terminals))
    return stack_blocks("capacitors", [c.name for c in caps], parts)


def _delta_with_series_z(y: ComplexArray, z_l: ComplexArray, p: int) -> ComplexArray:
    """Put ``z_l`` in series with delta matrices ``(m, k, k)`` the way OpenDSS does.

    The first ``p`` diagonal entries are scaled by :data:`DELTA_PERTURBATION` so the
    (singular) matrix inverts, ``z_l`` is added to them in the impedance domain, and the
    result is inverted back (``Capacitor.pas``, ``MakeYprimWork``).
    """
    first = np.zeros(y.shape[-1], dtype=bool)
    first[:p] = True
    diag = np.diag(first)
    z = np.linalg.inv(np.where(diag, y * DELTA_PERTURBATION, y))
    z = z + z_l[:, None, None] * diag
    return np.asarray(np.linalg.inv(z), dtype=np.complex128)


def reactor_blocks(network: Network, nodes: NodeIndex) -> list[PrimitiveBlock]:
    """Primitive admittances of every reactor (``network.reactors``).

    A reactor is ``y = 1/(R + jX)`` per phase, plus ``1/Rp`` when ``rp_ohm`` is given,
    wye (2 terminals; terminal 2 is ``bus2``, ground for a shunt reactor) or delta
    (1 terminal) as described in the module docstring (OpenDSS ``Reactor.pas``).

    Returns
    -------
    list of PrimitiveBlock
        Kind ``"reactors"``, one block per shape, reactors in network order within it.

    Raises
    ------
    PowerFlowError
        A reactor has zero impedance (``R = X = 0``).

    Examples
    --------
    >>> from feederos.model import Bus, Network, Terminal
    >>> from feederos.powerflow.nodes import node_index
    >>> net = Network(name="n", buses=[Bus(name="a")], reactors=[
    ...     Reactor(name="r", bus1=Terminal(bus="a", nodes=(1,)), phases=1, x_ohm=10.0)])
    >>> reactor_blocks(net, node_index(net))[0].y_s[0].imag.tolist()
    [[-0.1, 0.1], [0.1, -0.1]]
    """
    reactors = network.reactors
    parts = []
    for (p, connection), members in _group(reactors).items():
        group = [reactors[i] for i in members]
        z = np.array([complex(r.r_ohm, r.x_ohm) for r in group])
        if np.any(z == 0):
            bad = [r.name for r, zi in zip(group, z, strict=True) if zi == 0]
            raise PowerFlowError(f"reactors with zero impedance: {bad}")
        g_p = np.array([0.0 if r.rp_ohm is None else 1.0 / r.rp_ohm for r in group])
        y = wye_delta_yprim(1.0 / z + g_p, p, connection)
        cond = _conductors(nodes, [r.bus1 for r in group], [r.bus2 for r in group], p, connection)
        n_terminals = 1 if connection is Connection.DELTA else 2
        parts.append((np.asarray(members, dtype=np.int64), cond, y, n_terminals))
    return stack_blocks("reactors", [r.name for r in reactors], parts)
