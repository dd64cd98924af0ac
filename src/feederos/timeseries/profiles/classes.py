"""Generated load shapes by customer class, and their assignment to a network's loads.

A class's shape is a stylised typical load profile: a base level plus smooth daily bumps
(generalised Gaussians on the clock, wrapping at midnight) for each day type —
weekday, Saturday, Sunday — as the German standard load profiles distinguish them;
bumps added in summer (cooling, irrigation), weighted by ``(1 - cos(2π(d - 15)/365.25))/2``
of the day of year ``d`` (0 in mid-January, 1 in mid-July: northern hemisphere); and a
seasonal level ``1 + a cos(2π(d - d_peak)/365.25)``. Each customer's variant shifts the
clock by a random offset and multiplies by first-order autoregressive noise (1 h
correlation), both seeded.

Sources, and how much to trust the numbers:

- Day types and the qualitative daily shapes (household night minimum, morning and
  evening peaks, commercial business-hours plateau, agricultural morning and evening
  peaks): *Repräsentative VDEW-Lastprofile*, VDEW M-28/1999, profiles H0, G0/G1 and L0,
  and C. Fünfgeld and R. Tiedemann, *Anwendung der Repräsentativen VDEW-Lastprofile
  step-by-step*, VDEW M-05/2000.
- Summer cooling peaks of North American homes and businesses (late afternoon) and the
  weekday/weekend contrast of commercial buildings: E. Wilson et al., *End-Use Load
  Profiles for the U.S. Building Stock*, NREL/TP-5500-80889, 2022 (ResStock/ComStock).

The parameters in :data:`CLASS_SHAPES` are round numbers chosen to reproduce those
features (times of peaks to the hour, relative heights to about ten percent); they are
not fitted to either data set. Where a utility's measured class shapes exist, read them
with :func:`~feederos.timeseries.profiles.read_load_shape` instead.

Examples
--------
>>> shape = class_shape(LoadClass.RESIDENTIAL, grid=TimeGrid.day("2023-01-11"), seed=1)
>>> shape.n_points, max(shape.p_mult)
(24, 1.0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Final

import numpy as np

from feederos.errors import ProfileError
from feederos.feeders.profiles import FeederProfile, LoadMix, ProfileName, get_profile
from feederos.model import LoadClass, LoadShape, Network, SolveMode
from feederos.timeseries.profiles._common import (
    FloatArray,
    IntArray,
    Seed,
    ar1_noise,
    choice,
    generator,
    require,
    shape_from_values,
)
from feederos.timeseries.profiles.timegrid import TimeGrid

__all__ = [
    "CLASS_SHAPES",
    "Bump",
    "ClassShape",
    "assign_class_shapes",
    "class_multipliers",
    "class_shape",
    "classes_from_mix",
]

_YEAR_DAYS = 365.25
_NOISE_TAU_H = 1.0
_MIX_CLASS: Final[dict[LoadMix, LoadClass]] = {
    LoadMix.RESIDENTIAL: LoadClass.RESIDENTIAL,
    LoadMix.COMMERCIAL: LoadClass.COMMERCIAL,
    LoadMix.LIGHT_INDUSTRIAL: LoadClass.INDUSTRIAL,
}


@dataclass(frozen=True)
class Bump:
    """A daily bump ``height · exp(-½ |Δ / width_h|^sharpness)``, ``Δ`` the clock distance
    to ``hour`` (wrapping at midnight).

    ``sharpness`` 2 is a Gaussian; larger values flatten the top into a plateau about
    ``2 · width_h`` wide (business hours, shifts).

    Examples
    --------
    >>> Bump(hour=23.0, width_h=1.0, height=0.5).at(np.array([23.0, 1.0])).round(4).tolist()
    [0.5, 0.0677]
    """

    hour: float
    width_h: float
    height: float
    sharpness: float = 2.0

    def at(self, hour_of_day: FloatArray) -> FloatArray:
        """The bump at ``hour_of_day`` [h]."""
        d = np.mod(hour_of_day - self.hour + 12.0, 24.0) - 12.0
        out: FloatArray = self.height * np.exp(-0.5 * np.abs(d / self.width_h) ** self.sharpness)
        return out


@dataclass(frozen=True)
class ClassShape:
    """The parameters of one customer class's stylised shape (see the module notes).

    Parameters
    ----------
    base
        Level below every bump [-].
    weekday, saturday, sunday
        The day types' bumps.
    summer
        Bumps added in proportion to the summer weight.
    seasonal_pct
        Amplitude of the yearly level cosine [%].
    seasonal_peak_day
        Day of year of the level's maximum [d].
    noise_pct
        Standard deviation of a customer's step-to-step variation [%].
    shift_h
        Standard deviation of a customer's clock offset [h] (cut at twice that).

    Examples
    --------
    >>> CLASS_SHAPES[LoadClass.COMMERCIAL].sunday[0].height < 0.2
    True
    """

    base: float
    weekday: tuple[Bump, ...]
    saturday: tuple[Bump, ...]
    sunday: tuple[Bump, ...]
    summer: tuple[Bump, ...] = ()
    seasonal_pct: float = 0.0
    seasonal_peak_day: float = 15.0
    noise_pct: float = 10.0
    shift_h: float = 0.5

    def pattern(self, day_of_year: FloatArray, hour_of_day: FloatArray,
                weekday: IntArray) -> FloatArray:
        """The shape before normalising, without variation [-].

        Examples
        --------
        >>> s = CLASS_SHAPES[LoadClass.INDUSTRIAL]
        >>> day, night = s.pattern(np.array([100.0, 100.0]), np.array([12.0, 2.0]),
        ...                        np.array([2, 2]))
        >>> bool(day > 1.5 * night)
        True
        """
        out = np.full(np.shape(hour_of_day), self.base, dtype=np.float64)
        for day_type, bumps in ((weekday < 5, self.weekday), (weekday == 5, self.saturday),
                                (weekday == 6, self.sunday)):
            for bump in bumps:
                out += np.where(day_type, bump.at(hour_of_day), 0.0)
        if self.summer:
            summer = 0.5 * (1.0 - np.cos(2.0 * math.pi * (day_of_year - 15.0) / _YEAR_DAYS))
            for bump in self.summer:
                out += summer * bump.at(hour_of_day)
        if self.seasonal_pct:
            out *= 1.0 + self.seasonal_pct / 100.0 * np.cos(
                2.0 * math.pi * (day_of_year - self.seasonal_peak_day) / _YEAR_DAYS)
        return out


CLASS_SHAPES: Final[dict[LoadClass, ClassShape]] = {
    # Night minimum about a third of the peak; a short morning peak near 07:30, a
    # midday shoulder, the evening peak near 19:00 the highest; weekends a later,
    # broader morning; summer afternoons add cooling; winter evenings a little lighting
    # and heating. (VDEW H0; NREL ResStock.)
    LoadClass.RESIDENTIAL: ClassShape(
        base=0.30,
        weekday=(Bump(7.5, 1.2, 0.35), Bump(13.0, 2.5, 0.15), Bump(19.0, 2.0, 0.60)),
        saturday=(Bump(9.5, 2.0, 0.40), Bump(13.0, 2.5, 0.25), Bump(19.0, 2.0, 0.55)),
        sunday=(Bump(10.0, 2.0, 0.40), Bump(13.0, 2.0, 0.30), Bump(19.0, 2.0, 0.55)),
        summer=(Bump(17.0, 3.0, 0.40),),
        seasonal_pct=10.0, seasonal_peak_day=15.0, noise_pct=10.0, shift_h=0.5,
    ),
    # A business-hours plateau from about 07:30 to 18:30 on weekdays, a shorter lower
    # Saturday, near base load on Sundays; summer cooling in the afternoon. (VDEW G0/G1;
    # NREL ComStock.)
    LoadClass.COMMERCIAL: ClassShape(
        base=0.30,
        weekday=(Bump(13.0, 5.5, 0.65, 6.0),),
        saturday=(Bump(12.5, 4.0, 0.35, 6.0),),
        sunday=(Bump(13.0, 4.0, 0.10, 6.0),),
        summer=(Bump(15.0, 3.5, 0.20),),
        seasonal_pct=3.0, seasonal_peak_day=200.0, noise_pct=5.0, shift_h=0.5,
    ),
    # Two shifts, 06:00 to 22:00, on weekdays over a high base of continuous process
    # load; a Saturday morning shift; Sundays at base.
    LoadClass.INDUSTRIAL: ClassShape(
        base=0.45,
        weekday=(Bump(14.0, 8.0, 0.55, 8.0),),
        saturday=(Bump(10.0, 4.0, 0.25, 8.0),),
        sunday=(),
        summer=(Bump(15.0, 4.0, 0.05),),
        seasonal_pct=0.0, noise_pct=5.0, shift_h=0.25,
    ),
    # Morning and evening chores (milking, feeding) every day of the week, a midday
    # shoulder, and daytime irrigation pumping in summer. (VDEW L0; irrigation is the
    # North American rural feature.)
    LoadClass.AGRICULTURAL: ClassShape(
        base=0.25,
        weekday=(Bump(6.5, 1.5, 0.35), Bump(12.5, 3.0, 0.15), Bump(18.0, 1.5, 0.35)),
        saturday=(Bump(6.5, 1.5, 0.35), Bump(12.5, 3.0, 0.15), Bump(18.0, 1.5, 0.35)),
        sunday=(Bump(7.0, 1.5, 0.30), Bump(12.5, 3.0, 0.10), Bump(18.0, 1.5, 0.30)),
        summer=(Bump(14.0, 5.0, 0.35, 4.0),),
        seasonal_pct=0.0, noise_pct=10.0, shift_h=0.5,
    ),
}
"""The built-in class shapes (see the module notes for their sources)."""


def class_multipliers(shape: ClassShape | LoadClass | str, grid: TimeGrid, *,
                      seed: Seed = None, variation: bool = True,
                      normalize: bool = True) -> FloatArray:
    """One customer's multipliers of a class shape on ``grid`` [pu].

    Parameters
    ----------
    shape
        A class (``"residential"``, ``"commercial"``, ``"industrial"``,
        ``"agricultural"``) or its :class:`ClassShape`.
    grid
        The steps; each value is the mean over its step.
    seed
        Seed of the customer's clock offset and noise.
    variation
        ``False`` for the class's own shape, without offset and noise.
    normalize
        ``True`` (OpenDSS's habit): the largest value on ``grid`` is 1.0, so a load's
        ``p_kw`` is its peak over the grid. ``False``: relative to the class's annual
        peak without variation, so a mild day stays below 1.

    Returns
    -------
    numpy.ndarray
        ``grid.steps`` multipliers [pu], not negative.

    Examples
    --------
    >>> grid = TimeGrid.day("2023-07-12")  # a Wednesday
    >>> m = class_multipliers("commercial", grid, variation=False, normalize=False)
    >>> bool(m[12] > 2 * m[2]), bool(m.max() < 1.0 + 1e-12)
    (True, True)
    """
    params = _class_shape(shape)
    rng = generator(seed)
    shift_h = 0.0
    if variation and params.shift_h > 0:
        shift_h = float(np.clip(rng.normal(0.0, params.shift_h), -2 * params.shift_h,
                                2 * params.shift_h))
    doy, hod, wd = grid.calendar(grid.substeps_h() - shift_h)
    values = params.pattern(doy, hod, wd).mean(axis=1) / _annual_peak(params)
    if variation:
        noise = ar1_noise(rng, steps=grid.steps, step_h=grid.step_h,
                          std=params.noise_pct / 100.0, tau_h=_NOISE_TAU_H)
        values = np.maximum(values * (1.0 + noise), 0.0)
    if normalize:
        top = float(values.max())
        require(top > 0, "shape", "is zero over the whole grid; nothing to normalise")
        values = values / top
    return np.asarray(values, dtype=np.float64)


def class_shape(load_class: ClassShape | LoadClass | str, *, grid: TimeGrid | None = None,
                seed: Seed = None, name: str | None = None, variation: bool = True,
                normalize: bool = True) -> LoadShape:
    """A :class:`~feederos.model.LoadShape` of one customer of ``load_class``.

    Parameters
    ----------
    load_class
        The class or its :class:`ClassShape`.
    grid
        The steps; default :meth:`TimeGrid.year` (8760 hourly points of 2023).
    seed, variation, normalize
        As for :func:`class_multipliers`.
    name
        The shape's name; default the class's name.

    Returns
    -------
    LoadShape
        Evenly spaced at ``grid.step_h``.

    Examples
    --------
    >>> a = class_shape("industrial", grid=TimeGrid.day(), seed=3)
    >>> a == class_shape("industrial", grid=TimeGrid.day(), seed=3)
    True
    >>> a.name, a.interval_h
    ('industrial', 1.0)
    """
    grid = TimeGrid.year() if grid is None else grid
    values = class_multipliers(load_class, grid, seed=seed, variation=variation,
                               normalize=normalize)
    if name is None:
        require(not isinstance(load_class, ClassShape), "name",
                "give a name for a shape made from a ClassShape")
        name = LoadClass(str(load_class)).value
    return shape_from_values(name, values, interval_h=grid.step_h)


def classes_from_mix(p_kw: FloatArray, profile: FeederProfile | ProfileName | str, *,
                     seed: Seed = None) -> list[LoadClass]:
    """Customer classes for loads of ``p_kw`` so each class's share of the total kW
    matches the feeder profile's load mix.

    The loads are shuffled (seeded), sorted by size, and each is given to the class
    furthest below its share; every class ends within one load of its target.

    Examples
    --------
    >>> classes = classes_from_mix(np.full(100, 10.0), "urban", seed=0)
    >>> classes.count(LoadClass.COMMERCIAL), classes.count(LoadClass.RESIDENTIAL)
    (50, 35)
    """
    mix = get_profile(profile).load_mix
    rng = generator(seed)
    p = np.asarray(p_kw, dtype=np.float64)
    order = rng.permutation(p.size)
    order = order[np.argsort(-p[order], kind="stable")]
    targets = {_MIX_CLASS[m]: share * float(np.abs(p).sum()) for m, share in mix.items()}
    given = dict.fromkeys(targets, 0.0)
    out: list[LoadClass] = [LoadClass.RESIDENTIAL] * p.size
    for i in order.tolist():
        pick = max(targets, key=lambda c: targets[c] - given[c])
        out[i] = pick
        given[pick] += abs(float(p[i]))
    return out


def assign_class_shapes(network: Network, *, profile: FeederProfile | ProfileName | str | None
                        = None, seed: Seed = None, grid: TimeGrid | None = None,
                        variants: int = 8, mode: SolveMode | str = SolveMode.YEARLY,
                        prefix: str = "class",
                        shapes: Mapping[LoadClass, ClassShape] = CLASS_SHAPES) -> Network:
    """A copy of ``network`` whose every load follows a generated shape of its class.

    Parameters
    ----------
    network
        The network; not changed.
    profile
        A feeder profile (``"rural"``, ``"suburban"``, ``"urban"``): each load's class is
        drawn so the classes' kW shares match its load mix (:func:`classes_from_mix`), and
        written to ``load_class``. ``None`` keeps each load's own ``load_class``.
    seed
        Seed of the classes, the variants and which variant each load follows.
    grid
        The steps; default :meth:`TimeGrid.year`.
    variants
        Distinct customer variants per class; each load follows one at random, so a
        feeder of thousands of loads holds ``variants`` shapes per class, not thousands.
    mode
        Which shape each load gets: ``yearly_shape``, ``daily_shape`` or ``duty_shape``.
    prefix
        Shapes are named ``{prefix}_{class}_{k}``; shapes of those names in the network
        are replaced.
    shapes
        The class shapes to use.

    Returns
    -------
    Network
        A new network with the shapes added and every load pointing at one.

    Raises
    ------
    ProfileError
        A load's class has no shape in ``shapes``, ``mode`` is ``snapshot``, ``variants``
        is below 1.

    Examples
    --------
    >>> from feederos.feeders import load_feeder
    >>> net = assign_class_shapes(load_feeder("ieee13"), profile="urban", seed=1,
    ...                           grid=TimeGrid.day(), variants=2)
    >>> sorted({load.load_class.value for load in net.loads})
    ['commercial', 'industrial', 'residential']
    >>> net.loads[0].daily_shape is None and net.loads[0].yearly_shape.startswith("class_")
    True
    """
    require(variants >= 1, "variants", f"{variants!r} must be >= 1")
    slot = {SolveMode.YEARLY: "yearly_shape", SolveMode.DAILY: "daily_shape",
            SolveMode.DUTY: "duty_shape"}.get(choice(SolveMode, mode, "mode"))
    require(slot is not None, "mode", f"{mode!r} takes no shapes; give yearly, daily or duty")
    assert slot is not None
    grid = TimeGrid.year() if grid is None else grid
    rng = generator(seed)
    loads = network.loads
    if profile is not None:
        classes = classes_from_mix(np.array([ld.p_kw for ld in loads]), profile, seed=rng)
    else:
        classes = [ld.load_class for ld in loads]
    for load, load_class in zip(loads, classes, strict=True):
        require(load_class in shapes, "shapes",
                f"load {load.name!r} is of class {load_class.value!r}, which has no shape; "
                "give it one in shapes= or pass profile=")
    made: dict[str, LoadShape] = {}
    for load_class in sorted(set(classes)):
        for k in range(1, variants + 1):
            name = f"{prefix}_{load_class.value}_{k}"
            made[name] = class_shape(shapes[load_class], grid=grid, seed=rng, name=name)
    picks = rng.integers(1, variants + 1, size=len(loads))
    new_loads = [
        load.model_copy(update={"load_class": load_class,
                                slot: f"{prefix}_{load_class.value}_{int(k)}"})
        for load, load_class, k in zip(loads, classes, picks, strict=True)
    ]
    kept = [s for s in network.load_shapes if s.name not in made]
    out = network.model_copy(deep=True)
    out.loads = new_loads
    out.load_shapes = kept + list(made.values())
    return out


def _class_shape(shape: ClassShape | LoadClass | str) -> ClassShape:
    if isinstance(shape, ClassShape):
        return shape
    try:
        load_class = LoadClass(shape)
    except ValueError:
        known = ", ".join(repr(c.value) for c in CLASS_SHAPES)
        raise ProfileError(f"load_class: {shape!r} is not a class with a shape; known: "
                           f"{known}") from None
    require(load_class in CLASS_SHAPES, "load_class",
            f"{load_class.value!r} has no built-in shape; pass a ClassShape")
    return CLASS_SHAPES[load_class]


@cache
def _annual_peak(shape: ClassShape) -> float:
    """The largest value of ``shape.pattern`` over a year, every day type, 5-min steps."""
    day = np.arange(1.0, 366.0)[:, None, None]
    hour = (np.arange(288.0)[None, :, None] + 0.5) / 12.0
    weekday = np.array([0, 5, 6])[None, None, :]
    values = shape.pattern(day + hour / 24.0, np.broadcast_to(hour, (365, 288, 3)),
                           np.broadcast_to(weekday, (365, 288, 3)))
    return float(values.max())
