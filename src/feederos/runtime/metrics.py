"""Prometheus metrics of the Feeder OS runtime, in a registry of their own.

Examples
--------
>>> metrics = RuntimeMetrics()
>>> metrics.messages_in.labels(app="volt-watt").inc()
>>> b"fos_messages_in_total" in metrics.exposition()
True
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

__all__ = ["RuntimeMetrics"]

# Handler latencies live between tens of microseconds (in-process) and tens of
# milliseconds (a slow app over MQTT).
_LATENCY_BUCKETS_S = (1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 0.1, 0.5, 1.0, 5.0)


class RuntimeMetrics:
    """The runtime's counters and histograms, labelled by app."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.messages_in = Counter(
            "fos_messages_in", "Messages delivered to apps", ["app"], registry=r
        )
        self.messages_out = Counter(
            "fos_messages_out", "Messages apps published", ["app"], registry=r
        )
        self.malformed = Counter(
            "fos_malformed_messages", "Payloads refused as malformed", ["app"], registry=r
        )
        self.handler_errors = Counter(
            "fos_handler_errors", "App callbacks that raised", ["app"], registry=r
        )
        self.handler_latency = Histogram(
            "fos_handler_latency_seconds",
            "Time an app callback took [s]",
            ["app"],
            buckets=_LATENCY_BUCKETS_S,
            registry=r,
        )
        self.app_restarts = Counter("fos_app_restarts", "App process restarts", ["app"], registry=r)
        self.rollbacks = Counter(
            "fos_rollbacks", "Automatic and manual rollbacks", ["app"], registry=r
        )

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format."""
        return generate_latest(self.registry)
