"""The ResourceQuota controller: keeps every quota's `status.hard` and `status.used` current.

As `pkg/controller/resourcequota`: usage is recomputed from the namespace's objects whenever
a quota or a tracked object changes. Enforcement is the admission plugin's
(`preview.sandbox.apiserver.admission.resourcequota`); both count with `preview.sandbox.apiserver.admission.quota`.
"""

from __future__ import annotations

import logging
from typing import Any

from preview.control import Key, WorkQueue, key_of
from preview.kube.client import Forbidden, NotFound
from preview.sandbox.apiserver.admission import quota
from preview.sandbox.controllers import ControllerContext
from preview.sandbox.controllers.listwatch import ResourceInformer
from preview.sandbox.machinery.resources import Catalog

log = logging.getLogger(__name__)


def quota_status(q: dict[str, Any], objects: dict[tuple[str, str], list[dict[str, Any]]]
                 ) -> dict[str, Any]:
    hard = quota.hard_of(q)
    used = quota.usage(q, objects)
    return {"hard": {k: str(v) for k, v in hard.items()},
            "used": {k: str(v) for k, v in used.items()}}


class ResourceQuotaController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.ctx = ctx
        self.catalog: Catalog = ctx.catalog
        self.quotas = ctx.informers.informer("", "v1", "resourcequotas")
        self.queue: WorkQueue[Key] = WorkQueue()
        self.tracked: dict[tuple[str, str], ResourceInformer] = {}
        self.quotas.add_handler(self._on_quota)
        for resource in ("pods", "services", "persistentvolumeclaims", "configmaps", "secrets"):
            self._track("", resource)

    def _track(self, group: str, resource: str) -> ResourceInformer | None:
        if (group, resource) in self.tracked:
            return self.tracked[(group, resource)]
        rt = next((t for t in self.catalog.types if t.group == group and t.resource == resource
                   and t.namespaced), None)
        if rt is None:
            return None
        informer = self.ctx.informers.informer(rt.group, rt.version, rt.resource)
        informer.add_handler(self._on_object)
        self.tracked[(group, resource)] = informer
        return informer

    def _on_quota(self, kind: str, q: dict[str, Any], old: dict[str, Any] | None) -> None:
        if kind == "DELETED":
            return
        for name in (q.get("spec") or {}).get("hard") or {}:
            target = quota.resources_of(name)
            if target is not None:
                self._track(*target)
        self.queue.add(key_of(q))

    def _on_object(self, kind: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        for q in self.quotas.list(obj["metadata"].get("namespace", "")):
            self.queue.add(key_of(q))

    async def run(self) -> None:
        await self.quotas.synced.wait()
        await self.queue.run(self.sync)

    async def sync(self, key: Key) -> float | None:
        namespace, name = key
        q = self.quotas.get(namespace, name)
        if q is None:
            return None
        objects: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for hard_name in (q.get("spec") or {}).get("hard") or {}:
            target = quota.resources_of(hard_name)
            informer = self._track(*target) if target is not None else None
            if informer is None or target is None:
                continue
            if not informer.synced.is_set():
                return 0.1
            objects[target] = informer.list(namespace)
        status = quota_status(q, objects)
        current = q.get("status") or {}
        if current == status:
            return None
        # A merge patch keeps map keys it does not mention: null out names no longer hard.
        patch = {part: {k: None for k in current.get(part) or {} if k not in status[part]}
                 | status[part] for part in ("hard", "used")}
        try:
            await self.client.merge_patch(self.quotas.rt, namespace, name,
                                          {"status": patch}, "status")
        except (Forbidden, NotFound):
            return None
        return None
