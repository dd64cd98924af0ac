"""What a time series records beyond its totals: chosen node voltages and branch currents.

A :class:`Record` names buses and power-delivery elements; :func:`feederos.timeseries.run`
then reports, at every step, the voltage magnitude of each phase node of those buses
[pu of the bus's line-to-neutral base] and each element's largest terminal-1 phase
current [A] (OpenDSS's ``MaxTerminalOneIMag``, what a thermal rating is compared with)
and its loading [pu of its normal rating; NaN where it has none].

:class:`Recorder` resolves a record once on a compiled network (every unknown name is
reported at once, as a :class:`~feederos.errors.NetworkValidationError`) and takes the
recorded values from solutions: many columns at one control state
(:meth:`Recorder.take`), or inside the compiled stepper (:class:`RecordArrays`,
:func:`record_step`).

Examples
--------
>>> import numpy as np
>>> from feederos.feeders import load_feeder
>>> from feederos.powerflow import solve
>>> r = solve(load_feeder("ieee13"))
>>> rec = Recorder(r.compiled, Record(buses=("675",), elements=("Line.650632",)))
>>> rec.node_labels, rec.element_labels
(('675.1', '675.2', '675.3'), ('line.650632',))
>>> v_pu, i_a = rec.take(r.compiled, r.v[:, None])
>>> bool(np.allclose(v_pu[0], r.voltages.query("bus == '675'").sort_values("node").v_pu))
True
>>> bool(np.isclose(i_a[0, 0], r.loading.set_index("element").i_max_a["line.650632"]))
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from numba import njit

from feederos.errors import NetworkValidationError
from feederos.model.validation import Problem
from feederos.powerflow.compiled import CompiledNetwork
from feederos.powerflow.result import element_kind
from feederos.powerflow.totals import inverse_ratings, max_current_into, rated_conductors

__all__ = ["Record", "RecordArrays", "Recorder", "record_step"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]


@dataclass(frozen=True)
class Record:
    """What to record at every step.

    Attributes
    ----------
    buses
        Bus names: each phase node (1–3) of each is recorded [pu].
    elements
        Power-delivery elements as ``class.name`` (OpenDSS's, any case: ``Line.650632``,
        ``Transformer.reg1``; or our collections' names, ``lines.650632``): each one's
        largest terminal-1 phase current [A] and loading [pu of normal rating].
    """

    buses: Sequence[str] = ()
    elements: Sequence[str] = ()


class RecordArrays(NamedTuple):
    """A record as :func:`record_step` takes it: the recorded nodes and their bases [V],
    and per element the offsets of its admittance and conductors in the compiled
    stepper's flat PD arrays (``at_y``, ``at_c``), its conductors ``k`` and rated
    conductors."""

    nodes: IntArray
    v_base_v: FloatArray
    at_y: IntArray
    at_c: IntArray
    k: IntArray
    rated: IntArray


class Recorder:
    """A :class:`Record` resolved on a compiled network (see the module docstring).

    Attributes
    ----------
    node_labels, element_labels
        The recorded nodes (``bus.node``) and elements (``kind.name``, as
        :class:`~feederos.powerflow.PowerFlowResult` names them), the columns of the
        recorded frames.
    rating_a
        Each element's normal rating [A] (NaN: none).

    Raises
    ------
    NetworkValidationError
        Naming every bus or element the network lacks, or an element that is not a
        power-delivery element.
    """

    def __init__(self, compiled: CompiledNetwork, record: Record) -> None:
        nodes = compiled.nodes
        problems: list[Problem] = []
        bus_of = {name: i for i, name in enumerate(nodes.buses)}
        bus_of.update({name.lower(): i for name, i in bus_of.items()
                       if name.lower() not in bus_of})  # OpenDSS's names ignore case
        chosen: list[int] = []
        for bus in dict.fromkeys(record.buses):
            if bus not in bus_of and bus.lower() not in bus_of:
                problems.append(Problem("buses", bus, "record",
                                        f"no bus named {bus!r}; record one of the network's"))
                continue
            at = np.flatnonzero((nodes.bus == bus_of.get(bus, bus_of.get(bus.lower())))
                                & (nodes.node >= 1)
                                & (nodes.node <= 3))
            chosen.extend(int(i) for i in at[np.argsort(nodes.node[at], kind="stable")])
        self.nodes = np.array(chosen, dtype=np.int64)
        self.node_labels = tuple(nodes.label(int(i)) for i in self.nodes)
        self.v_base_v = np.ascontiguousarray(nodes.v_base_ln_v[self.nodes], dtype=np.float64)
        self.elements: list[tuple[int, int]] = []
        labels = []
        block_of = {id(b): i for i, b in enumerate(compiled.pd_blocks)}
        collections = {b.kind for b in compiled.pd_blocks}
        kinds = {**{element_kind(c): c for c in collections}, **{c: c for c in collections}}
        for spec in dict.fromkeys(record.elements):
            kind, _, name = spec.partition(".")
            collection = kinds.get(kind.lower())
            try:
                if not name or collection is None:
                    raise KeyError(spec)
                try:
                    block, row = compiled.block(collection, name)
                except KeyError:
                    name = name.lower()
                    block, row = compiled.block(collection, name)
            except KeyError:
                problems.append(Problem("elements", spec, "record",
                                        f"no power-delivery element {spec!r}; name it as "
                                        "class.name, e.g. Line.650632 or Transformer.reg1"))
                continue
            self.elements.append((block_of[id(block)], row))
            labels.append(f"{element_kind(collection)}.{name}")
        if problems:
            raise NetworkValidationError(problems)
        self._blocks = compiled.pd_blocks
        self.element_labels = tuple(labels)
        self.rating_a = np.array([compiled.pd_rating_a[b][m] for b, m in self.elements],
                                 dtype=np.float64)
        self.inv_rating = inverse_ratings(self.rating_a)

    def take(self, state: CompiledNetwork, v: ComplexArray) -> tuple[FloatArray, FloatArray]:
        """The recorded voltages ``(K, nodes)`` [pu] and currents ``(K, elements)`` [A]
        of the solutions ``v`` ``(n, K)`` at the control ``state`` (a network derived
        from the one resolved on: the same nodes and blocks)."""
        k = v.shape[1]
        v_pu = (np.abs(v[self.nodes, :]) / self.v_base_v[:, None]).T
        i_a = np.zeros((len(self.elements), k))
        columns = np.ascontiguousarray(v)
        for e, (b, m) in enumerate(self.elements):
            block = state.pd_blocks[b]
            max_current_into(block.y_s[m:m + 1], block.conductors[m:m + 1],
                         rated_conductors(block), columns, i_a[e:e + 1])
        return np.ascontiguousarray(v_pu), i_a.T.copy()

    def arrays(self, offsets: Sequence[tuple[int, int]]) -> RecordArrays:
        """The record for :func:`record_step`, with ``offsets[b]`` the ``(conductor, y)``
        offsets of PD block ``b``'s first element in the stepper's flat arrays."""
        at_y, at_c, ks, rated = [], [], [], []
        for b, m in self.elements:
            block = self._blocks[b]
            k = block.conductors.shape[1]
            c0, y0 = offsets[b]
            at_c.append(c0 + m * k)
            at_y.append(y0 + m * k * k)
            ks.append(k)
            rated.append(rated_conductors(block))

        def ints(values: list[int]) -> IntArray:
            return np.array(values, dtype=np.int64)

        return RecordArrays(self.nodes, self.v_base_v, ints(at_y), ints(at_c), ints(ks),
                            ints(rated))


@njit(cache=True, nogil=True)
def record_step(r: RecordArrays, pd_y: ComplexArray, conductors: IntArray, v: ComplexArray,
                v_pu: FloatArray, i_a: FloatArray) -> None:  # pragma: no cover - compiled
    """One step's recorded voltages [pu] into ``v_pu`` and currents [A] into ``i_a``, from
    its solution ``v`` and the PD admittances ``pd_y`` at its control state."""
    for q in range(r.nodes.size):
        x = v[r.nodes[q]]
        v_pu[q] = np.sqrt(x.real * x.real + x.imag * x.imag) / r.v_base_v[q]
    column = v.reshape((v.size, 1))
    out = np.zeros((1, 1))
    for e in range(r.k.size):
        k, at_y, at_c = r.k[e], r.at_y[e], r.at_c[e]
        out[0, 0] = 0.0
        max_current_into(pd_y[at_y:at_y + k * k].reshape((1, k, k)),
                     conductors[at_c:at_c + k].reshape((1, k)), r.rated[e], column, out)
        i_a[e] = out[0, 0]
