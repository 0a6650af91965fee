"""`preview.cli.deadline`: the --timeout of the commands that ask the host for an answer."""

from __future__ import annotations

import asyncio

import pytest

from preview.cli import deadline
from preview.errors import PreviewError


def test_work_that_never_ends_is_cut_off_with_the_flag_and_what_it_waited_for() -> None:
    async def never() -> None:
        await asyncio.Event().wait()

    with pytest.raises(PreviewError) as raised:
        asyncio.run(deadline.within(1, "the host cluster", never()))
    assert str(raised.value).startswith(
        "--timeout 1s ran out while waiting for the host cluster\nhint: ")
    assert "--timeout 5m" in str(raised.value) and raised.value.exit_code == 1


def test_work_within_the_deadline_returns_its_value() -> None:
    async def answer() -> int:
        return 42

    assert asyncio.run(deadline.within(1, "x", answer())) == 42


def test_a_lifted_deadline_no_longer_applies() -> None:
    """What a tunnel does once it is open: the wait past the deadline is the point."""
    async def hold() -> str:
        async with deadline.deadline(1, "the tunnel") as bound:
            bound.reschedule(None)
            await asyncio.sleep(1.5)
            return "held"

    assert asyncio.run(hold()) == "held"


def test_a_timeout_error_that_is_not_ours_passes_through() -> None:
    async def fails() -> None:
        raise TimeoutError("the kube client's own")

    with pytest.raises(TimeoutError, match="the kube client's own"):
        asyncio.run(deadline.within(60, "x", fails()))
