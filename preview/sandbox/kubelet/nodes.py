"""The host cluster's nodes: registered at start and kept alive as their kubelets would.

A real kubelet registers its Node (labels, capacity, addresses, nodeInfo, conditions),
renews a Lease in `kube-node-lease` every 10s (a quarter of its 40s duration) and posts a
full status only every `nodeStatusReportFrequency` (5m) unless something changed
(KEP-589, "Efficient node heartbeats"). The sandbox does the same for
`ServerConfig.nodes` nodes named `sandbox-worker-1..N`, spread over three zones.
Pods themselves are B2's kubelet; this is only its node-status half.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from typing import Any

from preview.kube.client import ApiError, Conflict, NotFound
from preview.kube.events import EventRecorder
from preview.sandbox.apiserver.endpoints.discovery import version_info
from preview.sandbox.controllers import ControllerContext
from preview.sandbox.machinery.objects import micro_now, now

log = logging.getLogger(__name__)

NODE_PREFIX = "sandbox-worker-"
ZONES = ("sandbox-a", "sandbox-b", "sandbox-c")
REGION = "sandbox"
INSTANCE_TYPE = "sandbox.xlarge"
LEASE_NAMESPACE = "kube-node-lease"
LEASE_DURATION_SECONDS = 40
KUBELET_PORT = 10250
CAPACITY = {"cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi",
            "hugepages-1Gi": "0", "hugepages-2Mi": "0"}


def node_name(index: int) -> str:
    return f"{NODE_PREFIX}{index}"


def pod_cidr(index: int) -> str:
    """10.244.<index>.0/24, the slice of the cluster CIDR (kind's default) a node's pods get."""
    return f"10.244.{index}.0/24"


def internal_ip(index: int) -> str:
    """172.18.0.<index+1>: the node network, as kind's docker network (.1 is the gateway)."""
    return f"172.18.0.{index + 1}"


def _stable_hex(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:32]


def node_conditions(stamp: str, transitions: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """A healthy kubelet's conditions; `transitions` keeps earlier lastTransitionTimes."""
    rows = (("MemoryPressure", "False", "KubeletHasSufficientMemory",
             "kubelet has sufficient memory available"),
            ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", "False", "KubeletHasSufficientPID",
             "kubelet has sufficient PID available"),
            ("Ready", "True", "KubeletReady", "kubelet is posting ready status"))
    return [{"type": kind, "status": status, "lastHeartbeatTime": stamp,
             "lastTransitionTime": (transitions or {}).get(kind, stamp), "reason": reason,
             "message": message} for kind, status, reason, message in rows]


def node_object(index: int, max_pods: int = 110) -> dict[str, Any]:
    """The Node a kubelet registers for worker `index` (1-based), status included."""
    name = node_name(index)
    stamp = now()
    kubelet_version = version_info()["gitVersion"]
    capacity = {**CAPACITY, "pods": str(max_pods)}
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "node.kubernetes.io/instance-type": INSTANCE_TYPE,
                "topology.kubernetes.io/region": REGION,
                "topology.kubernetes.io/zone": ZONES[(index - 1) % len(ZONES)],
            },
            "annotations": {
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        },
        "spec": {"podCIDR": pod_cidr(index), "podCIDRs": [pod_cidr(index)],
                 "providerID": f"sandbox://{name}"},
        "status": {
            "capacity": capacity,
            "allocatable": dict(capacity),
            "conditions": node_conditions(stamp),
            "addresses": [{"type": "InternalIP", "address": internal_ip(index)},
                          {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": KUBELET_PORT}},
            "nodeInfo": {
                "machineID": _stable_hex(f"machine-{name}"),
                "systemUUID": str(uuid.UUID(_stable_hex(f"system-{name}"))),
                "bootID": str(uuid.uuid4()),
                "kernelVersion": "6.8.0-sandbox", "osImage": "Debian GNU/Linux 12 (bookworm)",
                "containerRuntimeVersion": "containerd://2.1.3",
                "kubeletVersion": kubelet_version, "kubeProxyVersion": "",
                "operatingSystem": "linux", "architecture": "amd64",
            },
            "features": {"supplementalGroupsPolicy": True},
            "images": [],
        },
    }


def lease_object(node: dict[str, Any]) -> dict[str, Any]:
    """The node's heartbeat Lease, owned by the Node so that it goes with it."""
    meta = node["metadata"]
    return {
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": meta["name"], "namespace": LEASE_NAMESPACE,
                     "ownerReferences": [{"apiVersion": "v1", "kind": "Node",
                                          "name": meta["name"], "uid": meta["uid"]}]},
        "spec": {"holderIdentity": meta["name"],
                 "leaseDurationSeconds": LEASE_DURATION_SECONDS, "renewTime": micro_now()},
    }


class NodeController:
    """Registers the configured nodes, then renews their leases and reports their status."""

    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.count = ctx.config.nodes
        self.max_pods = ctx.config.node_max_pods
        self.lease_interval = ctx.config.node_lease_seconds
        self.status_interval = ctx.config.node_status_seconds
        catalog = ctx.catalog
        node_rt = catalog.find("", "v1", "nodes")
        lease_rt = catalog.find("coordination.k8s.io", "v1", "leases")
        assert node_rt is not None and lease_rt is not None
        self.node_rt, self.lease_rt = node_rt, lease_rt
        self.nodes: dict[str, dict[str, Any]] = {}  # registered by us, by name

    async def run(self) -> None:
        await self.register()
        since_status = 0.0
        while True:
            await asyncio.sleep(self.lease_interval)
            since_status += self.lease_interval
            for name in list(self.nodes):
                try:
                    await self.renew_lease(name)
                    if since_status >= self.status_interval:
                        await self.report_status(name)
                except ApiError as e:
                    log.debug("heartbeat of node %s failed: %s", name, e)
            if since_status >= self.status_interval:
                since_status = 0.0

    async def register(self) -> None:
        created_now: list[str] = []
        for index in range(1, self.count + 1):
            wanted = node_object(index, self.max_pods)
            name = wanted["metadata"]["name"]
            node = await self.client.get(self.node_rt, "", name)
            created = node is None
            if node is None:
                try:
                    node = await self.client.request("POST", "/api/v1/nodes", wanted)
                except Conflict:
                    node = await self.client.get(self.node_rt, "", name)
            if node is None:
                continue
            self.nodes[name] = node
            await self.renew_lease(name)
            if created:
                created_now.append(name)
        for name in created_now:
            await self._announce(name)

    async def _announce(self, name: str) -> None:
        """The events a starting kubelet records about its node (`kubectl describe node`)."""
        recorder = EventRecorder(self.client, "kubelet", name)
        # The kubelet's node reference carries the node name as its uid.
        ref = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "uid": name}}
        await recorder.record(ref, "Normal", "Starting", "Starting kubelet.")
        for reason in ("NodeHasSufficientMemory", "NodeHasNoDiskPressure",
                       "NodeHasSufficientPID", "NodeReady"):
            await recorder.record(ref, "Normal", reason,
                                  f"Node {name} status is now: {reason}")

    async def renew_lease(self, name: str) -> None:
        path = f"/apis/coordination.k8s.io/v1/namespaces/{LEASE_NAMESPACE}/leases/{name}"
        patch = {"spec": {"renewTime": micro_now()}}
        try:
            await self.client.request("PATCH", path, patch, "application/merge-patch+json")
        except NotFound:
            node = await self.client.get(self.node_rt, "", name)
            if node is None:
                # Deleted by someone: a kubelet does not re-register until it restarts.
                self.nodes.pop(name, None)
                return
            self.nodes[name] = node
            await self.client.request(
                "POST", f"/apis/coordination.k8s.io/v1/namespaces/{LEASE_NAMESPACE}/leases",
                lease_object(node))

    async def report_status(self, name: str) -> None:
        """The periodic full status post: fresh heartbeats, transitions kept."""
        node = await self.client.get(self.node_rt, "", name)
        if node is None:
            self.nodes.pop(name, None)
            return
        transitions = {c["type"]: c.get("lastTransitionTime", "")
                       for c in (node.get("status") or {}).get("conditions") or []
                       if c.get("status") == ("True" if c.get("type") == "Ready" else "False")}
        await self.client.request(
            "PATCH", f"/api/v1/nodes/{name}/status",
            {"status": {"conditions": node_conditions(now(), transitions)}},
            "application/strategic-merge-patch+json")
