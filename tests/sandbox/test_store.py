"""The store's resourceVersion counter, history window and watch fan-out."""

from __future__ import annotations

import asyncio

import pytest

from preview.sandbox.apiserver.storage.store import Compacted, Store

CM = ("", "configmaps")


def put(store: Store, name: str, event: str = "ADDED") -> None:
    store.put(CM, {"metadata": {"name": name, "namespace": "a",
                                "resourceVersion": str(store.next_rv())}}, event)


def test_resource_versions_are_one_increasing_counter() -> None:
    store = Store()
    put(store, "x")
    store.put(("", "secrets"), {"metadata": {"name": "s", "namespace": "a",
                                             "resourceVersion": str(store.next_rv())}}, "ADDED")
    put(store, "y")
    assert [e.rv for e in store.since(CM, 0)] == [1, 3]
    assert store.rv == 3


def test_since_raises_when_history_was_compacted() -> None:
    store = Store(history=3)
    for i in range(5):
        put(store, f"o{i}")
    assert [e.rv for e in store.since(CM, 2)] == [3, 4, 5]
    with pytest.raises(Compacted) as e:
        store.since(CM, 1)
    assert "too old resource version: 1" in str(e.value)


def test_subscribers_get_events_in_commit_order() -> None:
    async def scenario() -> list[int]:
        store = Store()
        queue = store.subscribe(CM)
        for i in range(50):
            put(store, f"o{i}")
        store.unsubscribe(CM, queue)
        put(store, "after")
        return [queue.get_nowait().rv for _ in range(queue.qsize())]

    assert asyncio.run(scenario()) == list(range(1, 51))
