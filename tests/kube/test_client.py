"""The async client against the sandbox API server over HTTPS."""

from __future__ import annotations

import asyncio
import contextlib
import os
import urllib.parse

import pytest

from preview.errors import PreviewError
from preview.kube.client import (
    APPLY_PATCH,
    REQUEST_CONNECTIONS,
    AlreadyExists,
    ApiError,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    KubeClient,
    NotFound,
    Resource,
    ServerError,
    _transient,
    api_error,
)
from preview.kube.connection import Connection, from_kubeconfig
from preview.sandbox.runner import Sandbox, ServerConfig

pytestmark = pytest.mark.sandbox
CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_crud_and_errors(sandbox: Sandbox, namespace: str) -> None:
    async def scenario() -> None:
        async with KubeClient(from_kubeconfig(sandbox.kubeconfig)) as kube:
            created = await kube.create(CONFIGMAPS, namespace, {
                "metadata": {"name": "a"}, "data": {"k": "v"}})
            assert created["metadata"]["uid"]
            assert (await kube.get(CONFIGMAPS, namespace, "a"))["data"] == {"k": "v"}
            assert await kube.get(CONFIGMAPS, namespace, "missing") is None
            with pytest.raises(AlreadyExists) as e:
                await kube.create(CONFIGMAPS, namespace, {"metadata": {"name": "a"}})
            assert e.value.status == 409 and isinstance(e.value, Conflict | PreviewError)
            with pytest.raises(NotFound):
                await kube.patch(CONFIGMAPS, namespace, "missing", {"data": {}})
            with pytest.raises(Invalid) as invalid:
                await kube.create(CONFIGMAPS, namespace, {"metadata": {"name": "Not_Valid"}})
            assert "Not_Valid" in str(invalid.value) and invalid.value.hint
            patched = await kube.patch(CONFIGMAPS, namespace, "a", {"data": {"k": "w"}})
            assert patched["data"] == {"k": "w"}
            assert await kube.delete(CONFIGMAPS, namespace, "a") is True
            assert await kube.delete(CONFIGMAPS, namespace, "a") is False
    run(scenario())


def test_watch_sees_changes_and_410_when_too_old(namespace: str) -> None:
    with Sandbox(ServerConfig(history=5, flavour="virtual")) as small:
        async def scenario() -> None:
            async with KubeClient(from_kubeconfig(small.kubeconfig)) as kube:
                listed = await kube.list(CONFIGMAPS, "default")
                rv = listed["metadata"]["resourceVersion"]
                await kube.create(CONFIGMAPS, "default", {"metadata": {"name": "w"}})
                async for event, obj in kube.watch(CONFIGMAPS, "default", rv, 5):
                    assert (event, obj["metadata"]["name"]) == ("ADDED", "w")
                    break
                for i in range(10):
                    await kube.create(CONFIGMAPS, "default", {"metadata": {"name": f"x{i}"}})
                with pytest.raises(Gone):
                    async for _ in kube.watch(CONFIGMAPS, "default", rv, 5):
                        pass
        run(scenario())


def test_transient_errors_are_retried_then_surface(sandbox: Sandbox) -> None:
    async def scenario() -> None:
        conn = from_kubeconfig(sandbox.kubeconfig)
        dead = type(conn)(server="https://127.0.0.1:9", ca_pem=conn.ca_pem)
        async with KubeClient(dead, attempts=2) as kube:
            with pytest.raises(OSError):
                await kube.list(CONFIGMAPS, "default")
    run(scenario())


@pytest.mark.parametrize(("status", "reason", "expected"), [
    (404, "NotFound", NotFound), (409, "Conflict", Conflict), (409, "AlreadyExists", AlreadyExists),
    (403, "Forbidden", Forbidden), (410, "Expired", Gone), (422, "Invalid", Invalid),
    (503, "ServiceUnavailable", ServerError), (418, "", ApiError)])
def test_each_status_has_its_type(status: int, reason: str, expected: type[ApiError]) -> None:
    error = api_error(status, {"reason": reason, "message": "the server's words"}, "GET", "/x")
    assert type(error) is expected
    assert error.message == "the server's words"
    assert str(error).startswith(f"the Kubernetes API answered GET /x: {status}")


def test_a_server_side_apply_the_schema_refuses_is_not_retried(sandbox: Sandbox,
                                                                namespace: str) -> None:
    assert _transient(api_error(500, {"message": "etcdserver: request timed out"}))
    untypable = api_error(500, {"message": "failed to create typed patch object (a/b; /v1, "
                                           "Kind=ConfigMap): .colour: field not declared in "
                                           "schema"})
    assert isinstance(untypable, ServerError) and not _transient(untypable)

    async def scenario() -> None:
        async with KubeClient(from_kubeconfig(sandbox.kubeconfig)) as kube:
            with pytest.raises(ServerError) as e:
                await kube.patch(CONFIGMAPS, namespace, "applied", {
                    "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied"},
                    "colour": "red"}, APPLY_PATCH, params={"fieldManager": "test"})
            assert ".colour: field not declared in schema" in e.value.message
    run(scenario())


def _connections_to(port: int) -> int:
    """This process's established TCP connections to `port` on loopback (from /proc)."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                if remote_port == port and fields[3] == "01" and fields[9] in inodes:
                    count += 1
    return count


def test_a_burst_of_requests_shares_a_few_connections_and_watches_keep_theirs(
        sandbox: Sandbox, namespace: str) -> None:
    """A hundred requests at once wait for one of REQUEST_CONNECTIONS kept-alive connections
    (not one TLS handshake each), while a watch keeps its own connection and its events.
    Counted as connections to the sandbox's port opened meanwhile: the sandbox's own
    controllers (in this process too) hold theirs from before."""
    port = int(urllib.parse.urlsplit(from_kubeconfig(sandbox.kubeconfig).server).port or 443)

    async def scenario() -> None:
        before = _connections_to(port)
        async with KubeClient(from_kubeconfig(sandbox.kubeconfig)) as kube:
            rv = (await kube.list(CONFIGMAPS, namespace))["metadata"]["resourceVersion"]
            watch = kube.watch(CONFIGMAPS, namespace, rv, 30)
            first = asyncio.ensure_future(watch.__anext__())
            await asyncio.gather(*(kube.create(CONFIGMAPS, namespace, {
                "metadata": {"name": f"burst-{i}"}}) for i in range(100)))
            assert await kube.list(CONFIGMAPS, namespace)  # a request still gets through
            # The requests' connections and the watch's; a few more for controllers' work.
            assert 2 <= _connections_to(port) - before <= REQUEST_CONNECTIONS + 1 + 3
            event, obj = await asyncio.wait_for(first, 10)
            assert event == "ADDED" and obj["metadata"]["name"].startswith("burst-")
            await watch.aclose()
    run(scenario())


@pytest.mark.parametrize(("failures", "attempts", "hits", "ok"), [
    (0, 3, 1, True), (2, 3, 3, True), (3, 3, 3, False), (5, 1, 1, False)])
def test_a_transient_answer_is_tried_again_up_to_the_attempts(
        failures: int, attempts: int, hits: int, ok: bool) -> None:
    """503s (with Retry-After: 0) then a 200, from a plain HTTP server counting requests: the
    first try and the retries add up to `attempts`, no more."""
    from aiohttp import web

    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.path)
        if len(seen) <= failures:
            return web.json_response({"kind": "Status", "code": 503,
                                      "reason": "ServiceUnavailable"}, status=503,
                                     headers={"Retry-After": "0"})
        return web.json_response({"kind": "ConfigMapList", "items": []})

    async def scenario() -> None:
        app = web.Application()
        app.router.add_get("/api/v1/namespaces/default/configmaps", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            async with KubeClient(Connection(server=f"http://127.0.0.1:{port}"),
                                  attempts=attempts) as kube:
                if ok:
                    assert (await kube.list(CONFIGMAPS, "default"))["items"] == []
                else:
                    with pytest.raises(ServerError):
                        await kube.list(CONFIGMAPS, "default")
        finally:
            await runner.cleanup()
        assert len(seen) == hits
    run(scenario())
