"""The syncer's wiring: informers on both API servers, one queue, the kinds' reconcilers.

Every event — virtual or host — becomes the key of the *virtual* object it concerns
(`(kind, namespace, name)`; host objects carry the virtual identity in annotations), so one
reconcile sees both sides and decides. Host informers only see objects carrying this
virtual cluster's ownership label: the syncer can't even observe what it must not touch.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from preview import naming
from preview.control import Informer, WorkQueue
from preview.kube.client import KubeClient
from preview.kube.events import EventRecorder
from preview.syncer import dns
from preview.syncer.context import SyncContext, SyncOptions
from preview.syncer.engine.listwatch import informer
from preview.syncer.engine.metrics import Metrics
from preview.syncer.engine.references import References
from preview.syncer.engine.state import State
from preview.syncer.engine.workers import Key, Workers
from preview.syncer.kinds import KINDS, reconcilers
from preview.syncer.resources import EVENTS, NODES

log = logging.getLogger(__name__)

__all__ = ["SyncOptions", "Syncer", "never_synced", "virtual_key"]


@dataclass
class Syncer:
    """One virtual cluster's syncer: both clients, their informers, the queue, the workers."""

    ctx: SyncContext
    virtual: KubeClient
    host: KubeClient
    options: SyncOptions = field(default_factory=SyncOptions)
    # The overall bucket only stops a runaway loop from flooding the API servers; at 200/s a
    # 1000-pod burst (each pod: create, bind, status, events) waited on it for seconds.
    queue: WorkQueue[Key] = field(default_factory=lambda: WorkQueue(
        rate=2000.0, burst=2000, base_delay=0.05, max_delay=30.0))
    virtual_informers: dict[str, Informer] = field(default_factory=dict)
    host_informers: dict[str, Informer] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.recorder = EventRecorder(self.virtual, naming.SYNCER_COMPONENT)
        self.references = References()
        self.metrics = Metrics()
        owned = f"{naming.MANAGED_BY}=syncer,{naming.VCLUSTER}={naming.label_value(self.ctx.vcluster)}"
        for kind in self.options.kinds:
            if kind not in KINDS:
                raise ValueError(f"unknown kind to sync: {kind!r}; known: {sorted(KINDS)}")
            res = KINDS[kind].resource
            self.virtual_informers[kind] = informer(self.virtual, res,
                                                    resync_seconds=self.options.resync_seconds)
            self.host_informers[kind] = informer(self.host, res, self.ctx.host_namespace,
                                                 label_selector=owned,
                                                 resync_seconds=self.options.resync_seconds)
            self.virtual_informers[kind].add_handler(self._on_virtual(kind))
            self.host_informers[kind].add_handler(self._on_host(kind))
        self.virtual_informers["nodes"] = informer(self.virtual, NODES,
                                                   resync_seconds=self.options.resync_seconds)
        self.host_nodes: Informer | None = None
        if self.options.node_sync == "real":
            self.host_nodes = informer(self.host, NODES,
                                       resync_seconds=self.options.resync_seconds)
            self.host_nodes.add_handler(
                lambda _event, node, _old: self.queue.add(("nodes", "", node["metadata"]["name"])))
        self.host_events: Informer | None = None
        if self.options.events:
            self.host_events = informer(self.host, EVENTS, self.ctx.host_namespace,
                                        resync_seconds=self.options.resync_seconds)
            self.host_events.add_handler(
                lambda _event, ev, _old: self.queue.add(("events", "", ev["metadata"]["name"])))
        self.state = State(self.ctx, self.options, self.virtual, self.host, self.recorder,
                           self.virtual_informers, self.host_informers, self.references,
                           self.metrics, self.host_nodes, self.host_events)
        self.workers = Workers(self.queue, reconcilers(self.state), self.options.workers,
                               self.metrics)
        self.metrics.observe_state(self._metrics_state)

    # -- event routing ---------------------------------------------------------------------------
    def _on_virtual(self, kind: str) -> Any:
        def handle(event: str, obj: dict[str, Any], _old: dict[str, Any] | None) -> None:
            meta = obj["metadata"]
            namespace = meta.get("namespace", "")
            if never_synced(kind, namespace, meta["name"]):
                return
            key = (kind, namespace, meta["name"])
            self.queue.add(key, urgent=event == "ADDED")
            targets = set() if event == "DELETED" else references(kind, obj)
            for target in self.references.update(key, targets):
                self.queue.add(target)
            node = (obj.get("spec") or {}).get("nodeName") if kind == "pods" else None
            if node:
                self.queue.add(("nodes", "", node))
        return handle

    def _on_host(self, kind: str) -> Any:
        def handle(_event: str, obj: dict[str, Any], _old: dict[str, Any] | None) -> None:
            key = virtual_key(kind, obj)
            if key is not None:
                self.queue.add(key)
        return handle

    def _metrics_state(self) -> dict[str, Any]:
        relists = {("virtual", k): i.relists for k, i in self.virtual_informers.items()}
        relists.update({("host", k): i.relists for k, i in self.host_informers.items()})
        return {"synced": {k: len(i.cache) for k, i in self.host_informers.items()},
                "queue": len(self.queue), "relists": relists, "ready": self.ready}

    def dns_records(self) -> dns.Records:
        """Lookups for the DNS server, over this syncer's caches."""
        def service(namespace: str, name: str) -> dict[str, Any] | None:
            found = self.virtual_informers.get("services")
            return found.get(namespace, name) if found is not None else None

        def host_ip(namespace: str, name: str) -> str | None:
            found = self.host_informers.get("services")
            copy = found.get(self.ctx.host_namespace, naming.host_name(
                name, namespace, self.ctx.vcluster, naming.DNS_LABEL_MAX)) if found is not None else None
            ip = ((copy or {}).get("spec") or {}).get("clusterIP")
            return ip if ip and ip != "None" else None

        def endpoints(namespace: str, name: str) -> dict[str, Any] | None:
            found = self.virtual_informers.get("endpoints")
            return found.get(namespace, name) if found is not None else None

        def pods(namespace: str) -> list[dict[str, Any]]:
            found = self.virtual_informers.get("pods")
            return found.list(namespace) if found is not None else []

        return dns.Records(service, host_ip, endpoints, pods)

    # -- lifecycle -------------------------------------------------------------------------------
    def informers(self) -> list[Informer]:
        extra = [i for i in (self.host_nodes, self.host_events) if i is not None]
        return [*self.virtual_informers.values(), *self.host_informers.values(), *extra]

    async def wait_synced(self) -> None:
        await asyncio.gather(*(i.wait_synced() for i in self.informers()))

    @property
    def ready(self) -> bool:
        return all(i.has_synced() for i in self.informers())

    async def run(self) -> None:
        """Sync until cancelled. On start every owned host object is looked at, so orphans
        left by a previous run are deleted and existing ones adopted."""
        tasks = [asyncio.create_task(i.run()) for i in self.informers()]
        try:
            await self.wait_synced()
            log.info("informers synced; %d virtual and %d host objects",
                     sum(len(i.cache) for i in self.virtual_informers.values()),
                     sum(len(i.cache) for i in self.host_informers.values()))
            for kind, side in self.host_informers.items():
                for obj in side.list():
                    key = virtual_key(kind, obj)
                    if key is not None:
                        self.queue.add(key)
            await self.workers.run()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def references(kind: str, obj: dict[str, Any]) -> set[Key]:
    """The virtual objects (same namespace) this one references."""
    namespace = obj["metadata"].get("namespace", "")
    declared = KINDS.get(kind)
    if declared is None or declared.references is None:
        return set()
    return {(k, namespace, n) for k, n in declared.references(obj)}


def never_synced(kind: str, namespace: str, name: str) -> bool:
    """The virtual API server's own Service and Endpoints: the host has its own."""
    return kind in ("services", "endpoints") and (namespace, name) == ("default", "kubernetes")


def virtual_key(kind: str, host_obj: dict[str, Any]) -> Key | None:
    """The virtual object a host object is a copy of (from its annotations)."""
    annotations = host_obj["metadata"].get("annotations") or {}
    namespace = annotations.get(naming.VIRTUAL_NAMESPACE_ANNOTATION, "")
    token_for = annotations.get(naming.TOKEN_FOR_POD_ANNOTATION)
    if token_for:
        return "pods", namespace, token_for  # lives and dies with its pod
    name = annotations.get(naming.VIRTUAL_NAME_ANNOTATION)
    if not name:
        return None
    return kind, namespace, name
