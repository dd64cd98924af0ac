"""A solved power flow as one JSON-ready document (``feederos solve --format json``, the API).

The document::

    {"summary":    {network, method, converged, iterations, control_iterations,
                    max_mismatch_a, worst_node, source_p_kw, source_q_kvar,
                    losses_kw, losses_kvar, v_min_pu, v_max_pu,
                    regulator_taps, capacitor_states, n_violations},
     "voltages":   [{bus, node, phase, v_volts, angle_deg, v_pu, energized}, ...],
     "branches":   [{element, terminal, conductor, bus, node, i_a, angle_deg,
                     p_kw, q_kvar, loading_pct}, ...],
     "violations": [{kind, element, node, value, limit}, ...]}

NaN is written as ``null``; units are in the key names (see docs/nomenclature.md).

Examples
--------
>>> from feederos.feeders import load_feeder
>>> from feederos.powerflow import solve
>>> doc = result_document(solve(load_feeder("ieee13")))
>>> sorted(doc), doc["summary"]["converged"]
(['branches', 'summary', 'violations', 'voltages'], True)
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from feederos.powerflow.result import PowerFlowResult

__all__ = ["records", "result_document", "summary_document"]


def records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """A table's rows as JSON-ready dicts: NaN as ``None``, NumPy scalars as Python ones.

    >>> records(pd.DataFrame({"v_pu": [1.0, float("nan")]}))
    [{'v_pu': 1.0}, {'v_pu': None}]
    """
    rows: list[dict[str, Any]] = json.loads(table.to_json(orient="records", double_precision=15))
    return rows


def summary_document(result: PowerFlowResult) -> dict[str, Any]:
    """``result.summary()`` with NaN as ``None`` (the document's ``summary``)."""
    return {
        k: None if isinstance(v, float) and math.isnan(v) else v
        for k, v in result.summary().items()
    }


def result_document(result: PowerFlowResult) -> dict[str, Any]:
    """``result`` as the document of the module docstring."""
    return {
        "summary": summary_document(result),
        "voltages": records(result.voltages),
        "branches": records(result.branches),
        "violations": records(result.violations()),
    }
