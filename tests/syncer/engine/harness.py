"""Run one reconcile of the real engine between two real sandboxes: state in → state out.

The caches a reconcile reads are snapshots listed from the two API servers just before it
runs (what the informers would hold once synced), so a test sets up objects over HTTP, runs
`once(...)` and reads back what the host and the virtual cluster hold.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from preview import naming
from preview.kube.client import KubeClient
from preview.kube.connection import from_kubeconfig
from preview.kube.events import EventRecorder
from preview.sandbox.runner import Sandbox
from preview.syncer.context import SyncContext, SyncOptions
from preview.syncer.engine.reconcile import reconcile
from preview.syncer.engine.references import References
from preview.syncer.engine.state import State
from preview.syncer.kinds import KINDS
from preview.syncer.syncer import references


class Snapshot:
    """An informer cache's contents, listed once."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = {(o["metadata"].get("namespace", ""), o["metadata"]["name"]): o
                      for o in items}

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.items.get((namespace, name))

    def list(self, namespace: str | None = None) -> list[dict[str, Any]]:
        return [o for (ns, _), o in self.items.items() if namespace in (None, ns)]


@dataclass
class Engine:
    host: Sandbox
    virtual: Sandbox

    def once(self, ctx: SyncContext, kind: str, namespace: str, name: str,
             options: SyncOptions | None = None) -> None:
        """One reconcile of `kind` `namespace/name` with fresh snapshots."""
        asyncio.run(self._once(ctx, kind, namespace, name, options or SyncOptions()))

    async def _once(self, ctx: SyncContext, kind: str, namespace: str, name: str,
                    options: SyncOptions) -> None:
        async with KubeClient(from_kubeconfig(self.host.kubeconfig)) as host, \
                KubeClient(from_kubeconfig(self.virtual.kubeconfig)) as virtual:
            owned = f"{naming.MANAGED_BY}=syncer,{naming.VCLUSTER}=" \
                    f"{naming.label_value(ctx.vcluster)}"
            virtual_caches: dict[str, Snapshot] = {}
            host_caches: dict[str, Snapshot] = {}
            refs = References()
            for kind_name, declared in KINDS.items():
                res = declared.resource
                listed = (await virtual.list(res)).get("items") or []
                for obj in listed:
                    obj.setdefault("apiVersion", res.api_version)
                    obj.setdefault("kind", res.kind)
                    meta = obj["metadata"]
                    refs.update((kind_name, meta.get("namespace", ""), meta["name"]),
                                references(kind_name, obj))
                virtual_caches[kind_name] = Snapshot(listed)
                host_listed = (await host.list(res, ctx.host_namespace, owned)).get("items")
                host_caches[kind_name] = Snapshot(host_listed or [])
            st = State(ctx, options, virtual, host, EventRecorder(virtual, "engine-test"),
                       virtual_caches, host_caches, refs)
            await reconcile(st, KINDS[kind], namespace, name)
