"""ANSI C84.1 voltage limits and thermal overload checks (pure functions)."""

from __future__ import annotations

import numpy as np
import pytest

from feederos.powerflow.violations import (
    VIOLATION_COLUMNS,
    AnsiRange,
    ansi_c84_1_limits,
    overload_violations,
    voltage_violations,
)


@pytest.mark.parametrize(
    ("range_", "low_v", "high_v"), [("A", 114.0, 126.0), (AnsiRange.B, 110.0, 127.0)]
)
def test_limits_are_the_service_voltages_on_120_v(range_: str, low_v: float,
                                                  high_v: float) -> None:
    limits = ansi_c84_1_limits(range_)
    assert limits.v_min_pu * 120 == pytest.approx(low_v)
    assert limits.v_max_pu * 120 == pytest.approx(high_v)


def test_unknown_range_is_refused() -> None:
    with pytest.raises(ValueError, match="C"):
        ansi_c84_1_limits("C")


def test_voltage_violations_outside_the_band_only() -> None:
    limits = ansi_c84_1_limits("A")
    bus = np.array(["x", "x", "x", "y", "y", "z"], dtype=object)
    node = np.array([1, 2, 3, 1, 2, 1])
    v_pu = np.array([0.95, 0.9499, 1.05, 1.0501, np.nan, 1.2])
    t = voltage_violations(bus, node, v_pu, limits=limits)
    assert tuple(t.columns) == VIOLATION_COLUMNS
    assert t.values.tolist() == [
        ["undervoltage", "x", 2, 0.9499, 0.95],
        ["overvoltage", "y", 1, 1.0501, 1.05],
        ["overvoltage", "z", 1, 1.2, 1.05],
    ]


def test_range_b_is_wider() -> None:
    v_pu = np.array([0.93, 1.055])
    args = (np.array(["a", "b"], dtype=object), np.array([1, 1]), v_pu)
    assert len(voltage_violations(*args, limits=ansi_c84_1_limits("A"))) == 2
    assert len(voltage_violations(*args, limits=ansi_c84_1_limits("B"))) == 0


def test_overloads_above_the_limit_and_not_nan() -> None:
    t = overload_violations(np.array(["line.a", "line.b", "transformer.t"], dtype=object),
                            np.array([1, 2, 3]), np.array([100.0, np.nan, 130.5]))
    assert t.values.tolist() == [["overload", "transformer.t", 3, 130.5, 100.0]]
    relaxed = overload_violations(np.array(["transformer.t"], dtype=object), np.array([3]),
                                  np.array([130.5]), limit_pct=150.0)
    assert relaxed.empty


def test_empty_tables_keep_their_columns_and_types() -> None:
    t = voltage_violations(np.array([], dtype=object), np.array([], dtype=np.int64),
                           np.array([]), limits=ansi_c84_1_limits())
    assert t.empty and tuple(t.columns) == VIOLATION_COLUMNS
    assert t["value"].dtype == np.float64 and t["node"].dtype == np.int64
