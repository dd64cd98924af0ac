"""Settings of the simulation service (``feederos serve``), from arguments or the environment.

Every setting has an embedded default, so ``feederos serve`` runs with no set-up: a
SQLite file under ``data_dir`` and two job processes. The environment overrides the
defaults (``FEEDEROS_<NAME>`` in upper case, e.g. ``FEEDEROS_DATABASE_URL``), and
explicit values override the environment.

Examples
--------
>>> s = ApiSettings.from_env({"FEEDEROS_DATA_DIR": "/srv/fos", "FEEDEROS_JOB_WORKERS": "3"})
>>> s.database_url, s.job_workers
('sqlite:////srv/fos/feederos.db', 3)
>>> ApiSettings.from_env({"FEEDEROS_JOB_WORKERS": "many"})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
feederos.api.settings.SettingsError: FEEDEROS_JOB_WORKERS='many': ...
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from feederos.errors import FeederosError

__all__ = ["DEFAULT_DATA_DIR", "ENV_PREFIX", "ApiSettings", "SettingsError"]

ENV_PREFIX = "FEEDEROS_"
DEFAULT_DATA_DIR = Path("~/.local/share/feederos")
"""Where the embedded database and job results live unless told otherwise."""


class SettingsError(FeederosError):
    """A service setting is invalid; the message names the setting and what to give."""


class ApiSettings(BaseModel):
    """What the service needs to start (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data_dir: Path = Field(
        default=DEFAULT_DATA_DIR, description="Folder of the SQLite database and job results."
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db; empty: "
        "sqlite:///<data_dir>/feederos.db.",
    )
    job_workers: int = Field(default=2, ge=1, le=64, description="Job worker processes.")
    max_queued_jobs: int = Field(
        default=16, ge=1, description="Jobs waiting for a worker before submits are refused."
    )
    job_timeout_s: float = Field(default=3600.0, gt=0, description="Longest run of a job [s].")
    max_upload_mb: float = Field(
        default=20.0, gt=0, description="Largest request body accepted [MB]."
    )
    unit_costs_file: Path | None = Field(
        default=None,
        description="JSON unit-cost table for CapEx estimates; none: the built-in table.",
    )
    compiled_cache_size: int = Field(
        default=16, ge=1, description="Network versions kept compiled in memory."
    )

    @model_validator(mode="after")
    def _default_database(self) -> ApiSettings:
        if not self.database_url:
            path = self.data_dir.expanduser() / "feederos.db"
            object.__setattr__(self, "database_url", f"sqlite:///{path}")
        object.__setattr__(self, "data_dir", self.data_dir.expanduser())
        return self

    @property
    def results_dir(self) -> Path:
        """Where jobs write their result files."""
        return self.data_dir / "results"

    @property
    def max_upload_bytes(self) -> int:
        """:attr:`max_upload_mb` in bytes."""
        return int(self.max_upload_mb * 1_000_000)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **given: Any) -> ApiSettings:
        """Settings from ``FEEDEROS_*`` variables of ``env`` (default ``os.environ``),
        overridden by the non-``None`` keyword arguments.

        Raises :class:`SettingsError` naming the variable or argument that is wrong.
        """
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        source: dict[str, str] = {}
        for name in cls.model_fields:
            var = ENV_PREFIX + name.upper()
            if var in env:
                values[name] = env[var]
                source[name] = f"{var}={env[var]!r}"
        for name, value in given.items():
            if value is not None:
                values[name] = value
                source[name] = f"{name}={value!r}"
        try:
            return cls(**values)
        except ValidationError as exc:
            err = exc.errors()[0]
            name = str(err["loc"][0]) if err["loc"] else ""
            where = source.get(name, name or "settings")
            raise SettingsError(f"{where}: {err['msg']}") from None
