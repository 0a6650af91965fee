"""The client the emulator's controllers use: the project's one Kubernetes client, plus
conveniences over the emulator's `ResourceType`s and the informer loop its controllers share.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from preview.kube.client import MERGE_PATCH, ApiError, Gone, KubeClient, Resource
from preview.kube.connection import Connection
from preview.sandbox.resources import ResourceType

log = logging.getLogger(__name__)
EventHandler = Callable[[str, dict[str, Any]], Awaitable[None] | None]
ApiFailure = ApiError  # the name the controllers use for an API error answer


def path_for(rt: ResourceType, namespace: str | None = None, name: str = "",
             subresource: str = "") -> str:
    return _resource(rt).path(namespace, name, subresource)


def _resource(rt: ResourceType) -> Resource:
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
        return await self.kube.get(_resource(rt), namespace, name)

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
        except ApiError as e:
            if e.status in (404, 409):
                return False
            raise

    async def merge_patch(self, rt: ResourceType, namespace: str, name: str,
                          patch: dict[str, Any], subresource: str = "") -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = await self.request(
                "PATCH", path_for(rt, namespace, name, subresource), patch, MERGE_PATCH)
            return result
        except ApiError as e:
            if e.status == 404:
                return None
            raise

    async def informer(self, rt: ResourceType, handler: EventHandler,
                       synced: asyncio.Event | None = None,
                       on_listed: Callable[[], None] | None = None) -> None:
        """List, then watch from the list's resourceVersion; relist on 410 or a broken stream.

        The handler sees `SYNC` once per object on each (re)list, then watch events;
        `on_listed` runs after each (re)list's last `SYNC`.
        """
        backoff = 0.05
        while True:
            try:
                listed = await self.list(rt)
                for obj in listed.get("items") or []:
                    await _call(handler, "SYNC", obj)
                if on_listed is not None:
                    on_listed()
                if synced is not None:
                    synced.set()
                rv = str(listed["metadata"]["resourceVersion"])
                backoff = 0.05
                while True:
                    async for kind, obj in self.kube.watch(_resource(rt), None, rv, 600):
                        rv = obj["metadata"].get("resourceVersion", rv)
                        if kind != "BOOKMARK":
                            await _call(handler, kind, obj)
            except asyncio.CancelledError:
                raise
            except Gone:
                continue  # history moved on: relist at once
            except (aiohttp.ClientError, ApiError, ValueError, TimeoutError) as e:
                log.debug("informer %s: %r; relisting", rt.resource, e)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)


async def _call(handler: EventHandler, kind: str, obj: dict[str, Any]) -> None:
    result = handler(kind, obj)
    if result is not None:
        await result
