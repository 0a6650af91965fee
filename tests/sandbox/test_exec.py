"""`kubectl exec`/`attach` and the Python client's stream over the WebSocket protocols."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.stream import stream

from preview.sandbox.kubelet.runtime import (
    Plan,
    Process,
    RuntimeContext,
    SubprocessRuntime,
    free_port,
)
from preview.sandbox.kubelet.timings import KubeletTimings
from preview.sandbox.runner import Sandbox, ServerConfig
from preview.tools import find_tool
from tests.conftest import wait_for

pytestmark = pytest.mark.sandbox
LABEL = "sandbox.test/exec"


def _plan(pod: dict[str, Any], context: RuntimeContext) -> Plan:
    port = free_port()
    return Plan([Process([sys.executable, "-u", "-m", "http.server", str(port), "--bind",
                          "127.0.0.1"], env={"GREETING": "hello from the pod"},
                         container="app")], {8000: port})


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    runtime = SubprocessRuntime(lambda pod: LABEL in (pod["metadata"].get("labels") or {}),
                                _plan)
    config_ = ServerConfig(nodes=1, runtimes=[runtime], kubelet=KubeletTimings(log_interval=0.2))
    with Sandbox(config_) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def core(sb: Sandbox) -> Iterator[client.CoreV1Api]:
    with config.new_client_from_config(sb.kubeconfig) as api:
        yield client.CoreV1Api(api)


def _kubectl(sb: Sandbox, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(find_tool("kubectl")), "--kubeconfig", sb.kubeconfig, *args],
                          capture_output=True, text=True, timeout=30, input=input)


def _pod(core: client.CoreV1Api, name: str, runtime: bool) -> None:
    labels = {LABEL: "yes"} if runtime else {}
    core.create_namespaced_pod("default", {"metadata": {"name": name, "labels": labels}, "spec": {
        "containers": [{"name": "app", "image": "example/web:1"}]}})
    wait_for(lambda: any(c.type == "Ready" and c.status == "True" for c in
                         core.read_namespaced_pod(name, "default").status.conditions or []),
             15, what=f"{name} Ready")


def test_kubectl_exec_runs_in_the_pods_environment(sb: Sandbox, core: client.CoreV1Api) -> None:
    _pod(core, "real", runtime=True)
    result = _kubectl(sb, "exec", "real", "--", "sh", "-c",
                      'echo "$GREETING"; echo oops >&2; exit 3')
    assert result.stdout == "hello from the pod\n"
    assert "oops" in result.stderr
    assert result.returncode == 3
    assert "command terminated with exit code 3" in result.stderr
    piped = _kubectl(sb, "exec", "-i", "real", "-c", "app", "--", "cat", input="one\ntwo\n")
    assert (piped.returncode, piped.stdout) == (0, "one\ntwo\n"), piped.stderr


def test_python_client_stream_exec(sb: Sandbox, core: client.CoreV1Api) -> None:
    _pod(core, "py", runtime=True)
    out = stream(core.connect_get_namespaced_pod_exec, "py", "default",
                 command=["sh", "-c", 'printf "%s" "$GREETING"'], stderr=True, stdin=False,
                 stdout=True, tty=False)
    assert out == "hello from the pod"


def test_exec_into_a_simulated_container_says_so(sb: Sandbox, core: client.CoreV1Api) -> None:
    _pod(core, "simulated", runtime=False)
    result = _kubectl(sb, "exec", "simulated", "--", "ls")
    assert result.returncode != 0
    assert 'container "app" in pod "simulated" is simulated by the sandbox' in result.stderr
    assert "no kubelet serves node" not in result.stderr


def test_kubectl_attach_streams_the_containers_output(sb: Sandbox,
                                                     core: client.CoreV1Api) -> None:
    _pod(core, "chatty", runtime=False)
    proc = subprocess.Popen([str(find_tool("kubectl")), "--kubeconfig", sb.kubeconfig,
                             "attach", "chatty", "-c", "app"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
    finally:
        proc.kill()
        proc.wait()
    assert line.startswith("[sandbox] app is running (uptime "), line
