"""Small pieces every profile generator shares: seeds, correlated noise, shape building.

Examples
--------
>>> rng = generator(7)
>>> noise = ar1_noise(rng, steps=4, step_h=1.0, std=0.0, tau_h=1.0)
>>> noise.tolist()
[0.0, 0.0, 0.0, 0.0]
>>> shape_from_values("flat", [0.5, 1.0], interval_h=0.5).p_mult
[0.5, 1.0]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum
from typing import TypeVar

import numpy as np
import numpy.typing as npt
from scipy.signal import lfilter

from feederos.errors import ProfileError
from feederos.model import LoadShape

__all__ = [
    "FloatArray", "IntArray", "Seed", "ar1_noise", "choice", "generator", "require",
    "shape_from_values",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

E = TypeVar("E", bound=StrEnum)

Seed = int | np.random.Generator | None
"""A seed for :func:`numpy.random.default_rng`, or a generator to draw from."""


def generator(seed: Seed) -> np.random.Generator:
    """The generator ``seed`` names: itself if it is one, else ``default_rng(seed)``."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def require(ok: bool, argument: str, message: str) -> None:
    """Raise :class:`~feederos.errors.ProfileError` naming ``argument`` unless ``ok``."""
    if not ok:
        raise ProfileError(f"{argument}: {message}")


def choice(kind: type[E], value: E | str, argument: str) -> E:
    """``value`` as a member of the string enum ``kind``, or an error naming the choices."""
    try:
        return kind(value)
    except ValueError:
        known = ", ".join(repr(m.value) for m in kind)
        raise ProfileError(f"{argument}: {value!r} is not one of {known}") from None


def ar1_noise(rng: np.random.Generator, *, steps: int, step_h: float, std: float,
              tau_h: float) -> FloatArray:
    """Zero-mean first-order autoregressive noise with standard deviation ``std``.

    The continuous-time correlation ``exp(-|Δt| / tau_h)`` sampled every ``step_h``, so
    the noise has the same statistics at any resolution.
    """
    if std == 0.0 or steps == 0:
        return np.zeros(steps, dtype=np.float64)
    phi = math.exp(-step_h / tau_h)
    shocks = rng.standard_normal(steps) * (std * math.sqrt(1.0 - phi * phi))
    shocks[0] = rng.standard_normal() * std  # start in the stationary distribution
    out: FloatArray = np.asarray(lfilter([1.0], [1.0, -phi], shocks), dtype=np.float64)
    return out


def shape_from_values(name: str, p_mult: Sequence[float] | FloatArray, *, interval_h: float,
                      q_mult: Sequence[float] | FloatArray | None = None) -> LoadShape:
    """An evenly spaced :class:`~feederos.model.LoadShape` holding ``p_mult`` [pu]."""
    p = np.asarray(p_mult, dtype=np.float64)
    q = None if q_mult is None else np.asarray(q_mult, dtype=np.float64).tolist()
    return LoadShape(name=name, interval_h=interval_h, p_mult=p.tolist(), q_mult=q)
