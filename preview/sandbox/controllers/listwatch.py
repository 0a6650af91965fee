"""Shared informers for the emulator's controllers: `preview.control` over their client.

`ResourceListWatch` adapts the controllers' `ApiClient` to `preview.control.ListWatcher`
for one of the emulator's resources; `InformerFactory` hands out one informer per stored
resource, shared by every controller that asks for it, so 500 pods cost one watch stream,
not one per controller (client-go's SharedInformerFactory). `run` runs them all, those
asked for later (new CRDs, quota on a new resource) included, and stops them all.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from preview.control import Expired, Informer
from preview.kube.client import Gone
from preview.sandbox.controllers.client import ApiClient, kube_resource
from preview.sandbox.machinery.resources import Catalog, ResourceType


class ResourceListWatch:
    """`preview.control.ListWatcher` over the controllers' client, for one resource."""

    def __init__(self, client: ApiClient, rt: ResourceType, watch_timeout: int = 600) -> None:
        self.client = client
        self.rt = rt
        self.watch_timeout = watch_timeout

    async def list(self) -> dict[str, Any]:
        return await self.client.list(self.rt)

    async def watch(self, resource_version: str) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        try:
            async for event in self.client.kube.watch(kube_resource(self.rt), None,
                                                      resource_version, self.watch_timeout):
                yield event
        except Gone as e:
            raise Expired(str(e)) from e


class ResourceInformer(Informer):
    """An informer on one of the emulator's resources; `rt` is what controllers write with."""

    def __init__(self, client: ApiClient, rt: ResourceType) -> None:
        super().__init__(ResourceListWatch(client, rt), rt.resource)
        self.rt = rt


class InformerFactory:
    """Hands out one shared informer per stored resource; `start` runs them all."""

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
        await asyncio.gather(*(i.wait_synced() for i in self._informers.values()))
