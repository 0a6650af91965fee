"""Host-flavour nodes: registration, leases and status heartbeats, over the real API."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config

from preview.sandbox.runner import Sandbox, ServerConfig
from preview.tools import find_tool
from tests.conftest import raw_request, wait_for

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def fast() -> Iterator[Sandbox]:
    """Two nodes with heartbeats fast enough to watch them happen."""
    with Sandbox(ServerConfig(nodes=2, node_lease_seconds=0.1, node_status_seconds=1.0)) as sb:
        yield sb


@pytest.fixture(scope="module")
def fast_core(fast: Sandbox) -> Iterator[client.CoreV1Api]:
    with config.new_client_from_config(fast.kubeconfig) as c:
        yield client.CoreV1Api(c)


def nodes_of(sb: Sandbox) -> list[dict[str, Any]]:
    status, body = raw_request(sb, "GET", "/api/v1/nodes")
    assert status == 200
    items: list[dict[str, Any]] = body["items"]
    return items


def test_host_sandbox_registers_three_ready_nodes_across_zones(sandbox: Sandbox) -> None:
    items = wait_for(lambda: len(nodes_of(sandbox)) == 3 and nodes_of(sandbox), what="3 nodes")
    assert [n["metadata"]["name"] for n in items] == [
        "sandbox-worker-1", "sandbox-worker-2", "sandbox-worker-3"]
    _, version = raw_request(sandbox, "GET", "/version")
    zones = set()
    for node in items:
        labels, status = node["metadata"]["labels"], node["status"]
        assert labels["kubernetes.io/hostname"] == node["metadata"]["name"]
        assert labels["kubernetes.io/os"] == "linux" and labels["kubernetes.io/arch"] == "amd64"
        assert labels["node.kubernetes.io/instance-type"]
        zones.add(labels["topology.kubernetes.io/zone"])
        assert status["capacity"]["cpu"] == "4" and status["allocatable"]["memory"] == "16Gi"
        assert status["allocatable"]["pods"] == "110"
        assert "ephemeral-storage" in status["capacity"]
        assert status["nodeInfo"]["kubeletVersion"] == version["gitVersion"]
        assert status["nodeInfo"]["containerRuntimeVersion"].startswith("containerd://")
        assert status["daemonEndpoints"]["kubeletEndpoint"]["Port"] == 10250
        kinds = {a["type"] for a in status["addresses"]}
        assert kinds == {"InternalIP", "Hostname"}
        conditions = {c["type"]: c for c in status["conditions"]}
        assert conditions["Ready"]["status"] == "True"
        assert conditions["Ready"]["reason"] == "KubeletReady"
        for pressure in ("MemoryPressure", "DiskPressure", "PIDPressure"):
            assert conditions[pressure]["status"] == "False"
    assert len(zones) == 3
    cidrs = [n["spec"]["podCIDR"] for n in items]
    assert cidrs == ["10.244.1.0/24", "10.244.2.0/24", "10.244.3.0/24"]
    assert [n["spec"]["podCIDRs"] for n in items] == [[c] for c in cidrs]
    ips = [next(a["address"] for a in n["status"]["addresses"] if a["type"] == "InternalIP")
           for n in items]
    assert len(set(ips)) == 3 and all(ip.startswith("172.18.") for ip in ips)


def test_kubectl_sees_ready_nodes(sandbox: Sandbox) -> None:
    wait_for(lambda: len(nodes_of(sandbox)) == 3, what="3 nodes")
    out = subprocess.run([str(find_tool("kubectl")), "--kubeconfig", sandbox.kubeconfig,
                          "get", "nodes", "-o", "json"], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert len(json.loads(out)["items"]) == 3
    wait = subprocess.run([str(find_tool("kubectl")), "--kubeconfig", sandbox.kubeconfig,
                           "wait", "--for=condition=Ready", "node", "--all", "--timeout=10s"],
                          capture_output=True, text=True, timeout=60)
    assert wait.returncode == 0, wait.stderr


def test_leases_are_renewed_and_owned_by_their_node(fast: Sandbox) -> None:
    def leases() -> dict[str, dict[str, Any]]:
        _, body = raw_request(fast, "GET",
                              "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases")
        return {item["metadata"]["name"]: item for item in body["items"]}

    first = wait_for(lambda: len(leases()) == 2 and leases(), what="two leases")
    nodes = {n["metadata"]["name"]: n for n in nodes_of(fast)}
    for name, lease in first.items():
        assert lease["spec"]["holderIdentity"] == name
        assert lease["spec"]["leaseDurationSeconds"] == 40
        owner = lease["metadata"]["ownerReferences"][0]
        assert (owner["kind"], owner["name"], owner["uid"]) == (
            "Node", name, nodes[name]["metadata"]["uid"])
    wait_for(lambda: all(lease["spec"]["renewTime"] > first[name]["spec"]["renewTime"]
                         for name, lease in leases().items()), what="lease renewals")


def test_status_heartbeats_keep_transition_times(fast_core: client.CoreV1Api) -> None:
    def ready(name: str) -> Any:
        node = fast_core.read_node(name)
        return next(c for c in node.status.conditions if c.type == "Ready")

    before = ready("sandbox-worker-1")
    after = wait_for(lambda: (c := ready("sandbox-worker-1")).last_heartbeat_time >
                     before.last_heartbeat_time and c, timeout=15, what="a status heartbeat")
    assert after.last_transition_time == before.last_transition_time
    assert after.status == "True"


def test_starting_kubelet_events_describe_the_node(fast_core: client.CoreV1Api) -> None:
    def reasons() -> set[str]:
        events = fast_core.list_namespaced_event(
            "default", field_selector="involvedObject.name=sandbox-worker-2").items
        return {e.reason for e in events if e.source.component == "kubelet"}

    wait_for(lambda: {"Starting", "NodeReady"} <= reasons(), what="kubelet events")


def test_virtual_flavour_has_no_nodes() -> None:
    with Sandbox(ServerConfig(flavour="virtual")) as sb:
        assert nodes_of(sb) == []
