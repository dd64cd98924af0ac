"""Hosting capacity: how much PV (or EV charging) each bus takes before a limit breaks.

For each selected bus and load level, the largest DER of ``P`` kW — balanced over the
bus's phases, unity power factor, constant power — that keeps every check of
:mod:`feederos.analysis.der_constraints`; then, per bus, the smallest over the levels,
with the constraint and element that bind.

A three-phase DER is a three-wire unit, connected line to line (as three-phase
inverters are: they draw no zero-sequence current, and so also sit on an ungrounded
delta secondary); a one- or two-phase DER connects line to neutral.

How it is found. The feeder is compiled once with a *probe* at every candidate bus: a
single-phase constant-power load of −1 kW (PV) or +1 kW (EV) across each pair of a
three-phase bus's phases, or on each phase node of another bus. A column of a batch
solve (:mod:`feederos.powerflow.methods.many`) scales one bus's probes to ``P`` and
leaves every other probe at 0, so one batch tries one size at every bus at once, reading
``y``'s factors once for all of them. Per level:

1. the feeder without DER is solved with its controls acting; its taps and capacitor
   states then hold for every DER size (module docstring of ``der_constraints``);
2. **bracket by sensitivity**: one batch at a small size gives each node's voltage
   change per kW at each bus, from which the size where a voltage limit (or the
   substation's reverse flow) would be reached is extrapolated;
3. **confirm with full power flows**: each round tries two sizes per open bus just
   below and above a target — first the estimate, then, once a size has passed and one
   has failed, the root of the limit excess interpolated between them (or their
   geometric mean), growing or shrinking geometrically while no bracket exists — until
   the largest passing and smallest failing size are within ``rtol`` of each other.
   Every try is a full non-linear solution; a round is one batch of all open buses.

The answer is the largest size that passed; the binding constraint is the one broken
furthest at the smallest size that failed.

Examples
--------
>>> from feederos.feeders import load_feeder
>>> hc = hosting_capacity(load_feeder("ieee13"), buses=["675", "611"],
...                       levels={"peak": 1.0})
>>> hc.table[["bus", "phases"]].values.tolist()
[['675', 3], ['611', 1]]
>>> bool((hc.table.kw > 100).all()), sorted(set(hc.table.constraint) - set(Constraint))
(True, [])
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from feederos.analysis.der_constraints import (
    Constraint,
    ElementNames,
    HostingLimits,
    Observation,
    Verdict,
    first_violation,
    regulator_power_kw,
    service_nodes,
    standing_violations,
)
from feederos.analysis.load_levels import default_load_levels
from feederos.errors import PowerFlowError
from feederos.model import (
    Connection,
    EnergyConsumer,
    LoadModel,
    LoadStatus,
    Network,
    Terminal,
)
from feederos.powerflow import solve
from feederos.powerflow.compiled import CompiledNetwork, compile_network
from feederos.powerflow.injections.loads import LoadSet, scale_loads
from feederos.powerflow.methods.fixed_point import energized_factor
from feederos.powerflow.methods.many import solve_fixed_point_many
from feederos.powerflow.result import element_kind
from feederos.powerflow.solve import control_tables
from feederos.powerflow.totals import max_current_many, totals_many

__all__ = [
    "DerSiting",
    "HostingCapacity",
    "Site",
    "candidate_sites",
    "hosting_capacity",
    "observe",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
ComplexArray = npt.NDArray[np.complex128]

PROBE_PREFIX = "hosting-capacity-probe:"
"""Names of the probe loads added to a copy of the network."""



class DerSiting(StrEnum):
    """What is added at a bus."""

    PV = "pv"
    """Generation: active power into the network."""
    EV = "ev"
    """Charging load: active power out of it."""


@dataclass(frozen=True)
class Site:
    """A candidate bus: its name, the phase nodes the DER spreads over and their
    line-to-neutral base [kV]."""

    bus: str
    nodes: tuple[int, ...]
    v_ln_kv: float


def candidate_sites(compiled: CompiledNetwork, buses: Sequence[str] | None = None) -> list[Site]:
    """The buses to study, with their energised phase nodes.

    Default: every energised bus with a voltage base and one or three phase nodes (a
    single- or three-phase service point), except the sources' buses.

    Raises
    ------
    ValueError
        If a named bus is not in the network, or has no energised phase node with a
        voltage base.
    """
    nodes = compiled.nodes
    phase = (nodes.node >= 1) & (nodes.node <= 3) & compiled.energized
    phase &= np.isfinite(nodes.v_base_ln_v) & (nodes.v_base_ln_v > 0)
    at_source = set(nodes.bus[compiled.source_block.conductors[compiled.source_block.conductors
                                                                >= 0]].tolist())
    by_bus: dict[int, list[int]] = {}
    for i in np.flatnonzero(phase):
        by_bus.setdefault(int(nodes.bus[i]), []).append(int(i))
    if buses is None:
        chosen = [b for b in sorted(by_bus) if len(by_bus[b]) in (1, 3) and b not in at_source]
    else:
        position = {name: i for i, name in enumerate(nodes.buses)}
        chosen = []
        for name in buses:
            if name not in position:
                raise ValueError(f"bus {name!r} is not in network {compiled.name!r}; "
                                 "name one of its buses")
            if position[name] not in by_bus:
                raise ValueError(f"bus {name!r} has no energised phase node with a voltage "
                                 "base; a DER cannot be placed there")
            chosen.append(position[name])
    return [Site(bus=nodes.buses[b], nodes=tuple(int(nodes.node[i]) for i in by_bus[b]),
                 v_ln_kv=float(nodes.v_base_ln_v[by_bus[b][0]]) / 1e3) for b in chosen]


@dataclass(frozen=True)
class HostingCapacity:
    """What :func:`hosting_capacity` found.

    Attributes
    ----------
    table
        One row per bus: ``bus``, ``phases``, ``kw`` (the hosting capacity, the smallest
        over the levels), ``constraint`` (:class:`~feederos.analysis.der_constraints.Constraint`),
        ``element`` (where it binds: ``bus.node``, ``kind.name``, a regulator or
        ``substation``), ``level`` (the load level it binds at), ``x``, ``y`` (the bus's
        map coordinates; NaN where it has none).
    by_level
        One row per bus and level: ``bus``, ``level``, ``load_mult``, ``kw``,
        ``constraint``, ``element``.
    standing
        Limits broken without any DER, left out of the checks where they stand: ``level``,
        ``constraint``, ``element``, ``value`` (pu or %).
    kind
        PV or EV.
    """

    table: pd.DataFrame
    by_level: pd.DataFrame
    standing: pd.DataFrame
    kind: DerSiting

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """Write :attr:`table` as CSV."""
        self.table.to_csv(path, index=False)

    def to_geojson(self, path: str | os.PathLike[str] | None = None) -> dict[str, object]:
        """:attr:`table` as a GeoJSON ``FeatureCollection`` of points, one per bus with
        coordinates (taken as longitude, latitude as RFC 7946 asks; a feeder drawn in
        local units keeps them); written to ``path`` if given."""
        features = []
        for row in self.table.to_dict("records"):
            x, y = float(row["x"]), float(row["y"])
            if not (math.isfinite(x) and math.isfinite(y)):
                continue
            features.append({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [x, y]},
                "properties": {"bus": str(row["bus"]), "phases": int(row["phases"]),
                               f"{self.kind.value}_kw": float(row["kw"]),
                               "constraint": str(row["constraint"]),
                               "element": str(row["element"]), "level": str(row["level"])},
            })
        doc: dict[str, object] = {"type": "FeatureCollection", "features": features}
        if path is not None:
            Path(path).write_text(json.dumps(doc, indent=1))
        return doc


def hosting_capacity(
    network: Network,
    *,
    kind: DerSiting | str = DerSiting.PV,
    buses: Sequence[str] | None = None,
    levels: Mapping[str, float] | None = None,
    limits: HostingLimits | None = None,
    max_kw: float | None = None,
    rtol: float = 5e-3,
    controls: bool = False,
    tolerance_pu: float = 1e-9,
    max_iterations: int = 100,
    chunk: int = 64,
    workers: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> HostingCapacity:
    """Hosting capacity of each bus (see the module docstring).

    Parameters
    ----------
    network
        The feeder; not changed.
    kind
        ``"pv"`` (generation) or ``"ev"`` (charging load).
    buses
        Buses to study; default :func:`candidate_sites`' selection.
    levels
        Load levels ``{name: multiplier of every load's rated power}``; default
        :func:`~feederos.analysis.load_levels.default_load_levels` (peak and minimum
        daytime).
    limits
        The checks; default :class:`~feederos.analysis.der_constraints.HostingLimits`.
    max_kw
        Largest size tried [kW]; default twice the feeder's rated load. A bus that
        takes it reports constraint ``none``.
    rtol
        Relative width of the final bracket: the answer is within ``rtol`` below the
        true capacity.
    controls
        Let regulators and capacitor controls respond to the DER for the steady-state
        checks (:mod:`~feederos.analysis.der_constraints`): every tried size where a
        control acts is then re-solved alone with the static control loop, several
        times slower. Default ``False``: the controls stay where the feeder had them
        without the DER, for every check — the instant after the DER comes on or
        goes, before any regulator has waited out its delay.
    tolerance_pu, max_iterations
        Of each power flow, as :func:`feederos.powerflow.solve`.
    chunk, workers
        Buses solved together in one block, and blocks solved at once (threads).
    progress
        Called as ``progress(done, total)`` on the calling thread after each round of
        the search: ``done`` of the ``total`` = buses × levels have their capacity
        bracketed (the last call has ``done == total``).

    Raises
    ------
    ValueError
        On a bad argument (unknown bus, non-positive level or ``max_kw``).
    PowerFlowError
        If the feeder does not solve at some level without the DER.
    """
    kind = DerSiting(kind)
    limits = HostingLimits() if limits is None else limits
    levels = default_load_levels(network) if levels is None else dict(levels)
    for name, mult in levels.items():
        if not (math.isfinite(mult) and mult >= 0):
            raise ValueError(f"load level {name!r} = {mult}; give a multiplier >= 0")
    if max_kw is None:
        max_kw = max(100.0, 2.0 * sum(max(ld.p_kw, 0.0) for ld in network.loads))
    if not (math.isfinite(max_kw) and max_kw > 0):
        raise ValueError(f"max_kw = {max_kw}; give a size > 0 [kW]")
    if not 0 < rtol < 1:
        raise ValueError(f"rtol = {rtol}; give a relative width between 0 and 1")
    sites = candidate_sites(compile_network(network), buses)
    probes = _Probes(network, sites, kind)
    rows = []
    standing = []
    total = len(sites) * len(levels)
    for li, (name, mult) in enumerate(levels.items()):
        study = _LevelStudy(probes, mult, limits, tolerance_pu=tolerance_pu,
                            max_iterations=max_iterations, chunk=chunk, workers=workers,
                            level=name, controls=controls)
        on_round = None if progress is None else _offset(progress, li * len(sites), total)
        kw, constraint, element = study.search(max_kw=max_kw, rtol=rtol, on_round=on_round)
        standing += [{"level": name, "constraint": c, "element": e, "value": x}
                     for c, e, x in standing_violations(study.base, limits, probes.names)]
        for i, site in enumerate(sites):
            rows.append({"bus": site.bus, "level": name, "load_mult": mult, "kw": kw[i],
                         "constraint": constraint[i], "element": element[i]})
    by_level = pd.DataFrame(rows, columns=["bus", "level", "load_mult", "kw", "constraint",
                                           "element"])
    return HostingCapacity(
        table=_per_bus(by_level, sites, network), by_level=by_level, kind=kind,
        standing=pd.DataFrame(standing, columns=["level", "constraint", "element", "value"]))


def _offset(progress: Callable[[int, int], None], before: int,
            total: int) -> Callable[[int], None]:
    """A level's count of closed sites as the whole study's progress."""
    return lambda done: progress(before + done, total)


def _per_bus(by_level: pd.DataFrame, sites: list[Site], network: Network) -> pd.DataFrame:
    coords = {b.name: (b.x, b.y) for b in network.buses}
    rows = []
    for site in sites:
        levels = by_level[by_level.bus == site.bus]
        worst = levels.iloc[int(np.argmin(levels.kw.to_numpy()))]
        x, y = coords.get(site.bus, (None, None))
        rows.append({"bus": site.bus, "phases": len(site.nodes), "kw": float(worst.kw),
                     "constraint": worst.constraint, "element": worst.element,
                     "level": worst.level, "x": math.nan if x is None else float(x),
                     "y": math.nan if y is None else float(y)})
    return pd.DataFrame(rows, columns=["bus", "phases", "kw", "constraint", "element", "level",
                                       "x", "y"])


class _Probes:
    """The network compiled once with a probe load on each phase node of each site."""

    def __init__(self, network: Network, sites: list[Site], kind: DerSiting) -> None:
        taken = {ld.name for ld in network.loads}
        sign = -1.0 if kind is DerSiting.PV else 1.0
        extra = []
        site_of: dict[str, tuple[int, int]] = {}
        for k, site in enumerate(sites):
            for nodes, conn, v_kv in _probe_connections(site):
                name = f"{PROBE_PREFIX}{site.bus}.{'.'.join(map(str, nodes))}"
                if name in taken:
                    raise ValueError(f"network {network.name!r} already has a load named "
                                     f"{name!r}; rename it")
                site_of[name] = (k, len(site.nodes))
                extra.append(EnergyConsumer(
                    name=name, terminal=Terminal(bus=site.bus, nodes=nodes), phases=1,
                    connection=conn, v_kv=v_kv, p_kw=sign, q_kvar=0.0,
                    model=LoadModel.CONSTANT_PQ, v_min_pu=0.5, v_max_pu=1.5,
                    status=LoadStatus.FIXED, n_customers=0))
        probed = network.model_copy(update={"loads": [*network.loads, *extra]})
        self.compiled = compile_network(probed)
        self.sites = sites
        # per load set: which rows are probes, of which site, with what share of P
        self.rows: list[tuple[IntArray, IntArray, FloatArray]] = []
        for s in self.compiled.injections:
            hit = [(r, *site_of[n]) for r, n in enumerate(getattr(s, "names", ()))
                   if isinstance(s, LoadSet) and n in site_of]
            self.rows.append((np.array([h[0] for h in hit], dtype=np.int64),
                              np.array([h[1] for h in hit], dtype=np.int64),
                              np.array([1.0 / h[2] for h in hit])))
        regs, _ = control_tables(self.compiled)
        self.regs = regs
        self.service = service_nodes(self.compiled)
        index = self.compiled.nodes
        self.names = ElementNames(
            nodes=tuple(index.label(i) for i in self.service),
            pd_elements=tuple(f"{element_kind(b.kind)}.{n}" for b in self.compiled.pd_blocks
                              for n in b.names),
            regulators=regs.names)

    def scales(self, load_mult: float, site: IntArray, p_kw: FloatArray) -> list[FloatArray | None]:
        """Per injection set, each load's multiplier in each column: the level for the
        feeder's loads, ``p_kw`` shared over its phases for column ``j``'s site
        ``site[j]``, 0 for every other probe."""
        k = site.size
        out: list[FloatArray | None] = []
        for s, (rows, owner, share) in zip(self.compiled.injections, self.rows, strict=True):
            if not isinstance(s, LoadSet):
                out.append(None)
                continue
            m = np.full((len(s.names), k), load_mult)
            if rows.size:
                m[rows] = 0.0
                hit = owner[:, None] == site[None, :]  # (probe rows, K)
                r, c = np.nonzero(hit)
                m[rows[r], c] = p_kw[c] * share[r]
            out.append(m)
        return out


def _probe_connections(site: Site) -> list[tuple[tuple[int, ...], Connection, float]]:
    """Where a site's one-phase probes connect: line to line for a three-phase site
    (a three-wire unit, as three-phase inverters are: no zero-sequence current, so it
    also sits on an ungrounded delta secondary), else line to neutral."""
    if len(site.nodes) == 3:
        a, b, c = site.nodes
        v_ll = site.v_ln_kv * math.sqrt(3.0)
        return [((a, b), Connection.DELTA, v_ll), ((b, c), Connection.DELTA, v_ll),
                ((c, a), Connection.DELTA, v_ll)]
    return [((n,), Connection.WYE, site.v_ln_kv) for n in site.nodes]


def observe(compiled: CompiledNetwork, v: ComplexArray, converged: npt.NDArray[np.bool_],
            service: IntArray, regs_power: FloatArray) -> Observation:
    """What the checks read of solutions ``v`` ``(n, K)`` of ``compiled``."""
    loading = [100.0 * max_current_many(b, v) / r[:, None]
               for b, r in zip(compiled.pd_blocks, compiled.pd_rating_a, strict=True)]
    totals = totals_many(compiled, v)
    base = compiled.nodes.v_base_ln_v[service]
    return Observation(
        v_pu=np.abs(v[service]) / base[:, None],
        loading_pct=np.concatenate(loading) if loading else np.zeros((0, v.shape[1])),
        source_p_kw=totals.source_va.real / 1e3,
        regulator_p_kw=regs_power,
        converged=converged,
    )


class _LevelStudy:
    """The search at one load level."""

    def __init__(self, probes: _Probes, load_mult: float, limits: HostingLimits, *,
                 tolerance_pu: float, max_iterations: int, chunk: int, workers: int,
                 level: str, controls: bool) -> None:
        self.probes, self.mult, self.limits, self.controls = probes, load_mult, limits, controls
        self.tol, self.max_it, self.chunk, self.workers = (tolerance_pu, max_iterations,
                                                           max(1, chunk), max(1, workers))
        root = probes.compiled
        no_site = np.array([-1], dtype=np.int64)  # matches no probe: all stay at 0
        flat = [None if a is None else a[:, 0]
                for a in probes.scales(load_mult, no_site, np.zeros(1))]
        base = solve(root.with_injections(scale_loads(root.injections, flat)),
            tolerance_pu=tolerance_pu, max_iterations=max_iterations)
        if not base.converged:
            raise PowerFlowError(f"network {root.name!r} does not solve at load level "
                                 f"{level!r} (×{load_mult}) without DER; hosting capacity "
                                 "needs a solvable base case")
        self.state = base.compiled.with_injections(root.injections)
        energized_factor(self.state)  # factorise once, before the threads share it
        self.v0 = base.v
        self.base = self._observe(base.v[:, None], np.array([True]))

    def _observe(self, v: ComplexArray, converged: npt.NDArray[np.bool_]) -> Observation:
        p = self.probes
        return observe(self.state, v, converged, p.service,
                       regulator_power_kw(self.state, p.regs, v))

    def _respond(self, locked: Observation, v: ComplexArray,
                 scales: list[FloatArray | None]) -> Observation:
        """``locked`` with each column where a control acts re-solved alone with the
        static control loop, from its locked solution."""
        parts = dataclasses.asdict(locked)
        for j in range(v.shape[1]):
            c = self.state.with_injections(scale_loads(
                self.probes.compiled.injections, [None if m is None else m[:, j]
                                                  for m in scales]))
            r = solve(c, tolerance_pu=self.tol, max_iterations=self.max_it,
                      initial=v[:, j])
            if r.control_iterations <= 1 and r.compiled.y is c.y:
                continue  # nothing acted: the locked solution stands
            one = observe(r.compiled, r.v[:, None], np.array([r.converged]),
                          self.probes.service,
                          regulator_power_kw(r.compiled, self.probes.regs, r.v[:, None]))
            for key, value in dataclasses.asdict(one).items():
                parts[key][..., j] = value[..., 0]
        return Observation(**parts)

    def judge(self, site: IntArray, p_kw: FloatArray) -> tuple[Verdict, Observation | None]:
        """Solve each ``(site[j], p_kw[j])`` and judge it; with the observation too when
        all fit in one block."""
        def block(lo: int) -> tuple[Verdict, Observation]:
            cols = slice(lo, min(site.size, lo + self.chunk))
            scales = self.probes.scales(self.mult, site[cols], p_kw[cols])
            out = solve_fixed_point_many(self.state, scales, tolerance_pu=self.tol,
                                         max_iterations=self.max_it, initial=self.v0)
            locked = self._observe(out.v, out.converged)
            now = self._respond(locked, out.v, scales) if self.controls else locked
            verdict = first_violation(now, self.base, self.limits, self.probes.names,
                                      locked_v_pu=locked.v_pu)
            return verdict, now

        starts = range(0, site.size, self.chunk)
        if len(starts) == 1 or self.workers == 1:
            parts = [block(lo) for lo in starts]
        else:
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                parts = list(pool.map(block, starts))
        verdict = Verdict(ok=np.concatenate([v.ok for v, _ in parts]),
                          constraint=np.concatenate([v.constraint for v, _ in parts]),
                          element=np.concatenate([v.element for v, _ in parts]),
                          excess=np.concatenate([v.excess for v, _ in parts]))
        return verdict, parts[0][1] if len(parts) == 1 else None

    def estimate(self, site: IntArray, p1_kw: float,
                 verdict_obs: Observation) -> FloatArray:
        """Sizes where a voltage limit or the substation's reverse flow would be reached,
        extrapolated from the solutions at ``p1_kw`` [kW]."""
        v0 = self.base.v_pu
        slope = (verdict_obs.v_pu - v0) / p1_kw  # (nodes, K) pu per kW
        lim = self.limits
        high = np.where(v0 > lim.voltage.v_max_pu, np.inf, lim.voltage.v_max_pu)
        low = np.where(v0 < lim.voltage.v_min_pu, -np.inf, lim.voltage.v_min_pu)
        with np.errstate(divide="ignore", invalid="ignore"):
            room = np.where(slope > 0, (high - v0) / slope, (low - v0) / slope)
            room = np.minimum(room, lim.voltage_change_pu / np.abs(slope))
        room = np.where(np.isfinite(room) & (room >= 0), room, np.inf)
        est = room.min(axis=0)
        drop = (self.base.source_p_kw[0] - verdict_obs.source_p_kw) / p1_kw
        if self.base.source_p_kw[0] > 0:
            with np.errstate(divide="ignore"):
                est = np.minimum(est, np.where(drop > 0, self.base.source_p_kw[0] / drop,
                                               np.inf))
        return np.asarray(est, dtype=np.float64)

    def search(self, *, max_kw: float, rtol: float,
               on_round: Callable[[int], None] | None = None,
               ) -> tuple[FloatArray, list[str], list[str]]:
        """Capacity, binding constraint and element of every site (module docstring).

        Each round tries two sizes per open site, ``t·(1 ∓ rtol/3)`` around a target
        ``t`` inside its bracket: the sensitivity estimate at first, then the root of
        the limit excess interpolated between the bracket's ends (a secant step, held
        off the ends), or their geometric mean where an end's excess is unknown or the
        last secant step did not halve the bracket. When
        the target is within ``rtol/3`` of the capacity, one round closes the bracket.
        ``on_round`` is told after each round how many sites are done.
        """
        n = len(self.probes.sites)
        lo, hi = np.zeros(n), np.full(n, np.inf)
        base_excess = first_violation(self.base, self.base, self.limits,
                                      self.probes.names).excess[0]
        e_lo, e_hi = np.full(n, base_excess), np.full(n, np.nan)
        constraint = [Constraint.NONE.value] * n
        element = [""] * n
        min_kw = max_kw * 1e-5
        sites = np.arange(n, dtype=np.int64)

        def record(idx: IntArray, p: FloatArray, verdict: Verdict) -> None:
            for j, i in enumerate(idx):
                if verdict.ok[j]:
                    if p[j] > lo[i]:
                        lo[i], e_lo[i] = p[j], verdict.excess[j]
                elif p[j] < hi[i]:
                    hi[i], e_hi[i] = p[j], verdict.excess[j]
                    constraint[i], element[i] = verdict.constraint[j], verdict.element[j]

        # sensitivity: one small size everywhere
        p1 = max_kw * 1e-3
        target = np.empty(n)
        for first in range(0, n, self.chunk):
            cols = sites[first:first + self.chunk]
            verdict, obs = self.judge(cols, np.full(cols.size, p1))
            assert obs is not None
            record(cols, np.full(cols.size, p1), verdict)
            target[cols] = self.estimate(cols, p1, obs)
        growth = np.full(n, 1.5)
        bisect = np.zeros(n, dtype=np.bool_)
        open_ = np.ones(n, dtype=np.bool_)
        while True:
            took_all = np.isinf(hi) & (lo >= max_kw)
            closed = hi <= np.maximum(lo * (1.0 + rtol), min_kw)
            open_ &= ~(took_all | closed)
            if on_round is not None:
                on_round(n - int(open_.sum()))
            if not open_.any():
                break
            idx = sites[open_]
            t = np.empty(idx.size)
            for j, i in enumerate(idx):
                t[j] = self._next_target(lo[i], hi[i], e_lo[i], e_hi[i], target[i], growth[i],
                                         max_kw, min_kw, bisect[i])
                if math.isinf(hi[i]) or lo[i] == 0.0:
                    growth[i] *= growth[i]
            target[idx] = np.nan  # the estimate serves once
            width = hi[idx] - lo[idx]
            both = np.concatenate([t * (1.0 - rtol / 3.0), t * (1.0 + rtol / 3.0)])
            both = np.clip(both, 0.0, max_kw)
            verdict, _ = self.judge(np.concatenate([idx, idx]), both)
            record(np.concatenate([idx, idx]), both, verdict)
            # a secant step that did not halve the bracket: bisect next (the excess
            # jumps where a control acts, and interpolation across a jump crawls)
            bisect[idx] = np.isfinite(width) & (hi[idx] - lo[idx] > 0.5 * width)
        return lo, constraint, element

    @staticmethod
    def _next_target(lo: float, hi: float, e_lo: float, e_hi: float, estimate: float,
                     growth: float, max_kw: float, min_kw: float, bisect: bool) -> float:
        """Where to look next for one site (see :meth:`search`)."""
        if math.isfinite(estimate) and lo < estimate < hi:
            return estimate
        if math.isinf(hi):
            return min(max_kw, max(lo, min_kw) * growth)
        if lo == 0.0 and not math.isfinite(e_hi):
            return max(hi / growth, min_kw / 2.0)
        width = hi - lo
        if not bisect and math.isfinite(e_lo) and math.isfinite(e_hi) and e_hi > e_lo:
            root = lo + width * (-e_lo) / (e_hi - e_lo)
            return min(max(root, lo + 0.02 * width), hi - 0.02 * width)
        return math.sqrt(lo * hi) if lo > 0 else hi / 2.0
