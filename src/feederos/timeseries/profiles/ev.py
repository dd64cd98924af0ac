"""EV charging: seeded home-charging sessions and the charging power they draw.

A session is one plug-in: ``arrival_h`` and ``departure_h`` (hours after midnight of
the first day, i.e. after a :class:`~feederos.timeseries.profiles.TimeGrid`'s start),
the ``energy_kwh`` the vehicle takes and the ``p_max_kw`` it can draw.

The session model (:class:`EVSessionModel`) draws, for each EV and day, an evening
arrival from a normal distribution, a departure the next morning, and the energy of
that day's driving: a log-normal daily distance times a consumption per km, no more
than the battery nor than the charger can give during the stay. Sources of the
defaults, which are round scenario values, not a fit:

- Arrival: home charging starts in an evening peak around 17:00–19:00, as measured in
  the U.S. EV Project (Idaho National Laboratory, *EV Project Electric Vehicle
  Charging Infrastructure Summary Report*, 2013–2015) and in the My Electric Avenue
  trial (J. Quirós-Tortós, L. F. Ochoa and B. Lees, *A statistical analysis of EV
  charging behavior in the UK*, IEEE PES ISGT Latin America, 2015); a normal law
  around 18:00 with a 2 h spread is the usual simplification in feeder studies.
- Distance: U.S. light-duty vehicles travel a few tens of km a day (FHWA, *2017
  National Household Travel Survey*), with a long right tail, hence log-normal.
- Consumption 0.18 kWh/km: the middle of EPA-rated battery-electric cars.
- Chargers: SAE J1772 Level 1 (120 V, up to 16 A: 1.9 kW) and Level 2 (240 V; 30 A
  gives 7.2 kW, 48 A 11.5 kW).

Penetration (EVs per customer) comes from the feeder profile's ``ev_pct_of_customers``.
:func:`ev_charging_kw` turns sessions into each charger's power per step under a
charging policy, delivering each session's energy exactly within its stay and never
above its ``p_max_kw``.

Examples
--------
>>> grid = TimeGrid.day("2023-03-01")
>>> sessions = ev_sessions(40, days=1, seed=1, penetration_pct=25.0)
>>> kw = ev_charging_kw(sessions, grid)
>>> bool(np.isclose(kw.to_numpy().sum() * grid.step_h, sessions.energy_kwh.sum()))
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd

from feederos.feeders.profiles import FeederProfile, ProfileName, get_profile
from feederos.model import EVCharger, LoadShape, Network
from feederos.timeseries.profiles._common import (
    FloatArray,
    IntArray,
    Seed,
    choice,
    generator,
    require,
    shape_from_values,
)
from feederos.timeseries.profiles.timegrid import TimeGrid

__all__ = [
    "SESSION_COLUMNS",
    "ChargingPolicy",
    "EVSessionModel",
    "assign_ev_shapes",
    "charger_sessions",
    "ev_charger_shapes",
    "ev_charging_kw",
    "ev_sessions",
]

_CHUNK = 2_000_000
"""(session, step) pairs handled at once by :func:`ev_charging_kw`."""

SESSION_COLUMNS = ("charger", "ev", "arrival_h", "departure_h", "energy_kwh", "p_max_kw")
"""The columns of a sessions table."""


class ChargingPolicy(StrEnum):
    """When, within its stay, a session draws its energy."""

    IMMEDIATE = "immediate"
    """At full power from arrival until the energy is in (uncontrolled charging)."""
    DELAYED = "delayed"
    """At full power as late as possible, finishing at departure."""
    SPREAD = "spread"
    """At the constant power that fills the energy over the whole stay."""


@dataclass(frozen=True)
class EVSessionModel:
    """Distributions of home-charging sessions (see the module notes for sources).

    Parameters
    ----------
    arrival_mean_h, arrival_std_h
        Normal law of the plug-in hour of day [h].
    departure_mean_h, departure_std_h
        Normal law of the unplug hour of the next day [h].
    min_stay_h
        Shortest stay [h].
    distance_median_km, distance_sigma
        Log-normal law of the day's driving: median [km] and shape [-].
    consumption_kwh_per_km
        Energy per km driven [kWh/km].
    battery_kwh
        Most energy one session takes [kWh].
    chargers_kw, charger_shares
        Charger powers [kW] and the share of EVs with each [-].
    plug_in_probability
        Chance an EV plugs in on a given day [-].
    kw_per_ev
        For chargers of a network: a charger of ``p_max_kw`` serves
        ``max(1, round(p_max_kw / kw_per_ev))`` EVs, sharing its power [kW].

    Examples
    --------
    >>> EVSessionModel().chargers_kw
    (1.9, 7.2, 11.5)
    """

    arrival_mean_h: float = 18.0
    arrival_std_h: float = 2.0
    departure_mean_h: float = 7.5
    departure_std_h: float = 1.0
    min_stay_h: float = 1.0
    distance_median_km: float = 40.0
    distance_sigma: float = 0.6
    consumption_kwh_per_km: float = 0.18
    battery_kwh: float = 60.0
    chargers_kw: tuple[float, ...] = (1.9, 7.2, 11.5)
    charger_shares: tuple[float, ...] = (0.2, 0.7, 0.1)
    plug_in_probability: float = 1.0
    kw_per_ev: float = 7.2


def ev_sessions(n_customers: int, *, days: int = 1, seed: Seed = None,
                profile: FeederProfile | ProfileName | str = ProfileName.SUBURBAN,
                penetration_pct: float | None = None,
                model: EVSessionModel | None = None) -> pd.DataFrame:
    """Seeded charging sessions of the EVs among ``n_customers`` customers.

    Each customer has an EV with probability ``penetration_pct`` (default drawn
    uniformly from the profile's ``ev_pct_of_customers``); each EV has its own charger,
    named ``ev1``, ``ev2``, ... with a power drawn from ``model.chargers_kw``.

    Parameters
    ----------
    n_customers
        Customers that could own an EV [-].
    days
        Days of sessions, one evening each [-].
    seed
        Seed of every draw.
    profile
        Feeder profile whose EV range sets the penetration.
    penetration_pct
        Share of customers with an EV [%]; overrides the profile.
    model
        The session distributions; default :class:`EVSessionModel`.

    Returns
    -------
    pandas.DataFrame
        One row per session, columns :data:`SESSION_COLUMNS`, sorted by charger and
        arrival.

    Examples
    --------
    >>> s = ev_sessions(200, days=2, seed=4, profile="urban")
    >>> s.equals(ev_sessions(200, days=2, seed=4, profile="urban"))
    True
    >>> bool((s.departure_h > s.arrival_h).all()), list(s.columns) == list(SESSION_COLUMNS)
    (True, True)
    """
    m = EVSessionModel() if model is None else model
    require(n_customers >= 0, "n_customers", f"{n_customers!r} must be >= 0")
    rng = generator(seed)
    if penetration_pct is None:
        penetration_pct = float(rng.uniform(*get_profile(profile).ev_pct_of_customers))
    require(0.0 <= penetration_pct <= 100.0, "penetration_pct",
            f"{penetration_pct!r} not in [0, 100]")
    n_ev = int(rng.binomial(n_customers, penetration_pct / 100.0))
    shares = np.asarray(m.charger_shares, dtype=np.float64)
    require(len(m.chargers_kw) == shares.size and shares.sum() > 0, "model",
            "chargers_kw and charger_shares need the same length and some share")
    p_max = np.asarray(m.chargers_kw)[rng.choice(shares.size, size=n_ev, p=shares / shares.sum())]
    names = [f"ev{i + 1}" for i in range(n_ev)]
    return _draw(names, names, p_max, days=days, rng=rng, model=m)


def charger_sessions(chargers: Sequence[EVCharger], *, days: int = 1, seed: Seed = None,
                     model: EVSessionModel | None = None) -> pd.DataFrame:
    """Seeded sessions at a network's chargers.

    A charger of ``p_max_kw`` serves ``max(1, round(p_max_kw / model.kw_per_ev))`` EVs
    (named ``{charger}.1``, ...), each drawing at most its share of ``p_max_kw``, so
    together they never exceed the charger.

    Examples
    --------
    >>> from feederos.model import Terminal
    >>> ch = EVCharger(name="c1", terminal=Terminal(bus="b", nodes=(1,)), v_kv=0.24,
    ...                p_max_kw=14.4)
    >>> s = charger_sessions([ch], days=1, seed=0)
    >>> s.ev.tolist(), s.p_max_kw.tolist()
    (['c1.1', 'c1.2'], [7.2, 7.2])
    """
    m = EVSessionModel() if model is None else model
    require(m.kw_per_ev > 0, "model", "kw_per_ev must be > 0 [kW]")
    rng = generator(seed)
    charger_names: list[str] = []
    ev_names: list[str] = []
    p_max: list[float] = []
    for charger in chargers:
        n = max(1, round(charger.p_max_kw / m.kw_per_ev))
        for k in range(1, n + 1):
            charger_names.append(charger.name)
            ev_names.append(f"{charger.name}.{k}")
            p_max.append(charger.p_max_kw / n)
    return _draw(charger_names, ev_names, np.asarray(p_max, dtype=np.float64), days=days,
                 rng=rng, model=m)


def ev_charging_kw(sessions: pd.DataFrame, grid: TimeGrid, *,
                   policy: ChargingPolicy | str = ChargingPolicy.IMMEDIATE) -> pd.DataFrame:
    """Each charger's mean charging power in each step of ``grid`` [kW].

    Every session delivers ``min(energy_kwh, p_max_kw × stay)`` within its stay, at no
    more than ``p_max_kw``, when ``policy`` says. The grid is periodic, as shapes repeat:
    a stay running past the grid's end continues at its start.

    Parameters
    ----------
    sessions
        A table with columns ``charger``, ``arrival_h``, ``departure_h``,
        ``energy_kwh``, ``p_max_kw`` (as :func:`ev_sessions` makes).
    grid
        The steps; session hours count from its start.
    policy
        When each session charges.

    Returns
    -------
    pandas.DataFrame
        Index ``grid.index`` (each step's start), one column per charger [kW].

    Raises
    ------
    ProfileError
        A column is missing, or a row has a departure not after its arrival, a negative
        arrival or energy, or a ``p_max_kw`` that is not positive (naming the row).

    Examples
    --------
    >>> s = pd.DataFrame({"charger": ["a"], "arrival_h": [1.5], "departure_h": [4.0],
    ...                   "energy_kwh": [10.0], "p_max_kw": [7.2]})
    >>> ev_charging_kw(s, TimeGrid.day(), policy="immediate")["a"].iloc[:5].round(6).tolist()
    [0.0, 3.6, 6.4, 0.0, 0.0]
    >>> ev_charging_kw(s, TimeGrid.day(), policy="delayed")["a"].iloc[:5].round(6).tolist()
    [0.0, 0.0, 2.8, 7.2, 0.0]
    """
    arrival, departure, energy, p_max, codes, names = _checked(sessions)
    policy = choice(ChargingPolicy, policy, "policy")
    dt, n = grid.step_h, grid.steps
    k0 = np.floor(arrival / dt).astype(np.int64)
    k1 = np.maximum(np.ceil(departure / dt).astype(np.int64), k0 + 1)
    # sessions in chunks of about _CHUNK (session, step) pairs, so memory stays bounded
    ends = np.cumsum(k1 - k0)
    cuts = np.searchsorted(ends, np.arange(_CHUNK, int(ends[-1]) if ends.size else 0, _CHUNK))
    kwh = np.zeros(len(names) * n, dtype=np.float64)
    for part in np.split(np.arange(arrival.size), np.unique(cuts)):
        if part.size:
            kwh += _delivered_kwh(arrival[part], departure[part], energy[part], p_max[part],
                                  codes[part], k0[part], k1[part], dt=dt, n=n,
                                  cells=len(names) * n, policy=policy)
    table = kwh.reshape(len(names), n).T / dt
    return pd.DataFrame(table, index=grid.index, columns=pd.Index(names, name="charger"))


def _delivered_kwh(arrival: FloatArray, departure: FloatArray, energy: FloatArray,
                   p_max: FloatArray, codes: IntArray, k0: IntArray, k1: IntArray, *,
                   dt: float, n: int, cells: int, policy: ChargingPolicy) -> FloatArray:
    """Energy each (charger, step) cell receives from these sessions [kWh], flat."""
    count = k1 - k0
    seg = np.repeat(np.arange(arrival.size), count)
    first = np.cumsum(count) - count
    k = k0[seg] + (np.arange(int(count.sum())) - first[seg])
    overlap = np.maximum(np.minimum(departure[seg], (k + 1) * dt)
                         - np.maximum(arrival[seg], k * dt), 0.0)
    stay = departure - arrival
    target = np.minimum(energy, p_max * stay)
    if policy is ChargingPolicy.SPREAD:
        delivered = (target / stay)[seg] * overlap
    else:
        p = p_max[seg]
        # what the session's earlier steps (immediate) or later ones (delayed) can hold
        if policy is ChargingPolicy.DELAYED:
            ahead = p * (departure[seg] - np.minimum((k + 1) * dt, departure[seg]))
        else:
            ahead = p * (np.maximum(k * dt, arrival[seg]) - arrival[seg])
        delivered = np.clip(target[seg] - ahead, 0.0, p * overlap)
    out: FloatArray = np.bincount(codes[seg] * n + np.mod(k, n), weights=delivered,
                                  minlength=cells).astype(np.float64)
    return out


def ev_charger_shapes(sessions: pd.DataFrame, grid: TimeGrid, *,
                      policy: ChargingPolicy | str = ChargingPolicy.IMMEDIATE,
                      p_max_kw: Mapping[str, float] | None = None,
                      prefix: str = "ev_") -> list[LoadShape]:
    """One shape per charger: its charging power over its rating [pu].

    Parameters
    ----------
    sessions, grid, policy
        As for :func:`ev_charging_kw`.
    p_max_kw
        Each charger's rating [kW]; default the sum of its EVs' ``p_max_kw`` (the
        ``ev`` column; without one, the largest session's).
    prefix
        Shapes are named ``{prefix}{charger}``.

    Examples
    --------
    >>> s = ev_sessions(30, seed=2, penetration_pct=20.0)
    >>> shapes = ev_charger_shapes(s, TimeGrid.day())
    >>> all(0.0 <= v <= 1.0 + 1e-12 for shape in shapes for v in shape.p_mult)
    True
    """
    kw = ev_charging_kw(sessions, grid, policy=policy)
    if p_max_kw is None:
        by = ["charger", "ev"] if "ev" in sessions.columns else ["charger"]
        per_ev = sessions.groupby(by, sort=False)["p_max_kw"].max()
        rating: dict[str, float] = {
            str(k): float(v) for k, v in per_ev.groupby(level="charger", sort=False).sum().items()}
    else:
        rating = dict(p_max_kw)
    shapes = []
    for charger in kw.columns:
        r = rating.get(charger)
        require(r is not None and r > 0, "p_max_kw", f"no positive rating for {charger!r}")
        assert r is not None
        shapes.append(shape_from_values(f"{prefix}{charger}", kw[charger].to_numpy() / r,
                                        interval_h=grid.step_h))
    return shapes


def assign_ev_shapes(network: Network, *, grid: TimeGrid | None = None, seed: Seed = None,
                     policy: ChargingPolicy | str = ChargingPolicy.IMMEDIATE,
                     model: EVSessionModel | None = None, prefix: str = "ev_") -> Network:
    """A copy of ``network`` whose every EV charger follows a generated schedule shape.

    Sessions are drawn at each charger (:func:`charger_sessions`) for every day of
    ``grid`` (default :meth:`TimeGrid.year`) and charged by ``policy``; each charger's
    ``schedule_shape`` names its shape, a multiplier of its ``p_max_kw``. Shapes of the
    same names in the network are replaced.

    Examples
    --------
    >>> from feederos.feeders import generate_feeder
    >>> net = generate_feeder("suburban", n_buses=200, seed=3)
    >>> out = assign_ev_shapes(net, grid=TimeGrid.day(), seed=1)
    >>> all(c.schedule_shape == f"ev_{c.name}" for c in out.ev_chargers)
    True
    """
    require(bool(network.ev_chargers), "network",
            "has no ev_chargers; add some, or draw sessions with ev_sessions(n_customers)")
    grid = TimeGrid.year() if grid is None else grid
    days = max(1, math.ceil(grid.duration_h / 24.0 - 1e-9))
    sessions = charger_sessions(network.ev_chargers, days=days, seed=seed, model=model)
    ratings = {c.name: c.p_max_kw for c in network.ev_chargers}
    made = {s.name: s for s in ev_charger_shapes(sessions, grid, policy=policy,
                                                 p_max_kw=ratings, prefix=prefix)}
    out = network.model_copy(deep=True)
    out.ev_chargers = [c.model_copy(update={"schedule_shape": f"{prefix}{c.name}"})
                       for c in network.ev_chargers]
    out.load_shapes = [s for s in network.load_shapes if s.name not in made] + list(
        made.values())
    return out


def _draw(chargers: list[str], evs: list[str], p_max: FloatArray, *, days: int,
          rng: np.random.Generator, model: EVSessionModel) -> pd.DataFrame:
    """Sessions of each EV on each of ``days`` evenings."""
    m = model
    require(days >= 1, "days", f"{days!r} must be >= 1")
    n = len(evs)
    day0 = 24.0 * np.arange(days, dtype=np.float64)
    arrival = day0 + rng.normal(m.arrival_mean_h, m.arrival_std_h, size=(n, days))
    departure = day0 + 24.0 + rng.normal(m.departure_mean_h, m.departure_std_h,
                                         size=(n, days))
    arrival = np.maximum(arrival, 0.0)
    for d in range(days):  # one EV is never in two places: no overlapping stays
        if d:
            arrival[:, d] = np.maximum(arrival[:, d], departure[:, d - 1])
        departure[:, d] = np.maximum(departure[:, d], arrival[:, d] + m.min_stay_h)
    distance_km = m.distance_median_km * np.exp(m.distance_sigma * rng.standard_normal((n, days)))
    plugged = rng.random((n, days)) < m.plug_in_probability
    power = np.broadcast_to(p_max[:, None], (n, days))
    energy = np.minimum.reduce([distance_km * m.consumption_kwh_per_km,
                                np.full((n, days), m.battery_kwh), power * (departure - arrival)])
    who = np.broadcast_to(np.arange(n)[:, None], (n, days))[plugged]
    table = pd.DataFrame({
        "charger": pd.Series([chargers[i] for i in who], dtype=object),
        "ev": pd.Series([evs[i] for i in who], dtype=object),
        "arrival_h": arrival[plugged],
        "departure_h": departure[plugged],
        "energy_kwh": energy[plugged],
        "p_max_kw": power[plugged],
    })
    return table.sort_values(["charger", "ev", "arrival_h"], kind="stable").reset_index(drop=True)


def _checked(sessions: pd.DataFrame) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray,
                                              IntArray, list[str]]:
    """The session columns as arrays, every row checked."""
    needed = ("charger", "arrival_h", "departure_h", "energy_kwh", "p_max_kw")
    missing = [c for c in needed if c not in sessions.columns]
    require(not missing, "sessions", f"missing column(s) {', '.join(missing)}")
    cols = {c: sessions[c].to_numpy(dtype=np.float64) for c in needed[1:]}
    checks = (
        (~np.isfinite(np.column_stack(list(cols.values()))).all(axis=1), "a value is not finite"),
        (cols["arrival_h"] < 0, "arrival_h is negative"),
        (cols["departure_h"] <= cols["arrival_h"], "departure_h is not after arrival_h"),
        (cols["energy_kwh"] < 0, "energy_kwh is negative"),
        (cols["p_max_kw"] <= 0, "p_max_kw is not positive"),
    )
    for bad, what in checks:
        if bad.any():
            label = sessions.index[int(np.argmax(bad))]
            require(False, "sessions", f"row {label!r}: {what}; fix or drop the row")
    codes, names = pd.factorize(sessions["charger"].astype(str), sort=False)
    return (cols["arrival_h"], cols["departure_h"], cols["energy_kwh"], cols["p_max_kw"],
            np.asarray(codes, dtype=np.int64), [str(x) for x in names])
