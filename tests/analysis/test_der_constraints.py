"""The checks of a hosting-capacity study, on hand-made observations."""

from __future__ import annotations

import numpy as np

from feederos.analysis.der_constraints import (
    ElementNames,
    HostingLimits,
    Observation,
    first_violation,
)

NAMES = ElementNames(nodes=("a.1", "b.1"), pd_elements=("line.x",), regulators=("r1",))


def _obs(v: list[list[float]], loading: list[float], p: list[float], reg: list[float],
         converged: list[bool] | None = None) -> Observation:
    k = len(p)
    return Observation(v_pu=np.array(v, dtype=float).reshape(2, k),
                       loading_pct=np.array([loading], dtype=float),
                       source_p_kw=np.array(p, dtype=float),
                       regulator_p_kw=np.array([reg], dtype=float),
                       converged=np.array(converged or [True] * k))


BASE = _obs([[1.04], [0.96]], [50.0], [100.0], [80.0])


def test_each_constraint_is_named_with_its_element() -> None:
    a, b = 1.04, 0.96  # within 3 % of the base: the change is no violation
    now = _obs([[a, 1.055, a, a, a, a], [b, b, 0.945, b, b, b]],
               [50, 50, 50, 130, 50, 50], [90, 90, 90, 90, -5, 90], [70, 70, 70, 70, 70, -1])
    v = first_violation(now, BASE, HostingLimits(), NAMES)
    assert v.ok.tolist() == [True, False, False, False, False, False]
    assert v.constraint.tolist() == ["", "overvoltage", "undervoltage", "thermal",
                                     "reverse_flow", "reverse_flow"]
    assert v.element.tolist() == ["", "a.1", "b.1", "line.x", "substation", "r1"]
    assert (v.excess[1:] > 0).all() and v.excess[0] < 0


def test_the_furthest_broken_limit_binds() -> None:
    # 1.06 breaks 1.05 by 0.95 %; a 3.5 % change breaks 3 % by 17 %
    base = _obs([[1.025], [1.0]], [50.0], [100.0], [80.0])
    now = _obs([[1.06], [1.0]], [50.0], [90.0], [70.0])
    v = first_violation(now, base, HostingLimits(), NAMES)
    assert v.constraint.tolist() == ["voltage_change"]


def test_locked_voltages_drive_the_change_check() -> None:
    now = _obs([[1.02], [0.96]], [50.0], [90.0], [70.0])
    locked = np.array([[1.045], [0.92]])
    assert first_violation(now, BASE, HostingLimits(), NAMES).ok.all()
    v = first_violation(now, BASE, HostingLimits(), NAMES, locked_v_pu=locked)
    assert v.constraint.tolist() == ["voltage_change"]


def test_standing_violations_are_not_the_ders() -> None:
    base = _obs([[1.06], [1.0]], [120.0], [100.0], [-10.0])
    now = _obs([[1.07], [1.0]], [125.0], [90.0], [-20.0])
    assert first_violation(now, base, HostingLimits(), NAMES).ok.all()


def test_no_convergence_is_a_violation() -> None:
    now = _obs([[1.04], [0.96]], [50.0], [90.0], [70.0], converged=[False])
    v = first_violation(now, BASE, HostingLimits(), NAMES)
    assert v.ok.tolist() == [False] and v.constraint.tolist() == ["not_converged"]
    assert np.isnan(v.excess[0])
