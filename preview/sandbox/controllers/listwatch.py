"""Shared informers for the emulator's controllers: `preview.control` over their client.

Each informer reads through `preview.kube`'s `KubeListWatch` (the syncer's too), over the
controllers' `KubeClient`; `InformerFactory` hands out one informer per stored resource,
shared by every controller that asks for it, so 500 pods cost one watch stream, not one per
controller (client-go's SharedInformerFactory). Its `run` runs them all, those asked for
later (new CRDs, quota on a new resource) included, and stops them all.
"""

from __future__ import annotations

import asyncio

from preview.control import Informer
from preview.kube.listwatch import TRANSIENT, KubeListWatch
from preview.sandbox.controllers.client import ApiClient, kube_resource
from preview.sandbox.machinery.resources import Catalog, ResourceType

# Longer than the syncer's: the emulator's watches are local and cheap to hold.
WATCH_TIMEOUT = 600


class ResourceInformer(Informer):
    """An informer on one of the emulator's resources; `rt` is what controllers write with."""

    def __init__(self, client: ApiClient, rt: ResourceType) -> None:
        super().__init__(KubeListWatch(client.kube, kube_resource(rt),
                                       watch_timeout=WATCH_TIMEOUT),
                         rt.resource, transient=TRANSIENT)
        self.rt = rt


class InformerFactory:
    """Hands out one shared informer per stored resource; `run` runs them all."""

    def __init__(self, client: ApiClient, catalog: Catalog) -> None:
        self.client = client
        self.catalog = catalog
        self._informers: dict[tuple[str, str], ResourceInformer] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._running = False

    def informer(self, group: str, version: str, resource: str) -> ResourceInformer:
        rt = self.catalog.find(group, version, resource)
        if rt is None:
            raise LookupError(f"no resource {group}/{version}/{resource} in the catalog")
        return self.for_type(rt)

    def for_type(self, rt: ResourceType) -> ResourceInformer:
        informer = self._informers.get(rt.storage)
        if informer is None:
            informer = self._informers[rt.storage] = ResourceInformer(self.client, rt)
            if self._running:  # asked for after start: start it now
                self._tasks.append(asyncio.create_task(informer.run()))
        return informer

    async def run(self) -> None:
        """Run every informer until cancelled."""
        self._running = True
        self._tasks = [asyncio.create_task(i.run()) for i in self._informers.values()]
        try:
            await asyncio.Event().wait()
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def wait_synced(self) -> None:
        """Return once every informer handed out so far, and any handed out while waiting,
        has synced. One asked for after this returns is waited on with its own
        `wait_synced()`."""
        while True:
            informers = list(self._informers.values())
            await asyncio.gather(*(i.wait_synced() for i in informers))
            if len(self._informers) == len(informers):
                return
