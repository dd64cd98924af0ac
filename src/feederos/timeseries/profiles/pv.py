"""PV output shapes: clear-sky plane-of-array irradiance times a stochastic cloud model.

The shape's multipliers are plane-of-array irradiance in kW/m² — a PV system's output
as a fraction of its rating at the 1 kW/m² of standard test conditions, before
temperature and inverter effects (OpenDSS's PVSystem ``irradiance`` shapes are the
same quantity).

- **Clear sky** (pvlib): the sun's position by NREL's SPA, clear-sky GHI/DNI/DHI by the
  Ineichen–Perez model with the Linke turbidity climatology pvlib ships (P. Ineichen and
  R. Perez, *A new airmass independent formulation for the Linke turbidity
  coefficient*, Solar Energy 73(3), 2002), or by the simplified Solis or Haurwitz model;
  transposed to the tilted plane with the Hay–Davies sky model (J. E. Hay and J. A.
  Davies, 1980) and a ground albedo.
- **Clouds**: a Markov chain of three sky states — clear, partly cloudy, overcast — in
  the spirit of the cloud-cover Markov chains of J. M. Bright, C. J. Smith, P. G.
  Taylor and R. Crook, *Stochastic generation of synthetic minutely irradiance time
  series derived from mean hourly weather observation data*, Solar Energy 115 (2015)
  229–242, and of H. Morf's two-state model (*The stochastic two-state solar irradiance
  model (STSIM)*, Solar Energy 62(2), 1998). Each step keeps its state with
  probability ``exp(-step_h / persistence_h)``, else draws a new one from the stationary
  shares ``((1-c)², 2c(1-c), c²)`` of ``cloudiness`` ``c``. Within a state the clear-sky
  index is its mean plus first-order autoregressive noise, cut to [0, 1]; the clear
  state is the clear-sky model itself (index 1). The state means and spreads in
  :class:`CloudModel` are round illustrative values of the bimodal clear-sky-index
  distributions those papers report, not a fit to a site: give measured irradiance
  with :func:`read_pv_shape` for a real one. Clouds dim beam and diffuse light alike
  and never brighten above clear sky (no cloud enhancement).

Examples
--------
>>> shape = pv_shape(39.74, -105.18, grid=TimeGrid.day("2023-06-21"), cloudiness=0.0)
>>> shape.p_mult[0], round(max(shape.p_mult), 2)
(0.0, 0.9)
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd

from feederos.model import LoadShape
from feederos.timeseries.profiles._common import (
    FloatArray,
    Seed,
    ar1_noise,
    choice,
    generator,
    require,
    shape_from_values,
)
from feederos.timeseries.profiles.files import read_load_shape
from feederos.timeseries.profiles.timegrid import TimeGrid

__all__ = [
    "ClearSkyModel",
    "CloudModel",
    "clear_sky_index",
    "clear_sky_poa_kw_m2",
    "pv_shape",
    "read_pv_shape",
]

_STC_KW_M2 = 1.0


class ClearSkyModel(StrEnum):
    """pvlib's clear-sky models."""

    INEICHEN = "ineichen"
    SIMPLIFIED_SOLIS = "simplified_solis"
    HAURWITZ = "haurwitz"


@dataclass(frozen=True)
class CloudModel:
    """The sky-state Markov chain and each state's clear-sky index (see module notes).

    Parameters
    ----------
    persistence_h
        Mean time before the sky state is drawn again [h].
    kc_mean
        Mean clear-sky index of the clear, partly cloudy and overcast states [-].
    kc_std
        Its standard deviation within each state [-].
    tau_h
        Correlation time of the index within a state [h].

    Examples
    --------
    >>> CloudModel().kc_mean
    (1.0, 0.65, 0.25)
    """

    persistence_h: float = 3.0
    kc_mean: tuple[float, float, float] = (1.0, 0.65, 0.25)
    kc_std: tuple[float, float, float] = (0.0, 0.20, 0.10)
    tau_h: float = 0.25


def clear_sky_poa_kw_m2(latitude_deg: float, longitude_deg: float, grid: TimeGrid, *,
                        tilt_deg: float | None = None, azimuth_deg: float = 180.0,
                        altitude_m: float = 0.0, utc_offset_h: float | None = None,
                        model: ClearSkyModel | str = ClearSkyModel.INEICHEN,
                        albedo: float = 0.2) -> FloatArray:
    """Clear-sky plane-of-array irradiance, each step's mean [kW/m²].

    Parameters
    ----------
    latitude_deg, longitude_deg
        The site, north and east positive [deg].
    grid
        The steps, in local standard time.
    tilt_deg
        Panel tilt from horizontal [deg]; default the latitude's magnitude.
    azimuth_deg
        Direction the panel faces, clockwise from north (180 south) [deg].
    altitude_m
        Site altitude [m].
    utc_offset_h
        Local standard time minus UTC [h]; default the longitude's time zone
        ``round(longitude / 15)``.
    model
        The clear-sky model.
    albedo
        Ground reflectance [-].

    Returns
    -------
    numpy.ndarray
        ``grid.steps`` values [kW/m²], zero at night.

    Examples
    --------
    >>> poa = clear_sky_poa_kw_m2(0.0, 0.0, TimeGrid.day("2023-03-21"), tilt_deg=0.0)
    >>> float(poa[3]), bool(0.9 < poa[11] < 1.1)
    (0.0, True)
    """
    require(-90.0 <= latitude_deg <= 90.0, "latitude_deg", f"{latitude_deg!r} not in [-90, 90]")
    require(-180.0 <= longitude_deg <= 180.0, "longitude_deg",
            f"{longitude_deg!r} not in [-180, 180]")
    tilt = abs(latitude_deg) if tilt_deg is None else tilt_deg
    require(0.0 <= tilt <= 90.0, "tilt_deg", f"{tilt_deg!r} not in [0, 90]")
    offset_h = round(longitude_deg / 15.0) if utc_offset_h is None else utc_offset_h
    import pvlib  # heavy; only when PV is asked for

    samples = grid.substeps_h()
    local = grid.times(samples.ravel() - offset_h)
    times = pd.DatetimeIndex(local).tz_localize(dt.UTC)
    with _quiet_pandas():
        location = pvlib.location.Location(latitude_deg, longitude_deg, tz="UTC",
                                           altitude=altitude_m)
        sun = location.get_solarposition(times)
        dni_extra = pvlib.irradiance.get_extra_radiation(times.day_of_year.to_numpy())
        sky = location.get_clearsky(times, model=choice(ClearSkyModel, model, "model").value,
                                    solar_position=sun, dni_extra=dni_extra)
        if "dni" not in sky:  # Haurwitz gives GHI only: split it with Erbs
            split = pvlib.irradiance.erbs(sky["ghi"], sun["zenith"], times)
            sky = sky.assign(dni=split["dni"], dhi=split["dhi"])
        poa = pvlib.irradiance.get_total_irradiance(
            tilt, azimuth_deg, sun["apparent_zenith"], sun["azimuth"], sky["dni"],
            sky["ghi"], sky["dhi"], dni_extra=dni_extra, albedo=albedo, model="haydavies")
    w_m2 = np.nan_to_num(poa["poa_global"].to_numpy(dtype=np.float64), nan=0.0)
    mean = np.maximum(w_m2, 0.0).reshape(samples.shape).mean(axis=1) / 1000.0
    return np.asarray(mean, dtype=np.float64)


def clear_sky_index(grid: TimeGrid, *, cloudiness: float = 0.3, seed: Seed = None,
                    clouds: CloudModel | None = None) -> FloatArray:
    """A seeded clear-sky index for each step, in [0, 1] [-].

    Parameters
    ----------
    grid
        The steps.
    cloudiness
        0 always clear, 1 always overcast; sets the sky states' shares [-].
    seed
        Seed of the sky states and the index.
    clouds
        The cloud model; default :class:`CloudModel`.

    Examples
    --------
    >>> kc = clear_sky_index(TimeGrid.day(step_h=0.25), cloudiness=1.0, seed=2)
    >>> bool(kc.mean() < 0.4)
    True
    """
    require(0.0 <= cloudiness <= 1.0, "cloudiness", f"{cloudiness!r} not in [0, 1]")
    c = CloudModel() if clouds is None else clouds
    require(c.persistence_h > 0 and c.tau_h > 0, "clouds",
            "persistence_h and tau_h must be > 0 [h]")
    rng = generator(seed)
    shares = np.array([(1 - cloudiness) ** 2, 2 * cloudiness * (1 - cloudiness),
                       cloudiness ** 2])
    redraw = rng.random(grid.steps) >= np.exp(-grid.step_h / c.persistence_h)
    redraw[0] = True
    drawn = rng.choice(3, size=grid.steps, p=shares / shares.sum())
    last = np.maximum.accumulate(np.where(redraw, np.arange(grid.steps), 0))
    state = drawn[last]
    noise = ar1_noise(rng, steps=grid.steps, step_h=grid.step_h, std=1.0, tau_h=c.tau_h)
    kc = np.asarray(c.kc_mean)[state] + np.asarray(c.kc_std)[state] * noise
    return np.asarray(np.clip(kc, 0.0, 1.0), dtype=np.float64)


def pv_shape(latitude_deg: float, longitude_deg: float, *, grid: TimeGrid | None = None,
             tilt_deg: float | None = None, azimuth_deg: float = 180.0,
             altitude_m: float = 0.0, utc_offset_h: float | None = None,
             cloudiness: float = 0.3, seed: Seed = None,
             clear_sky: ClearSkyModel | str = ClearSkyModel.INEICHEN,
             clouds: CloudModel | None = None, name: str = "pv") -> LoadShape:
    """A PV output shape: clear-sky plane-of-array irradiance times a cloud model [pu].

    Parameters
    ----------
    latitude_deg, longitude_deg, tilt_deg, azimuth_deg, altitude_m, utc_offset_h
        The site and panel, as for :func:`clear_sky_poa_kw_m2`.
    grid
        The steps; default :meth:`TimeGrid.year` (8760 hourly points of 2023).
    cloudiness, seed, clouds
        As for :func:`clear_sky_index`; ``cloudiness=0`` gives the clear sky.
    clear_sky
        The clear-sky model.
    name
        The shape's name.

    Returns
    -------
    LoadShape
        Multipliers of the PV rating (irradiance over 1 kW/m²), evenly spaced.

    Examples
    --------
    >>> grid = TimeGrid.day("2023-06-21")
    >>> cloudy = pv_shape(39.74, -105.18, grid=grid, cloudiness=0.8, seed=5)
    >>> clear = pv_shape(39.74, -105.18, grid=grid, cloudiness=0.0)
    >>> all(a <= b for a, b in zip(cloudy.p_mult, clear.p_mult))
    True
    """
    grid = TimeGrid.year() if grid is None else grid
    poa = clear_sky_poa_kw_m2(latitude_deg, longitude_deg, grid, tilt_deg=tilt_deg,
                              azimuth_deg=azimuth_deg, altitude_m=altitude_m,
                              utc_offset_h=utc_offset_h, model=clear_sky)
    kc = clear_sky_index(grid, cloudiness=cloudiness, seed=seed, clouds=clouds)
    return shape_from_values(name, poa * kc / _STC_KW_M2, interval_h=grid.step_h)


def read_pv_shape(path: str | os.PathLike[str], *, p_rated_kw: float | None = None,
                  name: str | None = None, column: str | int | None = None,
                  interval_h: float | None = None) -> LoadShape:
    """A PV shape from a file of irradiance [kW/m²] or, with ``p_rated_kw``, output [kW].

    The file is read as :func:`~feederos.timeseries.profiles.read_load_shape` reads one.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "pv_kw.csv"
    >>> _ = path.write_text("p_kw\\n0\\n2.5\\n5\\n")
    >>> read_pv_shape(path, p_rated_kw=5.0).p_mult
    [0.0, 0.5, 1.0]
    """
    shape = read_load_shape(path, name=name, column=column, interval_h=interval_h)
    if p_rated_kw is None:
        return shape
    require(p_rated_kw > 0, "p_rated_kw", f"{p_rated_kw!r} must be > 0 [kW]")
    return shape.model_copy(update={"p_mult": [v / p_rated_kw for v in shape.p_mult]})


@contextmanager
def _quiet_pandas() -> Iterator[None]:
    """Silence pandas' deprecation warnings raised inside pvlib (not ours to fix)."""
    category: type[Warning] = getattr(pd.errors, "PandasDeprecationWarning", FutureWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category)
        yield
