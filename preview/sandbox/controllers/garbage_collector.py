"""Garbage collection through ownerReferences, as `pkg/controller/garbagecollector` does it.

An informer per stored resource keeps a graph of owners and dependents. Background
deletion: a dependent whose owners are all gone is deleted. Foreground: an owner holding
the `foregroundDeletion` finalizer waits until its blocking dependents are gone, then the
finalizer is removed. Orphan: the owner's references are stripped from its dependents,
then the `orphan` finalizer is removed.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from preview.control import WorkQueue
from preview.kube.client import ApiError, Conflict
from preview.sandbox.controllers.client import ApiClient
from preview.sandbox.controllers.listwatch import InformerFactory
from preview.sandbox.machinery.resources import REVIEW_GROUPS, Catalog, ResourceType

log = logging.getLogger(__name__)


@dataclass
class Node:
    uid: str
    rt: ResourceType
    namespace: str
    name: str
    owners: list[dict[str, Any]] = field(default_factory=list)
    finalizers: tuple[str, ...] = ()
    deleting: bool = False


class GarbageCollector:
    def __init__(self, client: ApiClient, catalog: Catalog, informers: InformerFactory) -> None:
        self.client = client
        self.catalog = catalog
        self.informers = informers
        self.nodes: dict[str, Node] = {}
        self.dependents: dict[str, set[str]] = {}
        self.queue: WorkQueue[str] = WorkQueue()
        self.synced = asyncio.Event()
        self._watching: set[tuple[str, str]] = set()

    def storages(self) -> list[ResourceType]:
        seen: set[tuple[str, str]] = set()
        out = []
        for rt in self.catalog.types:
            if rt.group in REVIEW_GROUPS or rt.storage in seen or "watch" not in rt.verbs:
                continue
            seen.add(rt.storage)
            out.append(rt)
        return out

    async def run(self) -> None:
        await self._watch_new()
        await self.queue.run(self.process)

    async def _watch_new(self) -> None:
        """Follow the shared informers of storages not yet watched (new CRDs bring new ones)."""
        added = []
        for rt in self.storages():
            if rt.storage in self._watching:
                continue
            self._watching.add(rt.storage)
            informer = self.informers.for_type(rt)
            informer.add_handler(self._handler(rt))
            added.append(informer)
        if added:
            await asyncio.gather(*(i.wait_synced() for i in added))
        self.synced.set()

    def _handler(self, rt: ResourceType) -> Any:
        def handle(kind: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
            if kind == "MODIFIED" and old is not None and \
                    old["metadata"].get("uid") != obj["metadata"].get("uid"):
                self.observe(rt, "DELETED", old)  # replaced while a relist was due
            self.observe(rt, kind, obj)
            if rt.kind == "CustomResourceDefinition":
                asyncio.get_running_loop().create_task(self._watch_new())
        return handle

    def observe(self, rt: ResourceType, kind: str, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        uid = meta["uid"]
        old = self.nodes.get(uid)
        if kind == "DELETED":
            self.nodes.pop(uid, None)
            self._unlink(old)
            for dep in self.dependents.get(uid, set()):
                self.queue.add(dep)
            for ref in (old.owners if old else meta.get("ownerReferences") or []):
                self.queue.add(ref["uid"])  # a foreground owner may be waiting on this one
            return
        node = Node(uid, rt, meta.get("namespace", ""), meta["name"],
                    list(meta.get("ownerReferences") or []), tuple(meta.get("finalizers") or ()),
                    bool(meta.get("deletionTimestamp")))
        self._unlink(old)
        self.nodes[uid] = node
        for ref in node.owners:
            self.dependents.setdefault(ref["uid"], set()).add(uid)
            if ref["uid"] not in self.nodes:
                self.queue.add(uid)  # owner unknown: maybe already gone
        if node.deleting and ({"foregroundDeletion", "orphan"} & set(node.finalizers)):
            self.queue.add(uid)
        if node.deleting:
            for ref in node.owners:
                self.queue.add(ref["uid"])

    def _unlink(self, node: Node | None) -> None:
        if node is None:
            return
        for ref in node.owners:
            deps = self.dependents.get(ref["uid"])
            if deps is not None:
                deps.discard(node.uid)
                if not deps:
                    del self.dependents[ref["uid"]]

    async def process(self, uid: str) -> float | None:
        await self.synced.wait()
        node = self.nodes.get(uid)
        if node is None:
            return None
        try:
            if node.deleting and "orphan" in node.finalizers:
                return await self._orphan(node)
            if node.deleting and "foregroundDeletion" in node.finalizers:
                return await self._foreground(node)
            if node.owners:
                return await self._collect(node)
        except Conflict:
            return 0.0
        except ApiError as e:
            log.warning("garbage collector: %s %s/%s: %s", node.rt.kind, node.namespace,
                        node.name, e)
            return 0.5
        return None

    async def _owner_present(self, node: Node, ref: dict[str, Any]) -> bool:
        if ref["uid"] in self.nodes:
            return True
        version = ref.get("apiVersion", "")
        owner_rt = self.catalog.by_kind(version, ref.get("kind", ""))
        if owner_rt is None:
            return True  # unknown kind: never collect on a guess
        live = await self.client.get(owner_rt, node.namespace if owner_rt.namespaced else "",
                                     ref["name"])
        return live is not None and live["metadata"]["uid"] == ref["uid"]

    async def _collect(self, node: Node) -> float | None:
        absent = [ref for ref in node.owners if not await self._owner_present(node, ref)]
        if not absent:
            return None
        if len(absent) == len(node.owners):
            if node.deleting:
                return None
            policy = "Background"
            if any(ref["uid"] in self._foreground_owners() for ref in node.owners):
                policy = "Foreground"
            await self.client.delete(node.rt, node.namespace, node.name, {
                "propagationPolicy": policy, "preconditions": {"uid": node.uid}})
            return None
        keep = [r for r in node.owners if r not in absent]
        await self.client.merge_patch(node.rt, node.namespace, node.name,
                                      {"metadata": {"ownerReferences": keep}})
        return None

    def _foreground_owners(self) -> set[str]:
        return {uid for uid, n in self.nodes.items()
                if n.deleting and "foregroundDeletion" in n.finalizers}

    async def _foreground(self, owner: Node) -> float | None:
        blocking = 0
        for dep_uid in list(self.dependents.get(owner.uid, ())):
            dep = self.nodes.get(dep_uid)
            if dep is None:
                continue
            ref = next((r for r in dep.owners if r["uid"] == owner.uid), {})
            if ref.get("blockOwnerDeletion"):
                blocking += 1
            if not dep.deleting:
                others = [r for r in dep.owners if r["uid"] != owner.uid]
                if others and all([await self._owner_present(dep, r) for r in others]):
                    keep = [r for r in dep.owners if r["uid"] != owner.uid]
                    await self.client.merge_patch(dep.rt, dep.namespace, dep.name,
                                                  {"metadata": {"ownerReferences": keep}})
                    continue
                await self.client.delete(dep.rt, dep.namespace, dep.name, {
                    "propagationPolicy": "Foreground", "preconditions": {"uid": dep.uid}})
        if blocking:
            return None  # requeued when a dependent goes away
        await self._remove_finalizer(owner, "foregroundDeletion")
        return None

    async def _orphan(self, owner: Node) -> float | None:
        for dep_uid in list(self.dependents.get(owner.uid, ())):
            dep = self.nodes.get(dep_uid)
            if dep is None:
                continue
            keep = [r for r in dep.owners if r["uid"] != owner.uid]
            await self.client.merge_patch(dep.rt, dep.namespace, dep.name,
                                          {"metadata": {"ownerReferences": keep or None}})
        await self._remove_finalizer(owner, "orphan")
        return None

    async def _remove_finalizer(self, node: Node, finalizer: str) -> None:
        live = await self.client.get(node.rt, node.namespace, node.name)
        if live is None or live["metadata"]["uid"] != node.uid:
            return
        finalizers = [f for f in live["metadata"].get("finalizers") or [] if f != finalizer]
        await self.client.merge_patch(node.rt, node.namespace, node.name, {"metadata": {
            "finalizers": finalizers or None,
            "resourceVersion": live["metadata"]["resourceVersion"]}})
