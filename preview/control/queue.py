"""The work queue controllers share, after client-go's `workqueue`.

A controller's event handlers only say *which* object needs looking at (a key); workers take
keys off this queue and reconcile from the caches. The queue gives the guarantees that make
that safe and cheap:

- a key is queued at most once, however many events named it (de-duplication);
- a key is never processed by two workers at once; a key that changes while it is being
  processed is queued again when its worker is done (`done`), so no change is lost;
- `add_after` queues a key later (polling, deadlines); a key waiting on several timers is
  queued at the earliest, as client-go's delaying queue does;
- `fail` retries a key after its own exponential back-off, `forget` resets it after a success
  (client-go's ItemExponentialFailureRateLimiter);
- an optional token bucket caps the overall rate (client-go's BucketRateLimiter), so a
  runaway loop cannot flood an API server;
- keys added `urgent` are taken before the others: in a burst of a thousand new objects,
  creating copies does not wait behind the status updates of those created a moment earlier.
  A key already waiting as normal is moved ahead when it is added urgent; one being
  processed comes back urgent.

Workers either drive the queue themselves (`get`, then `done` and `fail`/`forget`) or hand
it a function with `run`, which does that loop for them.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
Clock = Callable[[], float]
log = logging.getLogger(__name__)


class TokenBucket:
    """`rate` tokens a second, up to `burst` saved up: golang.org/x/time/rate's limiter.

    `reserve` takes a token now and returns how long to wait before using it (tokens may go
    into debt, so concurrent takers queue up fairly); the clock is injectable so the
    arithmetic is tested without sleeping.
    """

    def __init__(self, rate: float, burst: int, clock: Clock = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"a token bucket needs rate > 0 and burst >= 1, not {rate}/{burst}")
        self.rate, self.burst, self.clock = rate, float(burst), clock
        self._tokens, self._stamp = float(burst), clock()

    def reserve(self) -> float:
        now = self.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def cancel(self) -> None:
        """Give back the token of a reservation that was not used."""
        self._tokens = min(self.burst, self._tokens + 1)


class WorkQueue(Generic[K]):
    """De-duplicating, delaying, back-off and rate-limited queue of keys (see the module).

    The defaults suit the emulator's controllers: no overall rate limit, a failed key retried
    after half a second, backing off to 5 s while it keeps failing. The syncer passes its own.
    """

    def __init__(self, *, rate: float | None = None, burst: int = 100,
                 base_delay: float = 0.5, max_delay: float = 5.0,
                 clock: Clock = time.monotonic) -> None:
        self._urgent: collections.deque[K] = collections.deque()
        self._normal: collections.deque[K] = collections.deque()
        # A key added urgent while waiting as normal is appended to the urgent lane and its
        # entry in the normal lane left behind, counted here and skipped when reached (a
        # deque.remove would be linear in the queue's length).
        self._stale: collections.Counter[K] = collections.Counter()
        self._items = asyncio.Semaphore(0)  # one permit per queued key
        self._queued: dict[K, bool] = {}  # queued key -> whether it waits in the urgent lane
        self._active: set[K] = set()
        self._dirty: dict[K, bool] = {}  # changed while active -> whether to requeue urgent
        self._failures: dict[K, int] = {}
        self._timers: dict[K, tuple[float, asyncio.TimerHandle]] = {}
        self.base_delay, self.max_delay = base_delay, max_delay
        self.clock = clock
        self.bucket = TokenBucket(rate, burst, clock) if rate is not None else None

    def __len__(self) -> int:
        """Keys waiting to be taken (not those being processed or waiting on a timer)."""
        return len(self._queued)

    # -- adding ----------------------------------------------------------------------------------
    def add(self, key: K, urgent: bool = False) -> None:
        """Queue `key` unless it is queued already; `urgent` keys are taken first."""
        if key in self._active:
            self._dirty[key] = self._dirty.get(key, False) or urgent
        elif key not in self._queued:
            self._queued[key] = urgent
            (self._urgent if urgent else self._normal).append(key)
            self._items.release()
        elif urgent and not self._queued[key]:  # waiting as normal: move it ahead
            self._queued[key] = True
            self._urgent.append(key)
            self._stale[key] += 1

    def add_after(self, key: K, delay: float) -> None:
        """Queue `key` in `delay` seconds, unless a timer already queues it sooner."""
        if delay <= 0:
            self.add(key)
            return
        due = self.clock() + delay
        pending = self._timers.get(key)
        if pending is not None:
            if pending[0] <= due:
                return
            pending[1].cancel()

        def fire() -> None:
            self._timers.pop(key, None)
            self.add(key)

        self._timers[key] = (due, asyncio.get_running_loop().call_later(delay, fire))

    # -- back-off --------------------------------------------------------------------------------
    def fail(self, key: K) -> float:
        """Requeue `key` after its next back-off delay (base, twice that, … up to max); returns it."""
        n = self._failures.get(key, 0)
        self._failures[key] = n + 1
        delay = min(self.base_delay * 2 ** min(n, 64), self.max_delay)
        self.add_after(key, delay)
        return delay

    def forget(self, key: K) -> None:
        """The key succeeded: its next failure starts from the base delay again."""
        self._failures.pop(key, None)

    def failures(self, key: K) -> int:
        return self._failures.get(key, 0)

    # -- taking ----------------------------------------------------------------------------------
    async def get(self) -> K:
        """The next key (urgent ones first), once the rate limit allows; call `done` after."""
        await self._items.acquire()
        if self.bucket is not None:
            wait = self.bucket.reserve()
            try:
                if wait > 0:
                    await asyncio.sleep(wait)
            except asyncio.CancelledError:
                self.bucket.cancel()
                self._items.release()  # the key we were promised stays for another worker
                raise
        # Popped only now, so a key added urgent while we waited for a token goes first.
        key = self._urgent.popleft() if self._urgent else self._pop_normal()
        del self._queued[key]
        if not self._queued and self._stale:  # what is left in the normal lane is stale
            self._normal.clear()
            self._stale.clear()
        self._active.add(key)
        return key

    def _pop_normal(self) -> K:
        while True:
            key = self._normal.popleft()
            # A promoted key's entry here is older than any later one of the same key, so
            # the first entries reached are the stale ones.
            if not self._stale[key]:
                del self._stale[key]
                return key
            self._stale[key] -= 1
            if not self._stale[key]:
                del self._stale[key]

    def done(self, key: K) -> None:
        """Processing of `key` ended; if it changed meanwhile, it is queued again now."""
        self._active.discard(key)
        if key in self._dirty:
            self.add(key, urgent=self._dirty.pop(key))

    async def run(self, work: Callable[[K], Awaitable[float | None]]) -> None:
        """Process keys forever with `work`, which returns a delay to look at the key again,
        or None. An exception is logged and the key retried with back-off (`fail`)."""
        while True:
            key = await self.get()
            try:
                again = await work(key)
            except asyncio.CancelledError:
                self.done(key)
                raise
            except Exception:
                self.done(key)
                delay = self.fail(key)
                log.exception("sync of %r failed; retrying in %.2fs", key, delay)
                continue
            self.forget(key)
            self.done(key)
            if again is not None and key not in self._queued:
                self.add_after(key, again)
