"""The work queue: de-duplication, requeue while active, delays, back-off, rate limit, urgency."""

from __future__ import annotations

import asyncio

import pytest

from preview.control import TokenBucket, WorkQueue


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_dedupes_and_reprocesses_keys_changed_while_active() -> None:
    async def scenario() -> list[str]:
        q: WorkQueue[str] = WorkQueue()
        q.add("a")
        q.add("a")
        q.add("b")
        assert len(q) == 2
        first = await q.get()
        q.add(first)  # changed while being processed: not handed to a second worker
        assert len(q) == 1
        q.done(first)
        return [await q.get(), await q.get()]

    assert asyncio.run(scenario()) == ["b", "a"]


def test_failures_back_off_exponentially_and_forget_resets() -> None:
    async def scenario() -> list[float]:
        q: WorkQueue[str] = WorkQueue(base_delay=0.01, max_delay=0.04)
        delays = [q.fail("k") for _ in range(4)]
        assert q.failures("k") == 4
        q.forget("k")
        assert q.failures("k") == 0
        delays.append(q.fail("k"))
        assert await asyncio.wait_for(q.get(), 1) == "k"  # the back-off requeues the key
        return delays

    assert asyncio.run(scenario()) == [0.01, 0.02, 0.04, 0.04, 0.01]


def test_back_off_of_a_key_that_fails_very_often_stays_at_the_cap() -> None:
    async def scenario() -> float:
        q: WorkQueue[str] = WorkQueue(base_delay=0.5, max_delay=5.0)
        for _ in range(2000):
            delay = q.fail("k")
        return delay

    assert asyncio.run(scenario()) == 5.0


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=10, burst=2, clock=clock)
    assert [bucket.reserve() for _ in range(4)] == pytest.approx([0, 0, 0.1, 0.2])
    clock.now += 1.0  # refills to the burst, not beyond: the debt of 2 is paid first
    assert [bucket.reserve() for _ in range(3)] == pytest.approx([0, 0, 0.1])
    bucket.cancel()  # an unused reservation gives its token back
    assert bucket.reserve() == pytest.approx(0.1)


def test_token_bucket_refuses_a_rate_it_cannot_honour() -> None:
    with pytest.raises(ValueError, match="rate > 0"):
        TokenBucket(rate=0, burst=1)


def test_rate_limit_holds_keys_back_until_a_token_is_due() -> None:
    async def scenario() -> None:
        clock = FakeClock()
        q: WorkQueue[str] = WorkQueue(rate=1, burst=1, clock=clock)
        q.add("a")
        q.add("b")
        q.done(await q.get())  # the burst
        with pytest.raises(TimeoutError):  # the next token is a second away
            await asyncio.wait_for(q.get(), 0.05)
        assert len(q) == 1  # a cancelled get leaves the key for the next worker
        clock.now += 1.0
        assert await asyncio.wait_for(q.get(), 1) == "b"

    asyncio.run(scenario())


def test_urgent_keys_go_first() -> None:
    async def scenario() -> list[str]:
        q: WorkQueue[str] = WorkQueue()
        for key in ("status-1", "status-2", "status-3"):
            q.add(key)
        q.add("new-pod", urgent=True)
        q.add("status-3", urgent=True)  # waiting as normal: moved to the urgent lane
        q.add("status-3", urgent=True)  # already urgent: stays where it is
        q.add("new-pod")  # a normal add never demotes
        assert len(q) == 4
        return [await q.get() for _ in range(4)]

    assert asyncio.run(scenario()) == ["new-pod", "status-3", "status-1", "status-2"]


def test_a_promoted_key_is_taken_once_and_can_be_queued_as_normal_again() -> None:
    async def scenario() -> list[str]:
        q: WorkQueue[str] = WorkQueue()
        for key in ("a", "b", "c"):
            q.add(key)
        q.add("b", urgent=True)
        taken = [await q.get()]  # b, from the urgent lane; its normal entry is stale
        q.done("b")
        q.add("b")  # queued as normal again, behind c: the stale entry must not count
        taken += [await q.get() for _ in range(3)]
        assert len(q) == 0
        q.add("d")
        taken.append(await asyncio.wait_for(q.get(), 1))
        return taken

    assert asyncio.run(scenario()) == ["b", "a", "c", "b", "d"]


def test_a_key_re_added_urgent_while_processed_comes_back_urgent() -> None:
    async def scenario() -> list[str]:
        q: WorkQueue[str] = WorkQueue()
        q.add("busy")
        busy = await q.get()
        q.add("other-1")
        q.add("other-2")
        q.add(busy)
        q.add(busy, urgent=True)  # any urgent re-add while active wins
        q.add(busy)
        q.done(busy)
        return [await q.get() for _ in range(3)]

    assert asyncio.run(scenario()) == ["busy", "other-1", "other-2"]


def test_promotions_leave_nothing_stale_behind() -> None:
    async def scenario() -> None:
        q: WorkQueue[int] = WorkQueue()
        for i in range(20000):
            q.add(i)
        for i in range(19999, 9999, -1):  # promote the second half, last first
            q.add(i, urgent=True)
        taken = [await q.get() for _ in range(20000)]
        assert taken == list(range(19999, 9999, -1)) + list(range(10000))
        assert not q._stale and not q._normal and not q._urgent

    asyncio.run(scenario())


def test_add_after_keeps_the_earliest_time() -> None:
    async def scenario() -> None:
        q: WorkQueue[str] = WorkQueue()
        q.add_after("later-first", 30)
        q.add_after("later-first", 0.01)  # sooner: replaces the 30 s timer
        q.add_after("sooner-first", 0.01)
        q.add_after("sooner-first", 30)  # later: the pending timer already queues it sooner
        got = {await asyncio.wait_for(q.get(), 1) for _ in range(2)}
        assert got == {"later-first", "sooner-first"}
        q.add_after("now", 0)
        assert len(q) == 1

    asyncio.run(scenario())


def test_run_retries_failures_requeues_on_request_and_forgets_successes() -> None:
    async def scenario() -> list[str]:
        q: WorkQueue[str] = WorkQueue(base_delay=0.01, max_delay=0.01)
        seen: list[str] = []
        finished = asyncio.Event()

        async def work(key: str) -> float | None:
            seen.append(key)
            if key == "flaky" and seen.count("flaky") == 1:
                raise RuntimeError("transient")
            if key == "poll" and seen.count("poll") < 3:
                return 0.01  # look again shortly
            if seen.count("poll") == 3 and seen.count("flaky") == 2:
                finished.set()
            return None

        q.add("flaky")
        q.add("poll")
        worker = asyncio.create_task(q.run(work))
        await asyncio.wait_for(finished.wait(), 2)
        assert q.failures("flaky") == 0  # forgotten after its success
        worker.cancel()
        return sorted(seen)

    assert asyncio.run(scenario()) == ["flaky", "flaky", "poll", "poll", "poll"]


def test_run_requeues_a_key_that_changed_while_its_work_ran() -> None:
    async def scenario() -> int:
        q: WorkQueue[str] = WorkQueue()
        runs = 0
        second = asyncio.Event()

        async def work(key: str) -> float | None:
            nonlocal runs
            runs += 1
            if runs == 1:
                q.add(key)  # an event arrives mid-sync
            else:
                second.set()
            return None

        q.add("k")
        worker = asyncio.create_task(q.run(work))
        await asyncio.wait_for(second.wait(), 1)
        worker.cancel()
        return runs

    assert asyncio.run(scenario()) == 2
