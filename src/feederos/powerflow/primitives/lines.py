"""Primitive admittances of lines and switches, built as OpenDSS's ``Line`` builds them.

A line of ``n`` phases between buses 1 and 2 with series impedance ``Z = z·ℓ`` and total
shunt admittance ``Y = y·ℓ`` (per-km matrices ``z``, ``y`` from
:func:`feederos.model.impedance.line_phase_impedance`, length ``ℓ``) is the π-section

    Yprim = [[Z⁻¹ + Y/2, −Z⁻¹      ],
             [−Z⁻¹,       Z⁻¹ + Y/2]]

(OpenDSS ``Line.pas``, ``CalcYPrim``). Lines sharing a line code, geometry, spacing or
inline impedance share ``z`` and ``y``, so ``z⁻¹`` is computed once per group and each
line's ``Z⁻¹`` is ``z⁻¹/ℓ``: a 100k-line feeder costs a handful of 3×3 inversions.

A switch (OpenDSS ``Line ... switch=yes``) is the same π-section built from its own
sequence impedances. An open switch has its terminal-1 conductors opened the way OpenDSS
opens any conductor (``CktElement.pas``, ``DoYprimCalcs``): the open conductor's current
is forced to zero by Kron reduction, its row and column are zeroed, and a conductance of
:data:`EPSILON_S` is left on its diagonal and added to the others, so nothing floats.

Examples
--------
>>> import numpy as np
>>> from feederos.model import ACLineSegment, Bus, LineImpedance, Network, Terminal
>>> from feederos.powerflow.nodes import node_index
>>> z = LineImpedance(r1_ohm_per_km=0.1, x1_ohm_per_km=0.3)
>>> net = Network(name="n", buses=[Bus(name="a"), Bus(name="b")], lines=[
...     ACLineSegment(name="l1", bus1=Terminal(bus="a"), bus2=Terminal(bus="b"),
...                   length_km=2.0, impedance=z)])
>>> (block,) = line_blocks(net, node_index(net))
>>> block.y_s.shape, block.conductors.tolist()
((1, 6, 6), [[0, 1, 2, 3, 4, 5]])
>>> complex(block.y_s[0, 0, 0] * (0.2 + 0.6j)).real.__round__(9)  # 1/(z·ℓ) on the diagonal
1.0
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Hashable, Iterable, Sequence

import numpy as np
import numpy.typing as npt

from feederos.errors import TopologyError
from feederos.model import ACLineSegment, LineImpedance, Network, Switch, Terminal
from feederos.model.impedance import line_phase_impedance
from feederos.powerflow.nodes import GROUND, NodeIndex
from feederos.powerflow.primitives.block import PrimitiveBlock

__all__ = [
    "EPSILON_S",
    "conductor_nodes",
    "invert_or_epsilon",
    "line_blocks",
    "open_conductors",
    "pi_section",
    "stack_blocks",
    "switch_blocks",
]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]

EPSILON_S = 1e-12
"""OpenDSS's ``EPSILON``: the conductance it leaves where an admittance would vanish [S]."""


_LOOKUPS: weakref.WeakKeyDictionary[NodeIndex, tuple[dict[str, int], IntArray]] = (
    weakref.WeakKeyDictionary()
)


def _lookup(nodes: NodeIndex) -> tuple[dict[str, int], IntArray]:
    """Bus positions and a dense ``(bus, node number) → node index`` table, cached.

    The table holds ``-2`` where a bus has no such node and GROUND in column 0.
    """
    found = _LOOKUPS.get(nodes)
    if found is None:
        width = int(nodes.node.max(initial=0)) + 1
        table = np.full((len(nodes.buses), width), -2, dtype=np.int64)
        table[:, 0] = GROUND
        table[nodes.bus, nodes.node] = np.arange(nodes.n_nodes)
        found = ({b: i for i, b in enumerate(nodes.buses)}, table)
        _LOOKUPS[nodes] = found
    return found


def conductor_nodes(nodes: NodeIndex, terminals: Sequence[Terminal], n_conductors: int) -> IntArray:
    """Node index of each conductor of many terminals, ``(len(terminals), n_conductors)``.

    As :meth:`NodeIndex.conductors`, for many terminals at once: conductors beyond those
    a terminal lists, and node 0, are :data:`~feederos.powerflow.nodes.GROUND`.

    Raises
    ------
    TopologyError
        A terminal names a bus or node the index does not have.

    Examples
    --------
    >>> from feederos.feeders import load_feeder
    >>> from feederos.powerflow.nodes import node_index
    >>> idx = node_index(load_feeder("ieee13"))
    >>> conductor_nodes(idx, [Terminal(bus="611", nodes=(3,))], 2).tolist()
    [[33, -1]]
    """
    position, table = _lookup(nodes)
    try:
        bus = np.array([position[t.bus] for t in terminals], dtype=np.int64)
    except KeyError as exc:
        raise TopologyError(f"no bus {exc.args[0]!r} in the node index") from None
    rows = [t.nodes[:n_conductors] for t in terminals]
    try:
        node = np.array(rows, dtype=np.int64).reshape(len(rows), n_conductors)
    except ValueError:  # some terminal lists fewer conductors: the rest are grounded
        node = np.zeros((len(rows), n_conductors), dtype=np.int64)
        for i, r in enumerate(rows):
            node[i, : len(r)] = r
    if node.size and (node.min() < 0 or node.max() >= table.shape[1]):
        bad = int(np.argmax((node < 0) | (node >= table.shape[1])) // n_conductors)
        raise TopologyError(f"bus {terminals[bad].bus!r} has no node among {terminals[bad].nodes}")
    out = table[bus[:, None], node]
    if np.any(out == -2):
        bad = int(np.argmax(out == -2) // n_conductors)
        raise TopologyError(f"bus {terminals[bad].bus!r} has no node among {terminals[bad].nodes}")
    return np.asarray(out, dtype=np.int64)


def invert_or_epsilon(z: ComplexArray) -> ComplexArray:
    """Invert a stack of impedance matrices ``(m, n, n)``, as OpenDSS inverts them.

    A singular matrix becomes ``EPSILON_S·I``, the "tiny series conductance" OpenDSS
    puts in when ``Zinv.Invert`` fails (``Line.pas``), so the element is effectively
    open rather than the solution failing.

    Examples
    --------
    >>> invert_or_epsilon(np.array([[[2.0 + 0j]], [[0.0 + 0j]]])).ravel().tolist()
    [(0.5+0j), (1e-12+0j)]
    """
    z = np.asarray(z, dtype=np.complex128)
    try:
        y = np.linalg.inv(z)
        if np.all(np.isfinite(y)):
            return np.asarray(y, dtype=np.complex128)
    except np.linalg.LinAlgError:
        pass
    out = np.empty_like(z)
    eye = np.eye(z.shape[-1], dtype=np.complex128)
    for i in range(z.shape[0]):  # rare: only stacks holding a singular matrix get here
        try:
            yi = np.linalg.inv(z[i])
            out[i] = yi if np.all(np.isfinite(yi)) else EPSILON_S * eye
        except np.linalg.LinAlgError:
            out[i] = EPSILON_S * eye
    return out


def pi_section(y_series: ComplexArray, y_shunt_end: ComplexArray) -> ComplexArray:
    """Two-terminal primitive matrices from series and per-end shunt admittances.

    Parameters
    ----------
    y_series
        ``Z⁻¹`` per element, ``(m, n, n)`` [S].
    y_shunt_end
        Shunt admittance at each end (half the total), ``(m, n, n)`` or broadcastable [S].

    Returns
    -------
    numpy.ndarray
        ``(m, 2n, 2n)`` [S], terminal 1's conductors first.

    Examples
    --------
    >>> y = pi_section(np.array([[[2.0 + 0j]]]), np.array([[[0.5j]]]))[0]
    >>> y.real.tolist(), np.diag(y).imag.tolist()
    ([[2.0, -2.0], [-2.0, 2.0]], [0.5, 0.5])
    """
    m, n, _ = y_series.shape
    y = np.empty((m, 2 * n, 2 * n), dtype=np.complex128)
    y[:, :n, :n] = y_series + y_shunt_end
    y[:, n:, n:] = y[:, :n, :n]
    y[:, :n, n:] = -y_series
    y[:, n:, :n] = -y_series
    return y


def open_conductors(y_s: ComplexArray, is_open: BoolArray) -> ComplexArray:
    """Open some conductors of a stack of primitive matrices, as OpenDSS does.

    Each open conductor in turn (terminal 1's first) is Kron-reduced out, so no current
    flows in it, then its row and column are zeroed with :data:`EPSILON_S` left on its
    diagonal; elements with any open conductor get ``EPSILON_S`` added to the diagonal
    of the conductors still closed (OpenDSS ``CktElement.pas``, ``DoYprimCalcs``).

    Parameters
    ----------
    y_s
        Primitive matrices ``(m, k, k)`` [S].
    is_open
        ``(m, k)``, True where a conductor is open.

    Returns
    -------
    numpy.ndarray
        New matrices ``(m, k, k)`` [S]; ``y_s`` is not modified.

    Examples
    --------
    >>> y = np.array([[[1.0, -1.0], [-1.0, 1.0]]], dtype=complex)
    >>> open_conductors(y, np.array([[True, False]]))[0].real.tolist()
    [[1e-12, 0.0], [0.0, 1e-12]]
    """
    y = np.array(y_s, dtype=np.complex128, copy=True)
    m, k = is_open.shape
    eliminated = np.zeros((m, k), dtype=bool)
    for j in range(k):
        rows = np.flatnonzero(is_open[:, j])
        if rows.size == 0:
            continue
        yb = y[rows]
        y_nn = yb[:, j, j]
        y_nn = np.where(y_nn == 0, EPSILON_S, y_nn)
        keep = ~eliminated[rows]
        keep[:, j] = False
        reduced = yb - yb[:, :, j : j + 1] * yb[:, j : j + 1, :] / y_nn[:, None, None]
        yb = np.where(keep[:, :, None] & keep[:, None, :], reduced, yb)
        yb[:, j, :] = 0.0
        yb[:, :, j] = 0.0
        yb[:, j, j] = EPSILON_S
        eliminated[rows, j] = True
        y[rows] = yb
    closed_in_opened = ~eliminated & is_open.any(axis=1, keepdims=True)
    diag = np.einsum("mii->mi", y)  # a view: adds in place
    diag += np.where(closed_in_opened, EPSILON_S, 0.0)
    return y


def _frozen(value: object) -> Hashable:
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    assert isinstance(value, Hashable)
    return value


def _impedance_key(line: ACLineSegment) -> Hashable:
    """Lines with equal keys have equal per-km matrices."""
    source = line.impedance_source
    if source == "line_code":
        return (source, line.line_code, line.phases)
    if source == "geometry":
        return (source, line.geometry, line.earth_resistivity_ohm_m)
    if source == "spacing":
        return (source, line.spacing, tuple(line.wires or ()), line.earth_resistivity_ohm_m)
    imp = line.impedance
    assert imp is not None
    values = tuple(_frozen(getattr(imp, f)) for f in LineImpedance.model_fields)
    return (source, line.phases, values)


_Part = tuple[IntArray, IntArray, ComplexArray, int]
"""Positions in the network collection, conductors ``(m, k)``, ``Yprim`` ``(m, k, k)`` and
the number of terminals, for a group of elements."""


def stack_blocks(kind: str, names: Sequence[str], parts: Iterable[_Part]) -> list[PrimitiveBlock]:
    """Gather parts into one block per conductor and terminal count, in network order.

    Blocks come in ascending conductor count; ``names`` are the names of the whole
    network collection, indexed by the parts' positions.

    Examples
    --------
    >>> y = np.zeros((1, 2, 2), dtype=complex)
    >>> parts = [(np.array([1]), np.array([[0, -1]]), y, 2),
    ...          (np.array([0]), np.array([[1, -1]]), y, 2)]
    >>> stack_blocks("x", ["a", "b"], parts)[0].names
    ('a', 'b')
    """
    by_shape: dict[tuple[int, int], list[_Part]] = {}
    for part in parts:
        by_shape.setdefault((part[1].shape[1], part[3]), []).append(part)
    blocks = []
    for (_, n_terminals), group in sorted(by_shape.items()):
        order = np.concatenate([p[0] for p in group])
        cond = np.concatenate([p[1] for p in group])
        y = np.concatenate([p[2] for p in group])
        sort = np.argsort(order, kind="stable")
        blocks.append(
            PrimitiveBlock(
                kind=kind,
                names=tuple(names[i] for i in order[sort]),
                conductors=cond[sort],
                y_s=y[sort],
                n_terminals=n_terminals,
            )
        )
    return blocks


def _two_terminal_conductors(
    nodes: NodeIndex, first: Iterable[Terminal], second: Iterable[Terminal], n: int
) -> IntArray:
    return np.concatenate(
        [conductor_nodes(nodes, list(first), n), conductor_nodes(nodes, list(second), n)],
        axis=1,
    )


def line_blocks(network: Network, nodes: NodeIndex) -> list[PrimitiveBlock]:
    """Primitive admittances of every line (``network.lines``), one block per phase count.

    Parameters
    ----------
    network
        The network; its line codes, geometries, spacings and frequency are used.
    nodes
        Node numbering of ``network``.

    Returns
    -------
    list of PrimitiveBlock
        Kind ``"lines"``, 2 terminals, ``2n`` conductors for ``n``-phase lines, in
        ascending ``n``; lines in network order within a block.

    Notes
    -----
    The per-km matrices come from :func:`~feederos.model.impedance.line_phase_impedance`,
    once per distinct line code / geometry / spacing / inline impedance. The series
    admittance of a line is ``z⁻¹/ℓ`` (``= (z·ℓ)⁻¹``); a singular ``z`` gives
    ``EPSILON_S·I`` as in OpenDSS. Half the shunt admittance ``y·ℓ`` sits at each end.
    OpenDSS also adds a tiny capacitance (``CAP_EPSILON``) to the series part it keeps for
    other purposes, but not to ``Yprim``, so neither do we.

    Examples
    --------
    See the module docstring.
    """
    lines = network.lines
    groups: dict[Hashable, list[int]] = {}
    for i, line in enumerate(lines):
        groups.setdefault(_impedance_key(line), []).append(i)
    length_km = np.fromiter((ln.length_km for ln in lines), dtype=np.float64, count=len(lines))
    by_n: dict[int, list[tuple[IntArray, ComplexArray]]] = {}
    for members in groups.values():
        pz = line_phase_impedance(network, lines[members[0]])
        idx = np.asarray(members, dtype=np.int64)
        n = pz.n_phases
        ell = length_km[idx][:, None, None]
        try:
            zinv_per_km = np.linalg.inv(pz.z_ohm_per_km)
            singular = not np.all(np.isfinite(zinv_per_km))
        except np.linalg.LinAlgError:
            singular = True
        if singular:  # OpenDSS's fallback conductance, not scaled by length
            y_series = np.repeat(EPSILON_S * np.eye(n, dtype=np.complex128)[None], idx.size, 0)
        else:
            y_series = np.asarray(zinv_per_km[None] / ell, dtype=np.complex128)
        y_shunt_end = pz.y_shunt_s_per_km[None] * (ell / 2.0)
        by_n.setdefault(n, []).append((idx, pi_section(y_series, y_shunt_end)))
    parts: list[_Part] = []
    for n, group in by_n.items():
        idx = np.concatenate([g[0] for g in group])
        members_lines = [lines[i] for i in idx]
        cond = _two_terminal_conductors(
            nodes, (ln.bus1 for ln in members_lines), (ln.bus2 for ln in members_lines), n
        )
        parts.append((idx, cond, np.concatenate([g[1] for g in group]), 2))
    return stack_blocks("lines", [ln.name for ln in lines], parts)


def switch_blocks(network: Network, nodes: NodeIndex) -> list[PrimitiveBlock]:
    """Primitive admittances of every switch (``network.switches``), one block per phases.

    A closed switch is a π-section with phase impedance from its sequence values
    (``Zs = (2·Z1 + Z0)/3``, ``Zm = (Z0 − Z1)/3``; a single-phase switch uses ``Z1``, as
    OpenDSS's ``Line`` does for one phase) and half its capacitance at each end, built
    the same way from ``c_nf`` (positive sequence) and a zero-sequence ``c0_nf`` if the
    model has one (else ``c0 = c1``: no mutual capacitance). An open switch
    (``open=True``) has its terminal-1 conductors opened (:func:`open_conductors`), as
    OpenDSS's ``open line.x 1`` does: it isolates the two buses.

    Returns
    -------
    list of PrimitiveBlock
        Kind ``"switches"``, 2 terminals, switches in network order within a block.

    Examples
    --------
    >>> from feederos.model import Bus, Network, Terminal
    >>> from feederos.powerflow.nodes import node_index
    >>> net = Network(name="n", buses=[Bus(name="a"), Bus(name="b")], switches=[
    ...     Switch(name="s", bus1=Terminal(bus="a"), bus2=Terminal(bus="b"), r_ohm=0.01)])
    >>> (b,) = switch_blocks(net, node_index(net))
    >>> b.y_s[0, 0, [0, 3]].real.round(6).tolist()
    [100.0, -100.0]
    """
    switches = network.switches
    omega = 2.0 * math.pi * network.base_frequency_hz
    by_phases: dict[int, list[int]] = {}
    for i, s in enumerate(switches):
        by_phases.setdefault(s.phases, []).append(i)
    parts: list[_Part] = []
    for n, members in by_phases.items():
        sw: list[Switch] = [switches[i] for i in members]
        z1 = np.array([complex(s.r_ohm, s.x_ohm) for s in sw])
        z0 = np.array(
            [
                complex(
                    s.r0_ohm if s.r0_ohm is not None else s.r_ohm,
                    s.x0_ohm if s.x0_ohm is not None else s.x_ohm,
                )
                for s in sw
            ]
        )
        if n == 1:
            z0 = z1
        zs = (2.0 * z1 + z0) / 3.0
        zm = (z0 - z1) / 3.0
        eye = np.eye(n)
        z = zm[:, None, None] * (1.0 - eye) + zs[:, None, None] * eye
        c1_f = np.array([s.c_nf for s in sw]) * 1e-9
        # A zero-sequence capacitance, where the model has one, gives the mutual terms
        # OpenDSS has; they set the voltage of a conductor left floating by the switch.
        c0_nf = [getattr(s, "c0_nf", None) for s in sw]
        c0_f = np.array(
            [c1 if c0 is None else c0 * 1e-9 for c0, c1 in zip(c0_nf, c1_f, strict=True)]
        )
        if n == 1:
            c0_f = c1_f
        cs = (2.0 * c1_f + c0_f) / 3.0
        cm = (c0_f - c1_f) / 3.0
        c_f = cm[:, None, None] * (1.0 - eye) + cs[:, None, None] * eye
        y_shunt_end = np.asarray(0.5j * omega * c_f, dtype=np.complex128)
        y = pi_section(invert_or_epsilon(z), y_shunt_end)
        is_open = np.zeros((len(sw), 2 * n), dtype=bool)
        is_open[:, :n] = np.array([s.open for s in sw])[:, None]
        if is_open.any():
            y = open_conductors(y, is_open)
        cond = _two_terminal_conductors(nodes, (s.bus1 for s in sw), (s.bus2 for s in sw), n)
        parts.append((np.asarray(members, dtype=np.int64), cond, y, 2))
    return stack_blocks("switches", [s.name for s in switches], parts)
