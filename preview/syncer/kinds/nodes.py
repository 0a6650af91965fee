"""Nodes: the virtual cluster sees the host nodes its pods run on, and only those."""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import TYPE_CHECKING, Any

from preview import naming
from preview.kube.client import APPLY_PATCH, Conflict, Resource
from preview.kube.objects import micro_now, now
from preview.syncer.engine.kind import HostRule
from preview.syncer.objects import clone
from preview.syncer.resources import NODES

if TYPE_CHECKING:
    from preview.syncer.engine.state import State

LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease")
# Real-node sync (`--node-sync real`) reads the host nodes: cluster-wide, the chart's
# ClusterRole; fake nodes need nothing on the host.
REAL_NODE_RULES = (HostRule("", ("nodes",), ("get", "list", "watch")),)

_COPIED_STATUS = ("capacity", "allocatable", "conditions", "nodeInfo")
# On every Node the syncer made: "fake" (synthetic) or "real" (mirrors the host node).
NODE_LABEL = naming.NODE_LABEL


def _kubelet_status(name: str, kubelet_address: str, kubelet_port: int) -> dict[str, Any]:
    """Addresses and kubelet endpoint: the syncer's own, so `kubectl logs` reaches it."""
    addresses = [{"type": "Hostname", "address": name}]
    if kubelet_address:
        addresses.insert(0, {"type": "InternalIP", "address": kubelet_address})
    return {"addresses": addresses,
            "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}}}


def translate(host_node: dict[str, Any], kubelet_address: str = "",
              kubelet_port: int = 0) -> dict[str, Any]:
    """The virtual Node mirroring a host node: name, labels, taints, capacity, conditions."""
    meta = host_node["metadata"]
    status = host_node.get("status") or {}
    spec = host_node.get("spec") or {}
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": meta["name"],
                     "labels": {**(meta.get("labels") or {}), NODE_LABEL: "real"}},
        "spec": {k: clone(spec[k]) for k in ("taints", "unschedulable") if k in spec},
        "status": {**{k: clone(status[k]) for k in _COPIED_STATUS if k in status},
                   **_kubelet_status(meta["name"], kubelet_address, kubelet_port)},
    }


def status_changed(virtual_node: dict[str, Any], wanted: dict[str, Any]) -> bool:
    current = virtual_node.get("status") or {}
    return any(current.get(k) != v for k, v in (wanted.get("status") or {}).items())


def in_use(host_pods: list[dict[str, Any]], name: str) -> bool:
    """Whether a synced pod runs on host node `name` (stops at the first one)."""
    return any((p.get("spec") or {}).get("nodeName") == name for p in host_pods)


def needed(host_pods: list[dict[str, Any]]) -> set[str]:
    """Names of the host nodes that run at least one synced pod."""
    return {p["spec"]["nodeName"] for p in host_pods if (p.get("spec") or {}).get("nodeName")}


# -- fake nodes and their reconcile (I/O) --------------------------------------------------------
HEARTBEAT_SECONDS = 10.0  # node Lease renewal: k3s's node lifecycle controller expects < 40 s


def fake(name: str, kubelet_address: str, kubelet_port: int) -> dict[str, Any]:
    """A synthetic virtual Node, for when the syncer may not read host nodes (the default:
    no cluster-wide permissions). Capacity is nominal; the name is the host node's."""
    stamp = now()
    ready = {"type": "Ready", "status": "True", "reason": "KubeletReady",
             "message": "synced by preview-vcluster", "lastHeartbeatTime": stamp,
             "lastTransitionTime": stamp}
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                              "kubernetes.io/os": "linux",
                                              NODE_LABEL: "fake"}},
        "spec": {},
        "status": {"conditions": [ready],
                   "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
                   "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110"},
                   "nodeInfo": _node_info(name),
                   **_kubelet_status(name, kubelet_address, kubelet_port)},
    }


def _node_info(name: str) -> dict[str, str]:
    """Every field a real kubelet reports (clients treat them as required)."""
    digest = hashlib.sha256(name.encode()).hexdigest()
    return {"machineID": digest[:32], "systemUUID": str(uuid.UUID(digest[32:64])),
            "bootID": str(uuid.UUID(digest[:32])), "kernelVersion": "unknown",
            "osImage": "preview-vcluster synthetic node", "operatingSystem": "linux",
            "architecture": "amd64", "containerRuntimeVersion": "preview-vcluster://synced",
            "kubeletVersion": "v1.34.0", "kubeProxyVersion": ""}


def wanted(s: State, name: str) -> dict[str, Any] | None:
    """The virtual Node for host node `name`; None when a real host node is not known."""
    address, port = s.options.kubelet_address, s.options.kubelet_port
    if s.options.node_sync == "real":
        host_node = s.host_nodes.get("", name) if s.host_nodes is not None else None
        return translate(host_node, address, port) if host_node is not None else None
    return fake(name, address, port)


async def ensure(s: State, name: str) -> None:
    """Make sure the virtual cluster has a Node `name` (the host node a pod runs on)."""
    if s.virtual_informers["nodes"].get("", name) is not None:
        return
    node = wanted(s, name) or fake(name, s.options.kubelet_address, s.options.kubelet_port)
    try:
        created = await s.virtual.create(NODES, None, {k: v for k, v in node.items()
                                                       if k != "status"})
    except Conflict:
        return
    await s.virtual.replace(NODES, None, name, {**created, "status": node["status"]}, "status")
    await _renew_lease(s, name)


async def reconcile(s: State, _namespace: str, name: str) -> float | None:
    """Keep a virtual node while a synced pod runs on it (current, with a fresh Lease);
    remove it after."""
    virtual = s.virtual_informers["nodes"].get("", name)
    if in_use(s.host_informers["pods"].list(), name):
        if virtual is None:
            await ensure(s, name)
            return HEARTBEAT_SECONDS
        # Every event of a pod on the node brings the node here: renew the Lease at the
        # heartbeat's pace, not once per pod event (a burst would renew it thousands of times).
        since = time.monotonic() - s.node_heartbeats.get(name, 0.0)
        if since < HEARTBEAT_SECONDS / 2:
            return HEARTBEAT_SECONDS - since
        node = wanted(s, name)
        if node is not None and s.options.node_sync == "real" and status_changed(virtual, node):
            await s.virtual.patch(NODES, None, name, {"metadata": {
                "labels": node["metadata"]["labels"]}, "spec": node["spec"]})
            await s.virtual.replace(NODES, None, name, {**virtual, "status": node["status"]},
                                    "status")
        await _renew_lease(s, name)
        return HEARTBEAT_SECONDS
    if virtual is not None and virtual["metadata"].get("labels", {}).get(NODE_LABEL):
        await s.virtual.delete(NODES, None, name, uid=virtual["metadata"].get("uid"))
    return None


async def _renew_lease(s: State, name: str) -> None:
    s.node_heartbeats[name] = time.monotonic()
    body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": "kube-node-lease"},
            "spec": {"holderIdentity": name, "leaseDurationSeconds": 40,
                     "renewTime": micro_now()}}
    await s.virtual.patch(LEASES, "kube-node-lease", name, body, APPLY_PATCH,
                          params={"fieldManager": "preview-vcluster-syncer", "force": "true"})
