"""The syncer's informers: `preview.control`'s informer over the project's `KubeClient`.

`KubeListWatch` adapts the client to `ListWatcher` (one resource, optionally one namespace
and label selector; 410 Gone becomes `Expired`); `informer` builds an informer with the
syncer's settings: a periodic resync, a relist back-off suited to a production API server,
and objects slimmed before caching.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from preview.control import Expired, Informer
from preview.kube.client import Gone, KubeClient, Resource


class KubeListWatch:
    """`preview.control.ListWatcher` over a `KubeClient`."""

    def __init__(self, client: KubeClient, resource: Resource, namespace: str | None = None,
                 label_selector: str = "", watch_timeout: int = 300) -> None:
        self.client = client
        self.resource = resource
        self.namespace = namespace
        self.label_selector = label_selector
        self.watch_timeout = watch_timeout

    async def list(self) -> dict[str, Any]:
        return await self.client.list(self.resource, self.namespace, self.label_selector)

    async def watch(self, resource_version: str) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        try:
            async for event in self.client.watch(self.resource, self.namespace,
                                                 resource_version, self.watch_timeout,
                                                 self.label_selector):
                yield event
        except Gone as e:
            raise Expired(str(e)) from e


def informer(client: KubeClient, resource: Resource, namespace: str | None = None,
             label_selector: str = "", resync_seconds: float | None = 300.0,
             watch_timeout: int = 300) -> Informer:
    """An informer on one resource as the syncer wants it (see the module)."""
    def slim(obj: dict[str, Any]) -> dict[str, Any]:
        # managedFields are often the largest part of an object, no reconcile reads them,
        # and the caches hold every object of both sides. Lists omit each item's kind.
        (obj.get("metadata") or {}).pop("managedFields", None)
        obj.setdefault("apiVersion", resource.api_version)
        obj.setdefault("kind", resource.kind)
        return obj

    return Informer(KubeListWatch(client, resource, namespace, label_selector, watch_timeout),
                    resource.plural, resync_seconds=resync_seconds, transform=slim,
                    backoff=(0.2, 30.0))
