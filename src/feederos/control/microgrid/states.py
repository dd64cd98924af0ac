"""The StreetGrid operating states and the pure function that moves between them.

The street is in one of eight states. :func:`next_state` looks at explicit inputs
(:class:`StateInputs`: is the grid there and for how long, the anchor's SOC and
frequency, the autonomy the anchor's energy gives the street, how many circuits are
shed, time in the state) and returns the next state with the rule that fired. It has
no memory and no clock: the orchestrator owns both. Every rule is a row of
:data:`RULES`, checked in order, and :data:`LEGAL` is the set of (from, to) pairs the
rules can produce — any other transition is impossible by construction.

======================  ==============================================================
rule (from → to)        condition
======================  ==============================================================
GRID_CONNECTED→ISLANDING  grid lost (``grid_ok`` false)
ISLANDING→GRID_CONNECTED  grid back within ``islanding_s`` (a blip: the breaker held)
ISLANDING→BLACK_START     still no grid after ``islanding_s``: breaker open, anchor forms
BLACK_START→ISLANDED      ``black_start_s`` elapsed and the anchor's frequency is good
ISLANDED→RESYNC          grid good for ``grid_stable_s``
ISLANDED→SHEDDING        anchor SOC at reserve, or autonomy below ``shed_h``
ISLANDED→SCARCITY        autonomy below ``scarcity_h``
SCARCITY→RESYNC          grid good for ``grid_stable_s``
SCARCITY→SHEDDING        anchor SOC at reserve, or autonomy below ``shed_h``
SCARCITY→ISLANDED        autonomy back above ``scarcity_h + hysteresis_h``
SHEDDING→RESTORING       grid good for ``grid_stable_s``, or autonomy above
                         ``restore_h`` for ``min_shed_s``
RESTORING→SHEDDING       no grid, and SOC at reserve or autonomy below ``shed_h``
RESTORING→RESYNC         grid good for ``grid_stable_s`` (what is still shed comes
                         back once the grid feeds the street)
RESTORING→ISLANDED       nothing shed any more (grid still away)
RESYNC→ISLANDED          grid lost again while synchronising
RESYNC→GRID_CONNECTED    ``resync_s`` elapsed with the grid good (breaker closed)
======================  ==============================================================

Autonomy (:func:`autonomy_h`) is the anchor's energy above reserve over the street's
net load: how long the street lasts as it is.

Examples
--------
>>> limits = StateLimits()
>>> s = StateInputs(grid_ok=False, grid_ok_for_s=0.0, anchor_soc_pct=80.0,
...                 autonomy_h=10.0, anchor_f_ok=True, circuits_shed=0, t_in_state_s=0.0)
>>> next_state(State.GRID_CONNECTED, s, limits)
(<State.ISLANDING: 'islanding'>, 'grid lost')
>>> autonomy_h(anchor_soc_pct=80.0, reserve_pct=20.0, energy_kwh=60.0, net_load_kw=12.0)
3.0
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "LEGAL",
    "RULES",
    "Rule",
    "State",
    "StateInputs",
    "StateLimits",
    "autonomy_h",
    "next_state",
]


class State(StrEnum):
    """Operating state of the street."""

    GRID_CONNECTED = "grid_connected"
    ISLANDING = "islanding"
    BLACK_START = "black_start"
    ISLANDED = "islanded"
    SCARCITY = "scarcity"
    SHEDDING = "shedding"
    RESTORING = "restoring"
    RESYNC = "resync"


@dataclass(frozen=True, slots=True)
class StateLimits:
    """Thresholds of the transitions [s, h, %]; defaults suit the StreetGrid anchor."""

    islanding_s: float = 2.0
    """Time to open the street breaker and hand the street to the anchor [s]."""
    black_start_s: float = 5.0
    """Time the anchor needs to form voltage and pick up the critical circuits [s]."""
    grid_stable_s: float = 60.0
    """How long the grid must be back before the street reconnects [s]."""
    resync_s: float = 10.0
    """Time to synchronise the anchor with the grid and close the breaker [s]."""
    scarcity_h: float = 4.0
    """Autonomy below which the street is short of energy [h]."""
    shed_h: float = 2.0
    """Autonomy below which non-critical circuits are shed [h]."""
    restore_h: float = 3.0
    """Autonomy above which shed circuits may come back [h]; above ``shed_h``."""
    hysteresis_h: float = 0.5
    """Margin above ``scarcity_h`` to leave SCARCITY [h]."""
    min_shed_s: float = 60.0
    """Least time in SHEDDING before restoring on energy grounds [s]."""
    reserve_pct: float = 20.0
    """Anchor SOC kept in reserve [%]; at or below it the street sheds."""

    def __post_init__(self) -> None:
        if not self.shed_h < self.restore_h:
            raise ValueError(
                f"state limits: restore_h={self.restore_h} must exceed shed_h={self.shed_h}, "
                "or the street would shed and restore in turn"
            )
        if not self.shed_h <= self.scarcity_h:
            raise ValueError(
                f"state limits: scarcity_h={self.scarcity_h} must be at least shed_h={self.shed_h}"
            )


@dataclass(frozen=True, slots=True)
class StateInputs:
    """What :func:`next_state` decides on."""

    grid_ok: bool
    """The grid is there (from the interconnection device)."""
    grid_ok_for_s: float
    """How long the grid has been continuously there [s]; 0 if it is not."""
    anchor_soc_pct: float
    """The anchor battery's state of charge [%]."""
    autonomy_h: float
    """How long the anchor's energy above reserve lasts at the street's net load [h]."""
    anchor_f_ok: bool
    """The anchor's frequency is within its normal band."""
    circuits_shed: int
    """Non-critical circuits currently open by the orchestrator."""
    t_in_state_s: float
    """Time since the current state was entered [s]."""


Condition = Callable[[StateInputs, StateLimits], bool]


@dataclass(frozen=True, slots=True)
class Rule:
    """One transition: from ``source`` to ``target`` when ``condition`` holds."""

    source: State
    target: State
    reason: str
    condition: Condition


def _grid_stable(s: StateInputs, lim: StateLimits) -> bool:
    return s.grid_ok and s.grid_ok_for_s >= lim.grid_stable_s


def _must_shed(s: StateInputs, lim: StateLimits) -> bool:
    return s.anchor_soc_pct <= lim.reserve_pct or s.autonomy_h < lim.shed_h


_S = State
RULES: tuple[Rule, ...] = (
    Rule(_S.GRID_CONNECTED, _S.ISLANDING, "grid lost", lambda s, lim: not s.grid_ok),
    Rule(
        _S.ISLANDING,
        _S.GRID_CONNECTED,
        "grid back within the islanding time",
        lambda s, lim: s.grid_ok and s.t_in_state_s < lim.islanding_s,
    ),
    Rule(
        _S.ISLANDING,
        _S.BLACK_START,
        "breaker open: anchor forms the street",
        lambda s, lim: s.t_in_state_s >= lim.islanding_s,
    ),
    Rule(
        _S.BLACK_START,
        _S.ISLANDED,
        "anchor holds frequency: island formed",
        lambda s, lim: s.t_in_state_s >= lim.black_start_s and s.anchor_f_ok,
    ),
    Rule(_S.ISLANDED, _S.RESYNC, "grid stable again", _grid_stable),
    Rule(_S.ISLANDED, _S.SHEDDING, "anchor at reserve or autonomy below shed_h", _must_shed),
    Rule(
        _S.ISLANDED,
        _S.SCARCITY,
        "autonomy below scarcity_h",
        lambda s, lim: s.autonomy_h < lim.scarcity_h,
    ),
    Rule(_S.SCARCITY, _S.RESYNC, "grid stable again", _grid_stable),
    Rule(_S.SCARCITY, _S.SHEDDING, "anchor at reserve or autonomy below shed_h", _must_shed),
    Rule(
        _S.SCARCITY,
        _S.ISLANDED,
        "autonomy recovered",
        lambda s, lim: s.autonomy_h >= lim.scarcity_h + lim.hysteresis_h,
    ),
    Rule(
        _S.SHEDDING,
        _S.RESTORING,
        "grid stable again or autonomy above restore_h",
        lambda s, lim: (
            _grid_stable(s, lim)
            or (
                s.autonomy_h >= lim.restore_h
                and s.anchor_soc_pct > lim.reserve_pct
                and s.t_in_state_s >= lim.min_shed_s
            )
        ),
    ),
    Rule(
        _S.RESTORING,
        _S.SHEDDING,
        "anchor at reserve or autonomy below shed_h",
        lambda s, lim: not s.grid_ok and _must_shed(s, lim),
    ),
    Rule(_S.RESTORING, _S.RESYNC, "grid stable again", _grid_stable),
    Rule(
        _S.RESTORING,
        _S.ISLANDED,
        "all circuits restored",
        lambda s, lim: s.circuits_shed == 0,
    ),
    Rule(_S.RESYNC, _S.ISLANDED, "grid lost during resync", lambda s, lim: not s.grid_ok),
    Rule(
        _S.RESYNC,
        _S.GRID_CONNECTED,
        "synchronised: breaker closed",
        lambda s, lim: s.grid_ok and s.t_in_state_s >= lim.resync_s,
    ),
)
"""The transitions, checked in this order from the current state; the first that holds wins."""

LEGAL: frozenset[tuple[State, State]] = frozenset((r.source, r.target) for r in RULES)
"""Every (from, to) pair :func:`next_state` can return, besides staying put."""


def next_state(state: State, inputs: StateInputs, limits: StateLimits) -> tuple[State, str]:
    """The state after ``state`` given ``inputs``, and the reason (``""`` if it stays).

    Pure: the same arguments give the same answer; only a pair in :data:`LEGAL`, or
    ``state`` itself, can come back.
    """
    for rule in RULES:
        if rule.source is state and rule.condition(inputs, limits):
            return rule.target, rule.reason
    return state, ""


def autonomy_h(
    *, anchor_soc_pct: float, reserve_pct: float, energy_kwh: float, net_load_kw: float
) -> float:
    """Hours the anchor's energy above reserve lasts at ``net_load_kw`` [h].

    ``inf`` when the street's net load is zero or negative (PV covers it), 0 at or
    below reserve.

    >>> autonomy_h(anchor_soc_pct=20.0, reserve_pct=20.0, energy_kwh=60.0, net_load_kw=5.0)
    0.0
    >>> autonomy_h(anchor_soc_pct=50.0, reserve_pct=20.0, energy_kwh=60.0, net_load_kw=-1.0)
    inf
    """
    above_kwh = max(anchor_soc_pct - reserve_pct, 0.0) / 100.0 * energy_kwh
    if above_kwh == 0.0:
        return 0.0
    if net_load_kw <= 0.0:
        return float("inf")
    return above_kwh / net_load_kw
