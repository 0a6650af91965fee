"""An informer: list, then watch from the list's resourceVersion, into a cache.

Relists on 410 Gone or a broken stream (with back-off), and resyncs periodically (every
handler sees every cached object again), as client-go's shared informers do, so a missed
event or a failed reconcile is repaired without anyone noticing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import aiohttp

from preview.kube.client import ApiError, Gone, KubeClient, Resource

log = logging.getLogger(__name__)
Handler = Callable[[str, dict[str, Any]], None]  # (ADDED|MODIFIED|DELETED|RESYNC, object)
Key = tuple[str, str]


def key_of(obj: dict[str, Any]) -> Key:
    meta = obj["metadata"]
    return meta.get("namespace", ""), meta["name"]


class Informer:
    """A live cache of one resource (optionally one namespace / label selector)."""

    def __init__(self, client: KubeClient, resource: Resource, namespace: str | None = None,
                 label_selector: str = "", resync_seconds: float = 300.0,
                 watch_timeout: int = 300) -> None:
        self.client = client
        self.resource = resource
        self.namespace = namespace
        self.label_selector = label_selector
        self.resync_seconds = resync_seconds
        self.watch_timeout = watch_timeout
        self.cache: dict[Key, dict[str, Any]] = {}
        self.handlers: list[Handler] = []
        self.synced = asyncio.Event()
        self.relists = 0

    def add_handler(self, handler: Handler) -> None:
        self.handlers.append(handler)

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.cache.get((namespace, name))

    def list(self, namespace: str | None = None) -> list[dict[str, Any]]:
        if namespace is None:
            return list(self.cache.values())
        return [o for (ns, _), o in self.cache.items() if ns == namespace]

    def _emit(self, event: str, obj: dict[str, Any]) -> None:
        for handler in self.handlers:
            try:
                handler(event, obj)
            except Exception:
                log.exception("%s handler failed on %s %s/%s", self.resource.plural, event,
                              *key_of(obj))

    async def run(self) -> None:
        backoff = 0.2
        resync = asyncio.create_task(self._resync_loop())
        try:
            while True:
                try:
                    rv = await self._list()
                    backoff = 0.2
                    while True:
                        rv = await self._watch(rv)
                except Gone:
                    log.info("%s: resourceVersion expired; relisting", self.resource.plural)
                except (TimeoutError, ApiError, aiohttp.ClientError, ValueError) as e:
                    log.warning("%s: watch failed (%s); relisting in %.1fs",
                                self.resource.plural, e, backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 30.0)
        finally:
            resync.cancel()

    async def _list(self) -> str:
        listed = await self.client.list(self.resource, self.namespace, self.label_selector)
        self.relists += 1
        fresh = {key_of(o): o for o in listed.get("items") or []}
        for key in [k for k in self.cache if k not in fresh]:
            self._emit("DELETED", self.cache.pop(key))
        for key, obj in fresh.items():
            _slim(obj)
            obj.setdefault("apiVersion", self.resource.api_version)
            obj.setdefault("kind", self.resource.kind)
            old = self.cache.get(key)
            self.cache[key] = obj
            if old is None:
                self._emit("ADDED", obj)
            elif old["metadata"].get("resourceVersion") != obj["metadata"].get("resourceVersion"):
                self._emit("MODIFIED", obj)
        self.synced.set()
        return str(listed["metadata"]["resourceVersion"])

    async def _watch(self, rv: str) -> str:
        async for event, obj in self.client.watch(self.resource, self.namespace, rv,
                                                  self.watch_timeout, self.label_selector):
            rv = obj["metadata"].get("resourceVersion", rv)
            if event == "BOOKMARK":
                continue
            _slim(obj)
            obj.setdefault("apiVersion", self.resource.api_version)
            obj.setdefault("kind", self.resource.kind)
            key = key_of(obj)
            if event == "DELETED":
                self.cache.pop(key, None)
            else:
                self.cache[key] = obj
            self._emit(event, obj)
        return rv  # the server ended the watch (timeout): resume from here

    async def _resync_loop(self) -> None:
        while True:
            await asyncio.sleep(self.resync_seconds)
            for obj in list(self.cache.values()):
                self._emit("RESYNC", obj)


def _slim(obj: dict[str, Any]) -> None:
    """Drop what no reconcile reads before caching: managedFields are often the largest part
    of an object, and the caches hold every object of both sides."""
    (obj.get("metadata") or {}).pop("managedFields", None)
