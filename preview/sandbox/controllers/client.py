"""The client the emulator's controllers use: the project's one Kubernetes client, plus
conveniences over the emulator's `ResourceType`s (their informers are in `listwatch.py`).
"""

from __future__ import annotations

import ssl
from typing import Any

from preview.kube.client import MERGE_PATCH, Conflict, KubeClient, NotFound, Resource
from preview.kube.connection import Connection
from preview.sandbox.machinery.resources import ResourceType


def path_for(rt: ResourceType, namespace: str | None = None, name: str = "",
             subresource: str = "") -> str:
    return kube_resource(rt).path(namespace, name, subresource)


def kube_resource(rt: ResourceType) -> Resource:
    return Resource(rt.group, rt.version, rt.resource, rt.kind, rt.namespaced)


class ApiClient:
    """The emulator's controllers' client: a `KubeClient` (one token per controller), used
    with the emulator's `ResourceType`s."""

    def __init__(self, url: str, token: str, user_agent: str,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.url = url
        self.kube = KubeClient(Connection(server=url, token=token), user_agent,
                               ssl_context=ssl_context)

    async def close(self) -> None:
        await self.kube.close()

    async def request(self, method: str, path: str, body: Any = None,
                      content_type: str = "application/json",
                      params: dict[str, str] | None = None) -> Any:
        return await self.kube.request(method, path, body, content_type, params)

    async def get(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any] | None:
        return await self.kube.get(kube_resource(rt), namespace, name)

    async def list(self, rt: ResourceType, namespace: str | None = None,
                   params: dict[str, str] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = await self.request("GET", path_for(rt, namespace), params=params)
        return result

    async def delete(self, rt: ResourceType, namespace: str, name: str,
                     options: dict[str, Any] | None = None) -> bool:
        """Delete; False when it was already gone (or was replaced: uid precondition)."""
        try:
            await self.request("DELETE", path_for(rt, namespace, name), options)
            return True
        except (NotFound, Conflict):
            return False

    async def merge_patch(self, rt: ResourceType, namespace: str, name: str,
                          patch: dict[str, Any], subresource: str = "") -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = await self.request(
                "PATCH", path_for(rt, namespace, name, subresource), patch, MERGE_PATCH)
            return result
        except NotFound:
            return None
