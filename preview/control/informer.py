"""The informer controllers share, after client-go's shared informer.

An informer keeps a local cache of one resource current: it lists, then watches from the
list's resourceVersion, and applies every event to the cache before telling the handlers.
Controllers read the cache (never the API) and write through the API; the handlers only
queue keys. When the watch's history has moved on (410 Gone, raised here as `Expired`) it
lists again and turns the difference into events — deletes for what vanished meanwhile,
updates for what changed — so a handler never misses a change for long. A broken stream
is relisted after a growing back-off, and so is a watch the server ends at once with no
events (client-go's reflector treats a watch under a second with no events as an error:
otherwise a server or proxy that closes every watch makes the informer spin); an optional
periodic resync hands every cached object to the handlers again (`RESYNC`), so a
reconcile that failed quietly is repaired.

The informer does not know any client: it reads through a `ListWatcher`
(`preview/kube/listwatch.py` adapts the project's `KubeClient`; tests adapt a dict).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, Protocol

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped objects
# (event, object, previous object or None). Events: ADDED, MODIFIED, DELETED, RESYNC.
Handler = Callable[[str, Obj, Obj | None], None]
# An index maps an object to the values it is found under (client-go's IndexFunc).
IndexFunc = Callable[[Obj], Iterable[str]]
NAMESPACE_INDEX = "namespace"
# A watch that ends sooner than this with no events is a failure (client-go's reflector).
SHORT_WATCH_SECONDS = 1.0


class Expired(Exception):
    """The resourceVersion a watch started from is no longer in the server's history (410)."""


class ListWatcher(Protocol):
    """How an informer reads one resource; each user adapts its client to this.

    `list` returns the API's List object (`items` and `metadata.resourceVersion`); `watch`
    yields `(type, object)` events after a resourceVersion (BOOKMARKs included), ends when
    the server ends the watch, and raises `Expired` when that version is too old.
    """

    async def list(self) -> Obj: ...

    def watch(self, resource_version: str) -> AsyncIterator[tuple[str, Obj]]: ...


def key_of(obj: Obj) -> Key:
    meta = obj["metadata"]
    return meta.get("namespace", ""), meta["name"]


def _namespace(obj: Obj) -> Iterable[str]:
    return (obj["metadata"].get("namespace", ""),)


class Informer:
    """A live, indexed cache of one resource, and the handlers told of its changes.

    `name` only labels logs. `transform` rewrites each object before it is cached (client-go's
    SetTransform: drop what no reader needs). `backoff` is the first and the longest wait
    before relisting after a failure. `transient` are the failures expected of the source
    (a network or an API server that fails), logged as one line; any other exception is a
    bug (in `transform`, in the source) and is logged with its traceback — both are relisted
    after the back-off. `clock` and `sleep` time the back-off; tests pass fakes.

    Readers wait for the first list with `wait_synced()` or ask `has_synced()`.
    """

    def __init__(self, source: ListWatcher, name: str = "", *,
                 resync_seconds: float | None = None,
                 transform: Callable[[Obj], Obj] | None = None,
                 backoff: tuple[float, float] = (0.05, 2.0),
                 transient: tuple[type[BaseException], ...] = (OSError, TimeoutError),
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        self.source = source
        self.name = name or type(source).__name__
        self.resync_seconds = resync_seconds
        self.transform = transform
        self.backoff = backoff
        self.transient = transient
        self.clock = clock
        self.sleep = sleep
        self.handlers: list[Handler] = []
        self._synced = asyncio.Event()
        self.relists = 0  # lists after the first: the watch expired, broke or was restarted
        self._watch_started: float | None = None  # when the current watch began, if one did
        self._watch_events = 0  # events the current watch has delivered
        self._items: dict[Key, Obj] = {}
        self._indexers: dict[str, IndexFunc] = {NAMESPACE_INDEX: _namespace}
        # index name -> value -> keys, in the order the cache holds them (a dict as ordered set)
        self._indices: dict[str, dict[str, dict[Key, None]]] = {NAMESPACE_INDEX: {}}

    # -- wiring ----------------------------------------------------------------------------------
    def add_handler(self, handler: Handler) -> None:
        """Tell `handler` of every change; as client-go, a handler added once objects are
        cached is first told of each of them as ADDED."""
        self.handlers.append(handler)
        for obj in list(self._items.values()):
            self._call(handler, "ADDED", obj, None)

    def add_indexer(self, name: str, index: IndexFunc) -> None:
        """Find objects by `index`'s values with `by_index(name, value)`."""
        self._indexers[name] = index
        self._indices[name] = {}
        for key, obj in self._items.items():
            for value in index(obj):
                self._indices[name].setdefault(value, {})[key] = None

    # -- reads (never I/O) -----------------------------------------------------------------------
    @property
    def cache(self) -> Mapping[Key, Obj]:
        return MappingProxyType(self._items)

    def has_synced(self) -> bool:
        """Whether the first list has been cached (reads before that see an empty cache)."""
        return self._synced.is_set()

    async def wait_synced(self) -> None:
        """Return once the first list has been cached."""
        await self._synced.wait()

    @property
    def synced(self) -> asyncio.Event:
        """The event `wait_synced` waits on; older callers await `synced.wait()` directly.
        Use `wait_synced()`/`has_synced()`; never set or clear it."""
        return self._synced

    def get(self, namespace: str, name: str) -> Obj | None:
        return self._items.get((namespace, name))

    def by_index(self, name: str, value: str) -> list[Obj]:
        return [self._items[k] for k in self._indices[name].get(value, ())]

    def list(self, namespace: str | None = None) -> list[Obj]:
        if namespace is None:
            return list(self._items.values())
        return self.by_index(NAMESPACE_INDEX, namespace)

    # -- the loop --------------------------------------------------------------------------------
    async def run(self) -> None:
        """List and watch until cancelled."""
        first, longest = self.backoff
        delay = first
        rv: str | None = None  # None: list before watching
        resync = asyncio.create_task(self._resync_loop()) if self.resync_seconds else None
        try:
            while True:
                self._watch_started = None
                try:
                    if rv is None:
                        rv = await self._list()
                    rv = await self._watch(rv)
                    if self._watch_healthy():
                        delay = first  # the server ended the watch (its timeout): resume
                        continue
                    log.warning("%s: the watch ended at once with no events; watching again "
                                "in %.2fs", self.name, delay)
                except Expired:
                    log.info("%s: resourceVersion expired; relisting", self.name)
                    rv = None
                    continue
                except self.transient as e:  # a broken stream, a refused list
                    rv = None
                    delay = first if self._watch_healthy() else delay
                    log.warning("%s: list/watch failed (%s); relisting in %.2fs",
                                self.name, e or type(e).__name__, delay)
                except Exception:  # a bug: the same failure is likely to come back
                    rv = None
                    delay = first if self._watch_healthy() else delay
                    log.exception("%s: list/watch failed; relisting in %.2fs",
                                  self.name, delay)
                await self.sleep(delay)
                delay = min(delay * 2, longest)
        finally:
            if resync is not None:
                resync.cancel()

    def _watch_healthy(self) -> bool:
        """Whether the watch just ended worked for a while: it delivered events or lasted
        long enough (a failure after that starts the back-off afresh)."""
        return self._watch_started is not None and (
            self._watch_events > 0
            or self.clock() - self._watch_started >= SHORT_WATCH_SECONDS)

    async def _list(self) -> str:
        listed = await self.source.list()
        if self._synced.is_set():
            self.relists += 1
        self.replace(listed.get("items") or [])
        self._synced.set()
        return str(listed["metadata"]["resourceVersion"])

    async def _watch(self, rv: str) -> str:
        self._watch_started, self._watch_events = self.clock(), 0
        async for event, obj in self.source.watch(rv):
            rv = obj["metadata"].get("resourceVersion", rv)
            if event != "BOOKMARK":
                self.apply(event, obj)
            self._watch_events += 1  # once applied: an event that fails is no sign of health
        return rv

    async def _resync_loop(self) -> None:
        assert self.resync_seconds
        while True:
            await asyncio.sleep(self.resync_seconds)
            for obj in list(self._items.values()):
                self._dispatch("RESYNC", obj, obj)

    # -- the cache -------------------------------------------------------------------------------
    def apply(self, event: str, obj: Obj) -> None:
        """One watch event: cache it, then tell the handlers (ADDED/MODIFIED from the cache's
        point of view, whatever the stream called it)."""
        if self.transform is not None:
            obj = self.transform(obj)
        key = key_of(obj)
        old = self._items.get(key)
        if event == "DELETED":
            if old is not None:
                self._remove(key, old)
            self._dispatch("DELETED", obj, old)
            return
        self._store(key, obj, old)
        self._dispatch("ADDED" if old is None else "MODIFIED", obj, old)

    def replace(self, items: Iterable[Obj]) -> None:
        """A (re)list's result: what vanished is deleted, what changed is modified, what is
        new is added; objects at the same resourceVersion are left alone."""
        fresh: dict[Key, Obj] = {}
        for obj in items:
            if self.transform is not None:
                obj = self.transform(obj)
            fresh[key_of(obj)] = obj
        for key in [k for k in self._items if k not in fresh]:
            gone = self._items[key]
            self._remove(key, gone)
            self._dispatch("DELETED", gone, gone)
        for key, obj in fresh.items():
            old = self._items.get(key)
            if old is not None and old["metadata"].get("resourceVersion") == \
                    obj["metadata"].get("resourceVersion"):
                continue
            self._store(key, obj, old)
            self._dispatch("ADDED" if old is None else "MODIFIED", obj, old)

    def _store(self, key: Key, obj: Obj, old: Obj | None) -> None:
        self._items[key] = obj
        for name, index in self._indexers.items():
            values = set(index(obj))
            if old is not None:
                self._unindex(name, key, set(index(old)) - values)
            for value in values:
                self._indices[name].setdefault(value, {})[key] = None

    def _remove(self, key: Key, old: Obj) -> None:
        for name, index in self._indexers.items():
            self._unindex(name, key, set(index(old)))
        del self._items[key]

    def _unindex(self, name: str, key: Key, values: Iterable[str]) -> None:
        for value in values:
            keys = self._indices[name].get(value)
            if keys is not None:
                keys.pop(key, None)
                if not keys:
                    del self._indices[name][value]

    def _dispatch(self, event: str, obj: Obj, old: Obj | None) -> None:
        for handler in self.handlers:
            self._call(handler, event, obj, old)

    def _call(self, handler: Handler, event: str, obj: Obj, old: Obj | None) -> None:
        try:
            handler(event, obj, old)
        except Exception:
            log.exception("%s: handler failed on %s %s/%s", self.name, event, *key_of(obj))
