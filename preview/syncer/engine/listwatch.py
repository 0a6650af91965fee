"""The syncer's informers: `preview.control`'s informer over `preview.kube`'s list-watch.

`informer` builds one with the syncer's settings: a periodic resync, a relist back-off
suited to a production API server, and objects slimmed before caching.
"""

from __future__ import annotations

from typing import Any

from preview.control import Informer
from preview.kube.client import KubeClient, Resource
from preview.kube.listwatch import TRANSIENT, KubeListWatch


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
                    backoff=(0.2, 30.0), transient=TRANSIENT)
