"""Prometheus metrics of the service, on its own registry (served at ``/metrics``).

- ``feederos_api_requests_total{method,route,status}`` and
  ``feederos_api_request_seconds{method,route}``: every request, by route template
  (``/networks/{network_id}``, not the id: bounded label values);
- ``feederos_api_jobs_submitted_total{kind}``;
- ``feederos_api_compiled_cache{outcome}``: compiled-network cache hits and misses.

Examples
--------
>>> m = ApiMetrics()
>>> m.observe("GET", "/health", 200, 0.002)
>>> b"feederos_api_requests_total" in m.exposition()
True
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ApiMetrics", "MetricsMiddleware"]

_BUCKETS_S = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ApiMetrics:
    """The service's metric families (see the module docstring)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "feederos_api_requests",
            "HTTP requests answered.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "feederos_api_request_seconds",
            "Time to answer a request [s].",
            ["method", "route"],
            buckets=_BUCKETS_S,
            registry=self.registry,
        )
        self.jobs_submitted = Counter(
            "feederos_api_jobs_submitted",
            "Jobs accepted, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.cache = Counter(
            "feederos_api_compiled_cache",
            "Compiled-network cache lookups, by outcome (hit, miss).",
            ["outcome"],
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric."""
        return generate_latest(self.registry)


class MetricsMiddleware:
    """ASGI middleware timing every HTTP request into ``metrics()`` (looked up per request,
    so the metrics object may be made after the app, in its lifespan)."""

    def __init__(self, app: ASGIApp, metrics: Callable[[], ApiMetrics | None]) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            metrics = self.metrics()
            if metrics is not None:
                route = scope.get("route")
                template = getattr(route, "path", None) or "<unmatched>"
                metrics.observe(scope["method"], template, status, time.perf_counter() - start)
