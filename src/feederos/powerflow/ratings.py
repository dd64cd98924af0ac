"""Normal current ratings of power-delivery elements, as OpenDSS's ``NormAmps``.

A rating is the current one conductor of the element's first terminal may carry
continuously [A]; a result's ``loading_pct`` divides the largest terminal-1 phase current
by it. Where a rating comes from, per kind:

- **lines** — the line's own ``ampacity_normal_a``; else its line code's; else, for a line
  built from a geometry (or spacing and wires), the geometry's, falling back to the first
  conductor's wire data; else OpenDSS's default of 400 A (``Line.pas``/``LineCode.pas``:
  ``NormAmps := 400``). A wire with no ampacity (stored as 0) gives no rating (NaN; OpenDSS
  then has ``NormAmps`` 0 or below, which it also treats as "no rating").
- **switches** — ``rated_current_a``; else 400 A, as OpenDSS gives every ``Line``,
  ``switch=yes`` ones included.
- **transformers** — ``normal_kva`` (the OpenDSS importer stores ``normhkva``, whose
  default is 110 % of winding 1's kVA), else winding 1's ``s_kva``, as the current of
  winding 1: ``kVA / phases / kV_phase`` where ``kV_phase`` is ``v_kv/√3`` for a
  multi-phase winding and ``v_kv`` for a single-phase one (OpenDSS ``Transformer.pas``,
  ``RecalcElementData``).
- **capacitors, reactors** — NaN: the model carries no current rating for them.

Examples
--------
>>> import numpy as np
>>> from feederos.feeders import load_feeder
>>> from feederos.powerflow.primitives import PrimitiveBlock
>>> net = load_feeder("ieee13")
>>> block = PrimitiveBlock(kind="transformers", names=("sub",),
...                        conductors=np.zeros((1, 8), dtype=np.int64),
...                        y_s=np.zeros((1, 8, 8), dtype=complex), n_terminals=2)
>>> pd_ratings_a(net, block).round(1).tolist()  # 5 MVA at 115 kV, normal 110 %
[27.6]
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from feederos.model import (
    ACLineSegment,
    LineGeometry,
    Network,
    PowerTransformer,
    Switch,
)
from feederos.powerflow.primitives.block import PrimitiveBlock

__all__ = ["OPENDSS_DEFAULT_LINE_AMPACITY_A", "pd_ratings_a", "transformer_rating_a"]

FloatArray = npt.NDArray[np.float64]

OPENDSS_DEFAULT_LINE_AMPACITY_A = 400.0
"""OpenDSS's ``normamps`` of a line or line code that does not give one [A]."""


def transformer_rating_a(transformer: PowerTransformer) -> float:
    """Normal current of winding 1 of ``transformer`` [A] (see the module docstring).

    Examples
    --------
    >>> from feederos.model import PowerTransformer, Terminal, TransformerWinding
    >>> w = [TransformerWinding(terminal=Terminal(bus=b), v_kv=kv, s_kva=500)
    ...      for b, kv in (("hv", 4.16), ("lv", 0.48))]
    >>> round(transformer_rating_a(PowerTransformer(name="t", windings=w)), 2)
    69.39
    """
    w1 = transformer.windings[0]
    kva = transformer.normal_kva if transformer.normal_kva is not None else w1.s_kva
    kv_phase = w1.v_kv / math.sqrt(3.0) if transformer.phases > 1 else w1.v_kv
    return kva / transformer.phases / kv_phase


class _LineRatings:
    """Look-up tables for line ratings, built once per network."""

    def __init__(self, network: Network) -> None:
        self.codes = {c.name: c.ampacity_normal_a for c in network.line_codes}
        self.geometries = {g.name: g for g in network.line_geometries}
        self.wires = {
            c.name: c.ampacity_normal_a
            for coll in (network.wire_data, network.cn_data, network.ts_data) for c in coll
        }

    def _conductors_a(self, geometry: LineGeometry | None, first_wire: str | None) -> float:
        if geometry is not None and geometry.ampacity_normal_a is not None:
            amps = geometry.ampacity_normal_a
        else:
            if first_wire is None and geometry is not None:
                first_wire = geometry.conductors[0]
            amps = self.wires.get(first_wire, 0.0) if first_wire is not None else 0.0
        # OpenDSS's ConductorData leaves normamps negative when not given: no rating.
        return amps if amps > 0 else math.nan

    def of(self, line: ACLineSegment) -> float:
        if line.ampacity_normal_a is not None:
            return line.ampacity_normal_a
        if line.line_code is not None:
            amps = self.codes.get(line.line_code)
            return amps if amps is not None else OPENDSS_DEFAULT_LINE_AMPACITY_A
        if line.geometry is not None:
            return self._conductors_a(self.geometries.get(line.geometry), None)
        if line.spacing is not None:
            return self._conductors_a(None, line.wires[0] if line.wires else None)
        return OPENDSS_DEFAULT_LINE_AMPACITY_A


def pd_ratings_a(network: Network, block: PrimitiveBlock) -> FloatArray:
    """Normal current rating of each element of a power-delivery ``block`` [A].

    Parameters
    ----------
    network
        The network the block was compiled from; elements are found by name in the
        collection named by ``block.kind``.
    block
        A block of kind ``lines``, ``switches``, ``transformers``, ``capacitors`` or
        ``reactors``.

    Returns
    -------
    numpy.ndarray
        One rating per element, NaN where there is none (module docstring) [A].
    """
    out = np.full(block.n_elements, math.nan)
    if block.kind == "lines":
        ratings = _LineRatings(network)
        lines: dict[str, ACLineSegment] = network.by_name("lines")
        for i, name in enumerate(block.names):
            out[i] = ratings.of(lines[name])
    elif block.kind == "switches":
        switches: dict[str, Switch] = network.by_name("switches")
        for i, name in enumerate(block.names):
            rated = switches[name].rated_current_a
            out[i] = rated if rated is not None else OPENDSS_DEFAULT_LINE_AMPACITY_A
    elif block.kind == "transformers":
        transformers: dict[str, PowerTransformer] = network.by_name("transformers")
        for i, name in enumerate(block.names):
            out[i] = transformer_rating_a(transformers[name])
    return out
