"""The work queue: de-duplication, dirty re-processing, back-off, rate limit."""

from __future__ import annotations

import asyncio
import time

from preview.syncer.engine.queue import WorkQueue


def test_dedupes_and_reprocesses_keys_changed_while_active() -> None:
    async def scenario() -> list[str]:
        q: WorkQueue[str] = WorkQueue()
        q.add("a")
        q.add("a")
        q.add("b")
        assert len(q) == 2
        first = await q.get()
        q.add(first)  # changed while being processed
        assert len(q) == 1
        q.done(first)
        return [await q.get(), await q.get()]

    assert asyncio.run(scenario()) == ["b", "a"]


def test_failures_back_off_exponentially_and_forget_resets() -> None:
    async def scenario() -> list[float]:
        q: WorkQueue[str] = WorkQueue(base_delay=0.01, max_delay=0.04)
        delays = [q.fail("k") for _ in range(4)]
        q.forget("k")
        delays.append(q.fail("k"))
        assert await asyncio.wait_for(q.get(), 1) == "k"
        return delays

    assert asyncio.run(scenario()) == [0.01, 0.02, 0.04, 0.04, 0.01]


def test_rate_limit_caps_throughput() -> None:
    async def scenario() -> float:
        q: WorkQueue[int] = WorkQueue(rate=100, burst=1)
        for i in range(11):
            q.add(i)
        start = time.monotonic()
        for _ in range(11):
            q.done(await q.get())
        return time.monotonic() - start

    assert asyncio.run(scenario()) >= 0.09  # 10 tokens at 100/s after a burst of 1


def test_urgent_keys_go_first() -> None:
    async def scenario() -> list[str]:
        q: WorkQueue[str] = WorkQueue()
        for key in ("status-1", "status-2"):
            q.add(key)
        q.add("new-pod", urgent=True)
        q.add("status-1", urgent=True)  # already queued: stays where it is
        return [await q.get() for _ in range(3)]

    assert asyncio.run(scenario()) == ["new-pod", "status-1", "status-2"]
