"""The Endpoints controller: one Endpoints object per selector Service, listing its pods.

As `pkg/controller/endpoint`: ready pods go to `addresses`, the others (with an IP, not
finished, not terminating) to `notReadyAddresses`, grouped by the ports they serve.
Services without a selector are left alone (their users write the Endpoints); when a
Service is deleted its Endpoints go too.
"""

from __future__ import annotations

import logging
from typing import Any

from preview.control import Key, WorkQueue, key_of
from preview.kube.client import Conflict, Forbidden, NotFound
from preview.sandbox.controllers import ControllerContext
from preview.sandbox.controllers.client import path_for
from preview.sandbox.controllers.endpointutil import (
    endpoints_subsets,
    selector_of,
    selects,
    service_labels,
)

log = logging.getLogger(__name__)
TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time"


def desired_endpoints(svc: dict[str, Any], pods: list[dict[str, Any]]) -> dict[str, Any]:
    meta = svc["metadata"]
    out: dict[str, Any] = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {
        "name": meta["name"], "namespace": meta["namespace"]}}
    labels = service_labels(svc)
    if labels:
        out["metadata"]["labels"] = labels
    subsets = endpoints_subsets(svc, pods)
    if subsets:
        out["subsets"] = subsets
    return out


def unchanged(current: dict[str, Any], desired: dict[str, Any]) -> bool:
    return (current.get("subsets") or []) == (desired.get("subsets") or []) and \
        (current["metadata"].get("labels") or {}) == (desired["metadata"].get("labels") or {})


class EndpointsController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.services = ctx.informers.informer("", "v1", "services")
        self.pods = ctx.informers.informer("", "v1", "pods")
        self.endpoints = ctx.informers.informer("", "v1", "endpoints")
        self.queue: WorkQueue[Key] = WorkQueue()
        self.services.add_handler(lambda kind, obj, old: self.queue.add(key_of(obj)))
        self.pods.add_handler(self._on_pod)
        self.endpoints.add_handler(self._on_endpoints)

    def _on_pod(self, kind: str, pod: dict[str, Any], old: dict[str, Any] | None) -> None:
        namespace = pod["metadata"].get("namespace", "")
        for svc in self.services.list(namespace):
            if selects(svc, pod) or (old is not None and selects(svc, old)):
                self.queue.add(key_of(svc))

    def _on_endpoints(self, kind: str, ep: dict[str, Any], old: dict[str, Any] | None) -> None:
        # Someone else changed or deleted what we own: put it back.
        if self.services.get(*key_of(ep)) is not None:
            self.queue.add(key_of(ep))

    async def run(self) -> None:
        for informer in (self.services, self.pods, self.endpoints):
            await informer.synced.wait()
        await self.queue.run(self.sync)

    async def sync(self, key: Key) -> float | None:
        namespace, name = key
        svc = self.services.get(namespace, name)
        current = self.endpoints.get(namespace, name)
        if svc is None:
            if current is not None:
                await self.client.delete(self.endpoints.rt, namespace, name)
            return None
        if not selector_of(svc):
            return None
        desired = desired_endpoints(svc, self.pods.list(namespace))
        if current is not None and unchanged(current, desired):
            return None
        if current is not None:
            desired["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            annotations = dict(current["metadata"].get("annotations") or {})
            if annotations:
                desired["metadata"]["annotations"] = annotations
        try:
            await self.client.request("PUT", path_for(self.endpoints.rt, namespace, name),
                                      desired)
        except (Conflict, NotFound):
            return 0.05  # the cache is behind; retry once it caught up
        except Forbidden:
            return None  # the namespace is terminating
        return None
