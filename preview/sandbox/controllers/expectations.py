"""Controller expectations: don't act again until the informer has seen our last writes.

As `pkg/controller/controller_utils.go` (`ControllerExpectations`): a controller that just
created N pods must not count them missing while its informer lags behind the API, or it
would create them twice. Creations are counted (names come back from generateName, possibly
after the watch event), deletions are tracked by pod name; stale expectations expire.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

# The real TTL is 5 minutes; the emulator's watch does not drop events, so a short one
# only matters if a write's event is lost on a relist.
EXPIRY_SECONDS = 30.0


@dataclass
class _Pending:
    adds: int = 0
    deletes: set[str] = field(default_factory=set)
    since: float = field(default_factory=time.monotonic)


class Expectations:
    def __init__(self) -> None:
        self._pending: dict[Hashable, _Pending] = {}

    def expect_creations(self, key: Hashable, count: int) -> None:
        entry = self._pending.setdefault(key, _Pending())
        entry.adds += count
        entry.since = time.monotonic()

    def creation_observed(self, key: Hashable) -> None:
        entry = self._pending.get(key)
        if entry is not None and entry.adds > 0:
            entry.adds -= 1

    def expect_deletions(self, key: Hashable, names: Iterable[str]) -> None:
        entry = self._pending.setdefault(key, _Pending())
        entry.deletes.update(names)
        entry.since = time.monotonic()

    def deletion_observed(self, key: Hashable, name: str) -> None:
        entry = self._pending.get(key)
        if entry is not None:
            entry.deletes.discard(name)

    def observe(self, key: Hashable, event: str, pod: dict[str, Any]) -> None:
        """Count an informer event about one of `key`'s pods against the expectations."""
        if event == "ADDED":
            self.creation_observed(key)
        if event == "DELETED" or pod["metadata"].get("deletionTimestamp"):
            self.deletion_observed(key, pod["metadata"]["name"])

    def satisfied(self, key: Hashable) -> bool:
        entry = self._pending.get(key)
        if entry is None or (entry.adds <= 0 and not entry.deletes):
            return True
        return time.monotonic() - entry.since > EXPIRY_SECONDS

    def forget(self, key: Hashable) -> None:
        self._pending.pop(key, None)
