"""What the routes share: the store, the job runner, the compiled-network cache, metrics.

One :class:`Services` lives on ``app.state`` from start-up to shut-down (made by
:func:`feederos.api.app.create_app`'s lifespan); routes get it with the
:func:`services` dependency.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from feederos.analysis.cost import UnitCosts
from feederos.api.jobs import JobRunner
from feederos.api.metrics import ApiMetrics
from feederos.api.network_cache import NetworkCache
from feederos.api.settings import ApiSettings
from feederos.store.audit import AuditLog
from feederos.store.database import Database
from feederos.store.jobs import JobStore
from feederos.store.networks import NetworkStore
from feederos.store.tokens import TokenStore

__all__ = ["Services", "services"]


@dataclass
class Services:
    """The service's long-lived parts."""

    settings: ApiSettings
    db: Database
    networks: NetworkStore
    tokens: TokenStore
    audit: AuditLog
    jobs: JobStore
    runner: JobRunner
    cache: NetworkCache
    metrics: ApiMetrics
    unit_costs: UnitCosts


def services(request: Request) -> Services:
    """The application's :class:`Services` (a FastAPI dependency)."""
    svc: Services = request.app.state.services
    return svc
