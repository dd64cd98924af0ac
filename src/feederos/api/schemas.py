"""Request and response bodies of the service (pydantic; they make its OpenAPI schema).

Network documents travel as plain JSON objects (``dict``): the service checks them with
the network model itself, which names every bad element and field (see
``GET /schemas/network`` for the model's JSON Schema).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from feederos.api.problems import ProblemItem

__all__ = [
    "DiffOut",
    "GenerateRequest",
    "GeneratedNetwork",
    "HealthOut",
    "NetworkCreate",
    "NetworkInfoOut",
    "NetworkUpdate",
    "NetworkVersionOut",
    "PowerflowRequest",
    "PowerflowResult",
    "SavedVersion",
    "TokenCreate",
    "TokenCreated",
    "TokenOut",
    "ValidationReport",
    "VersionInfoOut",
    "VersionRef",
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NetworkInfoOut(BaseModel):
    """A stored network: its id, name and latest version."""

    id: str
    name: str
    created_at: datetime
    created_by: str
    latest_version: int


class VersionInfoOut(BaseModel):
    """One immutable version of a network: who saved it, when, why."""

    network_id: str
    version: int
    author: str
    created_at: datetime
    message: str
    sha256: str = Field(description="SHA-256 of the canonical JSON document.")
    size_bytes: int


class NetworkCreate(_Body):
    """A new network from a document."""

    network: dict[str, Any] = Field(description="A feederos network document.")
    message: str = Field(default="", max_length=2000, description="Why it was saved.")
    allow_problems: bool = Field(
        default=False,
        description="Save even if the model's checks find errors (a draft); they are "
        "returned as problems.",
    )


class NetworkUpdate(NetworkCreate):
    """A new version of a stored network."""

    base_version: int | None = Field(
        default=None,
        ge=1,
        description="The version this edit started from; if it is no longer the latest, "
        "the save is refused with 409 instead of overwriting someone else's work.",
    )


class SavedVersion(BaseModel):
    """The version a save made, and what the model's checks said of it."""

    network: NetworkInfoOut
    version: VersionInfoOut
    problems: list[ProblemItem] = Field(default_factory=list)


class NetworkVersionOut(BaseModel):
    """A version with its document."""

    version: VersionInfoOut
    network: dict[str, Any]


class ValidationReport(BaseModel):
    """The model's checks of a network: every problem with its element and field."""

    valid: bool = Field(description="No errors (warnings allowed).")
    errors: int
    warnings: int
    problems: list[ProblemItem]


class DiffOut(BaseModel):
    """What changed between two versions."""

    network_id: str
    from_version: int
    to_version: int
    diff: dict[str, Any]


class VersionRef(_Body):
    """A stored network version (latest when ``version`` is omitted)."""

    network_id: str = Field(min_length=1, max_length=64)
    version: int | None = Field(default=None, ge=1)


class PowerflowRequest(VersionRef):
    """A snapshot power flow of a stored version."""

    controls: bool = Field(default=True, description="Regulators and capacitor controls act.")
    voltage_range: Literal["A", "B"] = Field(
        default="A", description="ANSI C84.1 range the voltage violations are checked on."
    )
    include: list[Literal["voltages", "branches", "losses", "violations"]] = Field(
        default=["voltages", "branches", "losses", "violations"],
        description="Tables to return (the summary and cost always are).",
    )


class PowerflowResult(BaseModel):
    """A solved snapshot (tables as lists of rows; units in the key names)."""

    network_id: str
    version: int
    summary: dict[str, Any]
    voltages: list[dict[str, Any]] | None = None
    branches: list[dict[str, Any]] | None = None
    losses: list[dict[str, Any]] | None = None
    violations: list[dict[str, Any]] | None = None
    cost: dict[str, Any]
    elapsed_ms: float


class GenerateRequest(_Body):
    """A synthetic feeder from a profile."""

    buses: int = Field(ge=1, description="Number of buses, every one counted.")
    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    save: bool = Field(default=False, description="Store it as a new network.")
    message: str = Field(default="", max_length=2000)


class GeneratedNetwork(BaseModel):
    """A generated feeder, and its stored version if it was saved."""

    network: dict[str, Any]
    saved: SavedVersion | None = None


class TokenCreate(_Body):
    """A new API token."""

    name: str = Field(min_length=1, max_length=100)
    role: Literal["viewer", "engineer", "admin"]


class TokenOut(BaseModel):
    """An API token (never its secret)."""

    id: str
    name: str
    role: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None


class TokenCreated(BaseModel):
    """A new token and its secret, shown this once."""

    token: TokenOut
    secret: str


class HealthOut(BaseModel):
    """Whether the service and its database answer."""

    status: Literal["ok"]
    version: str
    database: str
