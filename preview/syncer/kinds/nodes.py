"""Nodes: the virtual cluster sees the host nodes its pods run on, and only those."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from preview.kube.client import APPLY_PATCH, ApiError, Resource
from preview.kube.objects import micro_now, now
from preview.syncer.objects import clone
from preview.syncer.resources import NODES

if TYPE_CHECKING:
    from preview.syncer.syncer import Syncer

LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease")

_COPIED_STATUS = ("capacity", "allocatable", "conditions", "addresses", "nodeInfo",
                  "daemonEndpoints")
_VIRTUAL_NODE_LABEL = "preview-vcluster.io/fake-node"


def translate(host_node: dict[str, Any]) -> dict[str, Any]:
    """The virtual Node mirroring a host node (same name, labels, capacity, conditions)."""
    meta = host_node["metadata"]
    status = host_node.get("status") or {}
    spec = host_node.get("spec") or {}
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": meta["name"],
                     "labels": {**(meta.get("labels") or {}), _VIRTUAL_NODE_LABEL: "true"},
                     "annotations": {}},
        "spec": {k: clone(spec[k]) for k in ("taints", "unschedulable", "podCIDR", "podCIDRs")
                 if k in spec},
        "status": {k: clone(status[k]) for k in _COPIED_STATUS if k in status},
    }


def status_changed(virtual_node: dict[str, Any], host_node: dict[str, Any]) -> bool:
    wanted = translate(host_node)["status"]
    current = virtual_node.get("status") or {}
    return any(current.get(k) != v for k, v in wanted.items())


def needed(host_pods: list[dict[str, Any]]) -> set[str]:
    """Names of the host nodes that run at least one synced pod."""
    return {p["spec"]["nodeName"] for p in host_pods if (p.get("spec") or {}).get("nodeName")}


# -- fake nodes and their reconcile (I/O) --------------------------------------------------------
HEARTBEAT_SECONDS = 10.0  # node Lease renewal: k3s's node lifecycle controller expects < 40 s


def fake(name: str, kubelet_address: str, kubelet_port: int) -> dict[str, Any]:
    """A virtual Node for a host node the syncer may not read (no cluster-wide RBAC).

    Its address is the syncer's own kubelet endpoint, so `kubectl logs` inside the virtual
    cluster reaches the syncer, which fetches the logs from the host pod.
    """
    stamp = now()
    ready = {"type": "Ready", "status": "True", "reason": "KubeletReady",
             "message": "synced by preview-vcluster", "lastHeartbeatTime": stamp,
             "lastTransitionTime": stamp}
    addresses = [{"type": "Hostname", "address": name}]
    if kubelet_address:
        addresses.insert(0, {"type": "InternalIP", "address": kubelet_address})
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                              "kubernetes.io/os": "linux",
                                              _VIRTUAL_NODE_LABEL: "true"}},
        "spec": {},
        "status": {"conditions": [ready], "addresses": addresses,
                   "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}},
                   "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
                   "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110"},
                   "nodeInfo": {"kubeletVersion": "v1.34.0", "operatingSystem": "linux",
                                "architecture": "amd64",
                                "containerRuntimeVersion": "preview-vcluster://synced"}},
    }


async def ensure(s: Syncer, name: str) -> None:
    """Make sure the virtual cluster has a Node `name` (the host node a pod runs on)."""
    if s.virtual_informers["nodes"].get("", name) is not None:
        return
    node = fake(name, s.options.kubelet_address, s.options.kubelet_port)
    try:
        created = await s.virtual.create(NODES, None, {k: v for k, v in node.items()
                                                       if k != "status"})
    except ApiError as e:
        if e.status != 409:
            raise
        return
    await s.virtual.replace(NODES, None, name, {**created, "status": node["status"]}, "status")
    await _renew_lease(s, name)


async def reconcile(s: Syncer, _namespace: str, name: str) -> float | None:
    """Keep a virtual node while a synced pod runs on it; remove it after."""
    virtual = s.virtual_informers["nodes"].get("", name)
    if name in needed(s.host_informers["pods"].list()):
        if virtual is None:
            await ensure(s, name)
        else:
            await _renew_lease(s, name)
        return HEARTBEAT_SECONDS
    if virtual is not None and virtual["metadata"].get("labels", {}).get(_VIRTUAL_NODE_LABEL):
        await s.virtual.delete(NODES, None, name, uid=virtual["metadata"].get("uid"))
    return None


async def _renew_lease(s: Syncer, name: str) -> None:
    body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": "kube-node-lease"},
            "spec": {"holderIdentity": name, "leaseDurationSeconds": 40,
                     "renewTime": micro_now()}}
    await s.virtual.patch(LEASES, "kube-node-lease", name, body, APPLY_PATCH,
                          params={"fieldManager": "preview-vcluster-syncer", "force": "true"})
