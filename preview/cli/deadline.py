"""`--timeout` on the commands that ask the host for an answer (`list`, `kubeconfig`, `cost`,
`vcluster list/connect`): an overall deadline on the command's cluster work. When it runs out
the command stops with one error naming `--timeout` and what it was waiting for (exit 1);
nothing is written after that (the answer is written only once it is complete).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

from preview import durations
from preview.errors import PreviewError

T = TypeVar("T")


def expired(seconds: int, what: str) -> PreviewError:
    """The error of a deadline that ran out: `--timeout`, its value, and what was awaited."""
    return PreviewError(
        f"--timeout {durations.format_duration(seconds)} ran out while waiting for {what}",
        "check that the host cluster's API answers (kubectl --kubeconfig … get ns), "
        "or give it longer with --timeout (e.g. --timeout 5m)")


@contextlib.asynccontextmanager
async def deadline(seconds: int, what: str) -> AsyncIterator[asyncio.Timeout]:
    """Bound the block to `seconds`; `.reschedule(None)` on what it yields lifts the bound
    (a tunnel held open once it is up). Only our own deadline becomes the error: a
    TimeoutError raised inside for another reason passes through unchanged."""
    bound = asyncio.timeout(seconds)
    try:
        async with bound:  # turns its cancellation into TimeoutError on leaving the block
            yield bound
    except TimeoutError:
        if bound.expired():
            raise expired(seconds, what) from None
        raise


async def within(seconds: int, what: str, work: Awaitable[T]) -> T:
    """`await work`, bounded to `seconds`."""
    async with deadline(seconds, what):
        return await work
