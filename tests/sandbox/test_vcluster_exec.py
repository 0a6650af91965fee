"""Inside a virtual cluster (`preview vcluster connect`), `kubectl exec` and `kubectl
port-forward` reach the host pod.

The virtual API server relays the WebSocket to its node's kubelet endpoint — the syncer —
which relays it to the host API server's `pods/exec|portforward` of the synced pod; on the
host sandbox a runtime hook runs that pod as a real process.
"""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from preview.sandbox.kubelet.runtime import (
    Plan,
    Process,
    RuntimeContext,
    SubprocessRuntime,
    free_port,
)
from preview.sandbox.runner import Sandbox, ServerConfig
from preview.sandbox.vcluster.runtime import VClusterRuntime
from preview.tools import find_tool

pytestmark = [pytest.mark.sandbox, pytest.mark.tools]
IMAGE = "example/exec-target:1"


def _plan(pod: dict[str, Any], context: RuntimeContext) -> Plan:
    port = free_port()
    return Plan([Process([sys.executable, "-u", "-m", "http.server", str(port), "--bind",
                          "127.0.0.1"], env={"GREETING": "hello from the host pod"},
                         container=pod["spec"]["containers"][0]["name"])], {8000: port})


@pytest.fixture(scope="module")
def host() -> Iterator[Sandbox]:
    target = SubprocessRuntime(lambda pod: any(
        c.get("image") == IMAGE for c in (pod.get("spec") or {}).get("containers") or []), _plan)
    with Sandbox(ServerConfig(runtimes=[VClusterRuntime(), target])) as sb:
        yield sb


def _preview(sb: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "preview", *args, "--kubeconfig",
                             sb.kubeconfig], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr + result.stdout
    return result


def _connect(sb: Sandbox, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`preview vcluster connect team-x -- kubectl …`: the way a user reaches the cluster."""
    result = subprocess.run([sys.executable, "-m", "preview", "vcluster", "connect", "team-x",
                             "-n", "team-x", "--kubeconfig", sb.kubeconfig, "--",
                             str(find_tool("kubectl")), *command],
                            capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr + result.stdout
    return result


def test_exec_and_port_forward_in_a_virtual_cluster_reach_the_host_pod(host: Sandbox) -> None:
    _preview(host, "vcluster", "create", "team-x", "--namespace", "team-x")
    _connect(host, "run", "web", f"--image={IMAGE}", "--port=8000")
    _connect(host, "wait", "--for=condition=Ready", "pod/web", "--timeout=60s")

    out = _connect(host, "exec", "web", "--", "sh", "-c", 'echo "$GREETING"; exit 0')
    assert out.stdout == "hello from the host pod\n"
    failed = _connect(host, "exec", "web", "--", "sh", "-c", "exit 4", check=False)
    assert failed.returncode == 4

    forward = subprocess.Popen([sys.executable, "-m", "preview", "vcluster", "connect",
                                "team-x", "-n", "team-x", "--kubeconfig", host.kubeconfig, "--",
                                str(find_tool("kubectl")), "port-forward", "pod/web", ":8000"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert forward.stdout is not None
        line = ""
        while "Forwarding from" not in line:
            line = forward.stdout.readline()
            assert line, "port-forward ended"
        match = re.search(r"127\.0\.0\.1:(\d+) -> 8000", line)
        assert match, line
        with urllib.request.urlopen(f"http://127.0.0.1:{match.group(1)}/", timeout=10) as resp:
            assert resp.status == 200
            assert b"Directory listing" in resp.read()
    finally:
        forward.terminate()
        forward.wait(10)
