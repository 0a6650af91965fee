"""The emulator's collector: no automatic full pass (they walked the whole store and were the
steady p99 tail of bench/syncer.py), one on its own schedule instead."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from preview.sandbox import runner


def test_full_passes_come_only_on_the_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "FULL_PASS_SECONDS", 0.05)
    before = gc.get_threshold()
    full: list[int] = []

    def seen(phase: str, info: dict[str, Any]) -> None:
        if phase == "start" and info["generation"] == 2:
            full.append(1)

    async def main() -> tuple[int, int, int]:
        task = asyncio.create_task(runner._full_passes_on_schedule())
        try:
            while not full:
                await asyncio.sleep(0.01)
            return gc.get_threshold()
        finally:
            task.cancel()

    gc.callbacks.append(seen)
    try:
        threshold = asyncio.run(asyncio.wait_for(main(), 30))
    finally:
        gc.callbacks.remove(seen)
        gc.set_threshold(*before)
    assert threshold[:2] == before[:2]  # the young generations as usual
    assert threshold[2] >= 1 << 30  # no full pass by itself
    assert full  # but the scheduled one came
