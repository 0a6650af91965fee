"""Watch streams: replay from a resourceVersion, then follow the store, with bookmarks."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from preview.sandbox.apiserver.registry import conversion
from preview.sandbox.apiserver.storage.store import Compacted, Event, Store
from preview.sandbox.machinery.resources import ResourceType
from preview.sandbox.machinery.status import StatusError, gone

Matcher = Callable[[dict[str, Any]], bool]
DEFAULT_TIMEOUT = 1800  # kube-apiserver --min-request-timeout


def translate(event: Event, namespace: str | None, matcher: Matcher) -> str | None:
    """The event type this watcher sees, or None: selectors turn edits into adds/deletes."""
    if namespace is not None and event.obj["metadata"].get("namespace", "") != namespace:
        return None
    now_matches = matcher(event.obj)
    if event.type == "DELETED":
        return "DELETED" if now_matches else None
    before = event.old is not None and event.type == "MODIFIED" and matcher(event.old)
    if now_matches:
        return "MODIFIED" if before else "ADDED"
    return "DELETED" if before else None


def encode(rt: ResourceType, event_type: str, obj: dict[str, Any],
           cache: dict[str, bytes] | None = None,
           render: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> bytes:
    key = f"{rt.api_version}|{event_type}"
    if cache is not None and render is None and key in cache:
        return cache[key]
    served = conversion.from_storage(rt, obj)
    if render is not None:
        served = render(served)
    data = json.dumps({"type": event_type, "object": served}, separators=(",", ":")).encode()
    data += b"\n"
    if cache is not None and render is None:
        cache[key] = data
    return data


async def serve(request: web.Request, store: Store, rt: ResourceType, namespace: str | None,
                matcher: Matcher, query: dict[str, str], bookmark_interval: float,
                render: Callable[[dict[str, Any]], dict[str, Any]] | None = None
                ) -> web.StreamResponse:
    rv_param = query.get("resourceVersion", "")
    send_initial = query.get("sendInitialEvents") == "true"
    bookmarks = query.get("allowWatchBookmarks") == "true"
    try:
        timeout = float(query.get("timeoutSeconds") or DEFAULT_TIMEOUT)
    except ValueError:
        raise StatusError(400, "BadRequest", "timeoutSeconds: must be an integer") from None
    if send_initial and query.get("resourceVersionMatch") != "NotOlderThan":
        raise StatusError(422, "Invalid", "ListOptions.meta.k8s.io \"\" is invalid: "
                       "resourceVersionMatch: Forbidden: sendInitialEvents requires setting "
                       "resourceVersionMatch to NotOlderThan")
    # No await between subscribing and taking the snapshot/replay: nothing can slip between.
    queue = store.subscribe(rt.storage)
    try:
        initial: list[bytes] = []
        error: StatusError | None = None
        if rv_param in ("", "0") or send_initial:
            for obj in store.list(rt.storage, namespace):
                if matcher(obj):
                    initial.append(encode(rt, "ADDED", obj, render=render))
        else:
            try:
                since = int(rv_param)
            except ValueError:
                raise StatusError(400, "BadRequest",
                               f"resourceVersion: Invalid value: \"{rv_param}\": must be an "
                               "integer") from None
            try:
                for event in store.since(rt.storage, since):
                    seen = translate(event, namespace, matcher)
                    if seen:
                        initial.append(encode(rt, seen, event.obj, event.encoded, render))
            except Compacted as e:
                error = gone(str(e))
        start_rv = store.rv
        response = web.StreamResponse(status=200, headers={
            "Content-Type": "application/json", "Cache-Control": "no-cache, private"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        if error is not None:
            await response.write(json.dumps({"type": "ERROR", "object": error.status()}).encode()
                                 + b"\n")
            return response
        if initial:
            await response.write(b"".join(initial))
        if send_initial and bookmarks:
            await response.write(_bookmark(rt, start_rv, initial_end=True))
        await _follow(request, response, store, rt, namespace, matcher, queue, timeout,
                      bookmark_interval if bookmarks else None, render)
        return response
    finally:
        store.unsubscribe(rt.storage, queue)


async def _follow(request: web.Request, response: web.StreamResponse, store: Store,
                  rt: ResourceType, namespace: str | None, matcher: Matcher,
                  queue: asyncio.Queue[Event], timeout: float, bookmark_every: float | None,
                  render: Callable[[dict[str, Any]], dict[str, Any]] | None) -> None:
    deadline = time.monotonic() + timeout
    next_bookmark = time.monotonic() + bookmark_every if bookmark_every else None
    try:
        while True:
            now = time.monotonic()
            if now >= deadline:
                return
            batch: list[Event] = []
            if queue.empty():
                # A bookmark promises every event up to its version was sent: only when idle.
                if next_bookmark is not None and now >= next_bookmark:
                    await response.write(_bookmark(rt, store.rv))
                    next_bookmark = now + (bookmark_every or 0)
                wait = min(deadline - now, 1.0)
                if next_bookmark is not None:
                    wait = min(wait, next_bookmark - now)
                try:
                    # Never a zero timeout: wait_for(…, 0) cancels even a ready get().
                    batch.append(await asyncio.wait_for(queue.get(), timeout=max(wait, 0.01)))
                except TimeoutError:
                    transport = request.transport
                    if transport is None or transport.is_closing():
                        return
                    continue
            while not queue.empty():
                batch.append(queue.get_nowait())
            out = []
            for e in batch:
                seen = translate(e, namespace, matcher)
                if seen:
                    out.append(encode(rt, seen, e.obj, e.encoded, render))
            if out:
                await response.write(b"".join(out))
    except (ConnectionResetError, asyncio.CancelledError):
        return


def _bookmark(rt: ResourceType, rv: int, initial_end: bool = False) -> bytes:
    meta: dict[str, Any] = {"resourceVersion": str(rv)}
    if initial_end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    return json.dumps({"type": "BOOKMARK", "object": {
        "kind": rt.kind, "apiVersion": rt.api_version, "metadata": meta}}).encode() + b"\n"
