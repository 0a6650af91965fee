"""The EndpointSlice controller: discovery.k8s.io/v1 slices for every selector Service.

As `pkg/controller/endpointslice`: slices are named `<service>-<random>`, labelled with
`kubernetes.io/service-name` and `endpointslice.kubernetes.io/managed-by`, owned by the
Service; an endpoint per pod with conditions ready/serving/terminating, nodeName, the
node's zone and targetRef. Pods serving different port sets land in different slices; a
service without endpoints keeps one empty placeholder slice. One slice holds up to 100
endpoints (the real default `--max-endpoints-per-slice`).
"""

from __future__ import annotations

import logging
from typing import Any

from preview.control import Key, WorkQueue, key_of
from preview.kube.client import Conflict, Forbidden, NotFound
from preview.sandbox.controllers import ControllerContext
from preview.sandbox.controllers.client import path_for
from preview.sandbox.controllers.endpointutil import (
    Backend,
    PortSet,
    backends,
    hostname,
    selector_of,
    selects,
    service_labels,
    slice_port,
    target_ref,
)
from preview.sandbox.controllers.podutil import owner_reference

log = logging.getLogger(__name__)
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MANAGED_BY = "endpointslice-controller.k8s.io"
ZONE_LABEL = "topology.kubernetes.io/zone"
MAX_PER_SLICE = 100


def endpoint(svc: dict[str, Any], b: Backend, zones: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"addresses": [b.ip], "conditions": {
        "ready": b.ready, "serving": b.serving, "terminating": b.terminating}}
    name = hostname(svc, b.pod)
    if name:
        out["hostname"] = name
    out["targetRef"] = target_ref(b.pod)
    node = (b.pod.get("spec") or {}).get("nodeName")
    if node:
        out["nodeName"] = node
        if zones.get(node):
            out["zone"] = zones[node]
    return out


def desired_slices(svc: dict[str, Any], pods: list[dict[str, Any]],
                   zones: dict[str, str]) -> list[tuple[PortSet, list[dict[str, Any]]]]:
    """(ports, endpoints) per slice; one empty placeholder when nothing backs the service."""
    groups: dict[PortSet, list[dict[str, Any]]] = {}
    for b in backends(svc, pods, include_terminating=True):
        groups.setdefault(b.ports, []).append(endpoint(svc, b, zones))
    out = []
    for ports, eps in sorted(groups.items()):
        for i in range(0, len(eps), MAX_PER_SLICE):
            out.append((ports, eps[i:i + MAX_PER_SLICE]))
    return out or [((), [])]


def slice_body(svc: dict[str, Any], ports: PortSet,
               endpoints: list[dict[str, Any]]) -> dict[str, Any]:
    meta = svc["metadata"]
    labels = service_labels(svc) | {SERVICE_NAME_LABEL: meta["name"], MANAGED_BY_LABEL: MANAGED_BY}
    body: dict[str, Any] = {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"generateName": f"{meta['name']}-", "namespace": meta["namespace"],
                     "labels": labels,
                     "ownerReferences": [owner_reference(
                         {"apiVersion": "v1", "kind": "Service", "metadata": meta})]},
        "addressType": "IPv4", "endpoints": endpoints,
    }
    body["ports"] = [slice_port(p) for p in ports] if ports or endpoints else None
    return body


def _ports_of(slice_: dict[str, Any]) -> PortSet:
    return tuple((p.get("name", ""), int(p.get("port", 0)), p.get("protocol", "TCP"),
                  p.get("appProtocol", "")) for p in slice_.get("ports") or [])


def plan(current: list[dict[str, Any]], desired: list[tuple[PortSet, list[dict[str, Any]]]]
         ) -> tuple[list[tuple[dict[str, Any], PortSet, list[dict[str, Any]]]],
                    list[tuple[PortSet, list[dict[str, Any]]]], list[dict[str, Any]]]:
    """Match desired slices to existing ones by ports: (updates, creates, deletes)."""
    unused = sorted(current, key=lambda s: s["metadata"]["name"])
    updates, creates = [], []
    for ports, eps in desired:
        match = next((s for s in unused if _ports_of(s) == ports), None)
        if match is None:
            creates.append((ports, eps))
            continue
        unused.remove(match)
        if (match.get("endpoints") or []) != eps:
            updates.append((match, ports, eps))
    # Reuse a leftover slice rather than delete one and create another.
    while creates and unused:
        ports, eps = creates.pop()
        updates.append((unused.pop(), ports, eps))
    return updates, creates, unused


class EndpointSliceController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.services = ctx.informers.informer("", "v1", "services")
        self.pods = ctx.informers.informer("", "v1", "pods")
        self.nodes = ctx.informers.informer("", "v1", "nodes")
        self.slices = ctx.informers.informer("discovery.k8s.io", "v1", "endpointslices")
        self.queue: WorkQueue[Key] = WorkQueue()
        self._written: dict[Key, dict[str, Any]] = {}
        self.services.add_handler(lambda kind, obj, old: self.queue.add(key_of(obj)))
        self.pods.add_handler(self._on_pod)
        self.slices.add_handler(self._on_slice)
        self.nodes.add_handler(self._on_node)

    def _on_pod(self, kind: str, pod: dict[str, Any], old: dict[str, Any] | None) -> None:
        for svc in self.services.list(pod["metadata"].get("namespace", "")):
            if selects(svc, pod) or (old is not None and selects(svc, old)):
                self.queue.add(key_of(svc))

    def _on_slice(self, kind: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        key = key_of(obj)
        written = self._written.get(key)
        if written is not None and (kind == "DELETED" or _rv(obj) >= _rv(written)):
            del self._written[key]  # the cache caught up with our own write
        labels = obj["metadata"].get("labels") or {}
        if labels.get(MANAGED_BY_LABEL) == MANAGED_BY and labels.get(SERVICE_NAME_LABEL):
            self.queue.add((obj["metadata"]["namespace"], labels[SERVICE_NAME_LABEL]))

    def _on_node(self, kind: str, node: dict[str, Any], old: dict[str, Any] | None) -> None:
        zone = (node["metadata"].get("labels") or {}).get(ZONE_LABEL)
        if old is not None and (old["metadata"].get("labels") or {}).get(ZONE_LABEL) == zone:
            return
        name = node["metadata"]["name"]
        for pod in self.pods.list():
            if (pod.get("spec") or {}).get("nodeName") == name:
                self._on_pod("MODIFIED", pod, None)

    def _zones(self) -> dict[str, str]:
        return {n["metadata"]["name"]: (n["metadata"].get("labels") or {}).get(ZONE_LABEL, "")
                for n in self.nodes.list()}

    def _owned(self, namespace: str, name: str) -> list[dict[str, Any]]:
        """The service's slices: the cache, overlaid with our writes it has not seen yet.

        Without the overlay a sync right after a create would not see the new slice and
        create another (the real controller's endpointSliceTracker guards the same).
        """
        by_name = {s["metadata"]["name"]: s for s in self.slices.list(namespace)}
        for (ns, slice_name), written in self._written.items():
            cached = by_name.get(slice_name)
            if ns == namespace and (cached is None or _rv(cached) < _rv(written)):
                by_name[slice_name] = written
        return [s for s in by_name.values()
                if (s["metadata"].get("labels") or {}).get(SERVICE_NAME_LABEL) == name
                and (s["metadata"].get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGED_BY]

    async def run(self) -> None:
        for informer in (self.services, self.pods, self.slices, self.nodes):
            await informer.synced.wait()
        await self.queue.run(self.sync)

    async def sync(self, key: Key) -> float | None:
        namespace, name = key
        svc = self.services.get(namespace, name)
        current = self._owned(namespace, name)
        if svc is None or not selector_of(svc):
            # Owned slices go with their service (the garbage collector would get there too).
            for s in current:
                await self.client.delete(self.slices.rt, namespace, s["metadata"]["name"])
            return None
        desired = desired_slices(svc, self.pods.list(namespace), self._zones())
        updates, creates, deletes = plan(current, desired)
        labels = slice_body(svc, (), [])["metadata"]["labels"]
        for s in current:
            if s not in deletes and (s["metadata"].get("labels") or {}) != labels and \
                    all(u[0] is not s for u in updates):
                updates.append((s, _ports_of(s), s.get("endpoints") or []))
        try:
            for s, ports, eps in updates:
                body = slice_body(svc, ports, eps)
                body["metadata"] = dict(s["metadata"]) | {"labels": body["metadata"]["labels"]}
                self._remember(await self.client.request(
                    "PUT", path_for(self.slices.rt, namespace, s["metadata"]["name"]), body))
            for ports, eps in creates:
                self._remember(await self.client.request(
                    "POST", path_for(self.slices.rt, namespace), slice_body(svc, ports, eps)))
            for s in deletes:
                await self.client.delete(self.slices.rt, namespace, s["metadata"]["name"])
                self._written.pop(key_of(s), None)
        except (NotFound, Conflict):
            return 0.05  # the cache is behind; retry once it caught up
        except Forbidden:
            return None  # the namespace is terminating
        return None

    def _remember(self, written: dict[str, Any]) -> None:
        self._written[key_of(written)] = written


def _rv(obj: dict[str, Any]) -> int:
    return int(obj["metadata"].get("resourceVersion") or 0)
