"""The FastAPI application of the simulation service: :func:`create_app`.

Nothing happens at import time. :func:`create_app` builds the application from
:class:`~feederos.api.settings.ApiSettings`; its lifespan opens the database (migrating it
to the current schema), marks jobs a previous server left unfinished as failed, and
starts the job workers; on shut-down the workers stop and the database closes.

Routes: ``/networks`` (create, import .dss, versions, diff, validate, export, Feeder OS
bundle), ``/validate``, ``/profiles``, ``/simulate`` (powerflow, scenario-run,
hosting-capacity), ``/jobs``, ``/tokens`` and ``/audit`` (admin), ``/health``,
``/metrics``, ``/schemas/network``; OpenAPI at ``/openapi.json``, its pages at ``/docs``.

Examples
--------
>>> app = create_app(ApiSettings(data_dir="/tmp/feederos-doc"))
>>> paths = app.openapi()["paths"]
>>> "/simulate/powerflow" in paths, sorted(paths["/networks/{network_id}"])
(True, ['get', 'put'])
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from feederos import __version__
from feederos.analysis.cost import default_unit_costs, read_unit_costs
from feederos.api import errors, problems
from feederos.api.body_limit import BodyLimitMiddleware
from feederos.api.jobs import JobRunner
from feederos.api.metrics import ApiMetrics, MetricsMiddleware
from feederos.api.network_cache import NetworkCache
from feederos.api.routes import admin, feeder_os, jobs, networks, profiles, simulate, system
from feederos.api.services import Services
from feederos.api.settings import ApiSettings
from feederos.store.audit import AuditLog
from feederos.store.database import Database
from feederos.store.jobs import JobStore
from feederos.store.networks import NetworkStore
from feederos.store.tokens import TokenStore

__all__ = ["create_app", "open_services"]

_log = logging.getLogger(__name__)


def open_services(settings: ApiSettings) -> Services:
    """Open the database (migrated), the stores and the job runner (started)."""
    unit_costs = (
        read_unit_costs(settings.unit_costs_file)
        if settings.unit_costs_file is not None
        else default_unit_costs()
    )
    db = Database(settings.database_url)
    try:
        db.migrate()
        job_store = JobStore(db)
        left = job_store.fail_unfinished("the service stopped before the job finished")
        if left:
            _log.warning("%d job(s) left unfinished by a previous run marked failed", left)
        settings.results_dir.mkdir(parents=True, exist_ok=True)
        runner = JobRunner(
            job_store,
            settings.results_dir,
            workers=settings.job_workers,
            max_queued=settings.max_queued_jobs,
            timeout_s=settings.job_timeout_s,
        )
        runner.start()
    except BaseException:
        db.dispose()
        raise
    return Services(
        settings=settings,
        db=db,
        networks=NetworkStore(db),
        tokens=TokenStore(db),
        audit=AuditLog(db),
        jobs=job_store,
        runner=runner,
        cache=NetworkCache(settings.compiled_cache_size),
        metrics=ApiMetrics(),
        unit_costs=unit_costs,
    )


def close_services(svc: Services) -> None:
    """Stop the job runner and close the database."""
    try:
        svc.runner.stop()
    finally:
        svc.db.dispose()


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """The service's application (see the module docstring); settings from the
    environment when not given."""
    settings = settings if settings is not None else ApiSettings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc = open_services(settings)
        app.state.services = svc
        try:
            yield
        finally:
            app.state.services = None
            close_services(svc)

    app = FastAPI(
        title="feederos simulation service",
        version=__version__,
        description="Networks and their versions, power flow, time series and hosting "
        "capacity of distribution feeders; export to Feeder OS. Errors are RFC 7807 "
        "problem+json. Every route but /health, /metrics and /schemas needs an API token "
        "(`feederos token create`).",
        lifespan=lifespan,
    )
    app.state.services = None
    app.state.settings = settings
    problems.install(app)
    errors.install(app)
    for module in (networks, feeder_os, profiles, simulate, jobs, admin, system):
        app.include_router(module.router)
    app.include_router(networks.validation_router)

    def current_metrics() -> ApiMetrics | None:
        svc: Services | None = app.state.services
        return None if svc is None else svc.metrics

    app.add_middleware(MetricsMiddleware, metrics=current_metrics)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_upload_bytes)
    return app
