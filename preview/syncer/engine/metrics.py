"""The syncer's Prometheus metrics, in a registry of its own (no process-global state).

Counters and the latency histogram are bumped by the workers and reconciles; gauges that
describe state (synced objects, queue depth, watch restarts) are read from the caches and
the queue when scraped, so they can never drift from what they describe.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.reconciles = Counter("preview_syncer_reconciles", "Reconciles run, by kind.",
                                  ["kind"], registry=self.registry)
        self.errors = Counter("preview_syncer_errors",
                              "Reconciles that failed, by kind and reason (conflict, "
                              "throttled, server, connection, terminal, other).",
                              ["kind", "reason"], registry=self.registry)
        self.latency = Histogram("preview_syncer_reconcile_seconds",
                                 "Time one reconcile took, by kind.", ["kind"],
                                 buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1,
                                          2.5, 5, 10), registry=self.registry)
        self.refusals = Counter("preview_syncer_policy_violations",
                                "Settings an isolation rule refused or stripped, by rule.",
                                ["rule", "action"], registry=self.registry)

    def observe_state(self, read: Callable[[], dict[str, Any]]) -> None:
        """Register the scrape-time gauges; `read` returns {"synced": {kind: n},
        "queue": n, "relists": {(side, resource): n}}."""
        self.registry.register(_StateCollector(read))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _StateCollector(Collector):
    def __init__(self, read: Callable[[], dict[str, Any]]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        state = self.read()
        synced = GaugeMetricFamily("preview_syncer_synced_objects",
                                   "Host objects this syncer owns, by kind.", labels=["kind"])
        for kind, count in sorted(state["synced"].items()):
            synced.add_metric([kind], count)
        yield synced
        yield GaugeMetricFamily("preview_syncer_queue_depth", "Keys waiting in the work queue.",
                                value=state["queue"])
        restarts = CounterMetricFamily("preview_syncer_watch_restarts",
                                       "Lists after the first (a watch expired or broke), by "
                                       "side and resource.", labels=["side", "resource"])
        for (side, resource), count in sorted(state["relists"].items()):
            restarts.add_metric([side, resource], count)
        yield restarts
        yield GaugeMetricFamily("preview_syncer_ready", "Whether every informer has synced.",
                                value=int(state.get("ready", 0)))
