"""The kubelet API's handlers (`preview/syncer/server.py`) between a client standing for
k3s's API server and a real host sandbox: what reaches the host pod, and what comes back.

The handlers run in this process (`kubelet_app` on a loopback port, without TLS: the
mutual TLS in front of them is `test_kubelet_tls.py`'s), so mutation testing sees them
(TESTING.md); `test_server.py` asks the same of the real syncer subprocess, with TLS. The
host pods are run by a runtime hook of the host sandbox that this file scripts: log lines at
known times, an environment per container to exec in, port 80 an echo server.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType, test_utils
from kubernetes import client, config

from preview import naming
from preview.kube.client import KubeClient
from preview.kube.connection import from_kubeconfig
from preview.sandbox.kubelet.runtime import LogLine, RunningPod, RuntimeContext
from preview.sandbox.runner import Sandbox, ServerConfig
from preview.syncer.context import SyncContext
from preview.syncer.server import kubelet_app
from tests import processes
from tests.conftest import wait_for

pytestmark = pytest.mark.sandbox

VCLUSTER, HOST_NAMESPACE = "kt", "vc-kt"
SCRIPTED = "kubelet-handlers.test/scripted"
NOW = int(time.time())
SINCE_TEN_MINUTES_BEFORE_NOW = "since NOW - 600"  # resolved when the test runs
# The lines each container of a scripted pod has logged: (container, epoch seconds, text).
LINES = [("app", NOW - 7200, "app: two hours ago"), ("app", NOW - 60, "app: a minute ago"),
         ("app", NOW - 1, "app: just now"), ("side", NOW - 30, "side: hello")]
APP = "app: two hours ago\napp: a minute ago\napp: just now\n"
# More than aiohttp's default limit of a WebSocket message (4 MiB).
BIG = b"x" * (4 * 1024 * 1024) + b"\n"


def host_pod_name(name: str, namespace: str = "default") -> str:
    return naming.host_name(name, namespace, VCLUSTER, naming.DNS_LABEL_MAX)


class _Scripted(RunningPod):
    """A host pod as the test scripts it."""

    def __init__(self, echo: asyncio.Server) -> None:
        super().__init__({80: echo.sockets[0].getsockname()[:2]})
        self.echo = echo
        self.lines = list(LINES)
        self.set_ready(True)

    def logs(self, container: str) -> list[LogLine]:
        return [(t, text) for c, t, text in self.lines if c == container]

    def exec_environment(self, container: str) -> tuple[dict[str, str], str | None]:
        return {"PATH": os.environ["PATH"], "WHO": container}, None

    async def stop(self) -> None:
        self.echo.close()
        await self.echo.wait_closed()
        await super().stop()


class ScriptedRuntime:
    """Runs the host pods labelled `SCRIPTED` (a `PodRuntime`)."""

    def __init__(self) -> None:
        self.pods: dict[str, _Scripted] = {}

    def matches(self, pod: dict[str, Any]) -> bool:
        return SCRIPTED in (pod["metadata"].get("labels") or {})

    async def start(self, pod: dict[str, Any], context: RuntimeContext) -> RunningPod:
        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
            writer.close()

        running = _Scripted(await asyncio.start_server(echo, "127.0.0.1", 0))
        self.pods[pod["metadata"]["name"]] = running
        return running


class VirtualPods:
    """The virtual pods the syncer's informer holds (all the handlers read of it)."""

    def __init__(self, *pods: tuple[str, str]) -> None:
        self.pods = set(pods)

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        return {"metadata": {"namespace": namespace, "name": name}} \
            if (namespace, name) in self.pods else None


@dataclass
class Syncer:
    """The part of a `Syncer` the kubelet API uses: its context, host client and pods."""

    ctx: SyncContext
    host: KubeClient
    virtual_informers: dict[str, Any]


@dataclass
class Host:
    sandbox: Sandbox
    runtime: ScriptedRuntime
    kubeconfig: Path  # a bearer token's, as the syncer's ServiceAccount token is

    def add_line(self, pod: str, container: str, text: str) -> None:
        async def add() -> None:
            self.runtime.pods[pod].lines.append((container, time.time(), text))
        self.sandbox.call(add())


# Virtual pods (namespace, name) the syncer runs; "long" has a host name cut to 63 characters.
LONG = "a-virtual-pod-whose-host-name-is-cut-to-the-dns-label-limit"
SYNCED = [("default", "web"), ("default", "tail"), ("shop", LONG)]


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    runtime = ScriptedRuntime()
    with Sandbox(ServerConfig(flavour="host", nodes=1, runtimes=[runtime])) as sb, \
            config.new_client_from_config(sb.kubeconfig) as api:
        core = client.CoreV1Api(api)
        core.create_namespace({"metadata": {"name": HOST_NAMESPACE}})
        containers = [{"name": "app", "image": "example.com/app:1"},
                      {"name": "side", "image": "example.com/side:1"}]
        names = [host_pod_name(name, namespace) for namespace, name in SYNCED]
        # Another virtual cluster's copy of default/web, in the same host namespace.
        names.append(naming.host_name("web", "default", "other", naming.DNS_LABEL_MAX))
        for name in names:
            core.create_namespaced_pod(HOST_NAMESPACE, {
                "metadata": {"name": name, "labels": {SCRIPTED: "yes"}},
                "spec": {"containers": containers}})
        assert len(host_pod_name(LONG, "shop")) == naming.DNS_LABEL_MAX
        for name in names:
            wait_for(lambda name=name: core.read_namespaced_pod(name, HOST_NAMESPACE)
                     .status.phase == "Running", 30, what=f"{name} to run")
        yield Host(sb, runtime, sb.write_kubeconfig(
            tmp_path_factory.mktemp("kubelet") / "kubeconfig", sb.admin_token))


@asynccontextmanager
async def kubelet(host: Host, *synced: tuple[str, str]) -> AsyncIterator[test_utils.TestClient]:
    """A client of `kubelet_app` for a syncer running `synced` (default: SYNCED)."""
    async with KubeClient(from_kubeconfig(host.kubeconfig)) as kube:
        syncer: Any = Syncer(SyncContext(VCLUSTER, HOST_NAMESPACE), kube,
                             {"pods": VirtualPods(*(synced or SYNCED))})
        async with test_utils.TestClient(test_utils.TestServer(kubelet_app(syncer))) as c:
            yield c


async def _get(host: Host, path: str, query: dict[str, str] | None = None,
               *synced: tuple[str, str]) -> tuple[int, str, str]:
    async with kubelet(host, *synced) as c:
        response = await c.get(path, params=query or {})
        return response.status, response.headers.get("Content-Type", ""), await response.text()


def logs(host: Host, path: str, query: dict[str, str] | None = None,
         *synced: tuple[str, str]) -> tuple[int, str, str]:
    return asyncio.run(_get(host, path, query, *synced))


# -- container logs ------------------------------------------------------------------------------
def test_logs_are_the_host_pods_of_the_named_container(host: Host) -> None:
    assert logs(host, "/containerLogs/default/web/app") == (200, "text/plain", APP)
    assert logs(host, "/containerLogs/default/web/side") == (200, "text/plain",
                                                            "side: hello\n")
    # The host pod's name cut to a DNS label, as the syncer named it.
    assert logs(host, f"/containerLogs/shop/{LONG}/side")[2] == "side: hello\n"


def _stamp(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000000000Z")


# k3s's API server passes PodLogOptions on to the kubelet as query parameters
# (pkg/registry/core/pod/strategy.go LogLocation); each must reach the host pod's log.
@pytest.mark.parametrize(("query", "body"), [
    ({"tailLines": "1"}, "app: just now\n"),
    # ten minutes before NOW, counted from when the test runs (NOW is the module's import)
    ({"sinceSeconds": SINCE_TEN_MINUTES_BEFORE_NOW}, "app: a minute ago\napp: just now\n"),
    ({"sinceTime": _stamp(NOW - 120).replace(".000000000", "")},
     "app: a minute ago\napp: just now\n"),
    ({"timestamps": "true", "tailLines": "2"},
     f"{_stamp(NOW - 60)} app: a minute ago\n{_stamp(NOW - 1)} app: just now\n"),
    ({"limitBytes": "7"}, "app: tw"),
    # The container is the path's: a query cannot name another one.
    ({"container": "side"}, APP),
    ({"follow": "false", "previous": "false"}, APP),
], ids=["tailLines", "sinceSeconds", "sinceTime", "timestamps", "limitBytes",
        "container in the query", "flags off"])
def test_log_options_reach_the_host(host: Host, query: dict[str, str], body: str) -> None:
    if query.get("sinceSeconds") == SINCE_TEN_MINUTES_BEFORE_NOW:
        query = {**query, "sinceSeconds": str(int(time.time()) - NOW + 600)}
    assert logs(host, "/containerLogs/default/web/app", query) == (200, "text/plain", body)


@pytest.mark.parametrize(("query", "status", "says"), [
    ({"previous": "true"}, 400, 'previous terminated container \\"app\\" in pod \\"'
                               f'{host_pod_name("web")}\\" not found'),
    ({"sinceSeconds": "0"}, 422, "sinceSeconds: Invalid value: 0"),
    ({"sinceSeconds": "60", "sinceTime": _stamp(NOW)}, 422,
     "at most one of `sinceTime` or `sinceSeconds`"),
], ids=["previous", "sinceSeconds 0", "sinceSeconds and sinceTime"])
def test_the_hosts_refusal_is_passed_on(host: Host, query: dict[str, str], status: int,
                                        says: str) -> None:
    got, _, text = logs(host, "/containerLogs/default/web/app", query)
    assert (got, json.loads(text)["code"]) == (status, status)
    assert says in text, text


def test_a_synced_pod_missing_on_the_host_is_the_hosts_404(host: Host) -> None:
    status, _, text = logs(host, "/containerLogs/default/gone/app", None, ("default", "gone"))
    assert status == 404
    assert json.loads(text)["message"] == f'pods "{host_pod_name("gone")}" not found'


async def _follow(host: Host) -> list[str]:
    async with kubelet(host) as c:
        response = await c.get("/containerLogs/default/tail/app",
                               params={"follow": "true", "tailLines": "1"})
        assert (response.status, response.headers["Content-Type"]) == (200, "text/plain")
        lines = [(await response.content.readline()).decode()]
        await asyncio.to_thread(host.add_line, host_pod_name("tail"), "app", "app: later")
        lines.append((await response.content.readline()).decode())
        response.close()
        return lines


def test_following_logs_streams_what_the_container_writes_next(host: Host) -> None:
    assert asyncio.run(_follow(host)) == ["app: just now\n", "app: later\n"]
    # The host kubelet notices the closed stream when it next writes: let it.
    host.add_line(host_pod_name("tail"), "app", "app: after the client left")


# -- exec, attach, port-forward ------------------------------------------------------------------
async def _frames(ws: aiohttp.ClientWebSocketResponse) -> list[bytes]:
    """Every binary message until the kubelet API closes the stream."""
    frames = []
    async for msg in ws:
        assert msg.type == WSMsgType.BINARY, msg
        frames.append(msg.data)
    return frames


async def _exec_cat(host: Host) -> tuple[str | None, list[bytes], bool]:
    async with kubelet(host) as c, c.ws_connect(
            "/exec/default/web/app", params=[("command", "cat"), ("stdin", "1"),
                                             ("stdout", "1"), ("stderr", "1")],
            protocols=("v5.channel.k8s.io", "v4.channel.k8s.io"), max_msg_size=0) as ws:
        await ws.send_bytes(b"\x00" + BIG)
        echoed = b""
        while len(echoed) < len(BIG):
            echoed += (await ws.receive_bytes())[1:]
        await ws.send_bytes(b"\xff\x00")  # v5: the client closes stdin; cat ends
        frames = await _frames(ws)
        return ws.protocol, [b"\x01" + echoed, *frames], ws.closed


def test_exec_is_relayed_both_ways_and_ends_with_the_command(host: Host) -> None:
    protocol, frames, closed = asyncio.run(_exec_cat(host))
    assert protocol == "v5.channel.k8s.io"  # the host's pick of what k3s offered
    assert frames == [b"\x01" + BIG,
                      b"\x03" + json.dumps({"metadata": {}, "status": "Success"}).encode()]
    assert closed


async def _exec(host: Host, path: str, command: list[str], protocols: tuple[str, ...],
                ) -> tuple[str | None, list[bytes]]:
    query = [("command", word) for word in command] + [("stdout", "1")]
    async with kubelet(host) as c, c.ws_connect(path, params=query, protocols=protocols) as ws:
        return ws.protocol, await _frames(ws)


def test_exec_reaches_a_host_pod_whose_name_is_cut(host: Host) -> None:
    _, frames = asyncio.run(_exec(host, f"/exec/shop/{LONG}/side", ["sh", "-c", 'echo "$WHO"'],
                                  ("v4.channel.k8s.io",)))
    assert frames[0] == b"\x01side\n"


def test_a_client_offering_no_subprotocol_gets_the_hosts_answer(host: Host) -> None:
    protocol, frames = asyncio.run(_exec(host, "/exec/default/web/app", ["echo", "hi"], ()))
    assert protocol is None
    assert frames[0] == b"\x01hi\n", frames


def test_exec_runs_the_command_as_given_in_the_named_container(host: Host) -> None:
    script = 'echo "$WHO:" "$0" "$1"; exit 3'
    protocol, frames = asyncio.run(_exec(host, "/exec/default/web/side",
                                         ["sh", "-c", script, "one two", "three"],
                                         ("v4.channel.k8s.io",)))
    assert protocol == "v4.channel.k8s.io"
    assert frames[0] == b"\x01side: one two three\n"
    status = json.loads(frames[1][1:])
    assert frames[1][:1] == b"\x03" and status["reason"] == "NonZeroExitCode", frames
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]
    assert len(frames) == 2


async def _closing(host: Host) -> int:
    async with kubelet(host) as c, c.ws_connect(
            "/exec/default/web/app", params=[("command", "sh"), ("command", "-c"),
                                             ("command", "echo $$; exec cat"),
                                             ("stdin", "1"), ("stdout", "1")],
            protocols=("v5.channel.k8s.io",)) as ws:
        pid = int((await ws.receive_bytes())[1:])
        assert processes.alive(pid)
        return pid  # leaving the block closes the client's WebSocket, stdin still open


def test_closing_the_stream_ends_the_command_on_the_host(host: Host) -> None:
    pid = asyncio.run(_closing(host))
    wait_for(lambda: not processes.alive(pid), 10, what="the host's command to end")


async def _attach(host: Host) -> tuple[str | None, bytes]:
    async with kubelet(host) as c, c.ws_connect(
            "/attach/default/tail/side", params={"stdout": "1"},
            protocols=("v4.channel.k8s.io",)) as ws:
        await asyncio.to_thread(host.add_line, host_pod_name("tail"), "side", "side: attached")
        return ws.protocol, await ws.receive_bytes()


def test_attach_streams_the_containers_output(host: Host) -> None:
    assert asyncio.run(_attach(host)) == ("v4.channel.k8s.io", b"\x01side: attached\n")


async def _port_forward(host: Host) -> tuple[str | None, list[bytes]]:
    async with kubelet(host) as c, c.ws_connect(
            "/portForward/default/web", params={"ports": "80"},
            protocols=("v4.channel.k8s.io",)) as ws:
        announced = [await ws.receive_bytes(), await ws.receive_bytes()]
        await ws.send_bytes(b"\x00ping")
        return ws.protocol, [*announced, await ws.receive_bytes()]


def test_port_forward_reaches_the_host_pods_port(host: Host) -> None:
    port = (80).to_bytes(2, "little")
    assert asyncio.run(_port_forward(host)) == (
        "v4.channel.k8s.io", [b"\x00" + port, b"\x01" + port, b"\x00ping"])


async def _refused_upgrade(host: Host, path: str, query: dict[str, str],
                           *synced: tuple[str, str]) -> tuple[int, str]:
    async with kubelet(host, *synced) as c:
        response = await c.get(path, params=query, headers={
            "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Protocol": "v4.channel.k8s.io"})
        return response.status, await response.text()


@pytest.mark.parametrize(("path", "query", "status"), [
    ("/exec/default/web/app", {}, 400),  # no command: the host kubelet refuses
    ("/exec/default/web/nope", {"command": "id"}, 400),  # no such container
    ("/attach/default/gone/app", {}, 404),  # synced, but the host pod is gone
    ("/portForward/default/gone", {"ports": "80"}, 404),
], ids=["exec without a command", "exec in no container", "attach", "portforward"])
def test_the_hosts_refusal_of_a_stream_is_passed_on(host: Host, path: str,
                                                    query: dict[str, str], status: int) -> None:
    got, text = asyncio.run(_refused_upgrade(host, path, query, *SYNCED, ("default", "gone")))
    assert got == status
    assert text == "Invalid response status"  # aiohttp's words for a refused handshake


# -- refusals ------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [
    "/containerLogs/{ns}/{pod}/app", "/exec/{ns}/{pod}/app?command=id",
    "/attach/{ns}/{pod}/app", "/portForward/{ns}/{pod}?ports=80"])
@pytest.mark.parametrize(("namespace", "pod"), [
    ("default", "shop"),  # not a pod of this virtual cluster
    (HOST_NAMESPACE, naming.host_name("web", "default", "other", naming.DNS_LABEL_MAX)),
    (HOST_NAMESPACE, host_pod_name("web")),  # a synced pod, by its host name
], ids=["not synced", "another vcluster's host pod", "a host name"])
def test_only_synced_pods_are_reached(host: Host, path: str, namespace: str, pod: str) -> None:
    got, text = asyncio.run(_refused_upgrade(host, path.format(ns=namespace, pod=pod), {}))
    assert (got, text) == (404, f"pod {namespace}/{pod} is not synced here")
