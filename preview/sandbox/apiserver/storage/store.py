"""Object storage with one cluster-wide resourceVersion counter and a bounded event history.

The store is the emulator's etcd. It knows nothing of API semantics: it keeps the latest
version of every object, numbers every write, remembers the last `history` events (the
compaction window: older resourceVersions answer 410 Gone) and fans each event out to the
watch queues registered for that storage.

Everything here runs on the server's single event loop, so a write and the fan-out of its
event happen without interleaving: a watch that replays history and then subscribes (with
no `await` in between) can neither miss nor reorder events.
"""

from __future__ import annotations

import asyncio
import builtins
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

Storage = tuple[str, str]  # (group, resource) of the stored representation
Key = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped objects


@dataclass
class Event:
    """One committed write: the object after it (for DELETED: its last state)."""

    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    storage: Storage
    obj: dict[str, Any]
    old: dict[str, Any] | None = None
    # Serialised forms per served apiVersion, shared by every watcher of this event.
    encoded: dict[str, bytes] = field(default_factory=dict)


class Compacted(Exception):
    """The requested resourceVersion is older than the retained history."""

    def __init__(self, requested: int, oldest: int) -> None:
        super().__init__(f"too old resource version: {requested} ({oldest})")
        self.requested = requested
        self.oldest = oldest


class Store:
    def __init__(self, history: int = 20000) -> None:
        self._objects: dict[Storage, dict[Key, dict[str, Any]]] = {}
        self._history: deque[Event] = deque(maxlen=history)
        self._compacted = 0  # rv of the newest event that fell out of the history
        self._watchers: dict[Storage, set[asyncio.Queue[Event]]] = {}
        self.rv = 0
        # Newest resourceVersion per storage: lets caches (RBAC) tell whether they are stale.
        self.versions: dict[Storage, int] = {}

    # -- reads ---------------------------------------------------------------------------------
    def get(self, storage: Storage, namespace: str, name: str) -> dict[str, Any] | None:
        return self._objects.get(storage, {}).get((namespace, name))

    def list(self, storage: Storage, namespace: str | None = None) -> list[dict[str, Any]]:
        """Objects of a storage in (namespace, name) order; all namespaces when None."""
        objs = self._objects.get(storage, {})
        if namespace is None:
            return [objs[k] for k in sorted(objs)]
        return [objs[k] for k in sorted(objs) if k[0] == namespace]

    def count(self, storage: Storage, namespace: str | None = None) -> int:
        objs = self._objects.get(storage, {})
        if namespace is None:
            return len(objs)
        return sum(1 for k in objs if k[0] == namespace)

    def storages(self) -> Iterator[Storage]:
        return iter(list(self._objects))

    # -- writes --------------------------------------------------------------------------------
    def next_rv(self) -> int:
        self.rv += 1
        return self.rv

    def put(self, storage: Storage, obj: dict[str, Any], event_type: str,
            old: dict[str, Any] | None = None) -> Event:
        """Store `obj` (which must already carry the rv from `next_rv`) and publish its event."""
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        self._objects.setdefault(storage, {})[key] = obj
        return self._publish(Event(int(meta["resourceVersion"]), event_type, storage, obj, old))

    def remove(self, storage: Storage, obj: dict[str, Any]) -> Event:
        """Delete `obj`; the DELETED event carries it with a fresh resourceVersion."""
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        old = self._objects.get(storage, {}).pop(key, None)
        return self._publish(Event(int(meta["resourceVersion"]), "DELETED", storage, obj, old))

    def load(self, storage: Storage, obj: dict[str, Any]) -> None:
        """Put `obj` back as it was stored before a restart: no event, no new resourceVersion."""
        meta = obj["metadata"]
        self._objects.setdefault(storage, {})[(meta.get("namespace", ""), meta["name"])] = obj
        self.versions[storage] = max(self.versions.get(storage, 0),
                                     int(meta.get("resourceVersion") or 0))

    def restart_at(self, rv: int) -> None:
        """Go on numbering after `rv` with an empty history: a watch from before is 410 Gone."""
        self.rv = max(self.rv, rv)
        self._history.clear()
        self._compacted = self.rv

    def _publish(self, event: Event) -> Event:
        if len(self._history) == self._history.maxlen:
            self._compacted = self._history[0].rv
        self._history.append(event)
        self.versions[event.storage] = event.rv
        for queue in self._watchers.get(event.storage, ()):
            queue.put_nowait(event)
        return event

    # -- watch ---------------------------------------------------------------------------------
    def since(self, storage: Storage, rv: int) -> builtins.list[Event]:
        """Events of `storage` after `rv`; raises Compacted when some may have been dropped."""
        if rv < self._compacted:
            raise Compacted(rv, self._compacted + 1)
        return [e for e in self._history if e.rv > rv and e.storage == storage]

    def subscribe(self, storage: Storage) -> asyncio.Queue[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self._watchers.setdefault(storage, set()).add(queue)
        return queue

    def unsubscribe(self, storage: Storage, queue: asyncio.Queue[Event]) -> None:
        self._watchers.get(storage, set()).discard(queue)
