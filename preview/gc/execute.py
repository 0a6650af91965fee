"""Apply a GC plan: the safety limit first, then the deletions side by side, then GitHub.

Thin on purpose: what to delete is decided in `plan`; how to delete is the injected
`teardown`; how GitHub hears of it (deployment inactive, comment updated) is the injected
`notify`. Deletions run concurrently, at most `parallel` at a time (each one is mostly
waiting: helm, the API server, the namespace to be gone); the outcomes stay in plan order.
One failure never stops the other deletions; it makes the run fail at the end. A teardown
that finds another run working on the environment raises `Skipped`: reported, not a failure.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from preview.gc.model import DELETE, Decision, HostEnvironment, Outcome

log = logging.getLogger(__name__)
Teardown = Callable[[HostEnvironment], Awaitable[str]]  # what was done; raises on failure
Notify = Callable[[Decision], Awaitable[Sequence[str]]]  # warnings; never raises
DEFAULT_PARALLEL = 8


class Skipped(Exception):
    """The teardown did not start, for the reason given (a live run holds the environment)."""


async def execute(decisions: Sequence[Decision], teardown: Teardown, notify: Notify | None,
                  *, dry_run: bool, max_deletions: int, force: bool = False,
                  parallel: int = DEFAULT_PARALLEL) -> tuple[tuple[Outcome, ...], str]:
    """Outcomes in plan order, and why nothing was deleted when the limit refused the run."""
    deletions = [d for d in decisions if d.action == DELETE]
    refused = ""
    if len(deletions) > max_deletions and not force:
        refused = (f"{len(deletions)} environments would be deleted, more than "
                   f"--max-deletions {max_deletions}: nothing was deleted. Check the plan "
                   "(a GitHub or cluster problem?), then raise --max-deletions or pass "
                   "--force.")
    slots = asyncio.Semaphore(max(parallel, 1))

    async def delete(decision: Decision) -> Outcome:
        async with slots:
            return await _delete(decision, teardown, notify)

    pending: list[Outcome | Awaitable[Outcome]] = []
    for decision in decisions:
        if decision.action != DELETE:
            pending.append(Outcome(decision, "kept"))
        elif refused:
            pending.append(Outcome(decision, "not deleted", "refused by --max-deletions"))
        elif dry_run:
            pending.append(Outcome(decision, "would delete"))
        else:
            pending.append(asyncio.ensure_future(delete(decision)))
    outcomes = [o if isinstance(o, Outcome) else await o for o in pending]
    return tuple(outcomes), refused


async def _delete(decision: Decision, teardown: Teardown, notify: Notify | None) -> Outcome:
    where = f"{decision.namespace} ({decision.repo or '?'}#{decision.pr})"
    log.warning("gc: deleting %s: %s", where, decision.reason)
    try:
        done = await teardown(decision.environment)
    except Skipped as e:
        log.warning("gc: skipped %s: %s", where, e)
        return Outcome(decision, "skipped", str(e))
    except Exception as e:  # one environment's failure is reported, the others go on
        log.error("gc: deleting %s failed: %s", where, e)
        return Outcome(decision, "failed", str(e).splitlines()[0] if str(e) else repr(e))
    warnings: Sequence[str] = ()
    if notify is not None:
        warnings = await notify(decision)
    detail = "; ".join([done, *(f"GitHub: {w}" for w in warnings)])
    return Outcome(decision, "deleted", detail)
