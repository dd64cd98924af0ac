"""Built-in feeders and synthetic feeders drawn from rural, suburban and urban profiles.

- :func:`generate_feeder` — a radial feeder of exactly ``n_buses`` buses from a profile.
- :func:`streetgrid_street` — the ten-house StreetGrid street that can island.
- :func:`list_feeders` / :func:`load_feeder` — the feeders shipped as JSON.
- :data:`PROFILES` — the rural, suburban and urban :class:`FeederProfile` statistics.

Examples
--------
>>> from feederos.feeders import generate_feeder, load_feeder
>>> len(generate_feeder("urban", n_buses=30, seed=0).buses)
30
>>> load_feeder("streetgrid").name
'streetgrid'
"""

from __future__ import annotations

from feederos.feeders.builtin import UnknownFeederError, list_feeders, load_feeder
from feederos.feeders.profiles import PROFILES, FeederProfile, LoadMix, ProfileName, get_profile
from feederos.feeders.streetgrid import streetgrid_street
from feederos.feeders.synthetic import MAX_BUSES, MIN_BUSES, generate_feeder

__all__ = [
    "MAX_BUSES",
    "MIN_BUSES",
    "PROFILES",
    "FeederProfile",
    "LoadMix",
    "ProfileName",
    "UnknownFeederError",
    "generate_feeder",
    "get_profile",
    "list_feeders",
    "load_feeder",
    "streetgrid_street",
]
