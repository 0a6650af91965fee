"""How many creates `preview serve` runs at once: at most `limit`, the others queued in the
order they came.

Each create runs helm several times, holds a port-forward to its virtual cluster and polls
its workloads; twenty of them at once on two cores made helm's TLS handshakes time out
(BENCHMARKS.md, "The API's own cost"). A create beyond the limit waits for a slot and says
so in its progress ("queued behind N environments"), again whenever its place changes and
at least every `heartbeat` seconds, so the action's log explains the wait and the client's
read timeout never fires on a silent queue. Slots are handed over in order: a create that
arrives later never overtakes one already waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

DEFAULT_LIMIT = 4
HEARTBEAT = 60.0


def queued_line(ahead: int, running: int, limit: int) -> str:
    """What a waiting create's progress says (pure)."""
    noun = "environment" if ahead == 1 else "environments"
    return (f"queued behind {ahead} {noun} ({running} being built, at most {limit} at once "
            "on this API)")


class Slots:
    """`async with slots.take(progress):` runs its body in one of `limit` slots."""

    def __init__(self, limit: int = DEFAULT_LIMIT, heartbeat: float = HEARTBEAT,
                 on_change: Callable[[int, int], None] | None = None) -> None:
        if limit < 1:
            raise ValueError(f"at least one create at a time, not {limit}")
        self.limit = limit
        self.heartbeat = heartbeat
        self.running = 0
        self._queue: list[asyncio.Future[object]] = []  # in arrival order
        self._moved = asyncio.Event()  # set (and replaced) whenever the queue moves
        self._on_change = on_change

    @property
    def queued(self) -> int:
        return len(self._queue)

    @contextlib.asynccontextmanager
    async def take(self, progress: Callable[[str], None]) -> AsyncIterator[None]:
        if self.running < self.limit and not self._queue:
            self.running += 1
            self._changed()
        else:
            await self._wait(progress)
        try:
            yield
        finally:
            self._release()

    async def _wait(self, progress: Callable[[str], None]) -> None:
        """Until this create is handed a slot (then `running` already counts it)."""
        ticket: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._queue.append(ticket)
        self._changed()
        started = time.monotonic()
        said: tuple[int, float] | None = None
        try:
            while not ticket.done():
                ahead = self.running + self._queue.index(ticket)
                now = time.monotonic()
                if said is None or said[0] != ahead or now - said[1] >= self.heartbeat:
                    progress(queued_line(ahead, self.running, self.limit))
                    said = (ahead, now)
                moved: asyncio.Future[object] = asyncio.ensure_future(self._moved.wait())
                either: set[asyncio.Future[object]] = {ticket, moved}
                try:
                    await asyncio.wait(either, timeout=self.heartbeat,
                                       return_when=asyncio.FIRST_COMPLETED)
                finally:
                    moved.cancel()
        except BaseException:
            if ticket in self._queue:
                self._queue.remove(ticket)
                self._changed()
            elif ticket.done() and not ticket.cancelled():
                self._release()  # handed a slot just as we were cancelled: pass it on
            raise
        progress(f"building: waited {time.monotonic() - started:.0f}s for a slot")

    def _release(self) -> None:
        if self._queue:
            self._queue.pop(0).set_result(None)  # the slot goes to the first in line
        else:
            self.running -= 1
        self._changed()

    def _changed(self) -> None:
        self._moved.set()
        self._moved = asyncio.Event()
        if self._on_change is not None:
            self._on_change(self.running, len(self._queue))
