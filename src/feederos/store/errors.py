"""Errors of the storage layer; each names the record (and database) concerned.

Examples
--------
>>> error = VersionConflictError("9f0c", expected=3, latest=4)
>>> str(error).split("; ")  # doctest: +NORMALIZE_WHITESPACE
['network 9f0c: version conflict: the edit was based on version 3 but the latest version is 4',
 'reload version 4, reapply the edit and save again']
>>> issubclass(NetworkNotFoundError, StoreError), issubclass(StoreError, FeederosError)
(True, True)
"""

from __future__ import annotations

from feederos.errors import FeederosError

__all__ = [
    "DatabaseError",
    "JobNotFoundError",
    "JobStateError",
    "NetworkNotFoundError",
    "NotFoundError",
    "StoreError",
    "TokenNotFoundError",
    "VersionConflictError",
    "VersionNotFoundError",
]


class StoreError(FeederosError):
    """The store cannot do what was asked: bad database URL, database unreachable, a
    value that cannot be stored; the message names the database or record and what to
    fix."""


class DatabaseError(StoreError):
    """The database failed or refused a statement: unreachable, locked too long, schema
    missing, a constraint broken. Names the database; the driver's error is the
    ``__cause__``. (An API answers 503: it is not the client's fault.)"""


class NotFoundError(StoreError, LookupError):
    """Base of the "no such record" errors (an API answers them with 404)."""


class NetworkNotFoundError(NotFoundError):
    """No network has the id asked for."""

    def __init__(self, network_id: str) -> None:
        self.network_id = network_id
        super().__init__(f"no network with id {network_id!r}; list the networks to find its id")


class VersionNotFoundError(NotFoundError):
    """The network exists but has no such version."""

    def __init__(self, network_id: str, version: int, latest: int) -> None:
        self.network_id = network_id
        self.version = version
        self.latest = latest
        super().__init__(
            f"network {network_id}: no version {version}; its versions are 1 to {latest}"
        )


class VersionConflictError(StoreError):
    """A save was based on a version that is no longer the latest (an API answers 409).

    Attributes
    ----------
    network_id, expected, latest
        The network, the version the edit was based on, the latest stored version.
    """

    def __init__(self, network_id: str, *, expected: int, latest: int) -> None:
        self.network_id = network_id
        self.expected = expected
        self.latest = latest
        super().__init__(
            f"network {network_id}: version conflict: the edit was based on version "
            f"{expected} but the latest version is {latest}; reload version {latest}, "
            "reapply the edit and save again"
        )


class TokenNotFoundError(NotFoundError):
    """No API token has the id asked for."""

    def __init__(self, token_id: str) -> None:
        self.token_id = token_id
        super().__init__(f"no API token with id {token_id!r}; list the tokens to find its id")


class JobNotFoundError(NotFoundError):
    """No job has the id asked for."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"no job with id {job_id!r}; list the jobs to find its id")


class JobStateError(StoreError):
    """A job cannot make the transition asked for (e.g. start a job already cancelled)."""

    def __init__(self, job_id: str, status: str, wanted: str) -> None:
        self.job_id = job_id
        self.status = status
        super().__init__(f"job {job_id} is {status}; it cannot become {wanted}")
