"""The async HTTP client the emulator's controllers use: the same API any client sees."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from preview.kube.client import ApiError
from preview.sandbox.resources import ResourceType

log = logging.getLogger(__name__)
EventHandler = Callable[[str, dict[str, Any]], Awaitable[None] | None]


class ApiFailure(ApiError):
    """An error answer to one of the emulator's own controllers (keeps the raw body)."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status, body)
        self.body = body


def path_for(rt: ResourceType, namespace: str | None = None, name: str = "",
             subresource: str = "") -> str:
    base = f"/api/{rt.version}" if not rt.group else f"/apis/{rt.group}/{rt.version}"
    if rt.namespaced and namespace:
        base += f"/namespaces/{namespace}"
    base += f"/{rt.resource}"
    if name:
        base += f"/{name}"
    if subresource:
        base += f"/{subresource}"
    return base


class ApiClient:
    def __init__(self, url: str, token: str, user_agent: str,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.url = url
        self._ssl = ssl_context
        self._headers = {"Authorization": f"Bearer {token}", "User-Agent": user_agent}
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                self.url, headers=self._headers,
                # No pool limit: every informer holds a watch connection open for good.
                connector=aiohttp.TCPConnector(ssl=self._ssl if self._ssl else False, limit=0),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=5))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(self, method: str, path: str, body: Any = None,
                      content_type: str = "application/json",
                      params: dict[str, str] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": content_type} if data is not None else {}
        async with self.session.request(method, path, data=data, headers=headers,
                                        params=params) as resp:
            payload = await resp.read()
            try:
                decoded = json.loads(payload) if payload else None
            except ValueError:
                decoded = payload.decode(errors="replace")
            if resp.status >= 400:
                raise ApiFailure(resp.status, decoded)
            return decoded

    async def get(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = await self.request("GET", path_for(rt, namespace, name))
            return result
        except ApiFailure as e:
            if e.status == 404:
                return None
            raise

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
        except ApiFailure as e:
            if e.status in (404, 409):
                return False
            raise

    async def merge_patch(self, rt: ResourceType, namespace: str, name: str,
                          patch: dict[str, Any], subresource: str = "") -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = await self.request(
                "PATCH", path_for(rt, namespace, name, subresource), patch,
                "application/merge-patch+json")
            return result
        except ApiFailure as e:
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
                rv = listed["metadata"]["resourceVersion"]
                backoff = 0.05
                while True:
                    rv = await self._watch(rt, rv, handler)
                    if rv is None:
                        break  # 410 Gone: relist
            except asyncio.CancelledError:
                raise
            except (aiohttp.ClientError, ApiFailure, ValueError) as e:
                log.debug("informer %s: %r; relisting", rt.resource, e)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)

    async def _watch(self, rt: ResourceType, rv: str, handler: EventHandler) -> str | None:
        params = {"watch": "true", "resourceVersion": rv, "allowWatchBookmarks": "true",
                  "timeoutSeconds": "600"}
        async with self.session.get(path_for(rt), params=params) as resp:
            if resp.status >= 400:
                raise ApiFailure(resp.status, await resp.text())
            async for line in resp.content:
                if not line.strip():
                    continue
                event = json.loads(line)
                kind, obj = event["type"], event["object"]
                if kind == "ERROR":
                    if obj.get("code") == 410:
                        return None
                    raise ApiFailure(int(obj.get("code", 500)), obj)
                rv = obj["metadata"]["resourceVersion"]
                if kind != "BOOKMARK":
                    await _call(handler, kind, obj)
        return rv


async def _call(handler: EventHandler, kind: str, obj: dict[str, Any]) -> None:
    result = handler(kind, obj)
    if result is not None:
        await result
