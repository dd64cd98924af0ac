"""Primitive admittance matrices of transformers, built as OpenDSS builds them.

The model follows OpenDSS ``Transformer.pas`` (``TTransfObj.CalcY_Terminal``,
``SetTermRef``, ``BuildYPrimComponent``, ``AddNeutralToY``):

1. One phase of an ``n``-winding transformer is a set of short-circuit impedances on a
   one-volt base: ``Z_1i = (r_1 + r_i + j·X_1i)·Zb`` for ``i = 2..n`` and the mutual
   terms ``(Z_1i + Z_1j − (r_i + r_j + j·X_ij)·Zb)/2``, with ``Zb = phases / VA₁``
   (winding 1's rating). Inverting and applying the incidence ``A = [−1 | I]`` gives the
   ``n × n`` one-volt admittance; the no-load shunt (``%noloadloss``, ``%imag``) is added
   on winding **2**, which OpenDSS takes to be nearest the core.
2. Each winding ``i`` is a two-ended branch with turns voltage ``V_i·tap_i``
   (``V_i = kV_LL/√3`` for a 2- or 3-phase wye winding, ``kV`` otherwise), so the
   ``2n × 2n`` per-phase terminal matrix is ``Y_1V[a, b]·s_p·s_q /
   (V_a·tap_a·V_b·tap_b)`` with ``s = (+1, −1)`` for the winding's two ends.
3. The anti-floating reactance ``−j·ppm·10⁻⁶·(VA₁/phases)/V_i²/2`` is added to both
   ends of every winding (without the tap) and once more to the neutral of a wye
   winding with an open neutral (``r_neutral_ohm`` ``None``, OpenDSS ``rneut < 0``);
   ``r_neutral_ohm ≥ 0`` instead adds ``1/(R + jX)`` (or 10⁶ S when both are 0).
4. The per-phase matrix is placed on the transformer's conductors — ``phases + 1`` per
   winding — once per phase: a wye winding spans its phase conductor and the
   terminal's last conductor (the neutral), a delta winding spans its phase and the
   next (or previous) phase, according to OpenDSS's delta direction (below).

Delta direction (OpenDSS ``RecalcElementData``): when windings 1 and 2 have the same
connection, phase ``i`` of a delta winding spans conductors ``i → i+1``. Otherwise the
higher-voltage winding of the two (winding 1 on a tie) decides: wye HV gives ``i+1``
(ANSI, low side lags) unless the transformer leads; delta HV gives ``i−1`` unless it
leads.

Examples
--------
A 1 MVA single-phase 2.4 kV unit with 1 % resistance and 2 % reactance: the driving
point of winding 1 in per unit of its base admittance is ``1/(0.01 + 0.02j)``, less the
anti-float reactance of ``0.5·10⁻⁶``.

>>> import numpy as np
>>> y = winding_terminal_y(v_base_v=np.array([[2400.0, 2400.0]]),
...                        tap_pu=np.array([[1.0, 1.0]]), s_base_va=np.array([1e6]),
...                        n_phases=1, r_pu=np.array([[0.005, 0.005]]),
...                        x_pu=np.array([[0.02]]))
>>> y_pu = complex(y[0, 0, 0] * 2400**2 / 1e6)
>>> y.shape, round(y_pu.real, 9), round(y_pu.imag, 9)
((1, 4, 4), 20.0, -40.0000005)
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from operator import attrgetter

import numpy as np
import numpy.typing as npt
from numba import njit

from feederos.errors import TopologyError
from feederos.model import Connection, Network, PhaseShift, PowerTransformer, Terminal
from feederos.powerflow.nodes import GROUND, NodeIndex
from feederos.powerflow.primitives.block import PrimitiveBlock

__all__ = [
    "DEFAULT_PPM_ANTIFLOAT",
    "SOLID_NEUTRAL_S",
    "TapScaling",
    "delta_direction",
    "tap_scaled_y",
    "transformer_blocks",
    "transformer_taps",
    "winding_terminal_y",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]

DEFAULT_PPM_ANTIFLOAT = 1.0
"""OpenDSS's default ``ppm_antifloat`` [ppm of winding 1's per-phase admittance base]."""

SOLID_NEUTRAL_S = 1e6
"""Neutral admittance OpenDSS uses for ``rneut=0 xneut=0`` (solidly grounded) [S]."""

_BUS = attrgetter("bus")
_NAME = attrgetter("name")

_ZERO_TAP_PU = 1e-4
"""OpenDSS replaces a zero tap by this (``ZeroTapFix``) so the matrix stays finite."""


def delta_direction(t: PowerTransformer) -> int:
    """Step from a delta winding's phase to the phase its other end joins (+1 or −1).

    OpenDSS ``TTransfObj.RecalcElementData`` / ``RotatePhases``: +1 connects phase A to
    B (AB, BC, CA), −1 connects A to C (AC, BA, CB).

    Examples
    --------
    >>> from feederos.model import Terminal, TransformerWinding
    >>> hv = TransformerWinding(terminal=Terminal(bus="a"), connection="delta", v_kv=115,
    ...                         s_kva=5000)
    >>> lv = TransformerWinding(terminal=Terminal(bus="b"), v_kv=4.16, s_kva=5000)
    >>> delta_direction(PowerTransformer(name="sub", windings=[hv, lv]))
    -1
    """
    w1, w2 = t.windings[0], t.windings[1]
    if w1.connection is w2.connection:
        return 1
    hv = w1 if w1.v_kv >= w2.v_kv else w2
    lead = t.phase_shift is PhaseShift.LEAD
    if hv.connection is Connection.WYE:
        return -1 if lead else 1
    return 1 if lead else -1


def winding_terminal_y(
    *,
    v_base_v: FloatArray,
    tap_pu: FloatArray,
    s_base_va: FloatArray,
    n_phases: int,
    r_pu: FloatArray,
    x_pu: FloatArray,
    no_load_pu: ComplexArray | None = None,
    ppm: FloatArray | None = None,
) -> ComplexArray:
    """Per-phase terminal admittance of ``m`` transformers with ``n`` windings.

    OpenDSS ``TTransfObj.CalcY_Terminal`` (``Y_Term + Y_Term_NL``), vectorised.

    Parameters
    ----------
    v_base_v
        Turns voltage of each winding at tap 1, ``(m, n)`` [V].
    tap_pu
        Tap of each winding, ``(m, n)`` [pu]; 0 is replaced by 10⁻⁴ as in OpenDSS.
    s_base_va
        Rating of winding 1 (all phases), ``(m,)`` [VA].
    n_phases
        Phases of every transformer.
    r_pu
        Winding resistances on winding 1's rating, ``(m, n)`` [pu].
    x_pu
        Leakage reactances ``(m, n(n−1)/2)`` in OpenDSS's ``XSC`` order (12, 13, …, 1n,
        23, …) — for three windings ``XHL, XHT, XLT`` [pu].
    no_load_pu
        Core-loss conductance minus ``j`` magnetising susceptance, ``(m,)`` [pu], placed
        on winding 2; default none.
    ppm
        Anti-floating factor per transformer, ``(m,)`` [ppm]; default 1 ppm.

    Returns
    -------
    numpy.ndarray
        ``(m, 2n, 2n)`` complex [S]: rows/columns are winding 1's two ends, winding
        2's two ends, ….

    Examples
    --------
    >>> y = winding_terminal_y(v_base_v=np.array([[1.0, 1.0]]), tap_pu=np.ones((1, 2)),
    ...                        s_base_va=np.array([1.0]), n_phases=1,
    ...                        r_pu=np.zeros((1, 2)), x_pu=np.array([[0.5]]), ppm=np.zeros(1))
    >>> y[0].round(6).tolist()[0]
    [-2j, 2j, 2j, -2j]
    """
    m, n = v_base_v.shape
    z_base = n_phases / s_base_va  # ohms of the one-volt base
    y_one_volt = _one_volt_y(r_pu, x_pu, z_base)
    if no_load_pu is not None:
        y_one_volt[:, 1, 1] += no_load_pu / z_base
    tap = np.where(tap_pu == 0.0, _ZERO_TAP_PU, tap_pu)
    ends = (1.0 / (v_base_v * tap))[:, :, None] * np.array([1.0, -1.0])  # (m, n, 2)
    y_term: ComplexArray = (
        y_one_volt[:, :, None, :, None] * ends[:, None, None, :, :] * ends[:, :, :, None, None]
    ).reshape(m, 2 * n, 2 * n)
    ppm_pu = np.full(m, DEFAULT_PPM_ANTIFLOAT) if ppm is None else ppm
    y_ppm = _antifloat_s(ppm_pu, s_base_va, n_phases, v_base_v)
    diag = np.arange(2 * n)
    y_term[:, diag, diag] += 1j * np.repeat(y_ppm, 2, axis=1)
    return y_term


def _antifloat_s(
    ppm: FloatArray, s_base_va: FloatArray, n_phases: int, v_base_v: FloatArray
) -> FloatArray:
    """OpenDSS ``TWinding.ComputeAntiFloatAdder``: ``Y_PPM`` per winding ``(m, n)`` [S]."""
    y: FloatArray = -(ppm * 1e-6)[:, None] * (s_base_va / n_phases)[:, None] / v_base_v**2 / 2
    return y


def _one_volt_y(r_pu: FloatArray, x_pu: FloatArray, z_base: FloatArray) -> ComplexArray:
    """One-volt winding admittance ``(m, n, n)`` from short-circuit data [S·V²]."""
    m, n = r_pu.shape
    zb = np.empty((m, n - 1, n - 1), dtype=np.complex128)
    for i in range(n - 1):
        zb[:, i, i] = (r_pu[:, 0] + r_pu[:, i + 1] + 1j * x_pu[:, i]) * z_base
    k = n - 1
    for i in range(n - 1):
        for j in range(i + 1, n - 1):
            z_ij = (r_pu[:, i + 1] + r_pu[:, j + 1] + 1j * x_pu[:, k]) * z_base
            zb[:, i, j] = zb[:, j, i] = (zb[:, i, i] + zb[:, j, j] - z_ij) * 0.5
            k += 1
    yb = 1.0 / zb if n == 2 else np.linalg.inv(zb)
    a = np.zeros((n - 1, n))
    a[:, 0] = -1.0
    a[np.arange(n - 1), np.arange(1, n)] = 1.0
    y: ComplexArray = np.einsum("ia,mij,jb->mab", a, yb, a)
    return y


@cache
def _scatter(n_phases: int, connections: tuple[bool, ...], direction: int) -> FloatArray:
    """Matrix placing a flattened ``2n × 2n`` terminal matrix on the ``k × k`` YPrim.

    OpenDSS ``SetTermRef`` + ``BuildYPrimComponent``: entry ``[a·2n + b, i·k + j]`` counts
    the phases whose winding ends ``a, b`` sit on conductors ``i, j``. ``connections``
    holds ``True`` for each delta winding.
    """
    n = len(connections)
    nc = n_phases + 1
    k = n * nc
    ends: list[list[int]] = []
    for p in range(n_phases):
        row: list[int] = []
        for w, delta in enumerate(connections):
            first = w * nc
            if n_phases == 1:
                row += [first, first + nc - 1]
            elif delta:
                row += [first + p, first + _rotate(p + 1, direction, n_phases) - 1]
            else:
                row += [first + p, first + nc - 1]
        ends.append(row)
    s = np.zeros((4 * n * n, k * k))
    for row in ends:
        for a, i in enumerate(row):
            for b, j in enumerate(row):
                s[a * 2 * n + b, i * k + j] += 1.0
    return s


def _rotate(phase: int, direction: int, n_phases: int) -> int:
    """OpenDSS ``RotatePhases`` (1-based; a 2-phase delta closes on conductor 3)."""
    nxt = phase + direction
    if n_phases > 2:
        if nxt > n_phases:
            return 1
        if nxt < 1:
            return n_phases
        return nxt
    return 3 if nxt < 1 else nxt


def transformer_taps(network: Network) -> dict[str, tuple[float, ...]]:
    """The model's present tap of every winding, per transformer [pu].

    Examples
    --------
    >>> from feederos.feeders import load_feeder
    >>> transformer_taps(load_feeder("ieee13"))["reg1"]
    (1.0, 1.0)
    """
    return {t.name: tuple([w.tap_pu for w in t.windings]) for t in network.transformers}


@dataclass(frozen=True)
class _Columns:
    """Transformer data as columns: per transformer ``(m, …)`` and per winding ``(w, …)``."""

    names: list[str]
    phases: IntArray
    first_winding: IntArray
    n_windings: IntArray
    s_kva: FloatArray
    x_pct: FloatArray  # (m, 3): XHL, XHT, XLT (NaN for two windings)
    no_load: ComplexArray  # %noloadloss − j·%imag
    ppm: FloatArray
    direction: IntArray
    delta: npt.NDArray[np.bool_]
    v_kv: FloatArray
    tap_pu: FloatArray
    r_pct: FloatArray
    r_neutral_ohm: FloatArray  # NaN: open neutral
    x_neutral_ohm: FloatArray
    conductors: IntArray  # (w, 4): node index of up to 4 conductors per winding


def transformer_blocks(
    network: Network,
    nodes: NodeIndex,
    *,
    tap_pu: Mapping[str, Sequence[float]] | None = None,
    only: Collection[str] | None = None,
    ppm_antifloat: Mapping[str, float] | None = None,
) -> list[PrimitiveBlock]:
    """Primitive admittances of the network's transformers, one block per conductor count.

    Parameters
    ----------
    network
        The network.
    nodes
        Its node numbering.
    tap_pu
        Per transformer, the tap of each winding [pu], overriding the model's (as a
        regulator moves them); transformers not listed keep the model's taps.
    only
        Build just these transformers (in network order), e.g. the regulating ones
        whose taps changed; default all.
    ppm_antifloat
        Per transformer, OpenDSS's ``ppm_antifloat`` [ppm]; default
        :data:`DEFAULT_PPM_ANTIFLOAT` (the model does not carry it).

    Returns
    -------
    list of PrimitiveBlock
        Kind ``"transformers"``, one block per conductor count ``k = windings ·
        (phases + 1)`` and winding count, in ascending ``k``; each block's elements in
        network order.

    Raises
    ------
    KeyError
        If ``only`` names a transformer that is not in the network.
    ValueError
        If a ``tap_pu`` entry does not give one tap per winding.
    TopologyError
        If a winding names a bus or node the network does not have.

    Examples
    --------
    >>> from feederos.feeders import load_feeder
    >>> from feederos.powerflow import node_index
    >>> net = load_feeder("ieee13")
    >>> blocks = transformer_blocks(net, node_index(net))
    >>> [(b.conductors.shape, b.n_terminals) for b in blocks]
    [((3, 4), 2), ((2, 8), 2)]
    >>> moved = transformer_blocks(net, node_index(net), tap_pu={"reg1": (1.0, 1.05)},
    ...                            only=["reg1"])
    >>> moved[0].names
    ('reg1',)
    """
    c = _columns(_select(network, only), nodes, tap_pu or {}, ppm_antifloat or {})
    # Transformers of one layout (phases, windings, connections, delta direction) share
    # the placement of the per-phase matrix on the conductors: evaluate them together.
    mask = np.zeros(len(c.names), dtype=np.int64)
    for w in range(3):
        has = c.n_windings > w
        mask[has] |= c.delta[c.first_winding[has] + w].astype(np.int64) << w
    layout = ((c.phases * 4 + c.n_windings) * 8 + mask) * 3 + c.direction + 1
    # A block needs one terminal count too: 2-phase 2-winding and 1-phase 3-winding
    # transformers both have 6 conductors.
    by_k: dict[tuple[int, int], list[tuple[IntArray, IntArray, ComplexArray]]] = {}
    for code in np.unique(layout):
        rows = np.flatnonzero(layout == code)
        n_phases, n = int(c.phases[rows[0]]), int(c.n_windings[rows[0]])
        windings = c.first_winding[rows][:, None] + np.arange(n)
        deltas = tuple(bool(d) for d in c.delta[windings[0]])
        y = _layout_yprim(c, rows, windings, deltas, int(c.direction[rows[0]]))
        conductors = c.conductors[windings, : n_phases + 1].reshape(len(rows), -1)
        by_k.setdefault((conductors.shape[1], n), []).append((rows, conductors, y))
    return [_block(c.names, parts, n_terminals) for (_, n_terminals), parts in sorted(by_k.items())]


@dataclass(frozen=True, eq=False)
class TapScaling:
    """A transformer block's admittance as a function of its taps, for a control loop.

    Step 2 of the module docstring makes every winding term scale with
    ``1/(tap_a·tap_b)`` of the two windings it joins, and steps 3 and 4 add terms that
    do not depend on the taps, so ``y_s(t)[p, q] = y_tap[p, q] / (t_w(p)·t_w(q)) +
    y_fixed[p, q]`` with ``w(p)`` the winding of conductor ``p``. Evaluating that costs
    microseconds; :func:`transformer_blocks` walks the model.

    Examples
    --------
    >>> from feederos.feeders import load_feeder
    >>> from feederos.powerflow import node_index
    >>> net = load_feeder("ieee13")
    >>> nodes = node_index(net)
    >>> (block,) = transformer_blocks(net, nodes, only=["reg1", "reg2", "reg3"])
    >>> scaling = TapScaling.of(net, nodes, block)
    >>> taps = {"reg1": (1.0, 1.05), "reg2": (1.0, 0.95), "reg3": (1.0, 1.0)}
    >>> (moved,) = transformer_blocks(net, nodes, tap_pu=taps, only=block.names)
    >>> bool(np.allclose(scaling.y_s(taps), moved.y_s, rtol=1e-12, atol=0.0))
    True
    """

    names: tuple[str, ...]
    n_windings: int
    y_tap: ComplexArray
    y_fixed: ComplexArray

    @classmethod
    def of(cls, network: Network, nodes: NodeIndex, block: PrimitiveBlock) -> TapScaling:
        """The scaling of ``block`` (built by :func:`transformer_blocks`).

        From the block at unit taps, ``y_tap + y_fixed``, and at taps of 2, ``y_tap/4 +
        y_fixed``.
        """
        n = block.n_terminals
        (unit,) = transformer_blocks(network, nodes, only=block.names,
                                     tap_pu={name: (1.0,) * n for name in block.names})
        (double,) = transformer_blocks(network, nodes, only=block.names,
                                       tap_pu={name: (2.0,) * n for name in block.names})
        y_tap = (unit.y_s - double.y_s) * (4.0 / 3.0)
        return cls(block.names, n, y_tap, unit.y_s - y_tap)

    def y_s(self, tap_pu: Mapping[str, Sequence[float]]) -> ComplexArray:
        """The block's ``y_s`` at the taps of ``tap_pu`` (one per winding, per transformer)."""
        taps = np.array([tap_pu[name] for name in self.names], dtype=np.float64)
        if taps.shape != (len(self.names), self.n_windings):
            raise ValueError(f"tap_pu needs {self.n_windings} taps per transformer")
        out = np.empty_like(self.y_tap)
        for m in range(len(self.names)):
            tap_scaled_y(self.y_tap[m], self.y_fixed[m], taps[m], out[m])
        return out


@njit(cache=True, nogil=True)
def tap_scaled_y(y_tap: ComplexArray, y_fixed: ComplexArray, tap_pu: FloatArray,
                 out: ComplexArray) -> None:  # pragma: no cover - compiled
    """One transformer's ``y_s`` at the taps ``tap_pu`` (one per winding) into ``out``
    ``(k, k)``: ``y_tap[p, q] / (t_w(p)·t_w(q)) + y_fixed[p, q]`` (:class:`TapScaling`)."""
    k = y_tap.shape[0]
    per = k // tap_pu.size
    inv = np.empty(tap_pu.size)
    for w in range(tap_pu.size):
        inv[w] = 1.0 / (_ZERO_TAP_PU if tap_pu[w] == 0.0 else tap_pu[w])
    for p in range(k):
        for q in range(k):
            out[p, q] = y_tap[p, q] * inv[p // per] * inv[q // per] + y_fixed[p, q]


def _select(network: Network, only: Collection[str] | None) -> list[PowerTransformer]:
    if only is None:
        return list(network.transformers)
    wanted = set(only)
    every = network.transformers
    chosen = [every[i] for i, name in enumerate(map(_NAME, every)) if name in wanted]
    if len(chosen) != len(wanted):
        missing = wanted - {t.name for t in chosen}
        raise KeyError(f"no transformer named {sorted(missing)}")
    return chosen


def _columns(
    chosen: list[PowerTransformer],
    nodes: NodeIndex,
    tap_pu: Mapping[str, Sequence[float]],
    ppm_antifloat: Mapping[str, float],
) -> _Columns:
    """Gather the transformers' data into arrays.

    One comprehension per record type, each reading every attribute it needs: the
    Python-level work is what a 10⁵-transformer feeder spends its time on.
    """
    nan = math.nan
    delta_conn = Connection.DELTA
    names = [t.name for t in chosen]
    per_t = np.array(
        [
            (
                t.phases,
                len(t.windings),
                t.xhl_pct,
                nan if t.xht_pct is None else t.xht_pct,
                nan if t.xlt_pct is None else t.xlt_pct,
                t.no_load_loss_pct,
                t.magnetizing_pct,
            )
            for t in chosen
        ],
        dtype=np.float64,
    ).reshape(-1, 7)
    wdg = [w for t in chosen for w in t.windings]
    per_w = np.array(
        [
            (
                w.v_kv,
                w.tap_pu,
                w.r_pct,
                nan if w.r_neutral_ohm is None else w.r_neutral_ohm,
                w.x_neutral_ohm,
                w.connection is delta_conn,
                w.s_kva,
            )
            for w in wdg
        ],
        dtype=np.float64,
    ).reshape(-1, 7)
    phases = per_t[:, 0].astype(np.int64)
    n_windings = per_t[:, 1].astype(np.int64)
    first = (np.cumsum(n_windings) - n_windings).astype(np.int64)
    delta = per_w[:, 5] > 0
    direction = np.ones(len(chosen), dtype=np.int64)
    with_delta = np.flatnonzero(np.add.reduceat(delta, first) > 0) if len(chosen) else first
    direction[with_delta] = [delta_direction(chosen[i]) for i in with_delta]
    tap = per_w[:, 1].copy()
    ppm = np.full(len(chosen), DEFAULT_PPM_ANTIFLOAT)
    # Walk the chosen transformers, not the mappings: a control loop passes every
    # transformer's taps but rebuilds only a few.
    if tap_pu:
        for i, name in enumerate(names):
            override = tap_pu.get(name)
            if override is not None:
                if len(override) != n_windings[i]:
                    raise ValueError(f"tap_pu of {name!r} needs {n_windings[i]} taps")
                tap[first[i] : first[i] + n_windings[i]] = override
    if ppm_antifloat:
        ppm = np.array([ppm_antifloat.get(n, DEFAULT_PPM_ANTIFLOAT) for n in names], dtype=float)
    terminals = [w.terminal for w in wdg]
    return _Columns(
        names=names,
        phases=phases,
        first_winding=first,
        n_windings=n_windings,
        s_kva=per_w[first, 6],
        x_pct=per_t[:, 2:5],
        no_load=per_t[:, 5] - 1j * per_t[:, 6],
        ppm=ppm,
        direction=direction,
        delta=delta,
        v_kv=per_w[:, 0],
        tap_pu=tap,
        r_pct=per_w[:, 2],
        r_neutral_ohm=per_w[:, 3],
        x_neutral_ohm=per_w[:, 4],
        conductors=_node_lookup(nodes, terminals, np.repeat(phases + 1, n_windings)),
    )


@lru_cache(maxsize=4)
def _node_keys(nodes: NodeIndex) -> tuple[dict[str, int], IntArray, int]:
    """Bus positions, the sorted key ``bus·stride + node`` of every node, and the stride."""
    stride = int(nodes.node.max(initial=0)) + 1
    keys = nodes.bus * stride + nodes.node  # ascending: nodes go bus by bus, node by node
    return {b: i for i, b in enumerate(nodes.buses)}, keys, stride


def _node_lookup(nodes: NodeIndex, terminals: list[Terminal], n_conductors: IntArray) -> IntArray:
    """Node index ``(len(terminals), 4)`` of each terminal's first ``n_conductors`` conductors.

    Conductors the terminal does not list are ground, as are the unused columns.
    """
    position, keys, stride = _node_keys(nodes)
    try:
        bus = np.array(list(map(position.__getitem__, map(_BUS, terminals))), dtype=np.int64)
    except KeyError as exc:
        raise TopologyError(f"no bus {exc.args[0]!r}") from None
    pad = (0, 0, 0, 0)
    node = np.array([(t.nodes + pad)[:4] for t in terminals], dtype=np.int64).reshape(-1, 4)
    node[np.arange(4) >= n_conductors[:, None]] = 0
    query = bus[:, None] * stride + node
    found = np.searchsorted(keys, query)
    hit = keys[np.minimum(found, len(keys) - 1)] == query if len(keys) else query < 0
    ok = (node == 0) | ((node > 0) & (node < stride) & hit)
    if not np.all(ok):
        i, j = np.argwhere(~ok)[0]
        raise TopologyError(f"bus {terminals[i].bus!r} has no node {node[i, j]}")
    out: IntArray = np.where(node == 0, GROUND, found)
    return out


def _layout_yprim(
    c: _Columns, rows: IntArray, windings: IntArray, deltas: tuple[bool, ...], direction: int
) -> ComplexArray:
    """YPrim ``(m, k, k)`` of the transformers ``rows`` (all of one layout).

    ``windings`` holds the winding rows of each transformer, ``(m, n)``.
    """
    m, n = windings.shape
    n_phases = int(c.phases[rows[0]])
    k = n * (n_phases + 1)
    wye_scale = np.where(np.asarray(deltas) | (n_phases == 1), 1.0, 1.0 / math.sqrt(3))
    v_base_v = c.v_kv[windings] * 1000.0 * wye_scale
    s_base_va = c.s_kva[rows] * 1000.0
    ppm = c.ppm[rows]
    y_term = winding_terminal_y(
        v_base_v=v_base_v,
        tap_pu=c.tap_pu[windings],
        s_base_va=s_base_va,
        n_phases=n_phases,
        r_pu=c.r_pct[windings] / 100.0,
        x_pu=c.x_pct[rows, : n * (n - 1) // 2] / 100.0,
        no_load_pu=c.no_load[rows] / 100.0,
        ppm=ppm,
    )
    yprim = (y_term.reshape(m, -1) @ _scatter(n_phases, deltas, direction)).reshape(m, k, k)
    # OpenDSS AddNeutralToY: a wye neutral gets its grounding admittance, or, left
    # floating (rneut < 0), one more anti-float reactance so the system matrix stays
    # invertible.
    r_n, x_n = c.r_neutral_ohm[windings], c.x_neutral_ohm[windings]
    with np.errstate(divide="ignore", invalid="ignore"):
        y_n = np.where((r_n == 0.0) & (x_n == 0.0), SOLID_NEUTRAL_S, 1.0 / (r_n + 1j * x_n))
    y_ppm = _antifloat_s(ppm, s_base_va, n_phases, v_base_v)
    y_n = np.where(np.isnan(r_n), 1j * y_ppm, y_n)
    for w, delta in enumerate(deltas):
        if not delta:
            neutral = (w + 1) * (n_phases + 1) - 1
            yprim[:, neutral, neutral] += y_n[:, w]
    return yprim


def _block(
    names: list[str], parts: list[tuple[IntArray, IntArray, ComplexArray]], n_terminals: int
) -> PrimitiveBlock:
    """One block from layouts of equal ``k``, elements in network order."""
    if len(parts) == 1:
        rows, conductors, y_s = parts[0]  # one layout: rows are already ascending
    else:
        rows = np.concatenate([p[0] for p in parts])
        order = np.argsort(rows, kind="stable")
        rows = rows[order]
        conductors = np.concatenate([p[1] for p in parts])[order]
        y_s = np.concatenate([p[2] for p in parts])[order]
    return PrimitiveBlock(
        kind="transformers",
        names=tuple([names[i] for i in rows.tolist()]),
        conductors=conductors,
        y_s=y_s,
        n_terminals=n_terminals,
    )
