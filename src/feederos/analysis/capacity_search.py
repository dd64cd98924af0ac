"""The hosting capacity of one bus by plain search: the baseline the sweep must match.

The textbook method: add a real DER element to a copy of the network — a
:class:`~feederos.model.Generator` (constant power, unity power factor) for PV, a
constant-power :class:`~feederos.model.EnergyConsumer` for EV charging; delta-connected
on a three-phase bus, as the sweep's — compile it,
solve it as any snapshot (:func:`feederos.powerflow.solve`), judge the result with
:func:`~feederos.analysis.der_constraints.first_violation`, and bisect on the size:
double from 10 kW until a size fails, then halve the bracket until it is narrower than
``rtol``. Every try is a fresh compile and a full solution: slow (tens of power flows
per bus), and independent of the probe loads and batched columns of
:mod:`feederos.analysis.hosting_capacity`, which is why the tests hold the sweep to it.

Examples
--------
>>> from feederos.feeders import load_feeder
>>> found = capacity_by_search(load_feeder("ieee13"), "675", max_kw=8000.0)
>>> found.constraint, found.kw > 500, found.solves > 10
('overvoltage', True, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from feederos.analysis.der_constraints import (
    Constraint,
    ElementNames,
    HostingLimits,
    Observation,
    Verdict,
    first_violation,
    regulator_power_kw,
    service_nodes,
)
from feederos.analysis.hosting_capacity import DerSiting, Site, candidate_sites
from feederos.errors import PowerFlowError
from feederos.model import (
    Connection,
    EnergyConsumer,
    Generator,
    LoadModel,
    LoadStatus,
    Network,
    Terminal,
)
from feederos.powerflow import PowerFlowResult, solve
from feederos.powerflow.compiled import compile_network
from feederos.powerflow.solve import control_tables

__all__ = ["SearchResult", "capacity_by_search"]

_DER_NAME = "hosting-capacity-search-der"
_FIRST_KW = 10.0


@dataclass(frozen=True)
class SearchResult:
    """The largest size that passed [kW], the constraint and element broken at the
    smallest size that failed, and the number of power flows solved."""

    kw: float
    constraint: str
    element: str
    solves: int


def capacity_by_search(
    network: Network,
    bus: str,
    *,
    kind: DerSiting | str = DerSiting.PV,
    load_mult: float = 1.0,
    limits: HostingLimits | None = None,
    max_kw: float,
    rtol: float = 1e-3,
    controls: bool = False,
    tolerance_pu: float = 1e-9,
) -> SearchResult:
    """Hosting capacity of ``bus`` at one load level by bisection (module docstring).

    Parameters are those of :func:`~feederos.analysis.hosting_capacity.hosting_capacity`
    for one bus and one level (``load_mult`` × every load's rated power).

    Raises
    ------
    ValueError
        If the bus is unknown or has two phase nodes (a two-phase DER has no single
        conventional rating here).
    PowerFlowError
        If the feeder does not solve without the DER.
    """
    kind = DerSiting(kind)
    limits = HostingLimits() if limits is None else limits
    settings = network.settings
    scaled = network.model_copy(update={"settings": settings.model_copy(update={
        "load_multiplier": settings.load_multiplier * load_mult})})
    compiled = compile_network(scaled)
    site = candidate_sites(compiled, [bus])[0]
    if len(site.nodes) == 2:
        raise ValueError(f"bus {bus!r} has two phase nodes; search a one- or three-phase bus")
    base = solve(compiled, tolerance_pu=tolerance_pu)
    if not base.converged:
        raise PowerFlowError(f"network {network.name!r} does not solve at load level ×"
                             f"{load_mult} without DER")
    regs, _ = control_tables(base.compiled)
    service = service_nodes(base.compiled)
    names = ElementNames(nodes=tuple(base.compiled.nodes.label(i) for i in service),
                         pd_elements=tuple(base.loading.element), regulators=regs.names)

    def observe(r: PowerFlowResult) -> Observation:
        if tuple(r.compiled.nodes.label(i) for i in service) != names.nodes:
            raise AssertionError("adding the DER renumbered the nodes")  # pragma: no cover
        return Observation(
            v_pu=r.v_pu[service][:, None],
            loading_pct=r.loading.loading_pct.to_numpy()[:, None],
            source_p_kw=np.array([r.source_p_kw]),
            regulator_p_kw=regulator_power_kw(r.compiled, regs, r.v[:, None]),
            converged=np.array([r.converged]),
        )

    base_obs = observe(base)
    solves = 1

    def judge(p_kw: float) -> Verdict:
        nonlocal solves
        with_der = scaled.model_copy(update=_with_der(scaled, site, kind, p_kw))
        c = compile_network(with_der).with_state(tap_pu=base.tap_pu,
                                                 capacitor_states=base.capacitor_states)
        locked = solve(c, tolerance_pu=tolerance_pu, controls=False, initial=base.v)
        solves += 1
        now = locked
        if controls:
            now = solve(c, tolerance_pu=tolerance_pu, initial=locked.v)
            solves += 1
        return first_violation(observe(now), base_obs, limits, names,
                               locked_v_pu=locked.v_pu[service][:, None])

    lo, hi = 0.0, math.inf
    constraint, element = Constraint.NONE.value, ""
    p = min(_FIRST_KW, max_kw)
    while True:
        verdict = judge(p)
        if verdict.ok[0]:
            lo = p
        else:
            hi = p
            constraint, element = str(verdict.constraint[0]), str(verdict.element[0])
        if math.isinf(hi):
            if lo >= max_kw:
                break
            p = min(2.0 * lo, max_kw)
        elif hi - lo <= rtol * max(lo, 1e-3 * _FIRST_KW):
            break
        else:
            p = 0.5 * (lo + hi)
    return SearchResult(kw=lo, constraint=constraint, element=element, solves=solves)


def _with_der(network: Network, site: Site, kind: DerSiting, p_kw: float) -> dict[str, object]:
    """The collections of ``network`` with the DER of ``p_kw`` at ``site`` added."""
    n = len(site.nodes)
    three = n == 3  # a three-wire unit, line to line (hosting_capacity's docstring)
    v_kv = site.v_ln_kv * math.sqrt(3.0) if three else site.v_ln_kv
    conn = Connection.DELTA if three else Connection.WYE
    terminal = Terminal(bus=site.bus, nodes=site.nodes)
    if kind is DerSiting.PV:
        der = Generator(name=_DER_NAME, terminal=terminal, phases=n, connection=conn,
                        v_kv=v_kv, p_kw=p_kw, q_kvar=0.0, model=1, v_min_pu=0.5, v_max_pu=1.5)
        return {"generators": [*network.generators, der]}
    load = EnergyConsumer(name=_DER_NAME, terminal=terminal, phases=n, connection=conn,
                          v_kv=v_kv, p_kw=p_kw, q_kvar=0.0, model=LoadModel.CONSTANT_PQ,
                          v_min_pu=0.5, v_max_pu=1.5, status=LoadStatus.FIXED, n_customers=0)
    return {"loads": [*network.loads, load]}
