"""The informer over an in-memory list/watch source: cache, events, relist after 410, resync."""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from preview.control import Expired, Informer, Key

Obj = dict[str, Any]
END, EXPIRE, BREAK = object(), object(), object()


class FakeSource:
    """A `ListWatcher` over a dict: `put`/`delete` change it and stream the event; `quiet`
    changes it behind the watch's back (what a 410 makes the informer relist for)."""

    def __init__(self) -> None:
        self.objects: dict[Key, Obj] = {}
        self.rv = 0
        self.lists = 0
        self.watched_from: list[str] = []
        self.stream: asyncio.Queue[Any] = asyncio.Queue()

    def _write(self, name: str, namespace: str, **fields: Any) -> Obj:
        self.rv += 1
        obj = {"metadata": {"name": name, "namespace": namespace,
                            "resourceVersion": str(self.rv)}, **fields}
        self.objects[(namespace, name)] = obj
        return obj

    def put(self, name: str, namespace: str = "default", **fields: Any) -> None:
        event = "MODIFIED" if (namespace, name) in self.objects else "ADDED"
        self.stream.put_nowait((event, copy.deepcopy(self._write(name, namespace, **fields))))

    def delete(self, name: str, namespace: str = "default") -> None:
        self.rv += 1
        obj = self.objects.pop((namespace, name))
        self.stream.put_nowait(("DELETED", copy.deepcopy(obj)))

    def quiet_put(self, name: str, namespace: str = "default", **fields: Any) -> None:
        self._write(name, namespace, **fields)

    def quiet_delete(self, name: str, namespace: str = "default") -> None:
        self.rv += 1
        del self.objects[(namespace, name)]

    async def list(self) -> Obj:
        self.lists += 1
        return {"metadata": {"resourceVersion": str(self.rv)},
                "items": copy.deepcopy(list(self.objects.values()))}

    async def watch(self, resource_version: str) -> AsyncIterator[tuple[str, Obj]]:
        self.watched_from.append(resource_version)
        while True:
            item = await self.stream.get()
            if item is END:
                return
            if item is EXPIRE:
                raise Expired("too old resource version")
            if item is BREAK:
                raise ConnectionResetError("stream broke")
            yield item


Events = list[tuple[str, str, str | None]]  # (event, name, previous resourceVersion)


def recorder(events: Events) -> Callable[[str, Obj, Obj | None], None]:
    def record(event: str, obj: Obj, old: Obj | None) -> None:
        events.append((event, obj["metadata"]["name"],
                       old["metadata"]["resourceVersion"] if old else None))
    return record


async def until(predicate: Callable[[], bool], timeout: float = 2.0) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.001)
    await asyncio.wait_for(poll(), timeout)


def run(scenario: Callable[[FakeSource, Informer, Events], Awaitable[None]],
        **options: Any) -> None:
    async def main() -> None:
        source = FakeSource()
        source.quiet_put("a", labels="x")
        source.quiet_put("b", namespace="other")
        informer = Informer(source, "things", backoff=(0.001, 0.01), **options)
        events: Events = []
        informer.add_handler(recorder(events))
        task = asyncio.create_task(informer.run())
        try:
            await scenario(source, informer, events)
        finally:
            task.cancel()
    asyncio.run(main())


def test_initial_list_fills_the_cache_and_fires_adds() -> None:
    async def scenario(source: FakeSource, informer: Informer, events: Events) -> None:
        assert not informer.has_synced()
        await asyncio.wait_for(informer.wait_synced(), 1)
        assert informer.has_synced()
        assert events == [("ADDED", "a", None), ("ADDED", "b", None)]
        assert informer.get("default", "a") == source.objects[("default", "a")]
        assert [o["metadata"]["name"] for o in informer.list("other")] == ["b"]
        assert len(informer.list()) == 2
        assert informer.relists == 0  # the first list is no relist

    run(scenario)


def test_watch_events_update_the_cache_before_the_handlers_see_them() -> None:
    async def scenario(source: FakeSource, informer: Informer, events: Events) -> None:
        await informer.wait_synced()
        seen_in_cache: list[bool] = []
        informer.add_handler(lambda e, o, _: seen_in_cache.append(
            (informer.get("default", o["metadata"]["name"]) is not None) == (e != "DELETED")))
        source.put("c")
        source.put("a", labels="y")
        source.delete("c")
        await until(lambda: len(events) == 5)
        assert events[2:] == [("ADDED", "c", None), ("MODIFIED", "a", "1"),
                              ("DELETED", "c", "3")]
        assert informer.get("default", "a")["labels"] == "y"  # type: ignore[index]
        assert informer.get("default", "c") is None
        assert all(seen_in_cache[-3:]) and len(seen_in_cache) == 5  # 2 replayed, 3 live

    run(scenario)


def test_a_410_relists_and_turns_the_difference_into_events() -> None:
    async def scenario(source: FakeSource, informer: Informer, events: Events) -> None:
        await informer.wait_synced()
        source.quiet_put("c")  # new while nobody watched
        source.quiet_put("a", labels="changed")  # changed
        source.quiet_delete("b", namespace="other")  # vanished
        source.quiet_put("d")
        source.quiet_delete("d")  # came and went: never seen at all
        source.stream.put_nowait(EXPIRE)
        await until(lambda: informer.relists == 1)
        assert events[2:] == [("DELETED", "b", "2"), ("MODIFIED", "a", "1"),
                              ("ADDED", "c", None)]
        assert informer.list("other") == []
        assert sorted(k for k in informer.cache) == [("default", "a"), ("default", "c")]
        # After the relist the informer watches again, from the new list's version.
        await until(lambda: len(source.watched_from) == 2)
        assert source.watched_from[-1] == str(source.rv)
        source.put("e")
        await until(lambda: informer.get("default", "e") is not None)

    run(scenario)


def test_a_relist_that_finds_nothing_new_fires_nothing() -> None:
    async def scenario(source: FakeSource, informer: Informer, events: Events) -> None:
        await informer.wait_synced()
        source.stream.put_nowait(EXPIRE)
        await until(lambda: informer.relists == 1)
        assert len(events) == 2

    run(scenario)


def test_a_broken_stream_is_relisted_after_a_back_off() -> None:
    async def scenario(source: FakeSource, informer: Informer, events: Events) -> None:
        await informer.wait_synced()
        source.stream.put_nowait(BREAK)
        await until(lambda: source.lists == 2)
        assert informer.has_synced()

    run(scenario)


def test_a_watch_the_server_ends_resumes_from_the_last_version_without_relisting() -> None:
    async def scenario(source: FakeSource, informer: Informer, events: Events) -> None:
        await informer.wait_synced()
        source.put("c")
        source.stream.put_nowait(END)
        await until(lambda: len(source.watched_from) == 2)
        assert source.watched_from == ["2", "3"]
        assert source.lists == 1

    run(scenario)


def test_a_handler_added_late_is_told_of_what_is_cached() -> None:
    async def scenario(source: FakeSource, informer: Informer, events: Events) -> None:
        await informer.wait_synced()
        late: Events = []
        informer.add_handler(recorder(late))
        assert late == [("ADDED", "a", None), ("ADDED", "b", None)]

    run(scenario)


def test_a_failing_handler_does_not_starve_the_others() -> None:
    async def scenario(source: FakeSource, informer: Informer, events: Events) -> None:
        await informer.wait_synced()
        source.put("c")
        await until(lambda: len(events) == 3)

    def boom(event: str, obj: Obj, old: Obj | None) -> None:
        raise RuntimeError("handler bug")

    async def main() -> None:
        source = FakeSource()
        informer = Informer(source, "things")
        informer.add_handler(boom)
        events: Events = []
        informer.add_handler(recorder(events))
        source.quiet_put("a")
        source.quiet_put("b")
        task = asyncio.create_task(informer.run())
        await scenario(source, informer, events)
        task.cancel()

    asyncio.run(main())


def test_transform_rewrites_objects_before_caching() -> None:
    def slim(obj: Obj) -> Obj:
        obj.pop("labels", None)
        obj["kind"] = "Thing"
        return obj

    async def scenario(source: FakeSource, informer: Informer, events: Events) -> None:
        await informer.wait_synced()
        source.put("c", labels="z")
        await until(lambda: informer.get("default", "c") is not None)
        for obj in informer.list():
            assert "labels" not in obj and obj["kind"] == "Thing"

    run(scenario, transform=slim)


def test_resync_hands_every_cached_object_to_the_handlers_again() -> None:
    async def scenario(source: FakeSource, informer: Informer, events: Events) -> None:
        await until(lambda: {("RESYNC", "a", "1"), ("RESYNC", "b", "2")} <= set(events))
        assert source.lists == 1  # a resync reads the cache, not the server

    run(scenario, resync_seconds=0.01)


def test_an_index_finds_objects_by_a_value_and_follows_changes() -> None:
    async def scenario(source: FakeSource, informer: Informer, events: Events) -> None:
        await informer.wait_synced()
        informer.add_indexer("labels", lambda o: [o["labels"]] if "labels" in o else [])
        assert [o["metadata"]["name"] for o in informer.by_index("labels", "x")] == ["a"]
        source.put("c", labels="x")
        source.put("a", labels="y")
        await until(lambda: informer.get("default", "a")["labels"] == "y")  # type: ignore[index]
        assert [o["metadata"]["name"] for o in informer.by_index("labels", "x")] == ["c"]
        assert [o["metadata"]["name"] for o in informer.by_index("labels", "y")] == ["a"]
        source.delete("c")
        await until(lambda: informer.get("default", "c") is None)
        assert informer.by_index("labels", "x") == []

    run(scenario)


def test_a_watch_the_server_ends_at_once_with_no_events_is_retried_after_a_back_off() -> None:
    slept: list[float] = []

    async def sleep(delay: float) -> None:
        slept.append(delay)
        await asyncio.sleep(0)

    async def scenario(source: FakeSource, informer: Informer, events: Events) -> None:
        await informer.wait_synced()
        for _ in range(3):  # the server (or a proxy) closes each watch at once
            source.stream.put_nowait(END)
        await until(lambda: len(source.watched_from) == 4)
        assert slept == [0.001, 0.002, 0.004]
        assert source.watched_from == ["2"] * 4  # watched again from where it was: no relist
        assert source.lists == 1 and informer.relists == 0
        source.put("c")
        source.stream.put_nowait(END)  # a watch that delivered events ended: resumed at once
        source.stream.put_nowait(END)  # a short one again: the back-off starts afresh
        await until(lambda: len(source.watched_from) == 6)
        assert slept == [0.001, 0.002, 0.004, 0.001]
        assert source.watched_from[4:] == ["3", "3"]

    run(scenario, clock=lambda: 0.0, sleep=sleep)


def test_a_watch_that_lasted_ends_without_a_back_off() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(delay: float) -> None:
        slept.append(delay)
        await asyncio.sleep(0)

    async def scenario(source: FakeSource, informer: Informer, events: Events) -> None:
        await informer.wait_synced()
        now[0] += 300  # the server's watch timeout, with nothing to report meanwhile
        source.stream.put_nowait(END)
        await until(lambda: len(source.watched_from) == 2)
        assert slept == []

    run(scenario, clock=lambda: now[0], sleep=sleep)


def test_a_bug_is_logged_with_its_traceback_a_broken_stream_in_one_line(
        caplog: pytest.LogCaptureFixture) -> None:
    def picky(obj: Obj) -> Obj:
        if obj["metadata"]["name"] == "bad":
            raise KeyError("spec")
        return obj

    async def scenario(source: FakeSource, informer: Informer, events: Events) -> None:
        await informer.wait_synced()
        source.stream.put_nowait(BREAK)
        await until(lambda: source.lists == 2)
        source.put("bad")
        await until(lambda: source.lists == 3)

    caplog.set_level(logging.WARNING, logger="preview.control.informer")
    run(scenario, transform=picky)
    failures = [r for r in caplog.records if "list/watch failed" in r.getMessage()]
    assert "stream broke" in failures[0].getMessage() and failures[0].exc_info is None
    bug = failures[1].exc_info
    assert bug is not None and isinstance(bug[1], KeyError)
