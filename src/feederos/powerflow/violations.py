"""Voltage and thermal limit checks on power-flow results.

Voltages are checked against ANSI C84.1-2020 *service voltage* ranges, expressed in per
unit of the nominal line-to-neutral voltage (120 V on a 120 V base):

========  ===================  ==================
range     low                  high
========  ===================  ==================
A         114 V = 0.95 pu      126 V = 1.05 pu
B         110 V = 0.9167 pu    127 V = 1.0583 pu
========  ===================  ==================

The per-unit base is each bus's line-to-neutral base voltage (``Bus.v_base_kv/√3``) and
the voltage is node-to-ground, as OpenDSS reports ``puVmagAngle``. Only phase nodes
(1, 2, 3) of energised buses with a base voltage are checked: nodes 4 and up are
neutrals or auxiliary conductors whose voltage is not a service voltage. Thermal limits:
an element whose ``loading_pct`` exceeds 100 % of its normal rating is overloaded.

Examples
--------
>>> import numpy as np
>>> t = voltage_violations(np.array(["b1", "b1", "b2"]), np.array([1, 2, 1]),
...                        np.array([0.94, 1.0, 1.055]), limits=ansi_c84_1_limits("A"))
>>> t[["kind", "element", "node", "value", "limit"]].values.tolist()
[['undervoltage', 'b1', 1, 0.94, 0.95], ['overvoltage', 'b2', 1, 1.055, 1.05]]
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "VIOLATION_COLUMNS",
    "AnsiRange",
    "VoltageLimits",
    "ansi_c84_1_limits",
    "overload_violations",
    "voltage_violations",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

VIOLATION_COLUMNS = ("kind", "element", "node", "value", "limit")
"""Columns of every violations table: ``kind`` (``undervoltage``, ``overvoltage`` or
``overload``), ``element`` (the bus for a voltage, ``kind.name`` for an overload),
``node`` (OpenDSS node number), ``value`` (``v_pu`` or ``loading_pct``) and ``limit``."""


class AnsiRange(StrEnum):
    """ANSI C84.1 voltage range: A (normal operation) or B (infrequent, corrective)."""

    A = "A"
    B = "B"


@dataclass(frozen=True)
class VoltageLimits:
    """Allowed voltage band [pu of the line-to-neutral base]."""

    v_min_pu: float
    v_max_pu: float


_SERVICE_V_ON_120 = {AnsiRange.A: (114.0, 126.0), AnsiRange.B: (110.0, 127.0)}


def ansi_c84_1_limits(range_: AnsiRange | str = AnsiRange.A) -> VoltageLimits:
    """ANSI C84.1 service-voltage limits of ``range_`` in per unit of 120 V.

    Examples
    --------
    >>> ansi_c84_1_limits("B")
    VoltageLimits(v_min_pu=0.9166666666666666, v_max_pu=1.0583333333333333)
    """
    low_v, high_v = _SERVICE_V_ON_120[AnsiRange(range_)]
    return VoltageLimits(v_min_pu=low_v / 120.0, v_max_pu=high_v / 120.0)


def _table(kind: npt.ArrayLike, element: npt.ArrayLike, node: npt.ArrayLike,
           value: npt.ArrayLike, limit: npt.ArrayLike) -> pd.DataFrame:
    return pd.DataFrame({
        "kind": np.asarray(kind, dtype=object),
        "element": np.asarray(element, dtype=object),
        "node": np.asarray(node, dtype=np.int64),
        "value": np.asarray(value, dtype=np.float64),
        "limit": np.asarray(limit, dtype=np.float64),
    })


def voltage_violations(bus: npt.ArrayLike, node: IntArray, v_pu: FloatArray, *,
                       limits: VoltageLimits) -> pd.DataFrame:
    """Nodes whose voltage is outside ``limits``.

    Parameters
    ----------
    bus, node
        Bus name and OpenDSS node number of each node.
    v_pu
        Voltage magnitude of each node [pu]; NaN (no base, or a node not to check) is
        never a violation.
    limits
        The allowed band, e.g. :func:`ansi_c84_1_limits`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`VIOLATION_COLUMNS`, undervoltages and overvoltages in node order.
    """
    v_pu = np.asarray(v_pu, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        low = v_pu < limits.v_min_pu
        high = v_pu > limits.v_max_pu
    hit = low | high
    kind = np.where(low[hit], "undervoltage", "overvoltage")
    limit = np.where(low[hit], limits.v_min_pu, limits.v_max_pu)
    return _table(kind, np.asarray(bus, dtype=object)[hit], np.asarray(node)[hit],
                  v_pu[hit], limit)


def overload_violations(element: npt.ArrayLike, node: IntArray, loading_pct: FloatArray, *,
                        limit_pct: float = 100.0) -> pd.DataFrame:
    """Elements loaded beyond ``limit_pct`` of their normal rating.

    Parameters
    ----------
    element
        Element name (``kind.name``) per element.
    node
        OpenDSS node number of the conductor carrying the largest current.
    loading_pct
        Largest terminal-1 current over the normal rating [%]; NaN (no rating) is never
        a violation.
    limit_pct
        Allowed loading [%].

    Examples
    --------
    >>> overload_violations(np.array(["line.a", "line.b"]), np.array([1, 2]),
    ...                     np.array([101.0, np.nan])).values.tolist()
    [['overload', 'line.a', 1, 101.0, 100.0]]
    """
    loading_pct = np.asarray(loading_pct, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        hit = loading_pct > limit_pct
    n = int(hit.sum())
    return _table(np.full(n, "overload", dtype=object), np.asarray(element, dtype=object)[hit],
                  np.asarray(node)[hit], loading_pct[hit], np.full(n, limit_pct))
