"""The compiled network: a feeder flattened once into arrays every solver runs on.

:func:`compile_network` turns a :class:`~feederos.model.Network` into a
:class:`CompiledNetwork`: the node numbering, each element's primitive admittance stacked
by kind (:class:`~feederos.powerflow.primitives.PrimitiveBlock`), the voltage-dependent
elements as :class:`~feederos.powerflow.injections.InjectionSet`, the control devices as
small tables, and the sparse system admittance matrix assembled from all of them. It is
immutable: a tap, capacitor-step or switch change gives a new object through
:meth:`CompiledNetwork.with_state`, rebuilding only what the change touches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse import csgraph

from feederos.errors import NetworkValidationError
from feederos.model import Network
from feederos.model.validation import Problem
from feederos.powerflow.injections.base import InjectionSet
from feederos.powerflow.injections.der import der_injections
from feederos.powerflow.injections.loads import load_injections
from feederos.powerflow.nodes import NodeIndex, node_index
from feederos.powerflow.primitives.block import PrimitiveBlock
from feederos.powerflow.primitives.lines import line_blocks, switch_blocks
from feederos.powerflow.primitives.shunts import capacitor_blocks, reactor_blocks
from feederos.powerflow.primitives.sources import source_blocks
from feederos.powerflow.primitives.transformers import (
    TapScaling,
    transformer_blocks,
    transformer_taps,
)
from feederos.powerflow.ratings import pd_ratings_a

__all__ = ["CompiledNetwork", "assemble_y", "compile_network", "energized_nodes"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class CompiledNetwork:
    """A network as arrays (see the module docstring).

    Attributes
    ----------
    network
        The network compiled (not copied; never modified).
    name
        Network name.
    frequency_hz
        System frequency [Hz].
    nodes
        Node numbering; every array over nodes follows it.
    pd_blocks
        Power-delivery elements (OpenDSS's PD elements): kinds ``lines``, ``switches``,
        ``transformers``, ``capacitors``, ``reactors``.
    pd_rating_a
        Normal current rating of each element of each PD block, parallel to
        ``pd_blocks`` [A]; NaN where unknown.
    source_block
        Primitive admittance of the sources (kind ``sources``).
    source_emf_v
        EMF behind each source conductor, shape of ``source_block.conductors`` [V]; the
        source's Norton injection is ``source_block.y_s @ source_emf_v``.
    injections
        Loads, generators and inverters.
    y
        System admittance matrix, CSC, ``n_nodes × n_nodes`` [S]: every PD block, the
        sources and each injection set's nominal block.
    energized
        Nodes connected to a source through closed elements; the rest are solved as 0 V.
    tap_pu
        Tap of every winding of every transformer, as used in ``y``.
    capacitor_states
        Step states of every capacitor, as used in ``y``.
    parent
        The compiled network this one was derived from by :meth:`with_state` or
        :meth:`with_injections` (through any number of steps), if any. Derived networks
        refer to it, never to each other, so a long time series holds no chain.
    y_change
        ``y`` minus the ``y`` of :attr:`root`: non-zero only at the nodes of the
        transformers and capacitors whose state differs from the root's, so solvers can
        update the root's factorisation instead of factorising ``y`` again.
    """

    network: Network
    name: str
    frequency_hz: float
    nodes: NodeIndex
    pd_blocks: tuple[PrimitiveBlock, ...]
    pd_rating_a: tuple[FloatArray, ...]
    source_block: PrimitiveBlock
    source_emf_v: ComplexArray
    injections: tuple[InjectionSet, ...]
    y: sp.csc_matrix
    energized: BoolArray
    tap_pu: dict[str, tuple[float, ...]]
    capacitor_states: dict[str, tuple[int, ...]]
    parent: CompiledNetwork | None = None
    y_change: sp.csc_matrix | None = None

    @property
    def root(self) -> CompiledNetwork:
        """The compiled network this one derives from (itself if it was compiled)."""
        return self if self.parent is None else self.parent

    def with_state(
        self,
        *,
        tap_pu: Mapping[str, Sequence[float]] | None = None,
        capacitor_states: Mapping[str, Sequence[int]] | None = None,
    ) -> CompiledNetwork:
        """A copy with other transformer taps and/or capacitor steps.

        Only the blocks holding a changed transformer or capacitor are rebuilt, and
        ``y`` is patched by the difference; everything else is shared with ``self``.
        Returns ``self`` when nothing changes.
        """
        taps = dict(self.tap_pu)
        changed: set[str] = set()
        for name, t in (tap_pu or {}).items():
            new = tuple(float(x) for x in t)
            if taps.get(name) != new:
                taps[name] = new
                changed.add(name)
        states = dict(self.capacitor_states)
        for name, st in (capacitor_states or {}).items():
            new_st = tuple(int(x) for x in st)
            if states.get(name) != new_st:
                states[name] = new_st
                changed.add(name)
        if not changed:
            return self
        network = self.network
        blocks = list(self.pd_blocks)
        new_blocks: list[PrimitiveBlock] = []
        changed_at: list[int] = []
        caps = [i for i, b in enumerate(self.pd_blocks) if b.kind == "capacitors"]
        if any(not changed.isdisjoint(self.pd_blocks[i].names) for i in caps):
            # Capacitor blocks are few and small: rebuild them all, in the same order.
            rebuilt = capacitor_blocks(network, self.nodes, states=states)
            for i, b in zip(caps, rebuilt, strict=True):
                new_blocks.append(b)
                changed_at.append(i)
                blocks[i] = b
        for i, block in enumerate(self.pd_blocks):
            if block.kind != "transformers" or changed.isdisjoint(block.names):
                continue
            scaling = self._tap_scalings.get(i)
            if scaling is None:
                scaling = TapScaling.of(network, self.nodes, self.root.pd_blocks[i])
                self._tap_scalings[i] = scaling
            b = replace(block, y_s=scaling.y_s(taps))
            new_blocks.append(b)
            changed_at.append(i)
            blocks[i] = b
        # Same elements on the same conductors: y keeps its pattern, only values move.
        data = self.y.data.copy()
        for i, b in zip(changed_at, new_blocks, strict=True):
            if not np.array_equal(b.conductors, self.pd_blocks[i].conductors):
                raise AssertionError("a rebuilt block changed layout")  # pragma: no cover
            pos = self._y_positions[i]
            keep = pos >= 0
            np.add.at(data, pos[keep], (b.y_s - self.pd_blocks[i].y_s)[keep])
        y = sp.csc_matrix((data, self.y.indices, self.y.indptr), shape=self.y.shape)
        root = self.root
        moved = np.flatnonzero(data != root.y.data)
        change = sp.csc_matrix(
            ((data - root.y.data)[moved], (self.y.indices[moved], self._y_columns[moved])),
            shape=self.y.shape,
        )
        return self._derive(pd_blocks=tuple(blocks), y=y, tap_pu=taps,
                            capacitor_states=states, y_change=change)

    def with_injections(self, injections: Sequence[InjectionSet]) -> CompiledNetwork:
        """A copy whose loads and DER draw differently (a time step's multipliers).

        ``injections`` must be this network's sets with other values (e.g.
        ``dataclasses.replace(load_set, mult=...)``), in the same order and on the same
        conductors. ``y`` keeps the compiled nominal admittances: the converged solution
        does not depend on them, and the factorisation is shared.

        Raises
        ------
        ValueError
            If the sets are not this network's, in order.
        """
        new = tuple(injections)
        if len(new) != len(self.injections) or any(
            a.kind != b.kind or not np.array_equal(a.conductors, b.conductors)
            for a, b in zip(self.injections, new, strict=True)
        ):
            raise ValueError("with_injections needs this network's injection sets, in order, "
                             "on the same conductors")
        change = self.y_change
        if change is None:
            change = sp.csc_matrix(self.y.shape, dtype=np.complex128)
        return self._derive(injections=new, y_change=change)

    def _derive(self, **changes: object) -> CompiledNetwork:
        """A copy with ``changes``, derived from :attr:`root`.

        Same elements in the same places: the lookups are shared, and solvers update the
        root's factorisation (see ``methods.fixed_point``).
        """
        child = replace(self, **changes)  # type: ignore[arg-type]
        for shared in ("_rows", "nominal_blocks", "_y_positions", "_y_columns", "_tap_scalings"):
            child.__dict__[shared] = getattr(self, shared)
        object.__setattr__(child, "parent", self.root)
        return child

    @cached_property
    def _y_positions(self) -> dict[int, IntArray]:
        """Per transformer or capacitor block, where each ``y_s`` entry sits in ``y.data``.

        ``(m, k, k)`` indices, ``-1`` where a conductor is ground; ``y`` has sorted
        indices and keeps explicit zeros, so every entry of every block is there.
        """
        n = self.y.shape[0]
        key = self._y_columns * n + self.y.indices  # ascending: CSC, sorted indices
        out: dict[int, IntArray] = {}
        for i, b in enumerate(self.pd_blocks):
            if b.kind not in ("transformers", "capacitors") or b.n_elements == 0:
                continue
            k = b.conductors.shape[1]
            r = np.repeat(b.conductors, k, axis=1).reshape(-1, k, k)
            c = np.tile(b.conductors, (1, k)).reshape(-1, k, k)
            pos = np.searchsorted(key, c * n + r)
            out[i] = np.where((r >= 0) & (c >= 0), pos, -1)
        return out

    @cached_property
    def _tap_scalings(self) -> dict[int, TapScaling]:
        """Per transformer block moved so far, its admittance as a function of the taps."""
        return {}

    @cached_property
    def _y_columns(self) -> IntArray:
        """Column of each entry of ``y.data``."""
        return np.repeat(np.arange(self.y.shape[1]), np.diff(self.y.indptr)).astype(np.int64)

    @cached_property
    def nominal_blocks(self) -> tuple[PrimitiveBlock, ...]:
        """Each injection set's nominal admittance (as in ``y``), built once."""
        return tuple(s.nominal_block() for s in self.injections)

    @cached_property
    def _rows(self) -> dict[tuple[str, str], tuple[int, int]]:
        return {
            (b.kind, name): (i, m)
            for i, b in enumerate(self.pd_blocks)
            for m, name in enumerate(b.names)
        }

    def block(self, kind: str, name: str) -> tuple[PrimitiveBlock, int]:
        """The PD block holding element ``kind``/``name`` and its row in that block.

        Raises
        ------
        KeyError
            If there is no such element.
        """
        try:
            i, m = self._rows[(kind, name)]
        except KeyError:
            raise KeyError(
                f"{kind}.{name} is not a power-delivery element of {self.name!r}"
            ) from None
        return self.pd_blocks[i], m


def assemble_y(n_nodes: int, blocks: Iterable[PrimitiveBlock]) -> sp.csc_matrix:
    """Scatter-add primitive admittances into the system matrix; ground rows dropped.

    Examples
    --------
    >>> import numpy as np
    >>> b = PrimitiveBlock("lines", ("a",), np.array([[0, -1]]),
    ...                    np.array([[[2 + 0j, -2], [-2, 2]]]), 2)
    >>> assemble_y(1, [b]).toarray().tolist()
    [[(2+0j)]]
    """
    rows: list[IntArray] = []
    cols: list[IntArray] = []
    vals: list[ComplexArray] = []
    for b in blocks:
        if b.n_elements == 0:
            continue
        k = b.conductors.shape[1]
        r = np.repeat(b.conductors, k, axis=1).ravel()
        c = np.tile(b.conductors, (1, k)).ravel()
        keep = (r >= 0) & (c >= 0)
        rows.append(r[keep])
        cols.append(c[keep])
        vals.append(b.y_s.reshape(-1)[keep])
    if not rows:
        return sp.csc_matrix((n_nodes, n_nodes), dtype=np.complex128)
    y = sp.coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_nodes, n_nodes),
    ).tocsc()
    y.sum_duplicates()  # sorts the indices too; explicit zeros stay, keeping the pattern
    return y


def energized_nodes(y: sp.csc_matrix, source_nodes: IntArray) -> BoolArray:
    """Nodes coupled to a source node through non-zero admittances."""
    n = y.shape[0]
    # Opened conductors leave explicit zeros (and tiny diagonal terms) behind: only
    # off-diagonal entries that are really there couple nodes.
    pattern = sp.csr_matrix(
        (np.abs(y.data) > 0, y.indices.copy(), y.indptr.copy()), shape=(n, n)
    )
    pattern.eliminate_zeros()  # in place: hence the copies above
    _, label = csgraph.connected_components(pattern, directed=False)
    live = np.unique(label[source_nodes[source_nodes >= 0]])
    return np.isin(label, live)


def compile_network(network: Network) -> CompiledNetwork:
    """Flatten ``network`` into a :class:`CompiledNetwork`.

    Raises
    ------
    TopologyError
        If an element's terminal names a bus or node the network lacks.
    NetworkValidationError
        If the network has no source.

    Examples
    --------
    >>> from feederos.feeders import load_feeder
    >>> c = compile_network(load_feeder("ieee13"))
    >>> c.y.shape, int(c.energized.sum())
    ((41, 41), 41)
    """
    if not network.sources:
        raise NetworkValidationError(
            [Problem("sources", network.name, "sources", "a power flow needs a source; add one")]
        )
    nodes = node_index(network)
    # The transformers regulators move get blocks of their own, so a control action
    # rebuilds a few small blocks, not all of them.
    regulated = list(dict.fromkeys(r.transformer for r in network.regulators))
    fixed = [t.name for t in network.transformers if t.name not in set(regulated)]
    pd: list[PrimitiveBlock] = [
        *line_blocks(network, nodes),
        *switch_blocks(network, nodes),
        *transformer_blocks(network, nodes, only=fixed),
        *transformer_blocks(network, nodes, only=regulated),
        *capacitor_blocks(network, nodes),
        *reactor_blocks(network, nodes),
    ]
    source_block, emf = source_blocks(network, nodes)
    injections: tuple[InjectionSet, ...] = (
        *load_injections(network, nodes),
        *der_injections(network, nodes),
    )
    nominal = tuple(s.nominal_block() for s in injections)
    y = assemble_y(nodes.n_nodes, [*pd, source_block, *nominal])
    compiled = CompiledNetwork(
        network=network,
        name=network.name,
        frequency_hz=network.base_frequency_hz,
        nodes=nodes,
        pd_blocks=tuple(pd),
        pd_rating_a=tuple(pd_ratings_a(network, b) for b in pd),
        source_block=source_block,
        source_emf_v=emf,
        injections=injections,
        y=y,
        energized=energized_nodes(y, source_block.conductors.ravel()),
        tap_pu=transformer_taps(network),
        capacitor_states={
            c.name: tuple(c.states) if c.states else (1,) * len(c.q_kvar)
            for c in network.capacitors
        },
    )
    compiled.__dict__["nominal_blocks"] = nominal
    return compiled
