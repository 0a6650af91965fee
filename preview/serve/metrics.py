"""The API's Prometheus metrics, in a registry of its own (no process-wide state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class Metrics:
    """Requests by route and outcome; creates by result and how long they took; creates
    being built and queued now (`preview.serve.slots`)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("preview_serve_requests", "API requests by route and status",
                                ["route", "method", "status"], registry=self.registry)
        self.creates = Histogram("preview_serve_create_seconds",
                                 "Environment creates and upgrades, by result",
                                 ["result"], registry=self.registry,
                                 buckets=(5, 10, 20, 30, 60, 120, 300, 600))
        self.running = Gauge("preview_serve_creates_running",
                             "Creates and upgrades being built now", registry=self.registry)
        self.queued = Gauge("preview_serve_creates_queued",
                            "Creates and upgrades waiting for a slot (--max-concurrent-creates)",
                            registry=self.registry)

    def request(self, route: str, method: str, status: str) -> None:
        self.requests.labels(route, method, status).inc()

    def created(self, result: str, seconds: float) -> None:
        self.creates.labels(result).observe(seconds)

    def creates_at_once(self, running: int, queued: int) -> None:
        self.running.set(running)
        self.queued.set(queued)

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
