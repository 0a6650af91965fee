"""Shared informers: one list+watch per resource, a cache, and handlers, as client-go's.

Every controller of the emulator reads through these caches (like client-go listers) and
writes through the API. One `Informer` per resource is shared by all controllers that ask
for it, so 500 pods cost one watch stream, not one per controller.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from preview.sandbox.controllers.client import ApiClient
from preview.sandbox.resources import Catalog, ResourceType

log = logging.getLogger(__name__)

# (event type, object, previous object or None). Types: ADDED, MODIFIED, DELETED.
Handler = Callable[[str, dict[str, Any], dict[str, Any] | None], None]
Key = tuple[str, str]  # (namespace, name)


def key_of(obj: dict[str, Any]) -> Key:
    meta = obj["metadata"]
    return meta.get("namespace", ""), meta["name"]


class Informer:
    """A cache of one resource kept current by list+watch; handlers see every change."""

    def __init__(self, client: ApiClient, rt: ResourceType) -> None:
        self.client = client
        self.rt = rt
        self.cache: dict[Key, dict[str, Any]] = {}
        self.handlers: list[Handler] = []
        self.synced = asyncio.Event()

    def add_handler(self, handler: Handler) -> None:
        self.handlers.append(handler)

    # -- reads (never I/O) ---------------------------------------------------------------------
    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.cache.get((namespace, name))

    def list(self, namespace: str | None = None) -> list[dict[str, Any]]:
        if namespace is None:
            return list(self.cache.values())
        return [o for (ns, _), o in self.cache.items() if ns == namespace]

    # -- the loop --------------------------------------------------------------------------------
    async def run(self) -> None:
        relisted: dict[Key, dict[str, Any]] = {}

        def on_event(kind: str, obj: dict[str, Any]) -> None:
            if kind == "SYNC":
                relisted[key_of(obj)] = obj
            else:
                self._apply(kind, obj)

        def on_listed() -> None:
            self._replace(relisted)
            relisted.clear()
            self.synced.set()

        await self.client.informer(self.rt, on_event, on_listed=on_listed)

    def _dispatch(self, kind: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        for handler in self.handlers:
            try:
                handler(kind, obj, old)
            except Exception:
                log.exception("handler of %s failed on %s %s/%s", self.rt.resource, kind,
                              *key_of(obj))

    def _apply(self, kind: str, obj: dict[str, Any]) -> None:
        key = key_of(obj)
        old = self.cache.get(key)
        if kind == "DELETED":
            self.cache.pop(key, None)
            self._dispatch("DELETED", obj, old)
            return
        self.cache[key] = obj
        self._dispatch("ADDED" if old is None else "MODIFIED", obj, old)

    def _replace(self, listed: dict[Key, dict[str, Any]]) -> None:
        """After a (re)list: what vanished is deleted, what changed is modified."""
        for key in [k for k in self.cache if k not in listed]:
            gone = self.cache.pop(key)
            self._dispatch("DELETED", gone, gone)
        for key, obj in listed.items():
            old = self.cache.get(key)
            if old is not None and old["metadata"].get("resourceVersion") == \
                    obj["metadata"].get("resourceVersion"):
                continue
            self.cache[key] = obj
            self._dispatch("ADDED" if old is None else "MODIFIED", obj, old)


class InformerFactory:
    """Hands out one shared Informer per resource; `start` runs them all."""

    def __init__(self, client: ApiClient, catalog: Catalog) -> None:
        self.client = client
        self.catalog = catalog
        self._informers: dict[tuple[str, str], Informer] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def informer(self, group: str, version: str, resource: str) -> Informer:
        rt = self.catalog.find(group, version, resource)
        if rt is None:
            raise LookupError(f"no resource {group}/{version}/{resource} in the catalog")
        informer = self._informers.get(rt.storage)
        if informer is None:
            informer = self._informers[rt.storage] = Informer(self.client, rt)
            if self._tasks:  # asked for after start: start it now
                self._tasks.append(asyncio.create_task(informer.run()))
        return informer

    def start(self) -> list[asyncio.Task[None]]:
        self._tasks = [asyncio.create_task(i.run()) for i in self._informers.values()]
        return self._tasks

    async def wait_synced(self) -> None:
        await asyncio.gather(*(i.synced.wait() for i in self._informers.values()))
