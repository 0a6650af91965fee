"""Inside a virtual cluster, `kubectl exec` and `kubectl port-forward` reach the host pod.

The virtual API server relays the WebSocket to its node's kubelet endpoint — the syncer —
which relays it to the host API server's `pods/exec|portforward` of the synced pod; on the
host sandbox a runtime hook runs that pod as a real process.
"""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config

from preview.sandbox.runner import Sandbox
from preview.sandbox.runtime import Plan, Process, RuntimeContext, SubprocessRuntime, free_port
from preview.sandbox.server import ServerConfig
from preview.sandbox.vcluster_runtime import VClusterRuntime
from preview.tools import find_tool
from tests.conftest import tool_runner, wait_for
from tests.sandbox.test_vcluster_runtime import VCluster, connect, start_vcluster

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


@pytest.fixture(scope="module")
def vcluster(host: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VCluster]:
    kubectl = tool_runner("kubectl", host.kubeconfig, 60)
    with config.new_client_from_config(host.kubeconfig) as api:
        core = client.CoreV1Api(api)
        namespace = f"vc-{uuid.uuid4().hex[:8]}"
        core.create_namespace({"metadata": {"name": namespace}})  # type: ignore[arg-type]
        start_vcluster(kubectl, core, namespace, "team-x")
        vc = connect(host.kubeconfig, core, namespace, "team-x",
                     tmp_path_factory.mktemp("vcluster") / "virtual")
        try:
            yield vc
        finally:
            vc.forward.terminate()
            vc.forward.wait(10)


def test_exec_and_port_forward_in_a_virtual_cluster_reach_the_host_pod(
        vcluster: VCluster) -> None:
    virtual = tool_runner("kubectl", str(vcluster.kubeconfig), 60)
    virtual("run", "web", f"--image={IMAGE}", "--port=8000")
    wait_for(lambda: virtual("get", "pod", "web", "-o", "jsonpath={.status.conditions[?(@.type"
                             "=='Ready')].status}").stdout == "True", 60, 0.2,
             "the virtual pod to be Ready")

    out = virtual("exec", "web", "--", "sh", "-c", 'echo "$GREETING"; exit 0')
    assert out.stdout == "hello from the host pod\n"
    failed = virtual("exec", "web", "--", "sh", "-c", "exit 4", check=False)
    assert failed.returncode == 4

    forward = subprocess.Popen([str(find_tool("kubectl")), "--kubeconfig",
                                str(vcluster.kubeconfig), "port-forward", "pod/web", ":8000"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert forward.stdout is not None
        line = forward.stdout.readline()
        match = re.search(r"127\.0\.0\.1:(\d+) -> 8000", line)
        assert match, line
        with urllib.request.urlopen(f"http://127.0.0.1:{match.group(1)}/", timeout=10) as resp:
            assert resp.status == 200
            assert b"Directory listing" in resp.read()
    finally:
        forward.terminate()
        forward.wait(10)
