"""`preview.control`'s `ListWatcher` over the project's `KubeClient`: how an informer reads
one resource from an API server.

The syncer (`preview/syncer/engine/listwatch.py`) and the emulator's controllers
(`preview/sandbox/controllers/listwatch.py`) both build their informers on `KubeListWatch`,
each with its own settings; `TRANSIENT` is what such an informer logs as a failure of the
network or of the server rather than as a bug.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from preview.control import Expired
from preview.kube.client import ApiError, Gone, KubeClient, Resource

# Failures of the API server or of the way to it (the client has retried the transient ones
# already): pass as `Informer(transient=...)`.
TRANSIENT: tuple[type[BaseException], ...] = (aiohttp.ClientError, TimeoutError, OSError,
                                              ApiError)


class KubeListWatch:
    """`preview.control.ListWatcher` over a `KubeClient`: one resource, optionally one
    namespace and label selector; 410 Gone becomes `Expired`."""

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
