"""The API's Prometheus metrics, in a registry of its own (no process-wide state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class Metrics:
    """Requests by route and outcome; creates by result and how long they took."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("preview_serve_requests", "API requests by route and status",
                                ["route", "method", "status"], registry=self.registry)
        self.creates = Histogram("preview_serve_create_seconds",
                                 "Environment creates and upgrades, by result",
                                 ["result"], registry=self.registry,
                                 buckets=(5, 10, 20, 30, 60, 120, 300, 600))

    def request(self, route: str, method: str, status: str) -> None:
        self.requests.labels(route, method, status).inc()

    def created(self, result: str, seconds: float) -> None:
        self.creates.labels(result).observe(seconds)

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
