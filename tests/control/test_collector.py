"""The garbage-collector policy: what survived a big full pass is frozen, later passes walk
only what is new, garbage is still found, and a cycle that died frozen is reclaimed once the
rewalk period has passed."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from preview.control.collector import FreezeSurvivors


class Node:
    """A weak-referenceable container, to see when the collector (or refcounting) frees it."""

    def __init__(self) -> None:
        self.other: object = None


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def policy(clock: FakeClock) -> Iterator[FreezeSurvivors]:
    gc.collect()  # start from a heap with no garbage in it
    installed = FreezeSurvivors(threshold=1000, rewalk_seconds=60, clock=clock)
    installed.install()
    yield installed
    installed.uninstall()
    assert installed._after_pass not in gc.callbacks
    assert gc.get_freeze_count() == 0


def cache(items: int) -> list[dict[str, object]]:
    """Long-lived, acyclic, tracked: what an informer's cache looks like to the collector."""
    return [{"metadata": {"name": f"p{i}", "labels": {"app": "a"}}, "spec": {"c": [i]}}
            for i in range(items)]


def walked() -> set[int]:
    """Ids of what the collector's generations hold: what its next passes walk."""
    return {id(o) for o in gc.get_objects()}


def test_what_survives_a_big_full_pass_is_frozen_and_no_longer_walked(
        policy: FreezeSurvivors) -> None:
    kept = cache(5000)
    gc.collect()
    assert policy.freezes == 1
    assert gc.get_freeze_count() >= 5000
    assert id(kept[0]) not in walked() and id(kept[-1]["spec"]) not in walked()
    newer = cache(10)
    assert id(newer[0]) in walked()


def test_a_small_heap_is_not_frozen(clock: FakeClock) -> None:
    gc.collect()
    policy = FreezeSurvivors(threshold=10**9, clock=clock)
    policy.install()
    try:
        kept = cache(100)
        gc.collect()
        assert policy.freezes == 0 and gc.get_freeze_count() == 0
        assert id(kept[0]) in walked()
    finally:
        policy.uninstall()


def test_frozen_objects_are_freed_when_the_cache_drops_them(policy: FreezeSurvivors) -> None:
    kept = cache(2000)
    node = Node()
    kept.append({"node": node})  # type: ignore[dict-item]
    gone = weakref.ref(node)
    gc.collect()
    assert policy.freezes == 1
    del node, kept  # reference counting frees frozen objects as any other
    assert gone() is None


def test_cyclic_garbage_made_after_a_freeze_is_still_collected(
        policy: FreezeSurvivors) -> None:
    kept = cache(2000)
    gc.collect()
    assert policy.freezes == 1
    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b
    assert gone() is not None  # a cycle: reference counting alone cannot free it
    gc.collect()
    assert gone() is None
    assert kept


def test_a_cycle_that_died_frozen_is_reclaimed_once_the_rewalk_period_has_passed(
        policy: FreezeSurvivors, clock: FakeClock) -> None:
    kept = cache(2000)
    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    gc.collect()
    assert policy.freezes == 1
    del a, b  # garbage now, but frozen: the passes do not look at it
    gc.collect()
    assert gone() is not None
    clock.now += 61
    gc.collect()  # this pass's end unfreezes: the next one walks everything
    assert policy.rewalks == 1 and gc.get_freeze_count() == 0
    gc.collect()
    assert gone() is None
    assert policy.freezes == 2  # and what survived that walk is frozen again
    assert kept


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="threshold"):
        FreezeSurvivors(threshold=0)
    with pytest.raises(ValueError, match="rewalk_seconds"):
        FreezeSurvivors(rewalk_seconds=0)
