"""Workers: take keys off the queue and hand them to the reconciler of their kind.

A key is `(kind, namespace, name)` of the *virtual* object (host-side events are mapped
back to it). Every failure but a `TerminalError` is retried by the queue with per-key
exponential back-off (409 conflicts, 429, 5xx, lost connections alike: the next attempt
reads fresh state); a success resets it. Nothing here knows any kind.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import aiohttp

from preview.control import WorkQueue
from preview.kube.client import ApiError, Conflict, ServerError, TooManyRequests
from preview.syncer.engine.errors import TerminalError
from preview.syncer.engine.metrics import Metrics

log = logging.getLogger(__name__)
Key = tuple[str, str, str]  # (kind, namespace, name) in the virtual cluster
# Returns a delay to look at the key again (e.g. to refresh a token), or None.
Reconcile = Callable[[str, str], Awaitable[float | None]]


def error_reason(error: BaseException) -> str:
    """The `reason` label of the error metric."""
    if isinstance(error, TerminalError):
        return "terminal"
    if isinstance(error, Conflict):
        return "conflict"
    if isinstance(error, TooManyRequests):
        return "throttled"
    if isinstance(error, ServerError):
        return "server"
    if isinstance(error, aiohttp.ClientError | TimeoutError | ConnectionError):
        return "connection"
    if isinstance(error, ApiError):
        return "api"
    return "other"


class Workers:
    def __init__(self, queue: WorkQueue[Key], reconcilers: dict[str, Reconcile],
                 count: int = 4, metrics: Metrics | None = None) -> None:
        self.queue = queue
        self.reconcilers = reconcilers
        self.count = count
        self.metrics = metrics or Metrics()
        self.stopping = False
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def run(self) -> None:
        await asyncio.gather(*(self._worker() for _ in range(self.count)))

    async def drain(self, timeout: float = 10.0) -> None:
        """Take no new keys and give the reconciles in flight `timeout` seconds to finish
        (graceful shutdown: no write is cut in half when that can be helped)."""
        self.stopping = True
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            log.warning("%d reconciles still running at shutdown", self._busy)

    async def _worker(self) -> None:
        while not self.stopping:
            key = await self.queue.get()
            if self.stopping:
                self.queue.done(key)
                return
            self._busy += 1
            self._idle.clear()
            try:
                await self._process(key)
            finally:
                self.queue.done(key)
                self._busy -= 1
                if not self._busy:
                    self._idle.set()

    async def _process(self, key: Key) -> None:
        kind, namespace, name = key
        reconcile = self.reconcilers.get(kind)
        if reconcile is None:
            log.error("no reconciler for kind %s (key %s/%s)", kind, namespace, name)
            return
        self.metrics.reconciles.labels(kind).inc()
        started = time.monotonic()
        try:
            again = await reconcile(namespace, name)
        except asyncio.CancelledError:
            raise
        except TerminalError as e:
            self.metrics.errors.labels(kind, "terminal").inc()
            self.queue.forget(key)
            log.warning("%s %s/%s: %s (not retried)", kind, namespace, name, e.message)
            return
        except Exception as e:
            reason = error_reason(e)
            self.metrics.errors.labels(kind, reason).inc()
            delay = self.queue.fail(key)
            if reason in ("conflict",):
                log.debug("%s %s/%s: conflict, retrying in %.2fs: %s", kind, namespace, name,
                          delay, e)
            elif reason == "other":
                log.exception("%s %s/%s: reconcile failed (retry in %.2fs)", kind, namespace,
                              name, delay)
            else:
                log.warning("%s %s/%s: %s: %s (retry in %.2fs)", kind, namespace, name, reason,
                            e, delay)
            return
        finally:
            self.metrics.latency.labels(kind).observe(time.monotonic() - started)
        self.queue.forget(key)
        if again is not None:
            self.queue.add_after(key, again)
