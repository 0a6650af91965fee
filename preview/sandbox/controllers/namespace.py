"""Namespace lifecycle: a Terminating namespace is emptied, then its `kubernetes` finalizer goes.

As the real namespace controller (`pkg/controller/namespace/deletion`): delete every
namespaced resource in it, report what remains in the namespace's conditions while
finalizers hold objects back, and finalize once nothing is left.
"""

from __future__ import annotations

import logging
from typing import Any

from preview.control import WorkQueue
from preview.kube.client import Conflict, NotFound
from preview.sandbox.controllers.client import ApiClient, path_for
from preview.sandbox.machinery.objects import now
from preview.sandbox.machinery.resources import Catalog, ResourceType

log = logging.getLogger(__name__)


class NamespaceController:
    def __init__(self, client: ApiClient, catalog: Catalog) -> None:
        self.client = client
        self.catalog = catalog
        self.queue: WorkQueue[str] = WorkQueue()
        ns_rt = catalog.find("", "v1", "namespaces")
        assert ns_rt is not None
        self.ns_rt = ns_rt

    def on_event(self, kind: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        if kind != "DELETED" and obj["metadata"].get("deletionTimestamp"):
            self.queue.add(obj["metadata"]["name"])

    async def sync(self, name: str) -> float | None:
        ns = await self.client.get(self.ns_rt, "", name)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return None
        if "kubernetes" not in ((ns.get("spec") or {}).get("finalizers") or []):
            return None
        remaining: dict[str, int] = {}
        finalizers: set[str] = set()
        for rt in self.catalog.namespaced_storages():
            left = await self._empty(rt, name)
            if left:
                remaining[_qualified(rt)] = len(left)
                for obj in left:
                    finalizers.update(obj["metadata"].get("finalizers") or [])
        if remaining:
            await self._report(ns, remaining, finalizers)
            return 0.2
        spec = {"finalizers": [f for f in ns["spec"]["finalizers"] if f != "kubernetes"]}
        body = {"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": name, "resourceVersion": ns["metadata"]["resourceVersion"]},
                "spec": spec}
        try:
            await self.client.request("PUT", path_for(self.ns_rt, "", name, "finalize"), body)
        except NotFound:
            return None
        except Conflict:
            return 0.0
        return None

    async def _empty(self, rt: ResourceType, namespace: str) -> list[dict[str, Any]]:
        """Delete everything of one resource in the namespace; return what is still there."""
        path = path_for(rt, namespace)
        listed = await self.client.request("GET", path)
        items = listed.get("items") or []
        if not items:
            return []
        live = [o for o in items if not o["metadata"].get("deletionTimestamp")]
        if live:
            if "deletecollection" in rt.verbs:
                await self.client.request("DELETE", path, {"propagationPolicy": "Background"})
            else:
                for obj in live:
                    await self.client.delete(rt, namespace, obj["metadata"]["name"])
            listed = await self.client.request("GET", path)
        left: list[dict[str, Any]] = listed.get("items") or []
        return left

    async def _report(self, ns: dict[str, Any], remaining: dict[str, int],
                      finalizers: set[str]) -> None:
        content = ", ".join(f"{res} has {n} resource instances" for res, n in
                            sorted(remaining.items()))
        conditions = [
            {"type": "NamespaceContentRemaining", "status": "True",
             "reason": "SomeResourcesRemain", "message": f"Some resources are remaining: {content}",
             "lastTransitionTime": now()},
        ]
        if finalizers:
            conditions.append({
                "type": "NamespaceFinalizersRemaining", "status": "True",
                "reason": "SomeFinalizersRemain",
                "message": "Some content in the namespace has finalizers remaining: "
                           + ", ".join(sorted(finalizers)),
                "lastTransitionTime": now()})
        current = (ns.get("status") or {}).get("conditions") or []
        if [(c["type"], c["message"]) for c in current] == \
                [(c["type"], c["message"]) for c in conditions]:
            return
        await self.client.merge_patch(self.ns_rt, "", ns["metadata"]["name"],
                                      {"status": {"conditions": conditions}}, "status")


def _qualified(rt: ResourceType) -> str:
    return f"{rt.resource}.{rt.group}" if rt.group else rt.resource
