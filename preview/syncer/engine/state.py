"""What a reconcile may use: the narrow view of one syncer that every kind is handed.

Not the `Syncer` itself (its informers' lifecycle, the queue, the HTTP servers): a kind
reads the caches, writes through the two clients, records Events and bumps metrics.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from preview.kube.client import KubeClient
from preview.kube.events import EventRecorder
from preview.syncer.context import SyncContext, SyncOptions
from preview.syncer.engine.metrics import Metrics
from preview.syncer.engine.references import References


class Cache(Protocol):
    """An informer's cache, as reconciles read it."""

    def get(self, namespace: str, name: str) -> dict[str, Any] | None: ...

    def list(self, namespace: str | None = None) -> list[dict[str, Any]]: ...


@dataclass
class State:
    """One virtual cluster's syncer as its reconciles see it."""

    ctx: SyncContext
    options: SyncOptions
    virtual: KubeClient
    host: KubeClient
    recorder: EventRecorder
    virtual_informers: Mapping[str, Cache]
    # Host caches hold only objects carrying this virtual cluster's ownership labels.
    host_informers: Mapping[str, Cache]
    references: References = field(default_factory=References)
    metrics: Metrics = field(default_factory=Metrics)
    host_nodes: Cache | None = None
    host_events: Cache | None = None
    # When each virtual node's Lease was last renewed (monotonic seconds).
    node_heartbeats: dict[str, float] = field(default_factory=dict)
