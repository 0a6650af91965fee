"""Runtime hooks: pods run for real, reached through logs, port-forward and the proxies."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from kubernetes.stream import portforward

from preview.sandbox.kubelet.runtime import (
    Plan,
    Process,
    RunningPod,
    RuntimeContext,
    SubprocessRuntime,
    free_port,
)
from preview.sandbox.runner import Sandbox, ServerConfig
from preview.tools import find_tool
from tests.conftest import raw_request, wait_for

pytestmark = pytest.mark.sandbox
LABEL = "sandbox.test/runtime"


class HttpPod(RunningPod):
    def __init__(self, port: int, runner: web.AppRunner) -> None:
        super().__init__({80: ("127.0.0.1", port)})
        self.runner = runner
        self.stopped = False

    async def stop(self) -> None:
        self.stopped = True
        await self.runner.cleanup()
        await super().stop()


class HttpRuntime:
    """Serves HTTP in-process for pods labelled `sandbox.test/runtime=http`."""

    def __init__(self) -> None:
        self.started: dict[str, HttpPod] = {}

    def matches(self, pod: dict[str, Any]) -> bool:
        return (pod["metadata"].get("labels") or {}).get(LABEL) in ("http", "broken", "buggy")

    async def start(self, pod: dict[str, Any], context: RuntimeContext) -> RunningPod:
        name = pod["metadata"]["name"]
        kind = pod["metadata"]["labels"][LABEL]
        if kind == "broken":  # what a pod can get wrong, as the real hooks report it
            raise RuntimeError('configmap "settings" not found')
        if kind == "buggy":
            raise KeyError("a bug in the hook")

        async def hello(request: web.Request) -> web.Response:
            running.log(f"GET {request.path}", "app")
            return web.Response(text=f"hello from {name} at {request.path_qs}\n")

        async def crash(request: web.Request) -> web.Response:
            running.exited(3)
            return web.Response(text="bye\n")

        app = web.Application()
        app.router.add_get("/crash", crash)
        app.router.add_route("*", "/{tail:.*}", hello)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        running = HttpPod(port, runner)
        running.log(f"serving {name} on node {context.node} as {context.pod_ip}", "app")
        running.set_ready(True)
        self.started[name] = running
        return running


def _python_http_server(pod: dict[str, Any], context: RuntimeContext) -> Plan:
    port = free_port()
    return Plan([Process([sys.executable, "-u", "-m", "http.server", str(port),
                          "--bind", "127.0.0.1"], container="app")], {8000: port})


RUNTIME = HttpRuntime()
SUBPROCESSES = SubprocessRuntime(
    lambda pod: (pod["metadata"].get("labels") or {}).get(LABEL) == "subprocess",
    _python_http_server)


@pytest.fixture(scope="module")
def hooked() -> Iterator[Sandbox]:
    with Sandbox(ServerConfig(nodes=1, runtimes=[RUNTIME, SUBPROCESSES])) as sb:
        yield sb


@pytest.fixture(scope="module")
def hooked_core(hooked: Sandbox) -> Iterator[client.CoreV1Api]:
    with config.new_client_from_config(hooked.kubeconfig) as api:
        yield client.CoreV1Api(api)


@pytest.fixture
def ns(hooked_core: client.CoreV1Api, request: pytest.FixtureRequest) -> str:
    name = request.node.name.replace("_", "-")[:40].strip("-").lower()
    hooked_core.create_namespace({"metadata": {"name": name}})
    return name


def run_pod(core: client.CoreV1Api, ns: str, name: str = "web",
            runtime: str | None = "http", port: int = 80) -> Any:
    labels = {"app": name, **({LABEL: runtime} if runtime else {})}
    core.create_namespaced_pod(ns, {"metadata": {"name": name, "labels": labels}, "spec": {
        "containers": [{"name": "app", "image": "example/web:1",
                        "ports": [{"name": "http", "containerPort": port}]}]}})
    return wait_for(lambda: (p := core.read_namespaced_pod(name, ns)) and any(
        c.type == "Ready" and c.status == "True" for c in p.status.conditions or []) and p,
        10, what=f"pod {name} Ready")


def get_text(sb: Sandbox, path: str) -> tuple[int, str]:
    req = urllib.request.Request(sb.url + path,
                                 headers={"Authorization": f"Bearer {sb.admin_token}"})
    try:
        with urllib.request.urlopen(req, timeout=10, context=sb.ssl_context()) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def kubectl(sb: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(find_tool("kubectl")), "--kubeconfig", sb.kubeconfig, *args],
                          capture_output=True, text=True, timeout=30)


class PortForward:
    """`kubectl port-forward` in the background; the local port it picked."""

    def __init__(self, sb: Sandbox, *args: str) -> None:
        self.proc = subprocess.Popen(
            [str(find_tool("kubectl")), "--kubeconfig", sb.kubeconfig, "port-forward", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # "Forwarding from 127.0.0.1:NNNNN -> 80"
        assert line.startswith("Forwarding from 127.0.0.1:"), line + self.stderr()
        self.port = int(line.split(":")[1].split()[0])

    def get(self, path: str) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as resp:
            return str(resp.read().decode())

    def stderr(self) -> str:
        self.proc.kill()
        return self.proc.communicate()[1] or ""

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def test_a_runtime_pod_is_running_ready_and_logs(hooked: Sandbox,
                                                 hooked_core: client.CoreV1Api, ns: str) -> None:
    pod = run_pod(hooked_core, ns)
    assert pod.status.phase == "Running"
    out = kubectl(hooked, "logs", "-n", ns, "web")
    assert out.returncode == 0, out.stderr
    assert f"serving web on node {pod.spec.node_name} as {pod.status.pod_ip}" in out.stdout


def test_kubectl_port_forward_reaches_the_runtime_port(
        hooked: Sandbox, hooked_core: client.CoreV1Api, ns: str) -> None:
    run_pod(hooked_core, ns)
    forward = PortForward(hooked, "-n", ns, "pod/web", ":80")
    try:
        assert forward.get("/one") == "hello from web at /one\n"
        assert forward.get("/two?x=1") == "hello from web at /two?x=1\n"  # a second connection
    finally:
        forward.close()
    logs = kubectl(hooked, "logs", "-n", ns, "web").stdout
    assert "GET /one" in logs and "GET /two" in logs


def test_kubectl_port_forward_to_a_simulated_pod_gets_the_built_in_responder(
        hooked: Sandbox, hooked_core: client.CoreV1Api, ns: str) -> None:
    run_pod(hooked_core, ns, runtime=None)
    forward = PortForward(hooked, "-n", ns, "pod/web", ":80")
    try:
        assert forward.get("/x") == f"sandbox pod {ns}/web port 80: GET /x HTTP/1.1\n"
    finally:
        forward.close()


def test_python_client_port_forward(hooked: Sandbox, hooked_core: client.CoreV1Api,
                                    ns: str) -> None:
    run_pod(hooked_core, ns)
    pf = portforward(hooked_core.connect_get_namespaced_pod_portforward, "web", ns, ports="80")
    sock = pf.socket(80)
    sock.setblocking(True)
    sock.sendall(b"GET /py HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n")
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    assert data.startswith(b"HTTP/1.1 200")
    assert data.endswith(b"hello from web at /py\n")
    assert pf.error(80) is None


def test_service_and_pod_proxy(hooked: Sandbox, hooked_core: client.CoreV1Api, ns: str) -> None:
    run_pod(hooked_core, ns)
    hooked_core.create_namespaced_service(ns, {"metadata": {"name": "web"}, "spec": {
        "selector": {"app": "web"}, "ports": [{"name": "http", "port": 8080,
                                               "targetPort": "http"}]}})
    base = f"/api/v1/namespaces/{ns}"
    assert get_text(hooked, f"{base}/services/web:8080/proxy/a/b?q=1") == (
        200, "hello from web at /a/b?q=1\n")
    assert get_text(hooked, f"{base}/services/web:http/proxy/")[1] == "hello from web at /\n"
    assert get_text(hooked, f"{base}/pods/web:80/proxy/direct") == (
        200, "hello from web at /direct\n")
    hooked_core.create_namespaced_service(ns, {"metadata": {"name": "nobody"}, "spec": {
        "selector": {"app": "nobody"}, "ports": [{"port": 80}]}})
    code, body = get_text(hooked, f"{base}/services/nobody:80/proxy/")
    assert code == 503
    assert json.loads(body)["message"] == 'no endpoints available for service "nobody"'


def test_deleting_a_runtime_pod_stops_it(hooked: Sandbox, hooked_core: client.CoreV1Api,
                                         ns: str) -> None:
    run_pod(hooked_core, ns, name="short")
    running = RUNTIME.started["short"]
    hooked_core.delete_namespaced_pod("short", ns)
    wait_for(lambda: running.stopped, 5, what="runtime stopped")

    def gone() -> bool:
        try:
            hooked_core.read_namespaced_pod("short", ns)
        except ApiException as e:
            return e.status == 404
        return False
    wait_for(gone, 5, what="pod removed")


def test_a_runtime_exit_terminates_the_containers(hooked: Sandbox,
                                                  hooked_core: client.CoreV1Api, ns: str) -> None:
    run_pod(hooked_core, ns, name="crashy")
    assert get_text(hooked, f"/api/v1/namespaces/{ns}/pods/crashy/proxy/crash")[0] == 200

    def terminated() -> Any:
        cs = hooked_core.read_namespaced_pod("crashy", ns).status.container_statuses[0]
        return cs.state.terminated
    assert wait_for(terminated, 5, what="terminated").exit_code == 3


def test_subprocess_runtime(hooked: Sandbox, hooked_core: client.CoreV1Api, ns: str) -> None:
    run_pod(hooked_core, ns, name="py", runtime="subprocess", port=8000)
    code, body = get_text(hooked, f"/api/v1/namespaces/{ns}/pods/py:8000/proxy/")
    assert code == 200 and "Directory listing" in body
    logs = wait_for(lambda: "GET / HTTP/1.1" in (out := kubectl(
        hooked, "logs", "-n", ns, "py").stdout) and out, 5, what="http.server log line")
    assert "Serving HTTP on 127.0.0.1" in logs
    hooked_core.delete_namespaced_pod("py", ns)
    wait_for(lambda: raw_request(hooked, "GET", f"/api/v1/namespaces/{ns}/pods/py")[0] == 404,
             10, what="pod removed")
    with socket.socket() as s:  # the process is gone with its pod
        assert s.connect_ex(("127.0.0.1", int(
            logs.split("port ")[1].split()[0]))) != 0


@pytest.mark.parametrize(("runtime", "traceback"), [("broken", False), ("buggy", True)])
def test_a_pod_that_cannot_start_gets_an_event_and_a_traceback_only_for_a_bug(
        hooked: Sandbox, hooked_core: client.CoreV1Api, runtime: str, traceback: bool,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="preview.sandbox.kubelet")
    ns = f"start-failure-{runtime}"
    hooked_core.create_namespace({"metadata": {"name": ns}})
    hooked_core.create_namespaced_pod(ns, {"metadata": {"name": "web", "labels": {
        LABEL: runtime}}, "spec": {"containers": [{"name": "app", "image": "example/web:1"}]}})

    def failed_event() -> Any:
        events = hooked_core.list_namespaced_event(ns, field_selector="reason=Failed").items
        return [e for e in events if "runtime hook failed to start the pod" in e.message]
    event = wait_for(failed_event, 10, what="Failed event")[0]
    assert event.type == "Warning"
    records = wait_for(lambda: [r for r in caplog.records
                                if "runtime hook failed to start pod" in r.getMessage()
                                and f"{ns}/web" in r.getMessage()], 5, what="log record")
    assert (records[0].exc_info is not None) is traceback
    if not traceback:
        assert 'configmap "settings" not found' in records[0].getMessage()
