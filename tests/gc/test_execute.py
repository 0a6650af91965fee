"""preview/gc/execute.py: deletions side by side, bounded, reported in plan order; a skipped
environment is reported, not failed. The teardown is injected, so no server is needed."""

from __future__ import annotations

import asyncio

from preview.gc import execute
from preview.gc.model import DELETE, KEEP, Decision, HostEnvironment
from tests.gc.test_plan import env


def decisions(count: int) -> list[Decision]:
    return [Decision(env(pr), KEEP if pr % 5 == 0 else DELETE, "r", "why", 0)
            for pr in range(1, count + 1)]


def test_at_most_parallel_at_a_time_and_outcomes_in_plan_order() -> None:
    running, most = 0, 0

    async def teardown(environment: HostEnvironment) -> str:
        nonlocal running, most
        running += 1
        most = max(most, running)
        # Later environments finish first: the report must not follow completion order.
        await asyncio.sleep(0.001 * (40 - environment.record.pr))
        running -= 1
        if environment.record.pr == 7:
            raise RuntimeError("boom")
        if environment.record.pr == 9:
            raise execute.Skipped("run 12 (up) is working on it")
        return f"deleted {environment.record.pr}"

    plan = decisions(30)
    outcomes, refused = asyncio.run(execute.execute(plan, teardown, None, dry_run=False,
                                                    max_deletions=100, parallel=4))
    assert refused == "" and most == 4
    assert [o.decision for o in outcomes] == plan
    by_pr = {o.decision.pr: (o.outcome, o.detail) for o in outcomes}
    assert by_pr[5] == ("kept", "")
    assert by_pr[7] == ("failed", "boom")
    assert by_pr[9] == ("skipped", "run 12 (up) is working on it")
    assert by_pr[8] == ("deleted", "deleted 8")


def test_max_deletions_still_refuses_before_anything_runs() -> None:
    called: list[int] = []

    async def teardown(environment: HostEnvironment) -> str:
        called.append(environment.record.pr)
        return ""

    outcomes, refused = asyncio.run(execute.execute(decisions(30), teardown, None,
                                                    dry_run=False, max_deletions=5))
    assert refused and called == []
    assert {o.outcome for o in outcomes} == {"kept", "not deleted"}
