"""What every load and DER draws or delivers at each step of a time series.

At step ``k`` (hour ``h``), as OpenDSS's yearly and daily modes have it (dss-python
0.15.7, probed element by element):

- a **load** draws its rating × its shape at ``h``: the ``yearly`` shape in yearly mode
  (the ``daily`` one where it has none), the ``daily`` one in daily mode;
- a **generator** delivers its kW *and* kvar × its shape (yearly mode: ``yearly`` only;
  daily: ``daily``); a negative multiplier makes it absorb;
- a **PV system**'s available power is ``irradiance × Pmpp`` × its shape (``yearly``,
  else ``daily``; never below 0), capped at ``%Pmpp``; its inverter, on at the start,
  turns off when that falls below ``%cutout`` of its kVA and on again once it reaches
  ``%cutin``;
- a **battery** with a shape delivers ``kWrated`` × the shape, discharging when
  positive, charging when negative, idle at 0 (OpenDSS ``dispmode=follow``); one without
  a shape, or dispatched by its state (:attr:`~feederos.model.BatteryDispatch.STATE`,
  OpenDSS's default), keeps its state's power. Its stored energy follows what it
  delivered, as OpenDSS books it (``P_idle`` = ``%IdlingkW`` × kWrated): discharging
  ``E −= (P + P_idle) / η_d · Δt``, charging ``E += (|P| − P_idle) · η_c · Δt``; idle, it
  draws ``P_idle`` from the grid and keeps its energy. A battery at its reserve does
  not discharge and a full one does not charge. Unlike OpenDSS, which delivers the
  whole step's power and then clips the stored energy at the limit, a step's power is
  cut to what the stored energy (or the room left) allows, so energy is conserved;
- an **EV charger** draws ``p_max_kw`` × its ``schedule_shape`` in every mode (its
  ``p_kw`` without one).

``profiles`` given to :func:`feederos.timeseries.run` replace an element's shape for the
run: a :class:`~feederos.model.LoadShape`, or one multiplier per step.

Examples
--------
>>> import numpy as np
>>> from feederos.feeders import load_feeder
>>> from feederos.model import DerKind, PowerElectronicsConnection, SolveMode, Terminal
>>> from feederos.powerflow import compile_network
>>> net = load_feeder("ieee13")
>>> net.inverters.append(PowerElectronicsConnection(
...     name="b", kind=DerKind.BATTERY, terminal=Terminal(bus="675"), v_kv=4.16,
...     s_kva=300, p_rated_kw=200, energy_kwh=400, soc_pct=50, reserve_pct=20,
...     idling_pct=0, efficiency_discharge_pct=100))
>>> hours = np.array([1.0, 2.0])
>>> d = Dispatch(net, compile_network(net), SolveMode.YEARLY, hours,
...              profiles={"Storage.b": [1.0, 1.0]})
>>> d.battery_names, d.soc_pct.tolist()
(('b',), [50.0])
>>> [round(float(s.p_dc_kw[0]), 6) for s in d.sets(0) if s.kind == "inverters"]
[120.0]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from feederos.errors import NetworkValidationError
from feederos.model import (
    BatteryDispatch,
    BatteryState,
    DerKind,
    LoadShape,
    Network,
    PowerElectronicsConnection,
)
from feederos.model.settings import SolveMode
from feederos.model.validation import Problem
from feederos.powerflow.compiled import CompiledNetwork
from feederos.powerflow.injections.base import InjectionSet
from feederos.powerflow.injections.generators import EVChargerInjections, GeneratorInjections
from feederos.powerflow.injections.inverters import InverterInjections
from feederos.powerflow.injections.loads import LoadSet
from feederos.timeseries.profiles import shape_multipliers

__all__ = ["Dispatch", "Profile"]

FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]
BoolArray = npt.NDArray[np.bool_]

Profile = LoadShape | Sequence[float] | FloatArray
"""An element's multipliers for a run: a shape read at each step's hour, or one value
per step."""

_CLASSES = {
    "load": "loads", "loads": "loads",
    "generator": "generators", "generators": "generators",
    "pvsystem": "inverters", "storage": "inverters", "inverter": "inverters",
    "inverters": "inverters",
    "evcharger": "ev_chargers", "ev_charger": "ev_chargers", "ev_chargers": "ev_chargers",
}
"""``profiles`` keys: OpenDSS class names and our collections, any case."""


@dataclass
class _Batteries:
    """The batteries of one inverter set: their rows in it, ratings and what they hold."""

    rows: npt.NDArray[np.int64]
    names: tuple[str, ...]
    full_kwh: FloatArray
    reserve_kwh: FloatArray
    stored_kwh: FloatArray
    """Energy held now [kWh]."""
    idle_kw: FloatArray
    eta_c: FloatArray
    eta_d: FloatArray
    state: npt.NDArray[np.int64]
    """As compiled: 1 discharging, −1 charging, 0 idle."""
    now: npt.NDArray[np.int64]
    """The state of the step being solved."""

    @classmethod
    def of(cls, network: Network, s: InjectionSet) -> _Batteries | None:
        """The batteries of ``s``; ``None`` if it has none."""
        if not isinstance(s, InverterInjections) or s.is_pv.all():
            return None
        by_name = {inv.name: inv for inv in network.inverters}
        rows = np.flatnonzero(~s.is_pv)
        invs = [by_name[s.names[i]] for i in rows]
        full = np.array([inv.energy_kwh or 0.0 for inv in invs])
        state = np.array([{BatteryState.CHARGING: -1, BatteryState.DISCHARGING: 1}.get(
            inv.state, 0) for inv in invs], dtype=np.int64)
        return cls(
            rows=rows, names=tuple(inv.name for inv in invs), full_kwh=full,
            reserve_kwh=full * np.array([inv.reserve_pct for inv in invs]) / 100.0,
            stored_kwh=full * np.array([100.0 if inv.soc_pct is None else inv.soc_pct
                                        for inv in invs]) / 100.0,
            idle_kw=np.array([inv.idling_pct / 100.0 * (inv.p_rated_kw or inv.s_kva)
                              for inv in invs]),
            eta_c=np.array([inv.efficiency_charge_pct / 100.0 for inv in invs]),
            eta_d=np.array([inv.efficiency_discharge_pct / 100.0 for inv in invs]),
            state=state, now=np.zeros_like(state))


def _shape_name(network: Network, kind: str, mode: SolveMode) -> dict[str, str | None]:
    """Each element of collection ``kind``'s shape in ``mode`` (see the module docstring)."""
    out: dict[str, str | None] = {}
    if kind == "ev_chargers":
        return {c.name: c.schedule_shape for c in network.ev_chargers}
    falls_back = kind != "generators"  # a generator's yearly shape is never its daily one
    for e in getattr(network, kind):
        if isinstance(e, PowerElectronicsConnection) and e.dispatch is BatteryDispatch.STATE \
                and e.kind is DerKind.BATTERY:
            out[e.name] = None
        elif mode is SolveMode.YEARLY:
            out[e.name] = e.yearly_shape or (e.daily_shape if falls_back else None)
        elif mode is SolveMode.DAILY:
            out[e.name] = e.daily_shape
        else:
            out[e.name] = None
    return out


class Dispatch:
    """The injection sets of every step of a run, and the state DER carry between steps
    (battery energy, PV inverters on or off); see the module docstring.

    Multipliers are computed a ``window`` of steps at a time: a minute-by-minute year of
    IEEE 8500's 1177 loads would otherwise hold 620 million of them (5 GB). Everything
    is checked when it is made.

    Raises
    ------
    NetworkValidationError
        Naming every element whose shape the network lacks, every shape with its own
        reactive multipliers (not supported yet), every ``profiles`` key naming no
        element and every profile of the wrong length or with a value that is not finite.
    """

    def __init__(self, network: Network, compiled: CompiledNetwork, mode: SolveMode,
                 hours: FloatArray, window: int = 1000,
                 profiles: Mapping[str, Profile] | None = None) -> None:
        self.compiled, self.hours, self.window = compiled, hours, window
        self.step_h = float(hours[1] - hours[0]) if hours.size > 1 else (
            float(network.settings.step_s) / 3600.0)
        problems: list[Problem] = []
        overrides = self._overrides(compiled, hours.size, profiles or {}, problems)
        shapes = {s.name: s for s in network.load_shapes}
        # Per set and element: None, a shape or a per-step array.
        self._sources: list[list[LoadShape | FloatArray | None]] = []
        for s in compiled.injections:
            names = _shape_name(network, s.kind, mode)
            row: list[LoadShape | FloatArray | None] = []
            for name in s.names:
                given = overrides.get((s.kind, name.lower()))
                if given is not None:
                    row.append(given)
                    continue
                shape_name = names.get(name)
                shape = None if shape_name is None else shapes.get(shape_name)
                if shape_name is not None and shape is None:
                    problems.append(Problem(s.kind, name, "shape",
                                            f"no load shape named {shape_name!r}; add it"))
                row.append(self._checked(shape, problems))
            self._sources.append(row)
        if problems:
            raise NetworkValidationError(problems)
        self.follows = [any(src is not None for src in row) for row in self._sources]
        self._base = [self._base_values(network, s) for s in compiled.injections]
        self._batteries = [_Batteries.of(network, s) for s in compiled.injections]
        self.battery_names = tuple(name for b in self._batteries if b is not None
                                   for name in b.names)
        # OpenDSS's PV inverters start on (a snapshot then turns them off below %cutout).
        self._on = [np.ones(len(s.names), dtype=bool) if isinstance(s, InverterInjections)
                    else None for s in compiled.injections]
        self._lo = self._hi = 0
        self._columns: list[FloatArray | None] = []

    # -- set-up ----------------------------------------------------------------------
    @staticmethod
    def _overrides(compiled: CompiledNetwork, n_steps: int, profiles: Mapping[str, Profile],
                   problems: list[Problem]) -> dict[tuple[str, str], LoadShape | FloatArray]:
        known = {(s.kind, name.lower()) for s in compiled.injections for name in s.names}
        out: dict[tuple[str, str], LoadShape | FloatArray] = {}
        for key, profile in profiles.items():
            cls, _, name = key.partition(".")
            kind = _CLASSES.get(cls.lower())
            if kind is None or (kind, name.lower()) not in known:
                problems.append(Problem("profiles", key, "name",
                                        "names no load, generator, PV system, battery or "
                                        "EV charger in service; use class.name"))
                continue
            if isinstance(profile, LoadShape):
                out[kind, name.lower()] = profile
                continue
            values = np.asarray(profile, dtype=np.float64)
            if values.shape != (n_steps,) or not np.isfinite(values).all():
                problems.append(Problem("profiles", key, "values",
                                        f"needs {n_steps} finite multipliers, one per step "
                                        f"(got shape {values.shape})"))
                continue
            out[kind, name.lower()] = values
        return out

    @staticmethod
    def _checked(shape: LoadShape | None, problems: list[Problem]) -> LoadShape | None:
        if shape is not None and shape.q_mult is not None:
            problems.append(Problem("load_shapes", shape.name, "q_mult",
                                    "shapes with their own reactive multipliers are not "
                                    "supported in time series yet; drop q_mult"))
            return None
        return shape

    @staticmethod
    def _base_values(network: Network, s: InjectionSet) -> ComplexArray | FloatArray | None:
        """What a multiplier multiplies: a generator's and an EV charger's per-phase power
        [VA] (a charger's at ``p_max_kw``), a PV system's ``irradiance × Pmpp`` or a
        battery's kWrated [kW]."""
        if isinstance(s, EVChargerInjections):
            chargers = {c.name: c for c in network.ev_chargers}
            # Per phase at p_max_kw and the charger's power factor (drawn: negative).
            return -np.array([
                complex(c.p_max_kw, c.p_max_kw * np.sqrt(1.0 / c.pf**2 - 1.0)) * 1000.0
                / c.phases for c in (chargers[n] for n in s.names)], dtype=np.complex128)
        if isinstance(s, InverterInjections):
            inverters = {inv.name: inv for inv in network.inverters}
            return np.array([
                (inv.irradiance_kw_m2 * inv.p_rated_kw if inv.p_rated_kw is not None
                 else inv.p_kw) if inv.kind is DerKind.PV
                else (inv.p_rated_kw if inv.p_rated_kw is not None else inv.s_kva)
                for inv in (inverters[n] for n in s.names)], dtype=np.float64)
        return None

    # -- multipliers -----------------------------------------------------------------
    @property
    def stepwise(self) -> bool:
        """Whether the steps must be solved one after another: some DER follows a shape
        or a battery is working (its stored energy decides the next step)."""
        working = any(b is not None and bool((b.state != 0).any())
                      for b in self._batteries)
        return working or any(f for s, f in zip(self.compiled.injections, self.follows,
                                                strict=True) if not isinstance(s, LoadSet))

    def _fill(self, lo: int, hi: int) -> None:
        if self._lo <= lo < hi <= self._hi:
            return
        self._lo, self._hi = lo, max(hi, min(self.hours.size, lo + self.window))
        hours = self.hours[self._lo:self._hi]
        cache: dict[str, FloatArray] = {}
        self._columns = []
        for row, follows in zip(self._sources, self.follows, strict=True):
            if not follows:
                self._columns.append(None)
                continue
            m = np.full((len(row), hours.size), np.nan)
            for i, src in enumerate(row):
                if isinstance(src, LoadShape):
                    if src.name not in cache:
                        cache[src.name] = shape_multipliers(src, hours)
                    m[i] = cache[src.name]
                elif src is not None:
                    m[i] = src[self._lo:self._hi]
            self._columns.append(m)

    def _span(self, lo: int, hi: int) -> list[FloatArray | None]:
        """Per set, each element's multiplier at steps ``lo … hi−1`` ``(m, hi − lo)``
        (NaN: the element follows nothing); ``None`` for sets where nothing does."""
        self._fill(lo, hi)
        return [None if m is None else m[:, lo - self._lo:hi - self._lo]
                for m in self._columns]

    def load_span(self, lo: int, hi: int) -> list[FloatArray | None]:
        """Per set, the loads' multipliers at steps ``lo … hi−1`` ``(m, hi − lo)`` (1
        where a load follows nothing); ``None`` for the other sets. Every load set has
        them if none follows a shape (a block solves its steps as columns)."""
        span = self._span(lo, hi)
        anything = any(m is not None for s, m in zip(self.compiled.injections, span,
                                                     strict=True) if isinstance(s, LoadSet))
        out: list[FloatArray | None] = []
        for s, m in zip(self.compiled.injections, span, strict=True):
            if not isinstance(s, LoadSet):
                out.append(None)
            elif m is None:
                out.append(None if anything else np.ones((len(s.names), hi - lo)))
            else:
                out.append(np.where(np.isnan(m), 1.0, m))
        return out

    # -- one step --------------------------------------------------------------------
    @property
    def soc_pct(self) -> FloatArray:
        """Each battery's state of charge now [%], in :attr:`battery_names` order."""
        parts = [100.0 * b.stored_kwh / np.where(b.full_kwh > 0, b.full_kwh, 1.0)
                 for b in self._batteries if b is not None]
        return np.concatenate(parts) if parts else np.zeros(0)

    def sets(self, k: int) -> tuple[InjectionSet, ...]:
        """The injection sets as they draw and deliver at step ``k``."""
        out: list[InjectionSet] = []
        for j, (s, m) in enumerate(zip(self.compiled.injections, self._span(k, k + 1),
                                       strict=True)):
            mult = None if m is None else m[:, 0]
            out.append(self._at_step(j, s, mult))
        return tuple(out)

    def _at_step(self, j: int, s: InjectionSet, mult: FloatArray | None) -> InjectionSet:
        if isinstance(s, InverterInjections):  # they carry state even without shapes
            if mult is None:
                mult = np.full(len(s.names), np.nan)
            has = ~np.isnan(mult)
            return self._inverters_at_step(j, s, np.where(has, mult, 0.0), has)
        if mult is None:
            return s
        has = ~np.isnan(mult)
        if isinstance(s, LoadSet):
            return replace(s, mult=s.mult * np.where(has, mult, 1.0))
        if isinstance(s, GeneratorInjections):
            return replace(s, s_va=s.s_va * np.where(has, mult, 1.0))
        if isinstance(s, EVChargerInjections):
            return replace(s, s_va=np.where(has, self._base[j] * np.where(has, mult, 0.0),
                                            s.s_va))
        return s

    def _inverters_at_step(self, j: int, s: InverterInjections, mult: FloatArray,
                           has: BoolArray) -> InverterInjections:
        """``s`` at a step whose multipliers are ``mult`` where ``has``."""
        base = self._base[j]
        assert base is not None
        p_dc = s.p_dc_kw.copy()
        idle = s.idle.copy()
        state = np.zeros(len(s.names), dtype=np.int64)
        p_dc = np.where(has & s.is_pv, np.maximum(base * mult, 0.0), p_dc)
        on = self._on[j]
        assert on is not None
        if s.is_pv.any():  # the inverter's hysteresis, carried from step to step
            on[:] = np.where(on, p_dc >= s.cut_out_kw, p_dc >= s.cut_in_kw) | ~s.is_pv
        b = self._batteries[j]
        if b is not None:
            rows = b.rows
            follow = has[rows]
            cmd = np.where(follow, base[rows] * mult[rows], p_dc[rows])
            st = np.where(follow, np.sign(cmd).astype(np.int64), b.state)
            st = np.where((st > 0) & (b.stored_kwh <= b.reserve_kwh), 0, st)
            st = np.where((st < 0) & (b.stored_kwh >= b.full_kwh), 0, st)
            # Cut the step's power to the energy there is (or the room there is).
            dt = self.step_h
            can_give = (b.stored_kwh - b.reserve_kwh) * b.eta_d / dt - b.idle_kw
            can_take = (b.full_kwh - b.stored_kwh) / (b.eta_c * dt) + b.idle_kw
            cmd = np.where(st > 0, np.minimum(cmd, can_give), cmd)
            cmd = np.where(st < 0, np.maximum(cmd, -can_take), cmd)
            st = np.where((st != 0) & (cmd * st <= 0), 0, st)
            p_dc[rows] = np.where(st == 0, -b.idle_kw, cmd)
            idle[rows] = st == 0
            state[rows] = st
            b.now = st
        volt_watt = (s.vw_curve >= 0) & (s.is_pv | (state > 0))
        vw_base = np.where(s.vw_y_axis == 0, p_dc, s.vw_base_kw)
        return replace(s, p_dc_kw=p_dc, idle=idle, inverter_on=on.copy(),
                       volt_watt=volt_watt, vw_base_kw=vw_base)

    def settle(self, k: int, compiled: CompiledNetwork, v: ComplexArray) -> None:
        """Carry step ``k``'s outcome, solved as ``v`` [V] on ``compiled`` (whose
        injections are :meth:`sets` ``(k)``), into the next step: the batteries' stored
        energy."""
        for j, b in enumerate(self._batteries):
            if b is None:
                continue
            s = compiled.injections[j]
            v_cond = compiled.nominal_blocks[j].voltages(v)
            p_kw = -(v_cond * np.conj(s.currents(v_cond))).sum(axis=1).real[b.rows] / 1e3
            st, dt = b.now, self.step_h
            spent = np.where(st > 0, (p_kw + b.idle_kw) / b.eta_d * dt, 0.0)
            gained = np.where(st < 0, (-p_kw - b.idle_kw) * b.eta_c * dt, 0.0)
            b.stored_kwh = np.clip(b.stored_kwh - spent + gained, 0.0, b.full_kwh)
