"""A de-duplicating, rate-limited work queue with per-key exponential back-off.

Like client-go's workqueue: a key is queued at most once; a key being processed that
changes again is processed once more after; failures are retried with per-key back-off
(`fail`), successes reset it (`forget`); an overall token bucket caps the rate.

Keys added `urgent` (an object that has no copy yet) are taken before the others: in a
burst of a thousand new pods, creating the host pods does not wait behind the status and
Event updates of the pods created a moment earlier.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class WorkQueue(Generic[K]):
    def __init__(self, rate: float = 200.0, burst: int = 500, base_delay: float = 0.05,
                 max_delay: float = 60.0) -> None:
        self._urgent: collections.deque[K] = collections.deque()
        self._normal: collections.deque[K] = collections.deque()
        self._items = asyncio.Semaphore(0)
        self._queued: set[K] = set()
        self._active: set[K] = set()
        self._dirty: set[K] = set()
        self._failures: dict[K, int] = {}
        self._timers: dict[K, asyncio.TimerHandle] = {}
        self.base_delay, self.max_delay = base_delay, max_delay
        self._rate, self._burst = rate, float(burst)
        self._tokens, self._stamp = float(burst), time.monotonic()

    def __len__(self) -> int:
        return len(self._queued)

    def add(self, key: K, urgent: bool = False) -> None:
        if key in self._active:
            self._dirty.add(key)
        elif key not in self._queued:
            self._queued.add(key)
            (self._urgent if urgent else self._normal).append(key)
            self._items.release()

    def add_after(self, key: K, delay: float) -> None:
        if delay <= 0:
            self.add(key)
            return
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()

        def fire() -> None:
            self._timers.pop(key, None)
            self.add(key)

        self._timers[key] = asyncio.get_running_loop().call_later(delay, fire)

    def fail(self, key: K) -> float:
        """Requeue after this key's next back-off delay; returns the delay."""
        n = self._failures.get(key, 0)
        self._failures[key] = n + 1
        delay = min(self.base_delay * (2 ** n), self.max_delay)
        self.add_after(key, delay)
        return delay

    def forget(self, key: K) -> None:
        self._failures.pop(key, None)

    def failures(self, key: K) -> int:
        return self._failures.get(key, 0)

    async def get(self) -> K:
        await self._take_token()
        await self._items.acquire()
        key = self._urgent.popleft() if self._urgent else self._normal.popleft()
        self._queued.discard(key)
        self._active.add(key)
        return key

    def done(self, key: K) -> None:
        self._active.discard(key)
        if key in self._dirty:
            self._dirty.discard(key)
            self.add(key)

    async def _take_token(self) -> None:
        while True:
            now = time.monotonic()
            self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
            self._stamp = now
            if self._tokens >= 1:
                self._tokens -= 1
                return
            await asyncio.sleep((1 - self._tokens) / self._rate)
