"""Workers: take keys off the queue and hand them to the reconciler of their kind.

A key is `(kind, namespace, name)` of the *virtual* object (host-side events are mapped
back to it). Failures, conflicts (409) included, are retried with per-key back-off that
starts at the queue's base delay; a success resets it. Nothing here knows any kind.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from preview.kube.client import ApiError, Conflict
from preview.syncer.engine.queue import WorkQueue

log = logging.getLogger(__name__)
Key = tuple[str, str, str]  # (kind, namespace, name) in the virtual cluster
# Returns a delay to look at the key again (e.g. to refresh a token), or None.
Reconcile = Callable[[str, str], Awaitable[float | None]]


@dataclass
class Stats:
    """Counters exported as Prometheus metrics."""

    reconciles: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    conflicts: dict[str, int] = field(default_factory=dict)

    def bump(self, table: dict[str, int], kind: str) -> None:
        table[kind] = table.get(kind, 0) + 1


class Workers:
    def __init__(self, queue: WorkQueue[Key], reconcilers: dict[str, Reconcile],
                 count: int = 4) -> None:
        self.queue = queue
        self.reconcilers = reconcilers
        self.count = count
        self.stats = Stats()

    async def run(self) -> None:
        await asyncio.gather(*(self._worker() for _ in range(self.count)))

    async def _worker(self) -> None:
        while True:
            key = await self.queue.get()
            try:
                await self._process(key)
            finally:
                self.queue.done(key)

    async def _process(self, key: Key) -> None:
        kind, namespace, name = key
        reconcile = self.reconcilers.get(kind)
        if reconcile is None:
            log.error("no reconciler for kind %s (key %s/%s)", kind, namespace, name)
            return
        self.stats.bump(self.stats.reconciles, kind)
        try:
            again = await reconcile(namespace, name)
        except asyncio.CancelledError:
            raise
        except ApiError as e:
            if isinstance(e, Conflict):
                # Optimistic concurrency: the next attempt reads the newer version.
                self.stats.bump(self.stats.conflicts, kind)
                self.queue.fail(key)
                log.debug("%s %s/%s: conflict, retrying: %s", kind, namespace, name, e)
                return
            self.stats.bump(self.stats.errors, kind)
            delay = self.queue.fail(key)
            log.warning("%s %s/%s: %s (retry in %.2fs)", kind, namespace, name, e, delay)
            return
        except Exception:
            self.stats.bump(self.stats.errors, kind)
            delay = self.queue.fail(key)
            log.exception("%s %s/%s: reconcile failed (retry in %.2fs)", kind, namespace, name,
                          delay)
            return
        self.queue.forget(key)
        if again is not None:
            self.queue.add_after(key, again)
