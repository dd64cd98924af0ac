"""What limits how much DER a feeder takes: the checks of a hosting-capacity study.

A DER (PV, or an EV charger's load) of ``P`` kW at one bus is acceptable while:

- **voltage**: every energised phase node with a base stays inside ANSI C84.1 range A
  (0.95 … 1.05 pu);
- **thermal**: every power-delivery element with a rating carries at most 100 % of its
  normal rating at terminal 1 (OpenDSS ``MaxTerminalOneIMag``);
- **reverse flow**: the substation (the sources together) and each regulator keep
  delivering active power forward, if they did without the DER (each check may be
  switched off: a reversible regulator, a substation allowed to export);
- **voltage change**: losing the DER all at once (a cloud, an inverter trip, a charger
  stopping) moves no node by more than 3 % of its base — the difference between the
  voltages with and without it at the same taps.

A limit the feeder already breaks without the DER (a node above 1.05 pu, an overloaded
line) is a standing violation, not the DER's: that node or element is left out of that
check (:func:`standing_violations` lists them), though still held to the voltage-change
limit. A solution that does not converge counts as a violation: the feeder cannot
carry it.

The voltage-change check reads the feeder before its controls respond — a DER's output
changes within seconds (a cloud, a trip) while a regulator waits 30–90 s — at the taps
and capacitor states it had without the DER. The steady-state checks (voltage, thermal,
reverse flow) read it either at those same settings (the default of the sweep: the
instant after the DER comes on) or after the regulators and capacitor controls have
responded, as a snapshot with OpenDSS's static control mode settles.

These are the checks of EPRI's DRIVE method in simplified form (J. Smith, M. Rylander,
*Stochastic Analysis to Determine Feeder Hosting Capacity for Distributed Solar PV*,
EPRI 1026640, 2012; *Streamlined Method*, EPRI 3002005786, 2015): steady-state
voltage, thermal, reverse power flow and voltage deviation on loss of the DER, with
3 % the deviation limit EPRI uses for primary feeders.

Both the vectorised sweep (:mod:`feederos.analysis.hosting_capacity`) and the
one-bus search of full power flows (:mod:`feederos.analysis.capacity_search`) judge
their solutions with :func:`first_violation`, from :class:`Observation` s they take
each their own way.

Examples
--------
A node that rises from 1.04 to 1.06 pu breaks range A:

>>> import numpy as np
>>> base = Observation(v_pu=np.array([[1.04]]), loading_pct=np.zeros((0, 1)),
...                    source_p_kw=np.array([100.0]), regulator_p_kw=np.zeros((0, 1)),
...                    converged=np.array([True]))
>>> now = Observation(v_pu=np.array([[1.04, 1.06]]), loading_pct=np.zeros((0, 2)),
...                   source_p_kw=np.array([90.0, 80.0]), regulator_p_kw=np.zeros((0, 2)),
...                   converged=np.array([True, True]))
>>> v = first_violation(now, base, HostingLimits(), ElementNames(("n1.1",), (), ()))
>>> v.ok.tolist(), v.constraint.tolist(), v.element.tolist()
([True, False], ['', 'overvoltage'], ['', 'n1.1'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from feederos.powerflow.compiled import CompiledNetwork
from feederos.powerflow.controls import RegulatorTable
from feederos.powerflow.violations import AnsiRange, VoltageLimits, ansi_c84_1_limits

__all__ = [
    "Constraint",
    "ElementNames",
    "HostingLimits",
    "Observation",
    "ReverseFlow",
    "Verdict",
    "first_violation",
    "regulator_power_kw",
    "service_nodes",
    "standing_violations",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
ComplexArray = npt.NDArray[np.complex128]
StrArray = npt.NDArray[np.str_]


class Constraint(StrEnum):
    """What stops more DER at a bus."""

    OVERVOLTAGE = "overvoltage"
    UNDERVOLTAGE = "undervoltage"
    THERMAL = "thermal"
    REVERSE_FLOW = "reverse_flow"
    VOLTAGE_CHANGE = "voltage_change"
    NOT_CONVERGED = "not_converged"
    NONE = "none"
    """Nothing up to the largest size searched."""


class ReverseFlow(StrEnum):
    """Where reverse active power flow is a violation."""

    SUBSTATION = "substation"
    REGULATORS = "regulators"


@dataclass(frozen=True)
class HostingLimits:
    """The limits a DER must keep (module docstring).

    Attributes
    ----------
    voltage
        Allowed steady-state band [pu]; default ANSI C84.1 range A.
    thermal_pct
        Allowed loading of a rated element [% of its normal rating].
    voltage_change_pu
        Allowed change of any node's voltage when the DER is lost [pu of its base].
    reverse_flow
        Where power must keep flowing forward.
    """

    voltage: VoltageLimits = field(default_factory=lambda: ansi_c84_1_limits(AnsiRange.A))
    thermal_pct: float = 100.0
    voltage_change_pu: float = 0.03
    reverse_flow: frozenset[ReverseFlow] = frozenset(ReverseFlow)


@dataclass(frozen=True)
class Observation:
    """What the checks read of ``K`` solutions, one column each.

    Attributes
    ----------
    v_pu
        Voltage of each checked node ``(n, K)`` [pu] (:func:`service_nodes`).
    loading_pct
        Loading of each power-delivery element ``(m, K)`` [%]; NaN where unrated.
    source_p_kw
        Active power the sources deliver ``(K,)`` [kW].
    regulator_p_kw
        Active power through each regulator away from its transformer on the sensed
        winding ``(r, K)`` [kW] (:func:`regulator_power_kw`).
    converged
        Whether each solution converged ``(K,)``.
    """

    v_pu: FloatArray
    loading_pct: FloatArray
    source_p_kw: FloatArray
    regulator_p_kw: FloatArray
    converged: BoolArray


@dataclass(frozen=True)
class ElementNames:
    """Names the verdict reports: checked nodes (``bus.node``), power-delivery elements
    (``kind.name``) and regulators, in the rows of an :class:`Observation`."""

    nodes: tuple[str, ...]
    pd_elements: tuple[str, ...]
    regulators: tuple[str, ...]


@dataclass(frozen=True)
class Verdict:
    """Per column: acceptable, else the constraint broken furthest (relative to its own
    limit) and the element it is broken at (``""`` where acceptable); and ``excess``,
    how far the closest or furthest-broken limit is exceeded, relative to the limit
    (negative: the room left; NaN where the solution did not converge)."""

    ok: BoolArray
    constraint: StrArray
    element: StrArray
    excess: FloatArray


def service_nodes(compiled: CompiledNetwork) -> IntArray:
    """Nodes whose voltage is checked: energised phase nodes (1–3) with a base, as
    :attr:`~feederos.powerflow.PowerFlowResult.v_min_pu` reads them."""
    nodes = compiled.nodes
    base = nodes.v_base_ln_v
    keep = (compiled.energized & (nodes.node >= 1) & (nodes.node <= 3) & np.isfinite(base)
            & (base > 0))
    return np.flatnonzero(keep).astype(np.int64)


def regulator_power_kw(compiled: CompiledNetwork, regs: RegulatorTable,
                       v: ComplexArray) -> FloatArray:
    """Active power each regulator passes forward, ``(r, K)`` for ``v`` ``(n, K)`` [kW]:
    out of its transformer at the sensed winding (the load side as usually set up), as
    :class:`~feederos.powerflow.controls.RegulatorSample`'s ``forward_power_w``."""
    out = np.zeros((regs.n, v.shape[1]))
    for k, (name, w) in enumerate(zip(regs.transformers, regs.winding, strict=True)):
        block, m = compiled.block("transformers", name)
        c = block.conductors_per_terminal
        idx = block.conductors[m]
        v_el = np.where((idx >= 0)[:, None], v[np.maximum(idx, 0)], 0.0)  # (conductors, K)
        i_term = block.y_s[m, (w - 1) * c: w * c] @ v_el
        out[k] = -np.real(np.sum(v_el[(w - 1) * c: w * c] * np.conj(i_term), axis=0)) / 1e3
    return out


def first_violation(now: Observation, base: Observation, limits: HostingLimits,
                    names: ElementNames, *, locked_v_pu: FloatArray | None = None) -> Verdict:
    """Judge each column of ``now`` against ``limits`` and the feeder without the DER,
    ``base`` (one column).

    ``locked_v_pu`` are the voltages with the DER at ``base``'s taps and capacitor
    states, for the voltage-change check, where ``now`` let the controls act (default:
    ``now``'s own)."""
    k = now.source_p_kw.shape[0]
    excess: list[tuple[Constraint, FloatArray, StrArray]] = []

    def worst(values: FloatArray, labels: tuple[str, ...]) -> tuple[FloatArray, StrArray]:
        if values.shape[0] == 0:
            return np.full(k, -np.inf), np.full(k, "", dtype=object)
        filled = np.where(np.isnan(values), -np.inf, values)
        at = np.argmax(filled, axis=0)
        return filled[at, np.arange(k)], np.asarray(labels, dtype=object)[at]

    v0 = base.v_pu[:, :1]
    # a limit broken without the DER is not the DER's to answer for: skip it there
    high, low = limits.voltage.v_max_pu, limits.voltage.v_min_pu
    excess.append((Constraint.OVERVOLTAGE, *worst(
        np.where(v0 > high, -np.inf, (now.v_pu - high) / high), names.nodes)))
    excess.append((Constraint.UNDERVOLTAGE, *worst(
        np.where(v0 < low, -np.inf, (low - now.v_pu) / low), names.nodes)))
    change = np.abs((now.v_pu if locked_v_pu is None else locked_v_pu) - v0)
    excess.append((Constraint.VOLTAGE_CHANGE,
                   *worst((change - limits.voltage_change_pu) / limits.voltage_change_pu,
                          names.nodes)))
    with np.errstate(invalid="ignore"):  # NaN: unrated
        standing = base.loading_pct[:, :1] > limits.thermal_pct
    over = np.where(standing, -np.inf, (now.loading_pct - limits.thermal_pct)
                    / limits.thermal_pct)
    excess.append((Constraint.THERMAL, *worst(over, names.pd_elements)))
    if ReverseFlow.SUBSTATION in limits.reverse_flow and base.source_p_kw[0] > 0:
        excess.append((Constraint.REVERSE_FLOW, -now.source_p_kw / base.source_p_kw[0],
                       np.full(k, "substation", dtype=object)))
    if ReverseFlow.REGULATORS in limits.reverse_flow and now.regulator_p_kw.shape[0]:
        forward = base.regulator_p_kw[:, :1] > 0
        scale = np.where(forward, np.abs(base.regulator_p_kw[:, :1]), np.inf)
        rel = np.where(forward, -now.regulator_p_kw / scale, -np.inf)
        excess.append((Constraint.REVERSE_FLOW, *worst(rel, names.regulators)))

    values = np.stack([e[1] for e in excess])  # (constraints, K)
    at = np.argmax(values, axis=0)
    cols = np.arange(k)
    broken = values[at, cols] > 0
    constraint = np.array([excess[i][0].value for i in at], dtype=object)
    element = np.array([excess[i][2][c] for c, i in zip(cols, at, strict=True)], dtype=object)
    ok = ~broken & now.converged
    constraint = np.where(ok, "", np.where(now.converged, constraint,
                                           Constraint.NOT_CONVERGED.value))
    element = np.where(ok | ~now.converged, "", element)
    return Verdict(ok=ok.astype(np.bool_), constraint=constraint.astype(str),
                   element=element.astype(str),
                   excess=np.where(now.converged, values[at, cols], np.nan))


def standing_violations(base: Observation, limits: HostingLimits,
                        names: ElementNames) -> list[tuple[str, str, float]]:
    """Limits the feeder breaks without any DER: ``(constraint, element, value)`` with
    the value in pu (voltage) or % (loading).

    Examples
    --------
    >>> import numpy as np
    >>> base = Observation(v_pu=np.array([[1.06], [1.0]]), loading_pct=np.array([[120.0]]),
    ...                    source_p_kw=np.array([1.0]), regulator_p_kw=np.zeros((0, 1)),
    ...                    converged=np.array([True]))
    >>> standing_violations(base, HostingLimits(), ElementNames(("a.1", "b.1"), ("line.x",), ()))
    [('overvoltage', 'a.1', 1.06), ('thermal', 'line.x', 120.0)]
    """
    v = base.v_pu[:, 0]
    loading = base.loading_pct[:, 0]
    out: list[tuple[str, str, float]] = []
    for i in np.flatnonzero(v > limits.voltage.v_max_pu):
        out.append((Constraint.OVERVOLTAGE.value, names.nodes[i], float(v[i])))
    for i in np.flatnonzero(v < limits.voltage.v_min_pu):
        out.append((Constraint.UNDERVOLTAGE.value, names.nodes[i], float(v[i])))
    with np.errstate(invalid="ignore"):
        over = np.flatnonzero(loading > limits.thermal_pct)
    for i in over:
        out.append((Constraint.THERMAL.value, names.pd_elements[i], float(loading[i])))
    return out
