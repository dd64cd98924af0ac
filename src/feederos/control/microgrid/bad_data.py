"""Bad-data detection of StreetGrid node reports: implausible, stuck and lying nodes.

Each round (one report of every node, :class:`Reports`) goes through four checks:

1. **Plausibility** per node: SOC in 0–100 % and moving no faster than its battery can
   (plus one quantisation step), ``|P|`` within the node's rating, voltage in
   0.8–1.2 pu, frequency in 55–65 Hz.
2. **Consensus** across nodes: frequency is common to the street and voltage nearly
   so; a node farther from the median than ``max(floor, k · 1.4826 · MAD)`` is suspect
   (median / median absolute deviation, robust to a minority of liars).
3. **Stuck**: the same report ``stuck_n`` times in a row while most nodes' reports
   change.
4. **Energy balance**: what feeds the street — the anchor's output plus the grid's
   import, both measured by trusted meters — must equal the sum of the houses' net
   power within a tolerance (losses, timing). When it does not, leave-one-out
   residuals find who breaks it: each remaining node's report is replaced by its
   reference (its last accepted report) and the node whose replacement shrinks the
   imbalance most is suspect; repeated greedily while the imbalance exceeds the
   tolerance, so several liars are found one by one. As flagged nodes absorb the
   imbalance every round (below), the residual holds only what changed since the last
   round, and an honest node is blamed only if its own change matches it.

A suspect node's report is replaced at once by a safe estimate and never reaches the
dispatch: its reference (or the street median where it has none), and when the supply
is measured, the doubted nodes together are given what the trusted meters leave over,
so the street's believed total always equals the measured one; a flagged node goes on
from its last such estimate. A node suspect
``confirm_n`` rounds in a row is *flagged*: it stays replaced until
:meth:`BadDataFilter.clear` and :meth:`BadDataFilter.update` returns a
:class:`Finding` naming it and the reason, which the orchestrator publishes as an
event.

Examples
--------
>>> import numpy as np
>>> f = BadDataFilter(rating_kw=np.full(3, 10.0), soc_rate_pct_per_s=np.full(3, 0.1))
>>> good = Reports(soc_pct=np.array([50.0, 60.0, 70.0]), p_kw=np.array([1.0, 2.0, 3.0]),
...                v_pu=np.array([1.0, 1.01, 0.99]), f_hz=np.array([60.0, 60.001, 59.999]))
>>> out = f.update(0.0, good, supply_kw=6.0)
>>> out.p_kw.tolist(), out.suspect.tolist()
([1.0, 2.0, 3.0], [False, False, False])
>>> liar = Reports(good.soc_pct, np.array([1.0, 2.0, 9.0]), good.v_pu, good.f_hz)
>>> out = f.update(1.0, liar, supply_kw=6.0)
>>> out.p_kw.tolist(), out.reasons[2]
([1.0, 2.0, 3.0], 'energy balance')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

__all__ = ["BadDataFilter", "Filtered", "Finding", "Reason", "Reports"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

_MAD_TO_SIGMA = 1.4826
"""Scale of the MAD to a normal distribution's standard deviation."""


class Reason(StrEnum):
    """Why a node's report was not believed."""

    MISSING = "no report"
    SOC_RANGE = "soc out of range"
    SOC_RATE = "soc changes too fast"
    P_RANGE = "power beyond rating"
    V_RANGE = "voltage out of range"
    F_RANGE = "frequency out of range"
    F_CONSENSUS = "frequency disagrees with the street"
    V_CONSENSUS = "voltage disagrees with the street"
    STUCK = "stuck"
    BALANCE = "energy balance"


@dataclass(frozen=True, slots=True)
class Reports:
    """One round of node reports, arrays over nodes (NaN where a node sent nothing)."""

    soc_pct: FloatArray
    p_kw: FloatArray
    """House net power, consumption positive [kW]."""
    v_pu: FloatArray
    f_hz: FloatArray


@dataclass(frozen=True, slots=True)
class Finding:
    """A node newly flagged, and why."""

    node: int
    """Index of the node."""
    reason: Reason
    detail: str


@dataclass(frozen=True, slots=True)
class Filtered:
    """What :meth:`BadDataFilter.update` believes: reports with suspects replaced."""

    soc_pct: FloatArray
    p_kw: FloatArray
    suspect: BoolArray
    """Nodes whose report was replaced this round (flagged ones included)."""
    flagged: BoolArray
    """Nodes flagged so far."""
    reasons: dict[int, str]
    """Why each suspect node was replaced this round."""
    imbalance_kw: float
    """Supply minus the believed net load [kW] (NaN without a supply measurement); 0
    up to clipping when a node is doubted, as the doubted nodes absorb the rest."""
    findings: list[Finding] = field(default_factory=list)
    """Nodes flagged this round."""


class BadDataFilter:
    """Stateful bad-data detector over ``n`` nodes (see the module docstring).

    Parameters
    ----------
    rating_kw
        Largest plausible ``|P|`` of each node [kW].
    soc_rate_pct_per_s
        Fastest plausible SOC change of each node's battery [%/s].
    soc_step_pct
        SOC quantisation of the reports [%]; one step is always allowed.
    stuck_n
        Identical reports in a row that make a node stuck.
    confirm_n
        Suspect rounds in a row before a node is flagged.
    f_floor_hz, v_floor_pu, consensus_k
        Consensus tolerance: ``max(floor, consensus_k · 1.4826 · MAD)``.
    balance_tol_kw, balance_tol_pct
        Imbalance tolerated: ``balance_tol_kw + balance_tol_pct`` % of the supply.
    """

    def __init__(
        self,
        *,
        rating_kw: FloatArray,
        soc_rate_pct_per_s: FloatArray,
        soc_step_pct: float = 0.5,
        stuck_n: int = 10,
        confirm_n: int = 3,
        f_floor_hz: float = 0.2,
        v_floor_pu: float = 0.08,
        consensus_k: float = 5.0,
        balance_tol_kw: float = 0.5,
        balance_tol_pct: float = 5.0,
    ) -> None:
        self.rating_kw = np.asarray(rating_kw, float)
        self.n = len(self.rating_kw)
        self.soc_rate_pct_per_s = np.asarray(soc_rate_pct_per_s, float)
        self.soc_step_pct = soc_step_pct
        self.stuck_n = stuck_n
        self.confirm_n = confirm_n
        self.f_floor_hz = f_floor_hz
        self.v_floor_pu = v_floor_pu
        self.consensus_k = consensus_k
        self.balance_tol_kw = balance_tol_kw
        self.balance_tol_pct = balance_tol_pct
        self._p_good = np.full(self.n, np.nan)
        self._soc_good = np.full(self.n, np.nan)
        self._soc_good_t = np.full(self.n, np.nan)
        self._last: FloatArray | None = None
        self._estimate = np.full(self.n, np.nan)
        """What was believed of each flagged node last round [kW]."""
        self._same = np.zeros(self.n, int)
        self._count = np.zeros(self.n, int)
        self.flagged = np.zeros(self.n, bool)
        """Nodes flagged so far."""
        self.flag_reasons: dict[int, Reason] = {}
        """Why each flagged node was flagged."""

    def clear(self, node: int) -> None:
        """Trust ``node`` again (after an operator checked it)."""
        self.flagged[node] = False
        self._count[node] = 0
        self._same[node] = 0
        self.flag_reasons.pop(node, None)

    def reference_kw(self, node: int) -> float:
        """The node's last accepted power report [kW] (NaN if none)."""
        return float(self._p_good[node])

    def update(self, t_s: float, reports: Reports, *, supply_kw: float | None) -> Filtered:
        """Check one round reported at ``t_s`` [s]; ``supply_kw`` is the trusted
        measurement of what feeds the street (anchor + grid import) [kW], or ``None``."""
        soc = np.asarray(reports.soc_pct, float)
        p = np.asarray(reports.p_kw, float)
        v = np.asarray(reports.v_pu, float)
        f = np.asarray(reports.f_hz, float)
        reasons: dict[int, Reason] = {}

        def mark(mask: BoolArray, reason: Reason) -> None:
            for i in np.nonzero(mask)[0]:
                reasons.setdefault(int(i), reason)

        with np.errstate(invalid="ignore"):
            mark(np.isnan(p) | np.isnan(soc) | np.isnan(v) | np.isnan(f), Reason.MISSING)
            mark((soc < 0.0) | (soc > 100.0), Reason.SOC_RANGE)
            dt = t_s - self._soc_good_t
            allowed = self.soc_rate_pct_per_s * dt + self.soc_step_pct
            mark(np.abs(soc - self._soc_good) > allowed, Reason.SOC_RATE)
            mark(np.abs(p) > self.rating_kw, Reason.P_RANGE)
            mark((v < 0.8) | (v > 1.2), Reason.V_RANGE)
            mark((f < 55.0) | (f > 65.0), Reason.F_RANGE)
            mark(self._outliers(f, self.f_floor_hz), Reason.F_CONSENSUS)
            mark(self._outliers(v, self.v_floor_pu), Reason.V_CONSENSUS)
        mark(self._stuck(np.stack([soc, p, v, f], axis=1)), Reason.STUCK)

        # Safe estimates for what is not believed so far: the node's reference, else
        # the median of the believed nodes.
        believed = p.copy()
        doubted = self.flagged.copy()
        doubted[list(reasons)] = True
        believed[doubted] = self._safe_p(doubted, p)
        imbalance = float("nan")
        balanced = True
        if supply_kw is not None:
            imbalance = self._balance(believed, doubted, p, supply_kw, reasons)
            balanced = abs(imbalance) <= self._tol(supply_kw)
            if doubted.any():
                # The trusted meters say what the doubted nodes use together: share the
                # rest among them, so the street's believed total is the measured one.
                believed[doubted] += imbalance / int(doubted.sum())
                believed[doubted] = np.clip(
                    believed[doubted], -self.rating_kw[doubted], self.rating_kw[doubted]
                )
                balanced = True
                imbalance = supply_kw - float(believed.sum())
        suspect = np.zeros(self.n, bool)
        suspect[list(reasons)] = True
        suspect |= self.flagged

        findings: list[Finding] = []
        self._count = np.where(suspect & ~self.flagged, self._count + 1, 0)
        for i in np.nonzero(self._count >= self.confirm_n)[0]:
            node = int(i)
            self.flagged[node] = True
            self._count[node] = 0
            reason = reasons.get(node, Reason.BALANCE)
            self.flag_reasons[node] = reason
            findings.append(Finding(node, reason, _detail(reason, soc[node], p[node], f[node])))

        self._estimate = np.where(self.flagged, believed, np.nan)
        soc_out = soc.copy()
        soc_out[suspect] = self._soc_good[suspect]
        # Accepted reports feed the references; with an imbalance nobody explains (no
        # node doubted) nobody's do.
        for i in np.nonzero(~suspect)[0]:
            self._soc_good[i], self._soc_good_t[i] = soc[i], t_s
            if balanced:
                self._p_good[i] = p[i]
        return Filtered(
            soc_pct=soc_out,
            p_kw=believed,
            suspect=suspect,
            flagged=self.flagged.copy(),
            reasons={i: r.value for i, r in reasons.items()},
            imbalance_kw=imbalance,
            findings=findings,
        )

    # -- checks ---------------------------------------------------------------------
    def _outliers(self, x: FloatArray, floor: float) -> BoolArray:
        ok = ~np.isnan(x)
        if ok.sum() < 3:
            return np.zeros(self.n, bool)
        med = float(np.median(x[ok]))
        mad = float(np.median(np.abs(x[ok] - med)))
        return np.abs(x - med) > max(floor, self.consensus_k * _MAD_TO_SIGMA * mad)

    def _stuck(self, rows: FloatArray) -> BoolArray:
        if self._last is None:
            self._same[:] = 0
        else:
            same = np.all(rows == self._last, axis=1)
            self._same = np.where(same, self._same + 1, 0)
        self._last = rows.copy()
        # Stuck only while most nodes vary: a quiet street is not a stuck street.
        quiet_street = float(np.median(self._same)) >= self.stuck_n - 1
        stuck: BoolArray = (self._same >= self.stuck_n - 1) & (not quiet_street)
        return stuck

    def _safe_p(self, doubted: BoolArray, p: FloatArray) -> FloatArray:
        # A flagged node goes on from last round's estimate, which the balance keeps
        # up to date: a stale reference would leave a residual that honest nodes'
        # genuine changes could be blamed for.
        refs = np.array(
            [
                self._estimate[i]
                if self.flagged[i] and np.isfinite(self._estimate[i])
                else self.reference_kw(int(i))
                for i in np.nonzero(doubted)[0]
            ]
        )
        trusted = p[~doubted & ~np.isnan(p)]
        fallback = float(np.median(trusted)) if trusted.size else 0.0
        return np.where(np.isnan(refs), fallback, refs)

    def _tol(self, supply_kw: float) -> float:
        return self.balance_tol_kw + self.balance_tol_pct / 100.0 * abs(supply_kw)

    def _balance(
        self,
        believed: FloatArray,
        doubted: BoolArray,
        p: FloatArray,
        supply_kw: float,
        reasons: dict[int, Reason],
    ) -> float:
        """Greedy leave-one-out: replace the node that best explains the imbalance."""
        tol = self._tol(supply_kw)
        residual = supply_kw - float(believed.sum())
        while abs(residual) > tol:
            candidates = np.nonzero(~doubted)[0]
            refs = np.array([self.reference_kw(int(i)) for i in candidates])
            has_ref = ~np.isnan(refs)
            if not has_ref.any():
                break
            candidates, refs = candidates[has_ref], refs[has_ref]
            loo = residual + p[candidates] - refs
            best = int(np.argmin(np.abs(loo)))
            if abs(residual) - abs(loo[best]) <= tol:
                break  # nobody alone explains it: leave it unexplained, blame no one
            node = int(candidates[best])
            reasons.setdefault(node, Reason.BALANCE)
            doubted[node] = True
            believed[node] = refs[best]
            residual = float(loo[best])
        return residual


def _detail(reason: Reason, soc_pct: float, p_kw: float, f_hz: float) -> str:
    return f"{reason.value} (last report soc {soc_pct:.1f} %, p {p_kw:.2f} kW, f {f_hz:.3f} Hz)"
